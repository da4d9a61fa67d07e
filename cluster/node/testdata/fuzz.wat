;; fuzz.wat has only functions that return at once, whatever their arguments: the fuzz targets
;; run batches of them in a worker. divmod traps when it divides by zero (or overflows). inc
;; takes an array: its malloc gives every buffer of up to 32 KiB the same room, and free keeps
;; nothing to free, so that any batch of arrays fits.
;; Rebuild: wat2wasm fuzz.wat -o fuzz.wasm
(module
  (memory 1)
  (func (export "malloc") (param i32) (result i32)
    (select (i32.const 1024) (i32.const 0) (i32.le_u (local.get 0) (i32.const 32768))))
  (func (export "free") (param i32))
  ;; inc(p, n) adds 1 to the byte at p and returns n.
  (func (export "inc") (param i32 i32) (result i32)
    (i32.store8 (local.get 0) (i32.add (i32.load8_u (local.get 0)) (i32.const 1)))
    (local.get 1))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "zero") (result i32)
    (i32.const 0))
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_s (local.get 0) (local.get 1))
    (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "nothing")))
