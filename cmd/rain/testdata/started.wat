;; started.wat — calls that say they have started, for the tests that interrupt a call while it
;; runs. Rebuild: wat2wasm --debug-names started.wat -o started.wasm
;;
;; spin() and recurse(n) first create a file named after themselves in the first preopened
;; directory (fd 3: the session's --dir), then never end on their own, as examples/basics.wat's
;; do: spin loops; recurse makes 2^(n+1)-1 calls, only n deep, with no loop instruction.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "spin")
  (data (i32.const 32) "recurse")

  ;; create(path, len) creates the file path in fd 3, and closes it again.
  (func $create (param $path i32) (param $len i32)
    (if (i32.eqz
          (call $path_open (i32.const 3) (i32.const 0) (local.get $path) (local.get $len)
            (i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0))) ;; O_CREAT
      (then (drop (call $fd_close (i32.load (i32.const 0)))))))

  (func (export "spin")
    (call $create (i32.const 16) (i32.const 4))
    (loop $forever (br $forever)))

  (func $recurse (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.add
        (call $recurse (i32.sub (local.get $n) (i32.const 1)))
        (call $recurse (i32.sub (local.get $n) (i32.const 1)))))))

  (func (export "recurse") (param $n i32) (result i32)
    (call $create (i32.const 32) (i32.const 7))
    (call $recurse (local.get $n)))
)
