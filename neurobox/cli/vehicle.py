"""`neurobox vehicle`: a little two-wheeled vehicle driven by a network of neurons, headless."""
from __future__ import annotations

import json

from neurobox.cli import add_force, add_quiet

MAX_STARTS = 1000


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
    if args.learn and name != "learner":
        raise ConfigError("--learn", f"only the learner learns; {name!r} is wired by hand")
    stem = name if name in VEHICLES else Path(name).stem
    out = output_folder(args.out or f"vehicle-{stem}", "--out", "vehicle", force=args.force)
    with for_cli(args) as bar:
        bar.phase("drive")
        summary, files = run_vehicle(name, out, seed=args.seed, learn=args.learn, quick=args.quick,
                                     starts=args.starts, bar=bar)
    if args.json:
        print(json.dumps(summary))
        return 0
    rate = f"{summary['success_rate'] * 100:.0f} % of {summary['starts']} held-out starts"
    print(f"{summary['vehicle']}: reached the light (within {summary['reach_mm']:g} mm, in "
          f"{summary['episode_s']:g} s) from {rate}; {summary['bumps']} bumps")
    if "untrained_success_rate" in summary and args.learn:
        print(f"untrained: {summary['untrained_success_rate'] * 100:.0f} %; trained in "
              f"{summary['train_seconds']:g} s over {summary['episodes']} episodes")
    near, far = summary["speed_near_light_mm_s"], summary["speed_far_mm_s"]
    if near is not None and far is not None:
        print(f"mean wheel speed near the light {near:g} mm/s, far from it {far:g} mm/s")
    for path in files:
        print(f"wrote {path}")
    return 0
