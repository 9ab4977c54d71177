"""`neurobox vehicle`: a little two-wheeled vehicle driven by a network of neurons, headless."""
from __future__ import annotations

import json
import sys

from neurobox.cli import add_force, add_quiet

MAX_STARTS = 1000
MAX_SECONDS = 600.0
"""Longest drive (s): on the twin with --verify-firmware every unit's firmware runs in simavr for each tick."""


def register(sub) -> None:
    p = sub.add_parser("vehicle", help="a two-wheeled vehicle driven by neurons: Braitenberg's fear and explorer, "
                                       "or a learner (R-STDP)",
                       description="Drive a vehicle from held-out random starts in a round arena with obstacles "
                                   "and a light, write a trajectory figure and print the share of starts that "
                                   "reached the light.")
    p.add_argument("vehicle", nargs="?", default="learner",
                   help="fear (Braitenberg 2a), explorer (3b), learner (default), or a vehicle model file "
                        "(for example a trained OUT/vehicle_learner.toml)")
    p.add_argument("--learn", action="store_true",
                   help="learner: train it by reward-modulated STDP first, score it before and after, save it")
    p.add_argument("--seed", type=int, default=0, help="seed of the network (and of the training starts; default 0)")
    p.add_argument("--starts", type=int, help="held-out starts scored (default 50; 6 with --quick)")
    p.add_argument("--quick", action="store_true", help="a short training and scoring (for tests)")
    p.add_argument("--seconds", type=float, help="length of each drive, s (default 20; 10 with --quick)")
    p.add_argument("--target", default="engine", choices=("engine", "twin"),
                   help="engine (default), or twin: the vehicle's network as physical units on the twin (sensor "
                        "units on ADC pins, motor units on PWM pins of ATmega8s, talking over the bus); the "
                        "learner and model files at their own size, learning frozen (no reward)")
    p.add_argument("--boxes-per-population", type=int, metavar="N",
                   help="--target twin, fear and explorer: units in each sensor and motor population "
                        "(default 2: 12 units)")
    p.add_argument("--verify-firmware", action="store_true",
                   help="--target twin: record the first drive, build every unit's ATmega8 firmware and run it "
                        "in simavr on the recorded sensor readings; fails unless each unit equals the twin")
    p.add_argument("--json", action="store_true", help="print one JSON object with the numbers")
    p.add_argument("--out", help="folder for the figure and the trained model (default vehicle-VEHICLE)")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from neurobox.engine.progress import for_cli
    from neurobox.errors import ConfigError
    from neurobox.limits import check_count
    from neurobox.paths import check_input_file, output_folder
    from neurobox.tasks.vehicle.vehicles import VEHICLES, run_vehicle

    name = args.vehicle
    if name not in VEHICLES:
        if not (name.endswith(".toml") or "/" in name):
            raise ConfigError("vehicle", f"unknown vehicle {name!r}; valid: {', '.join(VEHICLES)}, or a model file")
        if not Path(name).exists():
            raise ConfigError("vehicle", f"{name}: file not found")
        check_input_file(name)
    if args.seed < 0:
        raise ConfigError("--seed", f"must be >= 0, got {args.seed}")
    check_count(args.starts, "--starts", 1, MAX_STARTS, "each start is a drive of up to 20 s")
    if args.seconds is not None and not 0 < args.seconds <= MAX_SECONDS:
        raise ConfigError("--seconds", f"must be in (0, {MAX_SECONDS:g}] s, got {args.seconds:g}")
    if args.learn and args.target == "twin":
        raise ConfigError("--learn", "the learner learns in the engine; put its trained model file on the twin "
                                     "afterwards")
    if args.learn and name != "learner":
        raise ConfigError("--learn", f"only the learner learns; {name!r} is wired by hand")
    if args.target == "twin":
        from neurobox.tasks.vehicle_chips import CHIP_VEHICLES, MODEL_NEURONS

        if args.boxes_per_population is not None and name not in CHIP_VEHICLES:
            raise ConfigError("--boxes-per-population", f"reduces the hand-wired vehicles "
                                                        f"({', '.join(CHIP_VEHICLES)}); {name!r} goes on the "
                                                        f"chips at its own size")
        check_count(args.boxes_per_population, "--boxes-per-population", 1, MODEL_NEURONS,
                    "the model's populations have that many neurons")
        if args.verify_firmware:
            from neurobox.tasks.vehicle_chips import check_tools

            check_tools()
    else:
        for flag, given in (("--boxes-per-population", args.boxes_per_population is not None),
                            ("--verify-firmware", args.verify_firmware)):
            if given:
                raise ConfigError(flag, "goes with --target twin")
    stem = name if name in VEHICLES else Path(name).stem
    out = output_folder(args.out or f"vehicle-{stem}", "--out", "vehicle", force=args.force)
    with for_cli(args) as bar:
        bar.phase("drive")
        summary, files = run_vehicle(name, out, seed=args.seed, learn=args.learn, quick=args.quick,
                                     starts=args.starts, bar=bar, target=args.target, seconds=args.seconds,
                                     per_population=args.boxes_per_population, verify=args.verify_firmware)
    failed = "firmware" in summary and not summary["firmware"]["bit_exact"]
    if args.json:
        print(json.dumps(summary))
        return 1 if failed else 0
    rate = f"{summary['success_rate'] * 100:.0f} % of {summary['starts']} held-out starts"
    where = f" on the twin ({summary['boxes']} units)" if args.target == "twin" else ""
    print(f"{summary['vehicle']}{where}: reached the light (within {summary['reach_mm']:g} mm, in "
          f"{summary['episode_s']:g} s) from {rate}; {summary['bumps']} bumps")
    if "untrained_success_rate" in summary and args.learn:
        print(f"untrained: {summary['untrained_success_rate'] * 100:.0f} % ({summary['untrained_bumps']} bumps); "
              f"trained in {summary['train_seconds']:g} s over {summary['episodes']} episodes")
    near, far = summary["speed_near_light_mm_s"], summary["speed_far_mm_s"]
    if near is not None and far is not None:
        print(f"mean wheel speed near the light {near:g} mm/s, far from it {far:g} mm/s")
    if args.target == "twin":
        _print_chips(summary)
    for path in files:
        print(f"wrote {path}")
    if failed:
        bad = next(u for u in summary["firmware"]["units"] if not (u["bit_exact"] and u["output_ok"]
                                                                   and u["spikes_equal_twin"]
                                                                   and u["duty_equal_twin"] is not False))
        why = bad["mismatch"] or "; ".join(bad["output_faults"]) or "its spikes or PWM duty differ from the twin's"
        print(f"neurobox vehicle: error: unit {bad['unit']}'s firmware differs from the twin: {why}", file=sys.stderr)
        return 1
    return 0


