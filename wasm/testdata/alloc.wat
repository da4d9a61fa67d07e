;; alloc.wat — a module whose allocator is cabi_realloc, as the component model's toolchains
;; export it, for the Buffer tests. Rebuild with
;; wat2wasm --debug-names wasm/testdata/alloc.wat -o wasm/testdata/alloc.wasm
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024)) ;; where the next allocation goes
  (global $live (mut i32) (i32.const 0))    ;; allocations not yet freed

  ;; cabi_realloc(old, oldsize, align, newsize): with old 0, newsize bytes aligned to align at
  ;; the bump pointer, growing memory as needed, or 0 when it cannot grow; with newsize 0, a
  ;; free: the last allocation is given back. Nothing else (a true realloc) is needed here.
  (func $cabi_realloc (export "cabi_realloc") (param $old i32) (param $oldsize i32) (param $align i32) (param $newsize i32) (result i32)
    (local $p i32) (local $end i32)
    (if (i32.eqz (local.get $newsize))
      (then
        (global.set $live (i32.sub (global.get $live) (i32.const 1)))
        (if (i32.eq (i32.add (local.get $old) (local.get $oldsize)) (global.get $next))
          (then (global.set $next (local.get $old))))
        (return (i32.const 0))))
    (if (i32.ne (local.get $old) (i32.const 0))
      (then unreachable))
    ;; p = next rounded up to align
    (local.set $p (i32.and
      (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $newsize)))
    (if (i32.lt_u (local.get $end) (local.get $p)) ;; wrapped around
      (then (return (i32.const 0))))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq
              (memory.grow (i32.sub
                (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                (memory.size)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $next (local.get $end))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $p))

  ;; addr(p) is p: the pointer a buffer got.
  (func (export "addr") (param $p i32) (result i32) (local.get $p))

  ;; live() is the number of allocations not yet freed.
  (func (export "live") (result i32) (global.get $live))

  ;; sum(p, n) adds n bytes at p.
  (func (export "sum") (param $p i32) (param $n i32) (result i32)
    (local $s i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $s))

  ;; fill(p, n, v) writes v into the n bytes at p.
  (func (export "fill") (param $p i32) (param $n i32) (param $v i32)
    (memory.fill (local.get $p) (local.get $v) (local.get $n)))

  ;; copy(src, n, dst) copies n bytes from src to dst, then traps if n is 13.
  (func (export "copy") (param $src i32) (param $n i32) (param $dst i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (if (i32.eq (local.get $n) (i32.const 13))
      (then unreachable))))
