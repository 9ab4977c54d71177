"""`neurobox run MODEL.toml`: simulate a model file and report, save or plot the result."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from neurobox.cli import add_force, add_quiet

THREADED = ("engine", "fixed", "nest")
"""The targets that take --threads."""

OUT_KINDS = {".npz": "npz", ".nwb": "nwb"}
"""--out suffix -> what is written: neurobox's results file, or Neurodata Without Borders (pynwb)."""

MICROCIRCUIT = "microcircuit"
"""The built-in model made in Python (neurobox.tasks.microcircuit), not from a shipped model file."""


def register(sub) -> None:
    p = sub.add_parser("run", help="simulate a model file",
                       description="Simulate a TOML model file (or a built-in model: coba, cuba, board, vision; "
                                   "or microcircuit, Potjans & Diesmann 2014, with --scale and --background).")
    p.add_argument("model", help="model file, or the name of a built-in model")
    p.add_argument("--duration", type=float, help="biological time to simulate, ms (default: the file's)")
    p.add_argument("--seed", type=int, help="master seed (default: the file's)")
    p.add_argument("--precision", choices=("float", "fixed"), help="arithmetic (default: the file's)")
    p.add_argument("--target", "--backend", dest="target", default="engine", metavar="NAME",
                   help="where to run it: engine (default), fixed (the chips' arithmetic), twin (the physical "
                        "units on their clocks), avr-sim (every unit's firmware in simavr), fpga-sim (the cells "
                        "in iverilog), nest (NEST through PyNEST: the same synapses and initial state)")
    p.add_argument("--threads", type=int, help="threads of the engine's loop (default: every core; the spikes are "
                                               "the same whatever the number; small networks run on one)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the summary")
    p.add_argument("--out", help="save spikes, traces and the model to this file: .npz (neurobox's results "
                                 "file) or .nwb (Neurodata Without Borders, for pynwb, Neo, Elephant)")
    p.add_argument("--plot", help="write a raster (and rate histogram) to this PNG")
    p.add_argument("--scale", type=float, metavar="S",
                   help="microcircuit only: fraction of the full 77,169 neurons and of the in-degrees, in (0, 1] "
                        "(default 0.1)")
    p.add_argument("--background", metavar="KIND",
                   help="microcircuit only: poisson (a Poisson source per neuron, default) or dc (its mean as a "
                        "current)")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=run)


def run(args) -> int:
    start = time.perf_counter()
    from neurobox.engine.memory import check_memory
    from neurobox.errors import ConfigError
    from neurobox.examples import resolve
    from neurobox.limits import check_duration
    from neurobox.network.modelfile import load
    from neurobox.paths import output_file

    check_duration(args.duration)
    if args.threads is not None and args.threads < 1:
        raise ConfigError("--threads", f"must be >= 1, got {args.threads}")
    if args.seed is not None and args.seed < 0:
        raise ConfigError("--seed", f"must be >= 0, got {args.seed}")
    if args.out and args.plot and Path(args.out).resolve() == Path(args.plot).resolve():
        raise ConfigError("--plot", f"--out and --plot both name {args.out}")
    out_kind = OUT_KINDS.get(Path(args.out).suffix.lower()) if args.out else None
    output_file(args.out, "--out", force=args.force, kind=out_kind)
    check_out_kind(args.out, out_kind)
    output_file(args.plot, "--plot", force=args.force, kind="png")
    built_in = args.model == MICROCIRCUIT and not Path(args.model).exists()
    if not built_in:
        for option in ("scale", "background"):
            if getattr(args, option, None) is not None:
                raise ConfigError(f"--{option}", f"applies only to the built-in model {MICROCIRCUIT}, "
                                                 f"not to {args.model}")
        net = load(resolve(args.model))
    else:
        from neurobox.tasks import microcircuit as mc

        scale = mc.check_scale(0.1 if args.scale is None else args.scale, "--scale")
        background = mc.check_background(args.background or "poisson", "--background")
        net = mc.microcircuit(scale, background)
    if args.seed is not None:
        net.seed = args.seed
    if args.precision:
        net.precision = args.precision
    from neurobox.targets import require, runner

    target = runner(args.target)
    require(target, net)
    duration = check_duration(args.duration if args.duration is not None else net.duration,
                              "--duration" if args.duration is not None else "network.duration", dt=net.dt)
    est = check_memory(net, int(round(duration / net.dt)))  # neurons, synapses and recordings, before any is built
    from neurobox.engine.progress import for_cli, quiet_flag

    if quiet_flag(args) is None:
        print(memory_line(est), file=sys.stderr, flush=True)

    with for_cli(args) as bar:    # the engine shows its own phases (build, compile, run); others one phase
        engine = args.target in ("engine", "fixed")
        if not engine:
            bar.phase(args.target, f"{duration:g} ms of model time")
        if args.threads is not None and args.target not in THREADED:
            raise ConfigError("--threads", f"only {', '.join(THREADED)} run on threads, not {args.target}")
        options = {} if args.threads is None else {"threads": args.threads}
        handle = target.open(net, progress=quiet_flag(args), **options)
        results = handle.run(args.duration, progress=quiet_flag(args)) if engine else handle.run(args.duration)
    handle.close()
    if out_kind == "nwb":
        from neurobox.io.neo import write_nwb
        write_nwb(results, args.out, model=MICROCIRCUIT if built_in else Path(args.model).stem)
    elif args.out:
        results.save(args.out)
    stats = None
    if built_in:
        window = mc.stats_window(results.bio_ms)
        stats = mc.statistics(results, *window)
    if args.plot:
        if built_in:
            mc.raster(results, args.plot, stats=stats)
        else:
            from neurobox.viz.plots import raster
            raster(results, args.plot)
    summary = results.summary()
    summary["wall_s"] = round(time.perf_counter() - start, 4)
    if built_in:
        summary["microcircuit"] = {"scale": scale, "background": background, "window_ms": list(window),
                                   "populations": mc.stats_json(stats)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(results.summary_text(summary))
        if stats is not None:
            print(f"microcircuit at scale {scale:g}, {background} background; statistics over "
                  f"{window[0]:g}-{window[1]:g} ms (CV of ISIs over neurons with >= 3 spikes, synchrony: "
                  f"variance / mean of 3 ms spike counts)")
            print(mc.stats_table(stats))
        if args.out:
            print(f"saved results to {args.out}")
        if args.plot:
            print(f"wrote raster to {args.plot}")
    return 0


def check_out_kind(out: str | None, kind: str | None) -> None:
    """One line naming the allowed suffixes when --out has none of them; for an NWB file, the optional
    extra is checked now, before the run."""
    if out is None:
        return
    from neurobox.errors import ConfigError

    if kind is None:
        raise ConfigError("--out", f"cannot tell what to write from the name {out}; use the suffix .npz "
                                   f"(neurobox results) or .nwb (Neurodata Without Borders)")
    if kind == "nwb":
        from neurobox.io import require
        require("pynwb", "pynwb")


def memory_line(est) -> str:
    """The estimate of neurobox.engine.memory as the line printed before a build."""
    from neurobox.limits import gigabytes
    from neurobox.text import plural

    parts = [f"{gigabytes(est.neuron_bytes)} for {plural(est.neurons, 'neuron')}",
             f"{gigabytes(est.synapse_bytes)} for {plural(est.synapses, 'synapse')}"]
    if est.recording_bytes:
        parts.append(f"{gigabytes(est.recording_bytes)} for recordings")
    return f"memory: about {gigabytes(est.total)} estimated ({', '.join(parts)})"
