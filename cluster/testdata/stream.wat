;; stream.wat — WASI output for the cluster tests. Rebuild: wat2wasm stream.wat -o stream.wasm
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "tick\n")

  (func $tick
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; tick_then_spin prints "tick\n" and loops forever.
  (func (export "tick_then_spin")
    (call $tick)
    (loop $l (br $l)))

  ;; ticks_forever prints "tick\n" until it is stopped.
  (func (export "ticks_forever")
    (loop $l
      (call $tick)
      (br $l)))

  ;; ticks(n) prints "tick\n" n times and returns n.
  (func (export "ticks") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (call $tick)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $n))

  ;; A bump allocator, for arrays (it frees nothing: enough for a test).
  (global $top (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param $old i32) (param $oldsize i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (if (i32.eqz (local.get $size)) (then (return (i32.const 0))))
    (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $top (i32.add (local.get $p) (local.get $size)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.le_u (global.get $top) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 256)) (i32.const -1)) (then unreachable))
        (br $grow)))
    (local.get $p))

  ;; tick_array(xs, n) prints "tick\n", adds 1 to the first of its n bytes, and returns n.
  (func (export "tick_array") (param $xs i32) (param $n i32) (result i32)
    (call $tick)
    (i32.store8 (local.get $xs) (i32.add (i32.load8_u (local.get $xs)) (i32.const 1)))
    (local.get $n))
)
