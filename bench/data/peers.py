"""Measures ipyparallel and Dask the way bench/data/main.go measures Rain — an f64 array of
MIB MiB to 2 workers and back, and the sum of each worker's part where it is — then prints the
table with Rain's figures (a JSON file written by main.go) next to theirs, as ratios.

Usage: /usr/bin/python3 peers.py RAIN.json [--mib 256] [--reps 3] [--only ipyparallel|dask]
"""

import argparse
import json
import logging
import sys
import time
import warnings


def data(mib):
    import numpy as np
    n = mib * (1 << 20) // 8
    return (np.arange(n, dtype=np.int64) % 1000).astype(np.float64) / 8  # sums exactly, as main.go's


def part_sum(x):
    return float(x.sum())


def double(x):
    return x * 2.0


CALL_MIB = 16  # as main.go's callMiB: an array of 16 MiB to a call, 16 MiB back
CALL_REPS = 9  # as main.go's callReps: the call's figure is the median of these, after one more


def call_array(a):
    return a[: CALL_MIB * (1 << 20) // 8]


def median_call(fn):
    """The median time of CALL_REPS runs of fn after one more, and fn's last result."""
    fn()
    times, out = [], None
    for _ in range(CALL_REPS):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], out


def best_of(reps, fn):
    """The least time of reps runs of fn, and fn's last result."""
    best, out = None, None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    return best, out


