"""The vehicles `neurobox vehicle` drives: Braitenberg's hand-wired 2a "fear" and 3b "explorer" (model files
neurobox/examples/vehicle_*.toml), the learner (neurobox.tasks.vehicle.learning) or any vehicle model file,
scored on the held-out starts, with their figure and (after training) the trained model file."""
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


def run_vehicle(name: str, out: str | os.PathLike, *, seed: int = 0, learn: bool = False, quick: bool = False,
                starts: int | None = None, bar=None) -> tuple[dict[str, Any], list[Path]]:
    """Drive vehicle `name` (VEHICLES, or a vehicle model file) from the held-out starts and write its figure
    into `out`; the learner with `learn` is trained first, scored before and after, and saved as a model
    file. Returns the summary and the files written (put in place as one set)."""
    from neurobox.files import atomic_folder
    from neurobox.viz.vehicle_plots import trajectories

    arena, loop_config = Arena(), LoopConfig()
    config = QUICK if quick else LearnerConfig()
    if starts is not None:
        config = replace(config, test_starts=int(starts))
    config.check()
    if learn and name != "learner":
        raise ConfigError("--learn", f"only the learner learns; {name!r} is wired by hand")
    extra: dict[str, Any] = {}
    trained = None
    if name == "learner":
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
