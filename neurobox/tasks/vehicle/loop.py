"""The sensorimotor loop: a network and a world stepped together in chunks of network time.

A vehicle's network has two motor populations, `motor_left` and
`motor_right` (any neuron model that is not a source), and any of the four
sensor populations `light_left`, `light_right`, `whisker_left`,
`whisker_right` (each a `poisson_generator`; a missing one is a sensor the
vehicle does not have). Each chunk of `chunk_ms`:

1. the world's readings r in [0, 1] set the sensor populations' rates,
   rate_min_hz + (rate_max_hz - rate_min_hz) r (`Simulation.set_params`);
2. the engine advances the chunk;
3. each motor population's spikes in the chunk, per neuron and per second,
   go through a low-pass filter (time constant `motor_tau_ms`): the
   filtered rate f gives the wheel speed max_speed * min(f / motor_full_hz, 1);
4. the world moves the vehicle for the chunk (neurobox.tasks.vehicle.world).

Everything is deterministic for a given network (its seed) and world.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neurobox.errors import ConfigError
from neurobox.tasks.vehicle.world import SENSORS, World

MOTORS = ("motor_left", "motor_right")


@dataclass(frozen=True)
class LoopConfig:
    """How readings become rates and spikes become wheel speeds (ms, Hz)."""

    chunk_ms: float = 20.0
    rate_min_hz: float = 5.0
    rate_max_hz: float = 200.0
    motor_full_hz: float = 150.0
    motor_tau_ms: float = 60.0

    def check(self) -> "LoopConfig":
        for name in ("chunk_ms", "rate_max_hz", "motor_full_hz", "motor_tau_ms"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"vehicle.{name}", f"must be a finite number > 0, got {v!r}")
        if not 0.0 <= self.rate_min_hz <= self.rate_max_hz:
            raise ConfigError("vehicle.rate_min_hz", f"must be in [0, rate_max_hz], got {self.rate_min_hz!r}")
        return self


def check_vehicle_network(net) -> list[str]:
    """The sensor populations `net` has (in SENSORS order); ConfigError naming what is missing or wrong."""
    for name in MOTORS:
        if name not in net.populations:
            raise ConfigError("populations", f"a vehicle's network needs the motor populations "
                                             f"{' and '.join(MOTORS)}; {name!r} is missing")
        if net.populations[name].model.is_source:
            raise ConfigError(f"populations.{name}.model", "a motor population must be neurons, not a source")
        if not net.populations[name].record_spikes:
            raise ConfigError(f"populations.{name}.record_spikes", "a motor population's spikes drive a wheel: "
                                                                   "record them")
    present = [s for s in SENSORS if s in net.populations]
    for name in present:
        if net.populations[name].model.name != "poisson_generator":
            raise ConfigError(f"populations.{name}.model", "a sensor population must be a poisson_generator "
                                                           "(the world sets its rate)")
    if not any(s.startswith("light") for s in present):
        raise ConfigError("populations", "a vehicle's network needs a light sensor population "
                                         "(light_left or light_right)")
    return present


@dataclass
class Chunk:
    """What happened in one chunk: readings at its start, motor rates (Hz, filtered), wheel speeds (mm/s)."""

    t_s: float
    readings: dict[str, float]
    rates: tuple[float, float]
    speeds: tuple[float, float]
    bumped: bool


class VehicleLoop:
    """A network driving the vehicle of a world (see the module docstring).

    sim: an open neurobox.Simulation of a vehicle network (its learning switch is the caller's)."""

    def __init__(self, sim, world: World, config: LoopConfig = LoopConfig()):
        self.config = config.check()
        self.sensors = check_vehicle_network(sim.network)
        self.sim = sim
        self.world = world
        for name in self.sensors:  # spike slots for the top rate now: every later checkpoint has one shape
            sim.set_params(name, rate=self.config.rate_max_hz)
            sim.set_params(name, rate=self.config.rate_min_hz)
        self._n = [sim.network.populations[m].n for m in MOTORS]
        self.rates = np.zeros(2)
        self.t_s = 0.0
        self.readings = world.sense()

    def reset(self, world: World) -> None:
        """Put the vehicle into `world` (a new start) with its motors at rest; the network runs on."""
        self.world = world
        self.rates = np.zeros(2)
        self.t_s = 0.0
        self.readings = world.sense()

    def speeds(self) -> tuple[float, float]:
        """Wheel speeds (mm/s) of the filtered motor rates."""
        c, top = self.config, self.world.arena.max_speed
        return tuple(top * min(float(f) / c.motor_full_hz, 1.0) for f in self.rates)

    def step(self) -> Chunk:
        """One chunk: sense, run the network, drive (see the module docstring)."""
        t0 = self.begin_chunk()
        self.sim.advance(self.config.chunk_ms)
        return self.end_chunk(t0)

    def begin_chunk(self) -> float:
        """The first half of `step`: the readings set the sensors' rates; returns the network's time (ms).
        Whoever advances the network itself (the live board) calls this, runs chunk_ms, then `end_chunk`."""
        c, sim = self.config, self.sim
        for name in self.sensors:
            sim.set_params(name, rate=c.rate_min_hz + (c.rate_max_hz - c.rate_min_hz) * self.readings[name])
        return sim.time

    def end_chunk(self, t0: float) -> Chunk:
        """The second half of `step`, once the network has run the chunk from `t0` (ms): spikes -> wheels,
        the world moves, the next readings."""
        c, sim = self.config, self.sim
        readings = self.readings
        spikes = sim.spikes_between(t0, sim.time)
        now = np.array([spikes[m][1].size / (n * c.chunk_ms * 1e-3) for m, n in zip(MOTORS, self._n)])
        self.rates += (now - self.rates) * -math.expm1(-c.chunk_ms / c.motor_tau_ms)
        speeds = self.speeds()
        bumped = self.world.move(speeds[0], speeds[1], c.chunk_ms * 1e-3)
        chunk = Chunk(self.t_s, readings, (float(self.rates[0]), float(self.rates[1])), speeds, bumped)
        self.t_s += c.chunk_ms * 1e-3
        self.readings = self.world.sense()
        return chunk


@dataclass
class Episode:
    """One drive: whether and when (s; the drive's length when it did not) it first reached the light, its bumps, and per chunk the trajectory."""

    reached: bool
    time_s: float
    bumps: int
    light: tuple[float, float]
    t_s: np.ndarray         # chunk start times, s
    pose: np.ndarray        # (chunks + 1, 3): x, y (mm), heading (rad), from the start
    readings: np.ndarray    # (chunks, 4): SENSORS
    rates: np.ndarray       # (chunks, 2): filtered motor rates, Hz
    speeds: np.ndarray      # (chunks, 2): wheel speeds, mm/s
    bumped: np.ndarray      # (chunks,) bool

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {"t_s": self.t_s, "pose": self.pose, "readings": self.readings, "rates": self.rates,
                "speeds": self.speeds, "bumped": self.bumped, "light": np.asarray(self.light)}


def drive(loop: VehicleLoop, seconds: float, *, stop_at_light: bool = True, after_chunk=None) -> Episode:
    """Run the loop for `seconds` (or until the light is reached, with stop_at_light).

    after_chunk(loop, chunk): called after every chunk (the learner gives its rewards there)."""
    w = loop.world
    poses = [(w.pose.x, w.pose.y, w.pose.theta)]
    chunks: list[Chunk] = []
    n = int(round(seconds * 1e3 / loop.config.chunk_ms))
    reached_at = 0.0 if w.reached() else None
    for _ in range(n):
        if reached_at is not None and stop_at_light:
            break
        chunk = loop.step()
        chunks.append(chunk)
        poses.append((w.pose.x, w.pose.y, w.pose.theta))
        if after_chunk is not None:
            after_chunk(loop, chunk)
        if reached_at is None and w.reached():
            reached_at = loop.t_s
    return Episode(reached_at is not None, loop.t_s if reached_at is None else reached_at, int(sum(c.bumped for c in chunks)), w.light,
                   np.array([c.t_s for c in chunks]), np.array(poses),
                   np.array([[c.readings[s] for s in SENSORS] for c in chunks]).reshape(-1, len(SENSORS)),
                   np.array([c.rates for c in chunks]).reshape(-1, 2),
                   np.array([c.speeds for c in chunks]).reshape(-1, 2),
                   np.array([c.bumped for c in chunks], dtype=bool))


def drive_starts(net, worlds: list[World], seconds: float, config: LoopConfig = LoopConfig()) -> list[Episode]:
    """Drive `net` (learning frozen) once from each world's start, each from the network's same initial
    state (a checkpoint of the opened Simulation), for `seconds` or until it reaches the light."""
    from neurobox.engine.simulation import Simulation

    sim = Simulation(net, progress=False, learning=False)
    loop = VehicleLoop(sim, worlds[0], config)
    fresh = sim.checkpoint()
    episodes = []
    for k, world in enumerate(worlds):
        if k:
            sim.restore(fresh)
            loop.reset(world)
        episodes.append(drive(loop, seconds))
    return episodes
