"""Round trip of a trivial execute — execute_request sent until both its execute_reply and its
status idle have arrived — for each kernelspec named on the command line, in one run, with
jupyter_client's Session over plain zmq sockets (the least client overhead jupyter_client
allows). Also the startup: start_kernel until the first kernel_info_reply.

Usage: roundtrip.py [-n RUNS] [-w WARMUP] KERNELSPEC[=LABEL] ...   (bench/kernel/run sets it up)
"""

import argparse
import statistics
import sys
import time

import zmq
from jupyter_client.manager import KernelManager

CODE = "1+2"


def wait(session, poller, want_reply, msg_id, timeout=30.0, on_reply=None):
    """Receive until the reply to msg_id (on want_reply's socket) and its idle have come."""
    got_reply = got_idle = False
    deadline = time.perf_counter() + timeout
    while not (got_reply and got_idle):
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError("no reply and idle for %s" % msg_id)
        for sock, _ in poller.poll(left * 1000):
            _, msg = session.recv(sock, mode=zmq.NOBLOCK)
            if msg is None or msg["parent_header"].get("msg_id") != msg_id:
                continue
            if sock is want_reply and msg["msg_type"].endswith("_reply"):
                got_reply = True
                if on_reply:
                    on_reply()
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                got_idle = True


def measure(spec, runs, warmup):
    km = KernelManager(kernel_name=spec)
    start = time.perf_counter()
    km.start_kernel()
    shell, iopub = km.connect_shell(), km.connect_iopub()
    poller = zmq.Poller()
    poller.register(shell, zmq.POLLIN)
    poller.register(iopub, zmq.POLLIN)
    session = km.session
    # Ready: kernel_info answered and iopub subscribed (an idle has arrived), as
    # jupyter_client's wait_for_ready does. first_reply is when kernel_info was first answered.
    first_reply = []

    def replied():
        if not first_reply:
            first_reply.append(time.perf_counter() - start)

    while True:
        msg = session.send(shell, "kernel_info_request", {})
        try:
            wait(session, poller, shell, msg["header"]["msg_id"], timeout=0.05, on_reply=replied)
            break
        except TimeoutError:
            if time.perf_counter() - start > 60:
                raise
    startup = time.perf_counter() - start
    content = {"code": CODE, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    times = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        msg = session.send(shell, "execute_request", content)
        wait(session, poller, shell, msg["header"]["msg_id"])
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    shell.close(linger=0)
    iopub.close(linger=0)
    km.shutdown_kernel(now=False)
    times.sort()
    return {
        "info": first_reply[0],
        "startup": startup,
        "p50": times[len(times) // 2],
        "p99": times[min(len(times) - 1, int(len(times) * 0.99))],
        "mean": statistics.fmean(times),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=1000)
    ap.add_argument("-w", "--warmup", type=int, default=100)
    ap.add_argument("kernels", nargs="+", help="KERNELSPEC[=LABEL]")
    args = ap.parse_args()
    results = []
    for k in args.kernels:
        spec, _, label = k.partition("=")
        results.append((label or spec, measure(spec, args.runs, args.warmup)))
    print("trivial execute (%r) round trip: execute_request sent -> execute_reply and status idle received" % CODE)
    print("%d runs after %d warm-up, jupyter_client %s over zmq" % (args.runs, args.warmup, __import__("jupyter_client").__version__))
    print("kernel_info: start_kernel -> first kernel_info_reply; ready: -> reply and iopub idle")
    print("%-12s %12s %10s %10s %10s %10s" % ("kernel", "kernel_info", "ready", "p50", "p99", "mean"))
    for label, r in results:
        print("%-12s %9.0f ms %7.0f ms %7.3f ms %7.3f ms %7.3f ms" % (
            label, r["info"] * 1e3, r["startup"] * 1e3, r["p50"] * 1e3, r["p99"] * 1e3, r["mean"] * 1e3))
    if len(results) >= 2:
        (a, ra), (b, rb) = results[0], results[1]
        print("p50 ratio %s/%s: %.2f (%s is %.1fx faster at p50, %.1fx at p99)" % (
            a, b, ra["p50"] / rb["p50"], a, rb["p50"] / ra["p50"], rb["p99"] / ra["p99"]))
    target = 2e-3
    first = results[0]
    verdict = "meets" if first[1]["p50"] <= target else "MISSES"
    print("%s p50 %.3f ms %s the %.0f ms target" % (first[0], first[1]["p50"] * 1e3, verdict, target * 1e3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
