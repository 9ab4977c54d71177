"""`neurobox drift MODEL.toml`: how far fixed-point spikes drift from the float model."""
from __future__ import annotations

import json

from neurobox.cli import add_quiet


def register(sub) -> None:
    p = sub.add_parser("drift", help="compare the fixed-point engine with the float model",
                       description="Run a model in float and in fixed-point precision and compare their spikes.")
    p.add_argument("model", help="model file, or the name of a built-in model (e.g. board)")
    p.add_argument("--duration", type=float, help="biological time, ms (default: the file's)")
    p.add_argument("--tolerance", type=int, default=1, help="steps within which a spike counts as kept (default 1)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_quiet(p)
    p.set_defaults(func=drift)


def drift(args) -> int:
    from neurobox.examples import resolve
    from neurobox.engine.drift import precision_drift
    from neurobox.network.modelfile import load

    from neurobox.limits import check_count, check_duration

    check_duration(args.duration)
    check_count(args.tolerance, "--tolerance", 0, 1000)
    net = load(resolve(args.model))
    duration = check_duration(args.duration or net.duration, "--duration" if args.duration else "network.duration",
                              dt=net.dt)
    from neurobox.engine.progress import for_cli
    from neurobox.text import plural

    with for_cli(args) as bar:
        report = precision_drift(net, duration, args.tolerance, progress=bar)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"float vs fixed over {report['duration_ms']:g} ms (a spike is kept when the same neuron fires "
          f"within {plural(report['tolerance_steps'], 'step')})")
    for name, pop in report["populations"].items():
        first = pop["first_difference_ms"]
        print(f"  {name:<10} float {pop['float_spikes']:>7} fixed "
              f"{plural(pop['fixed_spikes'], 'spike ', 'spikes', 7)}, "
              f"{100 * pop['matched_fraction']:5.1f} % kept, "
              + ("identical" if first is None else f"first difference at {first:g} ms"))
    return 0
