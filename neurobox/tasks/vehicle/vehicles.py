"""The vehicles `neurobox vehicle` drives: Braitenberg's hand-wired 2a "fear" and 3b "explorer" (model files
neurobox/examples/vehicle_*.toml), the learner (neurobox.tasks.vehicle.learning) or any vehicle model file,
scored on the held-out starts, with their figure and (after training) the trained model file. With target
"twin" the vehicle's network drives as physical units on the twin instead (neurobox.tasks.vehicle_chips:
sensors on ADC pins, motors on PWM pins), its first drive optionally verified in simavr."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from neurobox.errors import ConfigError
from neurobox.tasks.vehicle.learning import QUICK, LearnerConfig, held_out, score, train, weight_table
from neurobox.tasks.vehicle.loop import Episode, LoopConfig, drive_starts
from neurobox.tasks.vehicle.world import Arena

HAND_WIRED = {"fear": "vehicle_fear", "explorer": "vehicle_explorer"}
VEHICLES = (*HAND_WIRED, "learner")
MODEL_FILE = "vehicle_learner.toml"
FIGURE = "vehicle.png"
RESULT_FILES = (MODEL_FILE, FIGURE)
"""What a vehicle results folder holds: written as one set, replacing the earlier one; other files are kept."""
NEAR_MM, FAR_MM = 250.0, 400.0
"""Chunks with the light within NEAR_MM (beyond FAR_MM) of the vehicle count as near (far) in the speeds."""
SHOWN = 4
"""Drives drawn in the figure."""
TARGETS = ("engine", "twin")


def hand_wired(name: str, seed: int):
    """The network of a hand-wired vehicle ("fear", "explorer") or of a vehicle model file, with `seed`."""
    from neurobox.examples import path as example
    from neurobox.network.modelfile import load

    source = example(HAND_WIRED[name]) if name in HAND_WIRED else name
    net = load(source)
    net.seed = int(seed)
    return net


def speeds_near_far(episodes: list[Episode]) -> tuple[float | None, float | None]:
    """Mean wheel speed (mm/s, both wheels) over the chunks with the light near and far (NEAR_MM, FAR_MM)."""
    near, far = [], []
    for e in episodes:
        d = np.hypot(e.pose[:-1, 0] - e.light[0], e.pose[:-1, 1] - e.light[1])
        v = e.speeds.mean(axis=1)
        near.append(v[d < NEAR_MM])
        far.append(v[d > FAR_MM])
    near_v, far_v = np.concatenate(near), np.concatenate(far)
    return (round(float(near_v.mean()), 2) if near_v.size else None,
            round(float(far_v.mean()), 2) if far_v.size else None)


def _summary(name: str, episodes: list[Episode], seconds: float, arena: Arena) -> dict[str, Any]:
    near, far = speeds_near_far(episodes)
    return {"vehicle": name, "starts": len(episodes), "episode_s": seconds, "reach_mm": arena.reach_mm,
            "success_rate": round(sum(e.reached for e in episodes) / len(episodes), 4),
            "mean_time_s": round(float(np.mean([e.time_s for e in episodes])), 3),
            "bumps": int(sum(e.bumps for e in episodes)),
            "speed_near_light_mm_s": near, "speed_far_mm_s": far}


def on_chips(name: str, arena: Arena, config: LearnerConfig, loop_config: LoopConfig, *, seed: int,
             per_population: int | None, verify: bool, bar=None) -> tuple[list[Episode], dict[str, Any]]:
    """Drive vehicle `name` as units on the twin from the held-out starts (the first recorded and, with
    `verify`, every unit's firmware run in simavr on it); the drives and what the summary adds. A hand-wired
    vehicle is reduced to `per_population` units a population (default 2); the learner (untrained: its
    R-STDP units get no reward on the twin) and a vehicle model file go on at their own size."""
    import tempfile

    from neurobox.tasks.vehicle_chips import (CHIP_VEHICLES, check_tools, chip_network, drive_starts_on_chips,
                                              verify_on_chips)

    if name in CHIP_VEHICLES:
        per_population = 2 if per_population is None else per_population
        net = chip_network(per_population, seed, vehicle=name)
    elif per_population is not None:
        raise ConfigError("--boxes-per-population", f"reduces the hand-wired vehicles ({', '.join(CHIP_VEHICLES)}); "
                                                    f"{name!r} goes on the chips at its own size")
    elif name == "learner":
        from neurobox.tasks.vehicle.learning import build_network

        net = build_network(config, seed)
    else:
        net = hand_wired(name, seed)
    if verify:
        check_tools()                            # one line before a long drive, not after it
    vehicle, records, twin = drive_starts_on_chips(
        net, held_out(arena, config.test_starts), config.episode_s, loop_config, record_first=verify,
        progress=None if bar is None else bar.update)
    seconds = twin["ticks"] * net.dt * 1e-3
    twin = {**twin, "bus_load": round(twin["bus_load"], 6), "wall_s": round(twin["wall_s"], 3),
            "driven_s": round(seconds, 3), "real_time_factor": round(seconds / max(twin["wall_s"], 1e-9), 2)}
    plan = vehicle.twin.plan
    pins = {u.name: {"population": vehicle.board.neurons[u.name][0], "neuron": int(vehicle.board.neurons[u.name][1]),
                     "address": u.address, "role": "sensor" if u.sensor else "motor" if u.motor else "neuron",
                     "adc": plan.pins[u.name].adc, "pwm": plan.pins[u.name].pwm} for u in vehicle.units}
    sizes = {net.populations[p].n for p in net.populations}
    extra: dict[str, Any] = {"target": "twin", "boxes": len(vehicle.units),
                             "boxes_per_population": sizes.pop() if len(sizes) == 1 else None,
                             "pins": pins, "bus_baud": plan.bus.baud, "twin": twin}
    if verify:
        if bar is not None:
            bar.phase("firmware")
        with tempfile.TemporaryDirectory(prefix="neurobox-vehicle-") as work:
            units = verify_on_chips(vehicle, records[0], work)
        from neurobox.hardware.avr.config import tick_timer

        extra["firmware"] = {"ticks": int(records[0].spikes.shape[0]), "tick_cycles": tick_timer(net.dt).cycles,
                             "bit_exact": all(u["bit_exact"] and u["output_ok"] and u["spikes_equal_twin"]
                                              and u["duty_equal_twin"] is not False for u in units),
                             "units": [{k: u[k] for k in ("unit", "bit_exact", "output_ok", "spikes_equal_twin",
                                                          "duty_equal_twin", "spikes", "busiest_tick_cycles",
                                                          "mismatch", "output_faults")} for u in units]}
    return [r.episode for r in records], extra


def run_vehicle(name: str, out: str | os.PathLike, *, seed: int = 0, learn: bool = False, quick: bool = False,
                starts: int | None = None, bar=None, target: str = "engine", seconds: float | None = None,
                per_population: int | None = None, verify: bool = False) -> tuple[dict[str, Any], list[Path]]:
    """Drive vehicle `name` (VEHICLES, or a vehicle model file) from the held-out starts, each for `seconds`
    (default: the learner's episode_s) and write its figure into `out`; the learner with `learn` is trained
    first, scored before and after, and saved as a model file. target "twin": see `on_chips`. Returns the
    summary and the files written (put in place as one set)."""
    from neurobox.files import atomic_folder
    from neurobox.viz.vehicle_plots import trajectories

    arena, loop_config = Arena(), LoopConfig()
    config = QUICK if quick else LearnerConfig()
    if starts is not None:
        config = replace(config, test_starts=int(starts))
    if seconds is not None:
        config = replace(config, episode_s=seconds)
    config.check()
    if target not in TARGETS:
        raise ConfigError("--target", f"unknown target {target!r}; valid: {', '.join(TARGETS)}")
    if learn and target != "engine":
        raise ConfigError("--learn", "the learner learns in the engine; put its trained model file on the twin "
                                     "afterwards")
    if learn and name != "learner":
        raise ConfigError("--learn", f"only the learner learns; {name!r} is wired by hand")
    if verify and target != "twin":
        raise ConfigError("--verify-firmware", "holds the firmware to the twin's run: use it with --target twin")
    extra: dict[str, Any] = {"target": target}
    trained = None
    if target == "twin":
        episodes, more = on_chips(name, arena, config, loop_config, seed=seed, per_population=per_population,
                                  verify=verify, bar=bar)
        extra.update(more)
    elif name == "learner":
        from neurobox.tasks.vehicle.learning import build_network

        net = build_network(config, seed)
        untrained, episodes = score(net, config, arena, loop_config)
        extra["untrained_success_rate"] = round(untrained, 4)
        extra["untrained_bumps"] = int(sum(e.bumps for e in episodes))
        if learn:
            if bar is not None:
                bar.phase("train")
            training = train(config, seed, arena, loop_config, progress=None if bar is None else bar.update)
            trained = training.network
            _, episodes = score(trained, config, arena, loop_config)
            extra.update({"episodes": config.episodes, "train_seconds": round(training.wall_s, 2),
                          "train_reached": int(sum(training.reached)),
                          "weights_before_pA": {k: round(v, 2) for k, v in weight_table(net).items()},
                          "weights_after_pA": {k: round(v, 2) for k, v in weight_table(trained).items()}})
    else:
        net = hand_wired(name, seed)
        episodes = drive_starts(net, held_out(arena, config.test_starts), config.episode_s, loop_config)
    summary = {**_summary(Path(name).stem if name not in VEHICLES else name, episodes, config.episode_s, arena),
               "seed": int(seed), **extra}
    out = Path(out)
    shown = [{**e.as_arrays(), "reached": e.reached} for e in episodes[:SHOWN]]
    title = {"fear": "Braitenberg 2a, fear", "explorer": "Braitenberg 3b, explorer",
             "learner": "the learner, " + ("trained" if learn else "untrained")}.get(name, str(name))
    if target == "twin":
        title += f", on the twin: {extra['boxes']} units"
    with atomic_folder(out, replaces=RESULT_FILES) as tmp:
        if trained is not None:
            trained.save(tmp / MODEL_FILE)
        trajectories(arena.radius, arena.obstacles, shown, tmp / FIGURE, reach_mm=arena.reach_mm, title=title)
    files = [out / FIGURE] + ([out / MODEL_FILE] if trained is not None else [])
    summary["figure"] = str(out / FIGURE)
    if trained is not None:
        summary["model"] = str(out / MODEL_FILE)
    summary["out"] = str(out)
    return summary, files
