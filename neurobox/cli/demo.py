"""`neurobox demo`: run the default network (COBA), print its summary, draw its raster."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from neurobox.cli.run import print_summary


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the default demo network and draw it",
                       description="Simulate the COBA benchmark network (4000 LIF neurons) and write its "
                                   "raster and membrane traces as PNG.")
    p.add_argument("--out", default="neurobox-demo", help="folder for the pictures (default: neurobox-demo)")
    p.add_argument("--duration", type=float, default=1000.0, help="biological time, ms (default 1000)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=demo)


def demo(args) -> int:
    start = time.perf_counter()
    from neurobox.examples import path
    from neurobox.network.modelfile import load
    from neurobox.viz.plots import raster, traces

    net = load(path("coba"))
    results = net.run(args.duration, progress=False if args.quiet else None)
    out = Path(args.out)
    raster_png = raster(results, out / "raster.png", t_range_ms=(0.0, min(results.bio_ms, 500.0)),
                        title="COBA: 3200 excitatory + 800 inhibitory LIF neurons")
    exc = net.populations["exc"].params
    traces_png = traces(results, out / "traces.png", max_traces=3, threshold=exc["V_th"], reset=exc["V_reset"],
                        title="membrane potential of three excitatory neurons")
    summary = results.summary()
    summary["wall_s"] = round(time.perf_counter() - start, 4)
    summary["pictures"] = [str(raster_png), str(traces_png)]
    if args.json:
        print(json.dumps(summary))
        return 0
    print("neurobox demo: the COBA network of Brette et al. (2007)")
    print_summary(summary, sys.stdout)
    print(f"wrote {raster_png} and {traces_png}")
    return 0
