;; gate.wat — a task that waits to be let through, for the cluster tests that kill a worker
;; while a task is known to run. Rebuild: wat2wasm gate.wat -o gate.wasm
;;
;; hold(i) creates the file "started" in the first preopened directory (fd 3), then waits,
;; spinning, until a file "go" exists there, and returns i. The test watches for "started",
;; kills the worker, and creates "go" so that the task's rerun goes through.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "started")
  (data (i32.const 32) "go")

  ;; open(path, len, oflags) is the errno of opening path in fd 3; the file is closed again.
  (func $open (param $path i32) (param $len i32) (param $oflags i32) (result i32)
    (local $errno i32)
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 0) (local.get $path) (local.get $len)
        (local.get $oflags) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0)))
    (if (i32.eqz (local.get $errno))
      (then (drop (call $fd_close (i32.load (i32.const 0))))))
    (local.get $errno))

  (func (export "hold") (param $i i32) (result i32)
    (drop (call $open (i32.const 16) (i32.const 7) (i32.const 1))) ;; O_CREAT
    (loop $wait
      (br_if $wait (call $open (i32.const 32) (i32.const 2) (i32.const 0))))
    (local.get $i))
)
