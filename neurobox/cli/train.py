"""`neurobox train TASK`: train a working example (digits, xor; sine-waves, evidence by e-prop) and report its score."""
from __future__ import annotations

import json
from pathlib import Path

from neurobox.cli import add_force

TASKS = ("digits", "xor", "sine-waves", "evidence")
EPROP_TASKS = ("sine-waves", "evidence")
MAX_ITERATIONS = 100_000
TARGETS = ("engine", "fixed", "twin")
MAX_SEEDS = 1000
MAX_UNITS = 10_000


def register(sub) -> None:
    p = sub.add_parser("train", help="train a working example (digits, xor, sine-waves, evidence)",
                       description="Train a working example with local learning rules and score it.")
    p.add_argument("task", help=f"the task: {', '.join(TASKS)}")
    p.add_argument("--seed", type=int, default=0, help="master seed (digits, sine-waves, evidence; default 0)")
    p.add_argument("--iterations", type=int,
                   help="sine-waves, evidence: training iterations (one e-prop weight update each; default "
                        "sine-waves 200, as NEST's example; evidence at most 1000, stopping early as NEST's "
                        "example does; sine-waves --target twin 60; --quick: 20, 100 and 20)")
    p.add_argument("--seeds", default="10", metavar="N|A:B",
                   help="xor: N seeds (0..N-1) or A:B (seeds A..B-1); default 10")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run xor's seeds, or digits' fault cases (--fault-sweep), as tasks on a Dask cluster: a "
                        "scheduler's address (tcp://host:8786), or 'local' for a local cluster with a worker per "
                        "core (neurobox.cluster)")
    p.add_argument("--workers", type=int, help="with --scheduler local: worker processes (default: one per core)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the scores")
    p.add_argument("--out", help="folder for the saved network and the pictures (default: train-TASK)")
    p.add_argument("--quick", action="store_true", help="a reduced configuration (fewer neurons, epochs, iterations)")
    p.add_argument("--target", choices=TARGETS, default="engine",
                   help="engine: the float network in the engine (default); fixed: the physical network in the "
                        "units' integer arithmetic, in the engine; twin: the physical network trained on the "
                        "twin's units (own clocks, bus), each unit learning from the spikes it sees and the "
                        "broadcast reward; sine-waves: the units learn by e-prop in fixed point, the host as their "
                        "readout, next to the same units in float and the engine's e-prop)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--fault-sweep", action="store_true",
                   help="digits: also score the trained network under packet loss and dead units (and, on the "
                        "twin, unit resets and clock drift)")
    p.add_argument("--units", type=int, help="digits: learning units (default 400 on the engine, 50 on the units)")
    p.add_argument("--fpga-synth", action="store_true",
                   help="twin: synthesise the FPGA cells (yosys, nextpnr; once per distinct cell, then cached) for "
                        "the board's time at Fmax; without it, a cached synthesis or the 12 MHz oscillator")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="write the complete state of training (weights, thresholds, traces, random streams, "
                        "position in the data) into OUT/checkpoint after every N training images (digits) or "
                        "trials (xor: at the end of the epoch that reaches them, and after every seed); "
                        "targets engine and fixed")
    p.add_argument("--resume", metavar="DIR",
                   help="continue a training from its checkpoint (DIR: OUT/checkpoint, or OUT); give the options "
                        "it was started with: it then ends bit for bit as an uninterrupted run")
    add_force(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from neurobox.errors import ConfigError
    from neurobox.limits import check_count
    from neurobox.paths import output_folder

    if args.task not in TASKS:
        raise ConfigError("task", f"unknown task {args.task!r}; valid: {', '.join(TASKS)}")
    if args.task in EPROP_TASKS:
        _check_eprop_options(args)
    elif args.iterations is not None:
        raise ConfigError("--iterations", f"applies to {' and '.join(EPROP_TASKS)} only")
    if args.seed < 0:
        raise ConfigError("--seed", f"must be >= 0, got {args.seed}")
    args.first_seed, args.seeds = _seed_range(args.seeds)
    check_count(args.seeds, "--seeds", 1, MAX_SEEDS, "each seed trains a network")
    if args.scheduler and args.task == "digits" and not args.fault_sweep:
        raise ConfigError("--scheduler", "spreads xor's seeds or digits' fault cases (--fault-sweep) over a "
                                         "cluster; digits without --fault-sweep trains one network")
    if args.workers is not None and args.scheduler != "local":
        raise ConfigError("--workers", "applies to --scheduler local only")
    check_count(args.units, "--units", 1, MAX_UNITS, "the lateral inhibition, all to all, grows with its square")
    if args.checkpoint_every < 0:
        raise ConfigError("--checkpoint-every", f"must be >= 0, got {args.checkpoint_every}")
    # the folder is checked (and claimed) before the training: a file in its place fails now, not after it
    out = output_folder(args.out or f"train-{args.task}", "--out", f"train {args.task}", force=args.force)
    return {"digits": _digits, "xor": _xor, "sine-waves": _eprop, "evidence": _eprop}[args.task](args, out)


def _check_eprop_options(args) -> None:
    """sine-waves and evidence train in the engine, one network: the options of the other tasks are refused."""
    from neurobox.errors import ConfigError
    from neurobox.limits import check_count

    check_count(args.iterations, "--iterations", 1, MAX_ITERATIONS, "each iteration simulates a whole batch")
    twin = args.task == "sine-waves" and args.target == "twin"      # the units in the twin (tasks.eprop_units)
    given = [(flag, bad) for flag, bad in (("--target", args.target != "engine" and not twin),
                                          ("--seeds", args.seeds != "10"),
                                          ("--scheduler", bool(args.scheduler)), ("--workers", args.workers is not None),
                                          ("--units", args.units is not None), ("--fault-sweep", args.fault_sweep),
                                          ("--fpga-synth", args.fpga_synth),
                                          ("--checkpoint-every", args.checkpoint_every != 0),
                                          ("--resume", bool(args.resume))) if bad]
    if given:
        raise ConfigError(given[0][0], f"does not apply to {args.task} (e-prop trains one float network in the "
                                       "engine; its options: --iterations, --seed, --quick, --json, --out, --quiet; "
                                       "sine-waves also --target twin)")


def _seed_range(text: str) -> tuple[int, int]:
    """--seeds: "N" (seeds 0..N-1) or "A:B" (seeds A..B-1) as (first seed, count)."""
    from neurobox.errors import ConfigError

    try:
        if ":" in text:
            a, _, b = text.partition(":")
            first, count = int(a), int(b) - int(a)
        else:
            first, count = 0, int(text)
    except ValueError:
        raise ConfigError("--seeds", f"expected N or A:B (seeds A..B-1), got {text!r}") from None
    if first < 0:
        raise ConfigError("--seeds", f"seeds must be >= 0, got {text!r}")
    return first, count


def _mapper(args, label: str = "seed"):
    """None (the runs here, one after another), or a map over the Dask cluster --scheduler names."""
    if not args.scheduler:
        return None
    from neurobox.cluster.sweep import map_runs

    return lambda work, seeds: map_runs(work, seeds, scheduler=None if args.scheduler == "local" else args.scheduler,
                                        workers=args.workers, label=label)


def _bar(args):
    from neurobox.engine.progress import for_cli

    return for_cli(args)


FAULT_LINES = {"loss": ("packet loss", "%"), "dead_fraction": ("dead units", "%"),
               "reset_fraction": ("units reset once", "%"), "drift_ppm": ("clock drift up to", "ppm")}


def _digits(args, out: Path) -> int:
    from dataclasses import replace

    from neurobox.tasks import digits
    from neurobox.text import plural

    if args.target == "engine":
        config = digits.QUICK if args.quick else digits.DigitsConfig()
    else:
        config = digits.UNITS_QUICK if args.quick else digits.UnitDigitsConfig()
    if args.units is not None:
        config = replace(config, n_exc=args.units)
    target = "twin" if args.target == "twin" else "engine"
    summary, paths = digits.train_and_report(config, args.seed, out, _bar(args), target, faults=args.fault_sweep,
                                             fmax_mhz=_fmax(args), checkpoint_every=args.checkpoint_every,
                                             resume=args.resume, mapper=_mapper(args, "fault case"))
    if args.json:
        print(json.dumps(summary))
        return 0
    where = {"engine": "in the engine", "fixed": "in the units' arithmetic, in the engine",
             "twin": "on the twin's units"}[args.target]
    print(f"digits: test accuracy {100 * summary['test_accuracy']:.1f} % "
          f"(train {100 * summary['train_accuracy']:.1f} %), {plural(config.n_exc, 'learning neuron')} "
          f"+ {digits.N_PIXELS} inputs {where}, trained in {summary['train_seconds']:.1f} s, seed {args.seed}")
    _speed_line(summary)
    for path in paths:
        print(f"wrote {path}")
    for kind, (what, unit) in FAULT_LINES.items():
        for row in summary.get("faults", {}).get(kind, []):
            value = 100 * row[kind] if unit == "%" else row[kind]
            print(f"  {what} {value:g} {unit}: test accuracy {100 * row['test_accuracy']:.1f} %")
    return 0


def _xor(args, out: Path) -> int:
    from dataclasses import replace

    from neurobox.tasks import xor
    from neurobox.text import plural

    config = xor.XorConfig() if args.target == "engine" else xor.PHYSICAL
    if args.quick:
        config = replace(config, epochs=40)
    target = "twin" if args.target == "twin" else "engine"
    summary, paths = xor.train_and_report(args.seeds, config, out, _bar(args), target, first_seed=args.first_seed,
                                          fmax_mhz=_fmax(args), checkpoint_every=args.checkpoint_every,
                                          resume=args.resume, mapper=_mapper(args))
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"xor: {100 * summary['accuracy']:.1f} % correct after training "
              f"(mean over {plural(args.seeds, 'seed')}{' on the cluster' if args.scheduler else ''}; "
              f"min {100 * summary['min']:.0f} %, max {100 * summary['max']:.0f} %) on "
              f"{'the twin' if target == 'twin' else 'the engine'}, {config.precision} arithmetic, "
              f"{plural(summary['units'], 'unit')}")
        print("per seed: " + ", ".join(f"{100 * a:.0f} %" for a in summary["per_seed"]))
        _speed_line(summary)
        for path in paths:
            print(f"wrote {path}")
    return 0


