;; badalloc.wat — a module whose malloc returns whatever give(p) set, for the Buffer tests of
;; pointers Rain must refuse. Rebuild with
;; wat2wasm --debug-names wasm/testdata/badalloc.wat -o wasm/testdata/badalloc.wasm
(module
  (memory (export "memory") 1)
  (global $give (mut i32) (i32.const 1024))
  (global $frees (mut i32) (i32.const 0))
  (func (export "malloc") (param i32) (result i32) (global.get $give))
  (func (export "free") (param i32) (global.set $frees (i32.add (global.get $frees) (i32.const 1))))
  ;; give(p) makes malloc return p.
  (func (export "give") (param $p i32) (global.set $give (local.get $p)))
  ;; frees() counts the calls of free.
  (func (export "frees") (result i32) (global.get $frees))
  ;; first(p) is the byte at p.
  (func (export "first") (param $p i32) (result i32) (i32.load8_u (local.get $p))))
