;; missing.wat imports a function no node provides (wasm.Describe refuses it). Rebuild: wat2wasm missing.wat -o missing.wasm
(module
  (import "env" "nowhere" (func $nowhere))
  (func (export "f") (call $nowhere)))
