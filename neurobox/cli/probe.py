"""`neurobox probe`, `neurobox fi`, `neurobox gallery`.

One neuron under a current step, the f-I curve of a model, and a gallery
figure per model family (every preset's trace and its firing pattern).
"""
from __future__ import annotations

import json
import math
import sys

from neurobox.cli import add_force, add_quiet
from neurobox.errors import ConfigError


def _add_neuron_args(p) -> None:
    p.add_argument("model", help="neuron model, e.g. aeif_cond_exp, izhikevich, hh_psc_alpha, iaf_psc_alpha")
    p.add_argument("--preset", help="a named parameter set of the model (e.g. regular_spiking)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter (NEST name and units); repeatable")
    p.add_argument("--dt", type=float, default=0.1, help="time step, ms (default 0.1)")
    p.add_argument("--method", help="integration method (default: the model's first)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="FILE", help="write a PNG to FILE")
    add_quiet(p)
    add_force(p)


def register(sub) -> None:
    p = sub.add_parser("probe", help="one neuron under a current step",
                       description="Simulate one neuron with a current step from t = 0 (or --onset) to the end.")
    _add_neuron_args(p)
    p.add_argument("--current", type=float, required=True, metavar="PA", help="step amplitude, pA")
    p.add_argument("--duration", type=float, default=500.0, metavar="MS", help="duration, ms (default 500)")
    p.add_argument("--onset", type=float, default=0.0, metavar="MS", help="step onset, ms (default 0)")
    p.add_argument("--traces", action="store_true", help="with --json: include every state variable's trace")
    p.set_defaults(func=run_probe)

    p = sub.add_parser("fi", help="f-I curve of a neuron model",
                       description="Firing rate against step current, one independent neuron per current.")
    _add_neuron_args(p)
    p.add_argument("--currents", required=True, metavar="START:STOP:STEP",
                   help="currents in pA: START:STOP:STEP (STOP included) or a comma-separated list")
    p.add_argument("--duration", type=float, default=1000.0, metavar="MS", help="step duration, ms (default 1000)")
    p.set_defaults(func=run_fi)

    p = sub.add_parser("gallery", help="a figure per neuron model family with every preset's firing pattern",
                       description="Simulate every preset under its paper's step current, name its firing "
                                   "pattern, and draw one PNG per model family.")
    p.add_argument("--out", default="gallery", metavar="DIR", help="output folder (default ./gallery)")
    p.add_argument("--dt", type=float, default=0.1, help="time step, ms (default 0.1)")
    p.add_argument("--json", action="store_true", help="print one JSON object: every preset's pattern, the figures")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=run_gallery)


def parse_params(items: list[str]) -> dict[str, float]:
    """['C_m=200', 'a=2'] -> {'C_m': 200.0, 'a': 2.0}; ConfigError naming --param for a bad item."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError("--param", f"expected NAME=VALUE, got {item!r}")
        try:
            params[name] = float(value)
        except ValueError:
            raise ConfigError(f"--param {name}", f"expected a number, got {value!r}") from None
    return params


def _clean(x: float):
    return None if not math.isfinite(x) else round(float(x), 6)


def _check(args) -> None:
    """Before any work: the duration's bound and the --plot file."""
    from neurobox.limits import check_duration
    from neurobox.paths import output_file

    check_duration(args.duration)
    output_file(args.plot, "--plot", force=args.force, kind="png")


