"""Measures ipyparallel and Dask the way bench/cluster/main.go measures Rain, then prints the
table with Rain's figures (a JSON file written by main.go) next to theirs.

Usage: /usr/bin/python3 peers.py RAIN.json [--calls 20000] [--rtt 300] [--only ipyparallel|dask]
"""

import argparse
import json
import logging
import os
import sys
import time
import warnings

CHUNK = 2000  # the large chunk, as for Rain
MANDEL_CHUNK = 16
MANDEL_WHAT = "numpy row(y), same algorithm and size, chunk 16, one run (over a second each)"


def add(a, b):
    return a + b


def array_sum(xs):
    """The sum of a numpy array: the peers' call with a 1 KiB array (128 f64s)."""
    return float(xs.sum())


def add_many(pairs):
    return [a + b for a, b in pairs]


def row(y):
    """Sum of the escape counts of row y of a 1024×1024 image of [-2,1]×[-1.5,1.5], 256
    iterations: examples/mandelbrot.c's row, vectorised over the row with numpy."""
    import numpy as np
    w, h, maxiter = 1024, 1024, 256
    ci = -1.5 + 3.0 * y / h
    cr = -2.0 + 3.0 * np.arange(w) / w
    zr = np.zeros(w)
    zi = np.zeros(w)
    count = np.zeros(w, dtype=np.int64)
    still = np.ones(w, dtype=bool)
    for _ in range(maxiter):
        zr2, zi2 = zr * zr, zi * zi
        still &= zr2 + zi2 <= 4.0
        if not still.any():
            break
        count += still
        t = zr2 - zi2 + cr
        zi = np.where(still, 2 * zr * zi + ci, zi)
        zr = np.where(still, t, zr)
    return int(count.sum())


