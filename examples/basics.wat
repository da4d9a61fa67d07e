;; basics.wat — small functions for trying Rain: typed calls over every value type,
;; multi-value results, traps with a Wasm stack, state kept across calls, and two functions
;; that never finish on their own (one loops, one recurses without a loop) for interrupts.
;; Rebuild with scripts/build-examples (wat2wasm --debug-names keeps the names below).
(module
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))

  ;; fib(n) is the n-th Fibonacci number, computed by plain recursion.
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add
        (call $fib (i32.sub (local.get $n) (i32.const 1)))
        (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  (func $add (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))

  (func $add64 (export "add64") (param $a i64) (param $b i64) (result i64)
    (i64.add (local.get $a) (local.get $b)))

  (func $addf (export "addf") (param $a f32) (param $b f32) (result f32)
    (f32.add (local.get $a) (local.get $b)))

  (func $mul (export "mul") (param $a f64) (param $b f64) (result f64)
    (f64.mul (local.get $a) (local.get $b)))

  ;; divmod(a, b) returns the quotient and the remainder: two results.
  (func $divmod (export "divmod") (param $a i32) (param $b i32) (result i32 i32)
    (i32.div_s (local.get $a) (local.get $b))
    (i32.rem_s (local.get $a) (local.get $b)))

  ;; spin never returns: an empty infinite loop.
  (func $spin (export "spin")
    (loop $forever (br $forever)))

  ;; recurse(n) = recurse(n-1) + recurse(n-1), recurse(0) = 1: it returns 2^n (mod 2^32) after
  ;; 2^(n+1)-1 calls, with a stack only n deep and no loop instruction. recurse(40) runs for ages.
  (func $recurse (export "recurse") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.add
        (call $recurse (i32.sub (local.get $n) (i32.const 1)))
        (call $recurse (i32.sub (local.get $n) (i32.const 1)))))))

  (func $trap_unreachable (export "trap_unreachable")
    unreachable)

  ;; trap_div(d) is 100 / d: it traps with "integer divide by zero" when d is 0.
  (func $trap_div (export "trap_div") (param $d i32) (result i32)
    (i32.div_s (i32.const 100) (local.get $d)))

  ;; trap_oob loads from far past the end of the one-page memory.
  (func $trap_oob (export "trap_oob") (result i32)
    (i32.load (i32.const 0x7ffffff0)))

  ;; trap_nested calls $crash, which traps: the stack shows both names.
  (func $crash (param $x i32) (result i32)
    (i32.div_u (local.get $x) (i32.const 0)))
  (func $trap_nested (export "trap_nested") (result i32)
    (call $crash (i32.const 7)))

  ;; bump adds one to a global and to a counter at memory address 0, and returns the global:
  ;; successive calls on the same instance return 1, 2, 3...
  (func $bump (export "bump") (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.get $count))

  ;; peek returns the memory counter that bump increments.
  (func $peek (export "peek") (result i32)
    (i32.load (i32.const 0)))
)