def run_probe(args) -> int:
    from neurobox.neurons.patterns import classify
    from neurobox.tasks.probe import probe
    from neurobox.text import plural

    _check(args)

    from neurobox.engine.progress import for_cli

    with for_cli(args) as bar:
        bar.phase("probe", f"{args.duration:g} ms of one neuron")
        res = probe(args.model, parse_params(args.param), args.preset, args.current, args.duration, args.dt,
                    method=args.method, onset_ms=args.onset)
    pattern = classify(res.spike_times_ms, res.onset_ms, res.duration_ms)
    s = res.spike_times_ms
    window = res.duration_ms - res.onset_ms
    rate = 1000.0 * len(s) / window if window > 0 else 0.0
    if args.plot:
        from neurobox.viz.neuron_plots import plot_probe
        plot_probe(res, args.plot, title=f"{res.model}{f' ({args.preset})' if args.preset else ''}, "
                                         f"{args.current:g} pA: {pattern.detail}, {plural(len(s), 'spike')}")
    if args.json:
        out = res.to_dict(with_traces=args.traces)
        out.update({"preset": args.preset, "rate_hz": _clean(rate), "pattern": pattern.name,
                    "pattern_detail": pattern.detail})
        print(json.dumps(out))
        return 0
    name = res.model + (f" ({args.preset})" if args.preset else "")
    print(f"{name}, {args.current:g} pA from {res.onset_ms:g} ms, {res.duration_ms:g} ms at dt = {res.dt:g} ms "
          f"({res.method})")
    if len(s):
        print(f"{plural(len(s), 'spike')}, first at {s[0]:g} ms, {rate:.2f} Hz over the step; "
              f"pattern: {pattern.detail}")
        shown = ", ".join(f"{x:g}" for x in s[:20]) + (", ..." if len(s) > 20 else "")
        print(f"spike times (ms): {shown}")
    else:
        print(f"no spikes; {res.voltage} ends at {res.v[-1]:.3f} mV")
    if args.plot:
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def run_fi(args) -> int:
    from neurobox.tasks.probe import fi_curve, parse_range

    _check(args)

    currents = parse_range(args.currents, "--currents")
    from neurobox.engine.progress import for_cli
    from neurobox.text import plural

    with for_cli(args) as bar:
        bar.phase("f-I", f"{plural(len(currents), 'neuron')}, {args.duration:g} ms")
        curve = fi_curve(args.model, currents, parse_params(args.param), args.preset, args.duration, args.dt,
                         method=args.method)
    if args.plot:
        from neurobox.viz.neuron_plots import plot_fi
        plot_fi(curve, args.plot)
    if args.json:
        out = curve.to_dict()
        out["preset"] = args.preset
        print(json.dumps(out))
        return 0
    print(f"{curve.model}{f' ({args.preset})' if args.preset else ''}: f-I curve, {curve.duration_ms:g} ms steps "
          f"at dt = {curve.dt:g} ms")
    print(f"{'I (pA)':>10} {'spikes':>7} {'rate (Hz)':>10} {'steady (Hz)':>12}")
    for i, s, r, st in zip(curve.currents_pA, curve.spike_times_ms, curve.rate_hz, curve.steady_rate_hz):
        steady = f"{st:12.2f}" if math.isfinite(st) else f"{'-':>12}"
        print(f"{i:10.2f} {len(s):7d} {r:10.2f} {steady}")
    if args.plot:
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def run_gallery(args) -> int:
    from neurobox.engine.progress import for_cli
    from neurobox.tasks.probe import gallery, gallery_runs
    from neurobox.text import noun, plural

    from neurobox.paths import output_folder

    if not (math.isfinite(args.dt) and args.dt > 0):
        raise ConfigError("--dt", f"must be > 0 ms, got {args.dt:g}")
    output_folder(args.out, "--out", "gallery", force=args.force)
    with for_cli(args) as bar:
        bar.phase("probe")
        runs = gallery_runs(dt=args.dt, progress=bar.count)
        bar.phase("draw", plural(len(runs), "figure"))
        paths = gallery(args.out, dt=args.dt, runs=runs)
    rows = [{"family": family, "preset": case.preset or case.model, "current_pA": case.current_pA,
             "spikes": int(len(res.spike_times_ms)), "pattern": pattern.detail, "expected": case.expected,
             "as_expected": pattern.name == case.expected}
            for family, family_runs in runs.items() for case, res, pattern in family_runs]
    if args.json:
        print(json.dumps({"presets": rows, "figures": [str(p) for p in paths]}))
        return 0
    width, fam = max(len(r["preset"]) for r in rows), max(len(r["family"]) for r in rows)
    print(f"{'family':<{fam}} {'preset':<{width}} {'step (pA)':>9} {'spikes':>6}  firing pattern (expected, if other)")
    for r in rows:
        other = "" if r["as_expected"] else f"  (expected {r['expected']})"
        print(f"{r['family']:<{fam}} {r['preset']:<{width}} {r['current_pA']:>9g} {r['spikes']:>6}  "
              f"{r['pattern']}{other}")
    agree = sum(r["as_expected"] for r in rows)
    print(f"{agree} of {plural(len(rows), 'preset')} {noun(len(rows), 'fires', 'fire')} as their source describes")
    for path in paths:
        print(f"wrote {path}")
    return 0
