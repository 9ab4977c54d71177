"""The vehicle on the live board: a Braitenberg vehicle (neurobox.tasks.vehicle) drives live next to its
network, and a finger drags the light and the obstacles of its arena.

`vehicle_demo(which)` is `neurobox board --demo vehicle [WHICH]`: the
hand-wired 2a "fear" (the default) or 3b "explorer", or a vehicle model
file (a trained learner saved by `neurobox vehicle --learn`, for one).

`VehicleTask` is a board task (see neurobox.board.tasks): every
`chunk_ms` of the board's run it ends the loop's chunk and begins the next
(`VehicleLoop.end_chunk`: the motor spikes become wheel speeds and the
world moves; `VehicleLoop.begin_chunk`: the readings become the sensors'
rates), the loop `neurobox vehicle` runs, while the board advances the
network in between. The board feeds every input itself
(neurobox.board.inputs), so the sensor populations are spike generators
on the board: the rate the loop sets for a chunk becomes that chunk's
Poisson spikes (one Bernoulli draw per neuron and step, from the task's
own seeded stream), fed like a task's patterns. The sensors stay inputs a
finger can touch as well.

`state()` is what the page's arena shows (mm, rad, mm/s, Hz): the walls,
the obstacles, the light, the vehicle's pose, its recent path, its
readings, motor rates and wheel speeds. `drag(what, index, x_mm, y_mm)`
moves the light or obstacle `index` there, or refuses (a ConfigError
naming the field) a place outside the arena or an obstacle onto the
vehicle; the world changes at once and is sensed at the end of the chunk
under way. A reset puts everything back where it started.
"""
from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import numpy as np

from neurobox.errors import ConfigError
from neurobox.tasks.vehicle.loop import LoopConfig, VehicleLoop, check_vehicle_network
from neurobox.tasks.vehicle.world import SENSORS, Arena, Pose, World

START_POSE = (300.0, 300.0, 0.2)
"""Where the vehicle starts: x, y (mm), heading (rad), below and left of the light, looking past it."""
START_LIGHT = (520.0, 560.0)
"""Where the light starts, mm."""
PATH_POINTS = 250
"""Poses of the recent path the page draws (one per chunk: 5 s at 20 ms)."""
DRAGGABLE = ("light", "obstacle")


class BoardRun:
    """What the loop asks of its run, answered by the live board: the vehicle's network (for its checks and
    sizes), the board's time and spikes; the sensors' rates the loop sets are kept for the task to draw."""

    def __init__(self, net):
        self.network = net
        self.board = None
        self.rates: dict[str, float] = {}

    @property
    def time(self) -> float:
        return self.board.time

    def set_params(self, name: str, rate: float) -> None:
        self.rates[name] = float(rate)

    def spikes_between(self, t0: float, t1: float):
        return self.board.handle.spikes_between(t0, t1)


