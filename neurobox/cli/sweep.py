"""`neurobox sweep MODEL --set PATH=VALUES --seeds A:B --out TABLE`: many independent runs of a model over
Dask, gathered into one table (neurobox.cluster)."""
from __future__ import annotations

import json
import sys

from neurobox.cli import add_force, add_quiet

MAX_WORKERS = 1024
MAX_RETRIES = 100


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a model over a grid of values and seeds (on Dask), into one table",
                       description="Run a model for every combination of --set values and --seeds, each run "
                                   "an independent task on a Dask cluster (a local one with a worker per core, "
                                   "or --scheduler ADDRESS), and gather rate, CV of ISIs, synchrony and times "
                                   "per population into one table.")
    p.add_argument("model", help="model file, or the name of a built-in model")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="PATH=VALUES",
                   help="a model entry and its values: start:stop:step (stop included) or a,b,c; e.g. "
                        "projections.exc_exc.weight=0.5:2:0.25 or populations.exc.params.tau_syn_ex=3,5,8 "
                        "(repeat for a grid)")
    p.add_argument("--seeds", default=None, metavar="A:B",
                   help="seeds A..B-1 (0:16 is 16 seeds) or a comma list (default: the model's seed)")
    p.add_argument("--duration", type=float, help="biological time of each run, ms (default: the file's)")
    p.add_argument("--out", required=True, help="the table to write: .parquet or .csv")
    p.add_argument("--plot", help="also write the summary figure (metrics against the first --set) to this PNG")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running Dask scheduler (tcp://host:8786); default: a local cluster on this machine")
    p.add_argument("--workers", type=int, help="local cluster only: worker processes (default: one per core)")
    p.add_argument("--retries", type=int, default=2, help="times a failed run is tried again (default 2)")
    p.add_argument("--resume", action="store_true",
                   help="keep the finished runs of an existing --out table and run only the others")
    p.add_argument("--json", action="store_true", help="print one JSON object with the summary")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from neurobox.cluster.grid import parse_seeds, parse_setting
    from neurobox.cluster.sweep import sweep_model
    from neurobox.cluster.table import table_format
    from neurobox.engine.progress import for_cli
    from neurobox.errors import ConfigError
    from neurobox.examples import resolve
    from neurobox.limits import check_count, check_duration
    from neurobox.network.modelfile import load
    from neurobox.paths import output_file

    table_format(args.out)
    output_file(args.out, "--out", force=args.force or args.resume)
    output_file(args.plot, "--plot", force=args.force, kind="png")
    check_count(args.workers, "--workers", 1, MAX_WORKERS)
    check_count(args.retries, "--retries", 0, MAX_RETRIES)
    if args.workers is not None and args.scheduler:
        raise ConfigError("--workers", "applies to the local cluster only; the scheduler at --scheduler has its "
                                       "own workers")
    check_duration(args.duration)
    net = load(resolve(args.model))
    settings = [parse_setting(text) for text in args.settings]
    seeds = parse_seeds(args.seeds) if args.seeds is not None else (net.seed,)
    with for_cli(args) as bar:
        bar.phase("sweep")
        report = sweep_model(net, settings, seeds, args.out, duration_ms=args.duration,
                             scheduler=args.scheduler, workers=args.workers, retries=args.retries,
                             resume=args.resume, progress=bar)
    paths = [s.path for s in settings]
    if args.plot:
        from neurobox.viz.sweep_plots import sweep_figure

        sweep_figure(report.rows, paths, args.plot)
    summary = {**report.summary(), "out": args.out, "swept": paths, "seeds": len(seeds)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['runs']} runs ({report.ran} now, {report.resumed} from the earlier table) on "
              f"{report.workers} workers in {report.wall_s:.1f} s; {report.failed} failed; table: {args.out}")
        for row in report.rows:
            if row["status"] != "ok":
                print(f"  run {row['run']} (seed {row['seed']}) failed: {row['error']}", file=sys.stderr)
    return 1 if report.failed else 0
