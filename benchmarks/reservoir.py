"""Spiking reservoir (liquid-state machine) and echo state network on the same data, side by side.

    .venv/bin/python benchmarks/reservoir.py                      # NARMA-10, MG-1, MG-84, patterns
    .venv/bin/python benchmarks/reservoir.py --tasks narma10 --seeds 0 1 2
    .venv/bin/python benchmarks/reservoir.py --sweep sweep.png    # weight scale / size sweep + plot
    .venv/bin/python benchmarks/reservoir.py --json results.json

Each row runs the spiking reservoir and an ESN with as many units on one
draw of the data (same seed, same split: washout 200, train 4000,
validation 1000, test 2000 samples) and prints both test NRMSEs (accuracy
for the pattern task), plus the online (RLS) readout of the spiking
reservoir and a linear readout of u(t) alone.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurobox.tasks.lsm import run_task, sweep  # noqa: E402

ROWS = {"narma10": ("narma10", 84), "mg1": ("mackey-glass", 1), "mg84": ("mackey-glass", 84),
        "patterns": ("patterns", 84)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--neurons", type=int, default=500)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--sweep", metavar="PNG", help="also sweep weight scale and size on NARMA-10 and plot")
    p.add_argument("--json", metavar="FILE", help="write all numbers to this JSON file")
    args = p.parse_args(argv)
    rows = []
    print(f"{'task':<10}{'seed':>5}{'spiking':>10}{'ESN':>10}{'RLS':>10}{'linear':>10}{'rate Hz':>9}{'wall s':>8}")
    for key in args.tasks:
        task, horizon = ROWS[key]
        for seed in args.seeds:
            t0 = time.perf_counter()
            r = run_task(task, n_neurons=args.neurons, seed=seed, horizon=horizon)
            wall = time.perf_counter() - t0
            if task == "patterns":
                row = {"task": key, "seed": seed, "spiking": r["accuracy"], "esn": r["esn_accuracy"],
                       "rls": None, "linear": r["input_accuracy"], "metric": "accuracy"}
            else:
                row = {"task": key, "seed": seed, "spiking": r["nrmse"], "esn": r["esn_nrmse"],
                       "rls": r["rls_nrmse"], "linear": r["linear_nrmse"], "metric": "nrmse"}
            row.update(neurons=args.neurons, rate_hz=r["rate_hz"], wall_s=wall)
            rows.append(row)
            rls = "-" if row["rls"] is None else f"{row['rls']:.4f}"
            print(f"{key:<10}{seed:>5}{row['spiking']:>10.4f}{row['esn']:>10.4f}{rls:>10}{row['linear']:>10.4f}"
                  f"{row['rate_hz']:>9.1f}{wall:>8.1f}", flush=True)
    print("(NRMSE for narma10/mg*, lower is better; accuracy for patterns, where 'linear' is the same "
          "readout of the filtered input spikes)")
    out = {"rows": rows}
    if args.sweep:
        s = sweep()
        from neurobox.viz.motif_plots import reservoir_sweep_figure
        reservoir_sweep_figure(s, args.sweep)
        out["sweep"] = s
        print("weight scale:", ", ".join(f"{a:g}: {b:.3f}" for a, b in zip(s["scales"], s["scale_nrmse"])))
        print("size:        ", ", ".join(f"{a}: {b:.3f} (ESN {c:.3f})"
                                         for a, b, c in zip(s["sizes"], s["size_nrmse"], s["esn_size_nrmse"])))
        print("ESN radius:  ", ", ".join(f"{a:g}: {b:.3f}" for a, b in zip(s["esn_radii"], s["esn_radius_nrmse"])))
        print(f"wrote {args.sweep}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
