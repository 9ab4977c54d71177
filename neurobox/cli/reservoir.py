"""`neurobox reservoir TASK`: the spiking reservoir (liquid-state machine) on a benchmark, beside an ESN."""
from __future__ import annotations

import json
import sys
import time

from neurobox.cli import add_force, add_quiet

TASKS = ("narma10", "mackey-glass", "patterns")
MAX_NEURONS = 5000
"""The online RLS readout holds a square matrix of (neurons x filters) features: 5000 neurons -> 0.8 GB."""
MAX_HORIZON = 10_000


def register(sub) -> None:
    p = sub.add_parser("reservoir", help="liquid-state machine on NARMA-10, Mackey-Glass or spike patterns",
                       description="Run the spiking reservoir (recurrent E/I LIF network, ridge readout of "
                                   "filtered spike trains) on a task, with an echo state network of the "
                                   "same size on the same data.")
    p.add_argument("task", choices=TASKS, help="benchmark")
    p.add_argument("--horizon", type=int, default=84, help="Mackey-Glass: samples ahead (default 84)")
    p.add_argument("--neurons", type=int, default=500, help="reservoir size (default 500)")
    p.add_argument("--seed", type=int, default=0, help="seed of data split, network and ESN (default 0)")
    p.add_argument("--no-esn", action="store_true", help="skip the ESN baseline")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", help="write test predictions (or, for patterns, a reservoir raster) to this PNG")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from neurobox.errors import ConfigError
    from neurobox.limits import check_count
    from neurobox.paths import output_file

    check_count(args.neurons, "--neurons", 10, MAX_NEURONS, "the online readout's matrix grows with its square")
    if args.seed < 0:
        raise ConfigError("--seed", f"must be >= 0, got {args.seed}")
    check_count(args.horizon, "--horizon", 1, MAX_HORIZON)
    output_file(args.plot, "--plot", force=args.force, kind="png")
    from neurobox.tasks.lsm import run_task

    start = time.perf_counter()
    from neurobox.engine.progress import for_cli

    with for_cli(args) as bar:
        bar.phase("reservoir", f"{args.neurons} LIF neurons, readout" + ("" if args.no_esn else ", then the ESN"))
        res = run_task(args.task, n_neurons=args.neurons, seed=args.seed, horizon=args.horizon,
                       esn=not args.no_esn)
        wall = time.perf_counter() - start
        if args.plot:
            bar.phase("plot")
            _plot(args, res)
    score = "accuracy" if args.task == "patterns" else "nrmse"
    summary = {"task": args.task, score: res[score], "neurons": res["neurons"]}
    if args.task == "patterns":
        summary["esn_accuracy"] = res.get("esn_accuracy")
        summary["input_accuracy"] = res["input_accuracy"]
    else:
        summary["esn_nrmse"] = res.get("esn_nrmse")
        summary["rls_nrmse"] = res.get("rls_nrmse")
        summary["linear_nrmse"] = res["linear_nrmse"]
    if args.task == "mackey-glass":
        summary["horizon"] = args.horizon
    summary["rate_hz"] = round(res["rate_hz"], 2)
    summary["seed"] = args.seed
    summary["wall_s"] = round(wall, 2)
    if args.json:
        print(json.dumps(summary))
    else:
        _print(summary, sys.stdout)
        if args.plot:
            print(f"wrote {args.plot}")
    return 0


def _print(s: dict, out) -> None:
    from neurobox.text import plural

    what = s["task"] + (f" ({plural(s['horizon'], 'step')} ahead)" if "horizon" in s else "")
    print(f"{what}: spiking reservoir of {s['neurons']} neurons ({s['rate_hz']:g} Hz), {s['wall_s']:g} s", file=out)
    if s["task"] == "patterns":
        print(f"  accuracy        spiking {s['accuracy']:.3f}   ESN {_f(s['esn_accuracy'])}   "
              f"readout of the inputs alone {s['input_accuracy']:.3f}", file=out)
    else:
        print(f"  NRMSE (ridge)   spiking {s['nrmse']:.3f}   ESN {_f(s['esn_nrmse'])}   "
              f"linear in u(t) {s['linear_nrmse']:.3f}", file=out)
        if s.get("rls_nrmse") is not None:
            print(f"  NRMSE (online RLS readout, spiking) {s['rls_nrmse']:.3f}", file=out)


def _f(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def _plot(args, res) -> None:
    from neurobox.viz import motif_plots
    if args.task == "patterns":
        t, ids = res["_spikes"]
        motif_plots.reservoir_raster(t, ids, args.plot, 2000.0,
                                     f"spiking reservoir on spike patterns, first 2 s "
                                     f"(accuracy {res['accuracy']:.3f})")
        return
    target, pred = res["_test"]
    n = min(500, target.size)
    title = f"{args.task}: test NRMSE {res['nrmse']:.3f} (ESN {_f(res.get('esn_nrmse'))})"
    motif_plots.prediction_figure(target[:n], pred[:n], args.plot, title)