def rows(ys):
    return [row(y) for y in ys]


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentiles(lat):
    lat = sorted(lat)
    return lat[len(lat) // 2] * 1e6, lat[len(lat) * 99 // 100] * 1e6


def array_rtt(call, rtts):
    """p50 and p99 of the round trip of call(xs), xs a numpy array of 128 f64s (1 KiB)."""
    import numpy as np
    xs = np.arange(128, dtype=np.float64)
    for _ in range(20):
        call(xs)
    lat = []
    for _ in range(rtts):
        t0 = time.perf_counter()
        call(xs)
        lat.append(time.perf_counter() - t0)
    return percentiles(lat)


def chunks(seq, n):
    return [seq[i:i + n] for i in range(0, len(seq), n)]


def bench_ipyparallel(calls, rtts):
    import ipyparallel as ipp
    cluster = ipp.Cluster(n=2, log_level=logging.ERROR)
    rc = cluster.start_and_connect_sync()
    try:
        rc.wait_for_engines(2, timeout=60)
        f = {"system": "ipyparallel", "large_chunk": CHUNK, "mandel_what": MANDEL_WHAT}
        one = rc.load_balanced_view(targets=[0])
        both = rc.load_balanced_view()
        ys = list(range(1024))
        one.map_sync(row, ys[:32], chunksize=MANDEL_CHUNK)  # warm-up: numpy imported
        both.map_sync(row, ys[:64], chunksize=MANDEL_CHUNK)
        t0 = time.perf_counter()
        one.map_sync(row, ys, chunksize=MANDEL_CHUNK)
        f["mandel_1_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        both.map_sync(row, ys, chunksize=MANDEL_CHUNK)
        f["mandel_2_s"] = time.perf_counter() - t0

        direct = rc[0]
        for _ in range(20):
            direct.apply_sync(add, 1, 2)
        lat = []
        for _ in range(rtts):
            t0 = time.perf_counter()
            direct.apply_sync(add, 1, 2)
            lat.append(time.perf_counter() - t0)
        f["rtt_p50_us"], f["rtt_p99_us"] = percentiles(lat)
        f["rtt_array_p50_us"], f["rtt_array_p99_us"] = array_rtt(lambda xs: direct.apply_sync(array_sum, xs), rtts)

        xs = list(range(calls))
        ones = [1] * calls
        t0 = time.perf_counter()
        both.map_sync(add, xs, ones, chunksize=1)
        f["map_chunk1_per_s"] = calls / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        both.map_sync(add, xs, ones, chunksize=CHUNK)
        f["map_chunk_large_per_s"] = calls / (time.perf_counter() - t0)

        time.sleep(1)
        engines = rc[:].apply_sync(rss_mib)
        f["idle_rss_mib"] = engines[0]
        f["idle_rss_detail"] = "engine processes: " + ", ".join("%.1f" % r for r in engines) + " MiB"
        return f
    finally:
        rc.close()
        cluster.stop_cluster_sync()


def bench_dask(calls, rtts):
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        client.wait_for_workers(2)
        f = {"system": "dask", "large_chunk": CHUNK, "mandel_what": MANDEL_WHAT}
        workers = sorted(client.scheduler_info()["workers"])
        ys = chunks(list(range(1024)), MANDEL_CHUNK)
        client.gather(client.map(rows, ys[:4], pure=False))  # warm-up
        t0 = time.perf_counter()
        client.gather(client.map(rows, ys, pure=False, workers=workers[:1]))
        f["mandel_1_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.gather(client.map(rows, ys, pure=False))
        f["mandel_2_s"] = time.perf_counter() - t0

        for _ in range(20):
            client.submit(add, 1, 2, pure=False).result()
        lat = []
        for _ in range(rtts):
            t0 = time.perf_counter()
            client.submit(add, 1, 2, pure=False).result()
            lat.append(time.perf_counter() - t0)
        f["rtt_p50_us"], f["rtt_p99_us"] = percentiles(lat)
        f["rtt_array_p50_us"], f["rtt_array_p99_us"] = array_rtt(
            lambda xs: client.submit(array_sum, xs, pure=False).result(), rtts)

        xs = list(range(calls))
        t0 = time.perf_counter()
        client.gather(client.map(add, xs, [1] * calls, pure=False))
        f["map_chunk1_per_s"] = calls / (time.perf_counter() - t0)
        pairs = chunks([(x, 1) for x in xs], CHUNK)
        t0 = time.perf_counter()
        client.gather(client.map(add_many, pairs, pure=False))
        f["map_chunk_large_per_s"] = calls / (time.perf_counter() - t0)

        time.sleep(1)
        w = client.run(rss_mib)
        n = client.run(rss_mib, nanny=True)
        wr = [w[k] for k in sorted(w)]
        nr = [n[k] for k in sorted(n)]
        f["idle_rss_mib"] = wr[0]
        f["idle_rss_detail"] = ("worker processes: " + ", ".join("%.1f" % r for r in wr) +
                                " MiB (their nannies: " + ", ".join("%.1f" % r for r in nr) + " MiB)")
        return f
    finally:
        client.close()
        cluster.close()


def table(systems):
    rain = systems[0]
    peers = systems[1:]

    def fmt_rate(v):
        return "%.0f/s" % v if v < 1e5 else "%.2fM/s" % (v / 1e6)

    lines = []
    rowsdef = [
        ("round trip p50", "rtt_p50_us", lambda v: "%.0f µs" % v, False),
        ("round trip p99", "rtt_p99_us", lambda v: "%.0f µs" % v, False),
        ("round trip, 1 KiB array p50", "rtt_array_p50_us", lambda v: "%.0f µs" % v, False),
        ("round trip, 1 KiB array p99", "rtt_array_p99_us", lambda v: "%.0f µs" % v, False),
        ("  1 KiB array / scalar, p50", "array_ratio", lambda v: "%.2f×" % v, False),
        ("map 20k tiny, chunk 1", "map_chunk1_per_s", fmt_rate, True),
        ("map 20k tiny, chunk 2000", "map_chunk_large_per_s", fmt_rate, True),
        ("  rain CallBatch, 2000", "batch_large_per_s", fmt_rate, True),
        ("  rain map %dk, chunk %d" % (rain.get("big_calls", 0) // 1000, rain.get("big_chunk", 0)), "map_big_per_s", fmt_rate, True),
        ("mandelbrot 1 node", "mandel_1_s", lambda v: "%.2f s" % v, False),
        ("mandelbrot 2 nodes", "mandel_2_s", lambda v: "%.2f s" % v, False),
        ("speedup 2 over 1", "speedup", lambda v: "%.2f×" % v, True),
        ("idle node RSS", "idle_rss_mib", lambda v: "%.1f MiB" % v, False),
    ]
    for s in systems:
        if s.get("mandel_2_s"):
            s["speedup"] = s["mandel_1_s"] / s["mandel_2_s"]
        if s.get("rtt_array_p50_us") and s.get("rtt_p50_us"):
            s["array_ratio"] = s["rtt_array_p50_us"] / s["rtt_p50_us"]
    head = ["", "rain"] + [p["system"] for p in peers] + ["rain vs " + p["system"] for p in peers]
    body = []
    for label, key, fmt, higher in rowsdef:
        cells = [label, fmt(rain[key]) if key in rain else "—"]
        for p in peers:
            cells.append(fmt(p[key]) if key in p else "—")
        for p in peers:
            if key in p and key in rain and p[key] and rain[key]:
                r = rain[key] / p[key] if higher else p[key] / rain[key]
                cells.append("%.1f× %s" % (r, "better" if r >= 1 else "worse"))
            else:
                cells.append("")
        body.append(cells)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    for r in [head] + body:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    lines.append("")
    lines.append("mandelbrot: rain ran " + rain["mandel_what"] + "; the peers ran " + MANDEL_WHAT + ".")
    lines.append("1 KiB array: rain ran examples/stats.wasm sum(xs, 128) with xs copied in through its malloc; "
                 "the peers ran numpy's sum of a 128-element f64 array sent with the call. "
                 "Goal: rain's array round trip at most 2× its scalar one.")
    for s in systems:
        lines.append("idle RSS, %s: %s" % (s["system"], s["idle_rss_detail"]))
    d = rain.get("dashboard")
    if d:
        def change(closed, opened, higher):
            pct = 100 * ((closed / opened - 1) if higher else (opened / closed - 1))
            return "%.1f %% %s" % (abs(pct), "slower" if pct > 0 else "faster")
        lines.append(("rain with its dashboard open vs closed (medians of %d alternating rounds): round trip p50 %.0f → %.0f µs "
                      "(%s round by round), map 20k chunk 1 %s → %s (%s round by round); the page got %.1f updates/s, %.1f KiB/s")
                     % (d["rounds"], d["rtt_p50_closed_us"], d["rtt_p50_open_us"],
                        change(1, d["rtt_open_over_closed"], False),
                        fmt_rate(d["map_chunk1_closed_per_s"]), fmt_rate(d["map_chunk1_open_per_s"]),
                        change(1, d["map_chunk1_open_over_closed"], True),
                        d["page_updates_per_s"], d["page_bytes_per_s"] / 1024))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rain")
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rtt", type=int, default=300)
    ap.add_argument("--only", choices=["ipyparallel", "dask"])
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    with open(a.rain) as f:
        systems = [json.load(f)]
    for name, fn in [("ipyparallel", bench_ipyparallel), ("dask", bench_dask)]:
        if a.only and a.only != name:
            continue
        print("measuring %s…" % name, file=sys.stderr)
        systems.append(fn(a.calls, a.rtt))
    print(table(systems))


if __name__ == "__main__":
    main()
