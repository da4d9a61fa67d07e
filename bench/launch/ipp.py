"""ipyparallel's side of bench/launch: the time from the launch of N engines through Slurm
(ipyparallel's SlurmEngineSetLauncher: one sbatch job of N `srun ipengine` tasks, as
`ipcluster start --engines=slurm -n N` runs) to all N registered with the controller, which is
started first and not timed, as a rain hub runs before `rain launch`.

Usage: ipp.py N REPS   (prints one time in seconds per line)
"""
import os
import sys
import tempfile
import time

import ipyparallel as ipp

n, reps = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryDirectory() as profile:
    # An engine gives up when the controller has not answered its registration in 5 s, which
    # 16 engines starting on 2 busy cores may take: they get 2 minutes.
    with open(os.path.join(profile, "ipengine_config.py"), "w") as f:
        f.write("c.IPEngine.timeout = 120\n")
    for _ in range(reps):
        c = ipp.Cluster(n=n, engine_launcher_class="slurm", profile_dir=profile, log_level=40)
        c.start_controller_sync()
        rc = c.connect_client_sync()
        t0 = time.perf_counter()
        c.start_engines_sync()
        rc.wait_for_engines(n, timeout=300)
        print(f"{time.perf_counter() - t0:.3f}", flush=True)
        rc.close()
        c.stop_cluster_sync()
