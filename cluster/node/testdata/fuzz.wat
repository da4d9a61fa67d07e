;; fuzz.wat has only functions that return at once, whatever their arguments: the fuzz targets
;; run batches of them in a worker. divmod traps when it divides by zero (or overflows).
;; Rebuild: wat2wasm fuzz.wat -o fuzz.wasm
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "zero") (result i32)
    (i32.const 0))
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_s (local.get 0) (local.get 1))
    (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "nothing")))
