;; state.wat — a module that keeps state in linear memory and in a mutable global it does not
;; export, for the tier switch tests (wasm/tier_test.go). Rebuild with
;; wat2wasm --debug-names wasm/testdata/state.wat -o wasm/testdata/state.wasm
(module
  (memory 1)
  (global $hidden (mut i64) (i64.const 7))
  (global $steps (mut i32) (i32.const 0))
  (global $scale (mut f64) (f64.const 1.5))

  ;; step(x) mixes x into the hidden global and into a running hash kept in memory at
  ;; 16 * (steps mod 64), grows memory by one page every 10 steps, and returns the new hash.
  (func $step (export "step") (param $x i64) (result i64)
    (local $h i64)
    (global.set $hidden (i64.add (i64.mul (global.get $hidden) (i64.const 6364136223846793005))
                                 (local.get $x)))
    (local.set $h (i64.xor (global.get $hidden)
                           (i64.load (i32.mul (i32.rem_u (global.get $steps) (i32.const 64)) (i32.const 16)))))
    (i64.store (i32.mul (i32.rem_u (i32.add (global.get $steps) (i32.const 1)) (i32.const 64)) (i32.const 16))
               (local.get $h))
    (if (i32.eqz (i32.rem_u (global.get $steps) (i32.const 10)))
      (then (drop (memory.grow (i32.const 1)))))
    (global.set $steps (i32.add (global.get $steps) (i32.const 1)))
    (global.set $scale (f64.mul (global.get $scale) (f64.const 1.25)))
    (local.get $h))

  ;; state() sums everything step keeps: the globals, memory size and the hash slots.
  (func $state (export "state") (result i64)
    (local $i i32) (local $s i64)
    (local.set $s (i64.add (global.get $hidden) (i64.extend_i32_u (global.get $steps))))
    (local.set $s (i64.add (local.get $s) (i64.trunc_f64_u (global.get $scale))))
    (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (memory.size))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 1024)))
        (local.set $s (i64.add (i64.rotl (local.get $s) (i64.const 5)) (i64.load (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next)))
    (local.get $s))
)
