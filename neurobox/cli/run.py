"""`neurobox run MODEL.toml`: simulate a model file and report, save or plot the result."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("run", help="simulate a model file",
                       description="Simulate a TOML model file (or a built-in model: coba, cuba).")
    p.add_argument("model", help="model file, or the name of a built-in model")
    p.add_argument("--duration", type=float, help="biological time to simulate, ms (default: the file's)")
    p.add_argument("--seed", type=int, help="master seed (default: the file's)")
    p.add_argument("--precision", choices=("float", "fixed"), help="arithmetic (default: the file's)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the summary")
    p.add_argument("--out", help="save spikes, traces and the model to this .npz file")
    p.add_argument("--plot", help="write a raster (and rate histogram) to this PNG")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def resolve_model_path(model: str) -> Path:
    """The model file `model`, or else the built-in model of that name (coba, cuba...)."""
    path = Path(model)
    if path.exists() or "/" in model:
        return path  # a missing path is reported by the loader
    from neurobox.examples import path as builtin
    return builtin(model)


def run(args) -> int:
    start = time.perf_counter()
    from neurobox.network.modelfile import load

    net = load(resolve_model_path(args.model))
    if args.seed is not None:
        if args.seed < 0:
            from neurobox.errors import ConfigError
            raise ConfigError("--seed", f"must be >= 0, got {args.seed}")
        net.seed = args.seed
    if args.precision:
        net.precision = args.precision
    results = net.run(args.duration, progress=False if args.quiet else None)
    if args.out:
        results.save(args.out)
    if args.plot:
        from neurobox.viz.plots import raster
        raster(results, args.plot)
    summary = results.summary()
    summary["wall_s"] = round(time.perf_counter() - start, 4)
    if args.json:
        print(json.dumps(summary))
    else:
        print_summary(summary, sys.stdout)
        if args.out:
            print(f"saved results to {args.out}")
        if args.plot:
            print(f"wrote raster to {args.plot}")
    return 0


def print_summary(summary: dict, out) -> None:
    print(f"{summary['bio_ms']:g} ms simulated in {summary['simulate_s']:.3f} s "
          f"(setup {summary['setup_s']:.3f} s, whole run {summary['wall_s']:.3f} s), seed {summary['seed']}",
          file=out)
    width = max([12] + [len(name) for name in summary["populations"]])
    for name, pop in summary["populations"].items():
        print(f"  {name:<{width}} {pop['n']:>8} neurons {pop['spikes']:>10} spikes {pop['rate_hz']:>9.2f} Hz", file=out)