def bench_ipyparallel(a, reps):
    import numpy as np
    import ipyparallel as ipp
    cluster = ipp.Cluster(n=2, log_level=logging.ERROR)
    rc = cluster.start_and_connect_sync()
    try:
        rc.wait_for_engines(2, timeout=60)
        dv = rc[:]
        dv.block = True
        halves = [a[: len(a) // 2], a[len(a) // 2:]]
        want = [float(h.sum()) for h in halves]
        f = {"system": "ipyparallel", "bytes": a.nbytes, "parts": 2,
             "what": "DirectView.scatter and .gather of a numpy array over 2 engines; push and pull of a half "
                     "to each; apply of x.sum() where the halves are"}
        scatter, gather = None, None
        for _ in range(reps):
            t0 = time.perf_counter()
            dv.scatter("x", a)
            t1 = time.perf_counter()
            back = dv.gather("x")
            t2 = time.perf_counter()
            scatter = t1 - t0 if scatter is None else min(scatter, t1 - t0)
            gather = t2 - t1 if gather is None else min(gather, t2 - t1)
            assert np.array_equal(back, a)
            del back
        f["scatter_s"], f["gather_s"] = scatter, gather
        push, pull = None, None
        for _ in range(reps):
            t0 = time.perf_counter()
            rc[0].push({"y": halves[0]}, block=True)
            rc[1].push({"y": halves[1]}, block=True)
            t1 = time.perf_counter()
            got = [rc[0].pull("y", block=True), rc[1].pull("y", block=True)]
            t2 = time.perf_counter()
            push = t1 - t0 if push is None else min(push, t1 - t0)
            pull = t2 - t1 if pull is None else min(pull, t2 - t1)
            assert all(np.array_equal(g, h) for g, h in zip(got, halves))
            del got
        f["push_s"], f["pull_s"] = push, pull
        dv.scatter("x", a)
        f["map_s"], sums = best_of(reps, lambda: dv.apply_sync(part_sum, ipp.Reference("x")))
        assert sums == want, (sums, want)
        xs = call_array(a)
        f["call_s"], got = median_call(lambda: rc[0].apply_sync(double, xs))
        assert np.array_equal(got, xs * 2.0)
        f["what"] += "; apply of x * 2.0 to a 16 MiB array on one engine"
        return f
    finally:
        rc.close()
        cluster.stop_cluster_sync()


def bench_dask(a, reps):
    import numpy as np
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        client.wait_for_workers(2)
        halves = [a[: len(a) // 2], a[len(a) // 2:]]
        want = [float(h.sum()) for h in halves]
        workers = sorted(client.scheduler_info()["workers"])
        f = {"system": "dask", "bytes": a.nbytes, "parts": 2,
             "what": "client.scatter of the 2 halves of a numpy array, one to each worker, and client.gather; "
                     "client.map of x.sum() over the futures"}
        scatter, gather = None, None
        for _ in range(reps):
            t0 = time.perf_counter()
            futures = [client.scatter(h, workers=[w], hash=False) for h, w in zip(halves, workers)]
            t1 = time.perf_counter()
            got = client.gather(futures)
            t2 = time.perf_counter()
            scatter = t1 - t0 if scatter is None else min(scatter, t1 - t0)
            gather = t2 - t1 if gather is None else min(gather, t2 - t1)
            assert all(np.array_equal(g, h) for g, h in zip(got, halves))
            del got
            client.cancel(futures)
            del futures
        f["scatter_s"], f["gather_s"] = scatter, gather
        futures = [client.scatter(h, workers=[w], hash=False) for h, w in zip(halves, workers)]
        f["map_s"], sums = best_of(reps, lambda: client.gather(client.map(part_sum, futures, pure=False)))
        assert sums == want, (sums, want)
        xs = call_array(a)
        f["call_s"], got = median_call(lambda: client.submit(double, xs, pure=False).result())
        assert np.array_equal(got, xs * 2.0)
        f["what"] += "; submit of x * 2.0 with a 16 MiB array"
        return f
    finally:
        client.close()
        cluster.close()


def table(systems):
    rain, peers = systems[0], systems[1:]
    gib = 1 << 30

    def rate(s, *keys):
        t = sum(s[k] for k in keys if k in s)
        return len(keys) * s["bytes"] / t / gib if t and all(k in s for k in keys) else None

    rows = [
        ("scatter", lambda s: rate(s, "scatter_s"), "%.2f GiB/s"),
        ("gather", lambda s: rate(s, "gather_s"), "%.2f GiB/s"),
        ("scatter + gather", lambda s: rate(s, "scatter_s", "gather_s"), "%.2f GiB/s"),
        ("  push + pull (ipyparallel)", lambda s: rate(s, "push_s", "pull_s"), "%.2f GiB/s"),
        ("sum of each part, where it is", lambda s: s["bytes"] / s["map_s"] / gib if s.get("map_s") else None, "%.2f GiB/s"),
        ("  its time", lambda s: s.get("map_s"), "%.3f s"),
        ("a call: 16 MiB in, 16 MiB back (median)", lambda s: s.get("call_s"), "%.3f s"),
    ]
    head = ["%d MiB f64, 2 nodes" % (rain["bytes"] >> 20), "rain"] + [p["system"] for p in peers] + \
        ["rain vs " + p["system"] for p in peers]
    body = []
    for label, get, fmt in rows:
        vals = [get(s) for s in systems]
        cells = [label] + [fmt % v if v is not None else "—" for v in vals]
        for v in vals[1:]:
            if v and vals[0]:
                r = v / vals[0] if fmt.endswith(" s") else vals[0] / v
                cells.append("%.1f× %s" % (r, "better" if r >= 1 else "worse"))
            else:
                cells.append("")
        body.append(cells)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [head] + body]
    lines.append("")
    lines.append("Rates are bytes of the array over the time: scatter + gather moves it out and back (twice its bytes).")
    for s in systems:
        lines.append("%s: %s" % (s["system"], s["what"]))
    agg = rate(rain, "scatter_s", "gather_s")
    goals = ["goals: scatter + gather at least 1 GB/s on loopback: %.2f GB/s (%s)" % (
        agg * gib / 1e9, "met" if agg * gib >= 1e9 else "not met")]
    for p in peers:
        if p["system"] == "ipyparallel" and rate(p, "scatter_s", "gather_s"):
            r = agg / rate(p, "scatter_s", "gather_s")
            goals.append("at least 5× ipyparallel's scatter + gather: %.1f× (%s)" % (r, "met" if r >= 5 else "not met"))
    lines.append("; ".join(goals))
    if "map_sent_bytes" in rain:
        lines.append("rain's map over the parts sent %d bytes to the nodes, none of them data." % rain["map_sent_bytes"])
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rain")
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", choices=["ipyparallel", "dask"])
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    with open(a.rain) as f:
        systems = [json.load(f)]
    arr = data(a.mib)
    for name, fn in [("ipyparallel", bench_ipyparallel), ("dask", bench_dask)]:
        if a.only and a.only != name:
            continue
        print("measuring %s…" % name, file=sys.stderr)
        systems.append(fn(arr, a.reps))
    print(table(systems))


if __name__ == "__main__":
    main()