class VehicleTask:
    """A vehicle driving in its arena while the board runs its network; see the module docstring.

    net: the vehicle's network as `neurobox vehicle` runs it (Poisson sensor populations); name: what the
    page calls it; seed: of the sensors' spikes; start: (x, y, theta) of the vehicle, light: (x, y), mm."""

    name = "vehicle"

    def __init__(self, net, name: str = "fear", *, arena: Arena = Arena(), config: LoopConfig = LoopConfig(),
                 seed: int = 0, start: tuple[float, float, float] = START_POSE,
                 light: tuple[float, float] = START_LIGHT):
        self.sensors = check_vehicle_network(net)
        self.vehicle, self.arena, self.config = name, arena.check(), config.check()
        self.run = BoardRun(net)
        self.seed = int(seed)
        self.start, self.start_light = tuple(map(float, start)), tuple(map(float, light))
        if World(self.arena, Pose(*self.start), self.start_light).blocked(*self.start[:2]):
            raise ConfigError("start", f"the vehicle cannot start at {self.start[:2]} mm: "
                                       "a wall or an obstacle is there")
        self.version = 0
        self.reset()

    def reset(self) -> None:
        self.world = World(self.arena, Pose(*self.start), self.start_light)
        self.loop = VehicleLoop(self.run, self.world, self.config)
        self.rng = np.random.default_rng([self.seed, 2702])
        self.path: deque = deque([(self.world.pose.x, self.world.pose.y)], maxlen=PATH_POINTS)
        self.chunk_t0: float | None = None      # the network time (ms) the chunk under way began at
        self.next_t = 0.0
        self.speeds, self.rates = (0.0, 0.0), (0.0, 0.0)
        self.drags = 0
        self.version += 1

    def due(self) -> float:
        return self.next_t

    def act(self, board) -> None:
        """End the chunk under way (the world moves) and begin the next (its sensor spikes are fed)."""
        self.run.board = board
        if self.chunk_t0 is not None:
            chunk = self.loop.end_chunk(self.chunk_t0)
            self.speeds, self.rates = chunk.speeds, chunk.rates
            self.path.append((self.world.pose.x, self.world.pose.y))
        self.chunk_t0 = self.loop.begin_chunk()
        dt = board.dt
        steps = round(self.config.chunk_ms / dt)
        first = round(self.chunk_t0 / dt)
        for name in self.sensors:
            p = -math.expm1(-self.run.rates[name] * dt * 1e-3)
            fired = self.rng.random((board.net.populations[name].n, steps)) < p
            board.feed.add(name, [(first + 1 + np.flatnonzero(row)) * dt for row in fired])
        self.next_t = self.chunk_t0 + steps * dt
        self.version += 1

    def drag(self, what: str, index: int | None, x_mm: float, y_mm: float) -> str:
        """Move the light (index None or 0) or obstacle `index` to (x_mm, y_mm); ConfigError where it may not go."""
        a, w = self.arena, self.world
        x, y = float(x_mm), float(y_mm)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ConfigError("x_mm", f"a place is two finite numbers (mm), got ({x_mm!r}, {y_mm!r})")
        off = math.hypot(x - a.radius, y - a.radius)
        inside = f"the arena is the disc of radius {a.radius:g} mm around ({a.radius:g}, {a.radius:g}) mm"
        if what == "light":
            if index not in (None, 0):
                raise ConfigError("index", f"there is one light (index 0), got {index!r}")
            if off > a.radius:
                raise ConfigError("x_mm", f"({x:.0f}, {y:.0f}) mm is outside the arena: {inside}")
            w.light = (x, y)
            note = f"light moved to ({x:.0f}, {y:.0f}) mm"
        elif what == "obstacle":
            if index is None or not 0 <= index < len(w.obstacles):
                raise ConfigError("index", f"obstacles are numbered 0 to {len(w.obstacles) - 1}, got {index!r}")
            r = w.obstacles[index][2]
            if off > a.radius - r:
                raise ConfigError("x_mm", f"obstacle {index} (radius {r:g} mm) at ({x:.0f}, {y:.0f}) mm would "
                                          f"stick out of the arena: {inside}")
            if math.hypot(x - w.pose.x, y - w.pose.y) < r + a.body_radius:
                raise ConfigError("x_mm", f"obstacle {index} at ({x:.0f}, {y:.0f}) mm would cover the vehicle")
            w.obstacles[index] = (x, y, r)
            note = f"obstacle {index} moved to ({x:.0f}, {y:.0f}) mm"
        else:
            raise ConfigError("what", f"one drags the {' or an '.join(DRAGGABLE)}, got {what!r}")
        self.drags += 1
        self.version += 1
        return note

    def state(self) -> dict:
        a, w, p = self.arena, self.world, self.world.pose
        return {"task": "vehicle", "vehicle": self.vehicle, "t_s": round(self.loop.t_s, 3),
                "arena": {"radius": a.radius, "body_radius": a.body_radius, "sensor_angle": round(a.sensor_angle, 4),
                          "whisker_angle": round(a.whisker_angle, 4), "whisker_mm": a.whisker_mm,
                          "reach_mm": a.reach_mm},
                "pose": [round(p.x, 1), round(p.y, 1), round(p.theta, 4)],
                "light": [round(v, 1) for v in w.light],
                "obstacles": [[round(v, 1) for v in ob] for ob in w.obstacles],
                "path": [[round(x), round(y)] for x, y in self.path],
                "readings": {s: round(self.loop.readings[s], 3) for s in SENSORS},
                "sensors": self.sensors, "rates_hz": [round(r, 1) for r in self.rates],
                "speeds_mm_s": [round(v, 1) for v in self.speeds], "light_mm": round(w.light_distance(), 1),
                "reached": w.reached(), "bumps": w.bumps, "drags": self.drags}


def vehicle_demo(which: str | None = None, seed: int = 1, **task):
    """The board demo of vehicle `which` ("fear", the default, "explorer", or a vehicle model file): its network
    with the sensors as inputs the board feeds, and the VehicleTask (with the options `task`) that drives it."""
    from neurobox.board.demos import Demo
    from neurobox.board.inputs import as_spike_generator
    from neurobox.tasks.vehicle.vehicles import hand_wired

    which = which or "fear"
    net = hand_wired(which, seed)
    name = Path(which).stem if which not in ("fear", "explorer") else which
    task = VehicleTask(net, name, seed=seed, **task)
    shown = net.copy()
    for sensor in task.sensors:
        as_spike_generator(shown.populations[sensor])
    return Demo(shown, task)
