;; grow.wat — a module that takes memory page by page, for the memory limit tests (wasm and
;; cluster). Rebuild with
;; wat2wasm --debug-names wasm/testdata/grow.wat -o wasm/testdata/grow.wasm
(module
  (memory (export "memory") 1)

  ;; grow(n) grows memory by one page n times, writing to each new page, and returns the
  ;; memory's size in pages. A grow that fails (memory.grow returns -1, as at a memory limit)
  ;; traps with unreachable, as a program whose allocator finds no memory aborts.
  (func $grow (export "grow") (param $n i32) (result i32)
    (local $old i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $old (memory.grow (i32.const 1)))
        (if (i32.eq (local.get $old) (i32.const -1))
          (then unreachable))
        ;; the first byte of the new page
        (i32.store8 (i32.shl (local.get $old) (i32.const 16)) (i32.const 1))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (memory.size))

  ;; pages returns the memory's size in pages.
  (func (export "pages") (result i32) (memory.size))

  ;; div(a, b) is a / b: a trap (divide by zero) that has nothing to do with memory.
  (func (export "div") (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))
)