def _print_chips(s: dict) -> None:
    """The twin's lines: the pins the planner gave, the twin's figures, the firmware check."""
    groups: dict[str, dict[str, list[int]]] = {}      # pin -> population -> neuron indices
    for p in s["pins"].values():
        pin = f"ADC{p['adc'][2]} on {p['adc']}" if p["adc"] else f"PWM (OC2) on {p['pwm']}" if p["pwm"] else "none"
        groups.setdefault(pin, {}).setdefault(p["population"], []).append(p["neuron"])

    def span(pop: str, ix: list[int]) -> str:
        whole = len(ix) > 1 and ix == list(range(ix[0], ix[0] + len(ix)))
        return f"{pop}[{ix[0]}-{ix[-1]}]" if whole else ", ".join(f"{pop}[{i}]" for i in ix)

    print(f"pins (one ATmega8 a unit, bus at {s['bus_baud']} baud): "
          + "; ".join(f"{', '.join(span(pop, ix) for pop, ix in pops.items())}: {pin}" for pin, pops in groups.items()))
    t = s["twin"]
    print(f"twin: {t['spikes']} spikes, {t['lost']} lost, bus load {100 * t['bus_load']:.2f} %, "
          f"{t['driven_s']:g} s driven in {t['wall_s']:g} s ({t['real_time_factor']:g} x real time)")
    if "firmware" in s:
        f = s["firmware"]
        good = sum(u["bit_exact"] and u["output_ok"] and u["spikes_equal_twin"] and u["duty_equal_twin"] is not False
                   for u in f["units"])
        motors = [u for u in f["units"] if u["duty_equal_twin"] is not None]
        print(f"firmware in simavr, first drive ({f['ticks']} ticks): {good} of {len(f['units'])} units equal "
              f"to the twin, OCR2 equal to the twin's duty on {sum(u['duty_equal_twin'] for u in motors)} of "
              f"{len(motors)} motor units, busiest tick {max(u['busiest_tick_cycles'] for u in f['units'])} of "
              f"{f['tick_cycles']} cycles")
