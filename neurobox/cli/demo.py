"""`neurobox demo`: the default network (COBA) and a network that learns (digits), drawn."""
from __future__ import annotations

import json
import time

from neurobox.cli import add_force, add_quiet


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the demo networks and draw them",
                       description="Simulate the COBA benchmark network (4000 LIF neurons), then train the "
                                   "digits network by local STDP and report its test accuracy; write the "
                                   "pictures as PNG.")
    p.add_argument("--out", default="neurobox-demo", help="folder for the pictures (default: neurobox-demo)")
    p.add_argument("--duration", type=float, default=1000.0, help="COBA's biological time, ms (default 1000)")
    p.add_argument("--quick", action="store_true", help="train a smaller digits network (a few seconds)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=demo)


def demo(args) -> int:
    start = time.perf_counter()
    from neurobox.limits import check_duration
    from neurobox.paths import output_folder

    check_duration(args.duration)
    out = output_folder(args.out, "--out", "demo", force=args.force)
    from neurobox.engine import run as simulate
    from neurobox.engine.progress import for_cli, quiet_flag
    from neurobox.examples import path
    from neurobox.network.modelfile import load
    from neurobox.tasks import digits
    from neurobox.text import plural
    from neurobox.viz.plots import raster, traces

    net = load(path("coba"))
    results = simulate(net, args.duration, progress=quiet_flag(args))
    raster_png = raster(results, out / "raster.png",
                        title="COBA (Brette et al. 2007): 3200 excitatory + 800 inhibitory LIF neurons")
    exc = net.populations["exc"].params
    traces_png = traces(results, out / "traces.png", max_traces=3, threshold=exc["V_th"], reset=exc["V_reset"],
                        title="membrane potential of three excitatory neurons")
    coba = results.summary()
    if not args.json:
        print("neurobox demo: the COBA network of Brette et al. (2007)")
        print(results.summary_text({**coba, "wall_s": time.perf_counter() - start}))
        print(f"wrote {raster_png} and {traces_png}")
        print("\ntraining the digits network (unsupervised STDP, winner-take-all, scikit-learn's 8x8 digits)...")
    config = digits.QUICK if args.quick else digits.DigitsConfig()
    learned, files = digits.train_and_report(config, 0, out / "digits", for_cli(args))
    if args.json:
        print(json.dumps({"coba": coba, "digits": learned, "wall_s": round(time.perf_counter() - start, 3),
                          "pictures": [str(raster_png), str(traces_png)] + [str(f) for f in files[2:]]}))
        return 0
    print(f"digits: test accuracy {100 * learned['test_accuracy']:.1f} % on the held-out 30 % "
          f"({plural(config.n_exc, 'learning neuron')}, trained in {learned['train_seconds']:.1f} s)")
    for f in files:
        print(f"wrote {f}")
    print("watch a network live and poke it: neurobox board --demo recurrent")
    return 0
