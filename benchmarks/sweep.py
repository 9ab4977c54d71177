"""A sweep of COBA runs on a local Dask cluster against the same runs one after another in one process.

    python benchmarks/sweep.py                    # 32 runs (16 weights x 2 seeds), 1000 ms each
    python benchmarks/sweep.py --runs 8 --duration 200 --json out.json

Both sides run the same function (neurobox.cluster.runs.model_run) on the same runs. Reported:

    one process   the runs one after another here (the loop compiled, or loaded, once)
    dask          neurobox.cluster.sweep with a local cluster of --workers processes: wall time from
                  starting the cluster to the table written, and the speed-up
    overhead/task (dask wall x workers - the runs' own wall_s) / runs: what the cluster costs per task
                  (start-up of the cluster and of each worker's first run included)
    compile       the loop's compile (or load from numba's disk cache) in a worker's first run and its
                  later runs (median), from the table's compile_s and worker_run columns

The machine's load matters: "others' CPU" is the share of the CPUs busy just before the runs started.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.runner import wait_quiet  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=32, help="runs: weights x 2 seeds (default 32)")
    ap.add_argument("--duration", type=float, default=1000.0, help="biological time per run, ms")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()

    from neurobox.cluster.grid import parse_setting, runs
    from neurobox.cluster.runs import model_run
    from neurobox.cluster.sweep import sweep
    from neurobox.examples import resolve
    from neurobox.network.modelfile import dumps, load

    weights = args.runs // 2
    path = "projections.exc_exc.weight"
    grid = runs([parse_setting(f"{path}=" + ",".join(f"{5.0 + 0.2 * k:g}" for k in range(weights)))], (0, 1))
    text = dumps(load(resolve("coba")))
    work = functools.partial(model_run, text, duration_ms=args.duration)

    out_load = wait_quiet(0.0, sample_s=2.0)   # the other processes' share of the CPUs just before
    start = time.perf_counter()
    alone = [work(run) for run in grid]
    one_process_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report = sweep(work, grid, [path], Path(tmp) / "sweep.parquet", workers=args.workers)
        dask_s = time.perf_counter() - start
    same = all(a[f"rate_hz.{p}"] == b[f"rate_hz.{p}"] for a, b in zip(alone, report.rows) for p in ("exc", "inh"))
    own = sum(r["wall_s"] for r in report.rows)
    out = {"runs": len(grid), "duration_ms": args.duration, "workers": report.workers,
           "one_process_s": round(one_process_s, 3), "dask_s": round(dask_s, 3),
           "speedup": round(one_process_s / dask_s, 3),
           "overhead_per_task_s": round((dask_s * report.workers - own) / len(grid), 4),
           "run_wall_s_median": round(statistics.median(r["wall_s"] for r in report.rows), 4),
           "compile_s": {k: round(v, 4) for k, v in report.compile_s.items()},
           "same_rates": same, "others_cpu_before": round(out_load, 3)}
    print(f"{out['runs']} COBA runs of {args.duration:g} ms: one process {one_process_s:.2f} s, "
          f"dask ({report.workers} workers) {dask_s:.2f} s: speed-up {out['speedup']:.2f}x; overhead "
          f"{out['overhead_per_task_s'] * 1000:.0f} ms per task; compile: first run of a worker "
          f"{out['compile_s'].get('first_run_of_worker', float('nan')):.3f} s, later runs "
          f"{out['compile_s'].get('later_runs', float('nan')):.4f} s; same rates: {same}; "
          f"others' CPU before the runs {out_load:.0%}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
