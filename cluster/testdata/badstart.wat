;; badstart.wat is valid but cannot be instantiated: its data segment lies beyond its memory,
;; which only instantiation finds. Rebuild: wat2wasm badstart.wat -o badstart.wasm
(module
  (memory 1)
  (data (i32.const 70000) "past the end")
  (func (export "f") (result i32) (i32.const 1)))