def _eprop(args, out: Path) -> int:
    """sine-waves or evidence: train by e-prop, save the trained model, the curve and the pictures; sine-waves
    --target twin: the units learn in fixed point in the twin (tasks.eprop_units), next to float."""
    if args.target == "twin":
        from neurobox.tasks import eprop_units

        summary, paths = eprop_units.train_and_report(args.iterations or (20 if args.quick else 60), args.seed,
                                                      out, _bar(args))
        line = eprop_units.summary_text(summary)
    else:
        from neurobox.tasks import evidence, sine_waves

        task = sine_waves if args.task == "sine-waves" else evidence
        summary, paths = task.train_and_report(task.configure(args.quick, args.iterations), args.seed, out,
                                               _bar(args))
        line = task.summary_line(summary)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(line)
    for path in paths:
        print(f"wrote {path}")
    return 0


def _fmax(args) -> str:
    return "synth" if args.fpga_synth else "cached"


def _speed_line(summary: dict) -> None:
    """On the twin: how long the physical board would have taken (neurobox.hardware.speed), next to this
    machine's wall time."""
    if "board_speed" not in summary:
        return
    from neurobox.hardware.speed import BoardSpeed

    speed = BoardSpeed.from_dict(summary["board_speed"])
    print(speed.line({"twin": summary["train_seconds"]}))
    if speed.avr_fastest_s is None:
        print(f"  (no fastest tick: {speed.avr_cycles_source})")
