"""The vehicle on the chips: its network as physical units, sensors on ADC pins, motors on PWM pins.

`chip_network(per_population)` is Braitenberg's 2a (examples/vehicle_fear.toml)
with `per_population` neurons in each sensor and motor population and each
weight scaled by 10 / per_population, so that a motor neuron gets the same
input on average. `chip_units` turns it into units: each sensor neuron
(a poisson_generator in the model) becomes a sensor unit that reads its
ADC channel (rate_min_hz .. rate_max_hz of the loop's LoopConfig over the
reading), each motor neuron a motor unit whose PWM duty follows its own
rate (time constant motor_tau_ms, full duty at motor_full_hz), every
other neuron an ordinary unit (neurobox.hardware.analog).

`ChipVehicle` drives the world with these units on the twin's bank
(neurobox.twin.units.UnitBank: the same `unit_tick` as the firmware), the
units connected as on an ideal bus (a spike sent in tick t is received in
tick t + 1). Each chunk of `chunk_ms` the world's readings become the
sensor units' ADC values (round(reading * 1023)); the units run tick by
tick; then each wheel turns at max_speed * (mean duty of its motor units) /
255 for the chunk. `record` keeps, per tick, every sensor unit's ADC value
and every unit's spike and duty: the sequence the firmware is held to in
simavr.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace

import numpy as np

from neurobox.errors import ConfigError
from neurobox.hardware.analog import DUTY_MAX, adc_value
from neurobox.hardware.board import units_from_network
from neurobox.hardware.unit import S_ADC, S_DUTY, FixedUnit, fixed_unit
from neurobox.tasks.vehicle.loop import MOTORS, LoopConfig
from neurobox.tasks.vehicle.world import SENSORS, World
from neurobox.twin.units import UnitBank

MODEL_NEURONS = 10
"""Neurons per population in examples/vehicle_fear.toml."""


def chip_network(per_population: int = 2, seed: int = 1):
    """Braitenberg's 2a with `per_population` neurons a population and weights scaled to keep each motor
    neuron's mean input (see the module docstring)."""
    from neurobox.examples import path as example
    from neurobox.network.modelfile import from_dict

    if not isinstance(per_population, int) or not 1 <= per_population <= MODEL_NEURONS:
        raise ConfigError("per_population", f"must be an integer in [1, {MODEL_NEURONS}], got {per_population!r}")
    source = example("vehicle_fear.toml")
    with open(source, "rb") as f:
        doc = tomllib.load(f)
    for pop in doc["populations"].values():
        pop["n"] = per_population
    for proj in doc["projections"]:
        proj["weight"] = proj["weight"] * MODEL_NEURONS / per_population
    doc["network"]["seed"] = int(seed)
    return from_dict(doc, base_dir=source.parent if hasattr(source, "parent") else None)


def chip_units(net, config: LoopConfig = LoopConfig()) -> tuple[list[FixedUnit], dict[str, list[int]]]:
    """The vehicle's units in bus-address order and, per sensor and motor population, the indices of its units."""
    board = units_from_network(net)
    sensors = {name: pop for name, (pop, _) in board.sources.items()}
    foreign = sorted({pop for pop in sensors.values() if pop not in SENSORS})
    if foreign:
        raise ConfigError(f"populations.{foreign[0]}", "on the chips every source population is a sensor "
                                                       f"({', '.join(SENSORS)})")
    descs = {}
    for u in board.units:
        pop = board.neurons[u.name][0]
        descs[u.name] = replace(u, motor={"tau_ms": config.motor_tau_ms, "full_hz": config.motor_full_hz}) \
            if pop in MOTORS else u
    for name in sensors:
        descs[name] = replace(board.units[0], name=name, params={}, inputs=(), rule=None, theta=0.0, feedback=(),
                              address=board.addresses[name],
                              sensor={"rate_min_hz": config.rate_min_hz, "rate_max_hz": config.rate_max_hz})
    order = sorted(descs, key=board.addresses.__getitem__)
    units = [fixed_unit(descs[name]) for name in order]
    owner = {**board.neurons, **board.sources}
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(order):
        groups.setdefault(owner[name][0], []).append(i)
    return units, groups


@dataclass
class ChipRecord:
    """Per tick of a ChipVehicle run: adc (ticks, units; 0 for non-sensors), spikes (ticks, units) bool, duty
    (ticks, units); poses (chunks + 1, 3): x, y (mm), heading (rad)."""

    adc: np.ndarray
    spikes: np.ndarray
    duty: np.ndarray
    poses: np.ndarray


class ChipVehicle:
    """The vehicle's units on the twin's bank driving `world` (see the module docstring)."""

    def __init__(self, net, world: World, config: LoopConfig = LoopConfig()):
        self.config = config.check()
        self.units, self.groups = chip_units(net, self.config)
        for m in MOTORS:
            if m not in self.groups:
                raise ConfigError("populations", f"a vehicle's network needs the motor population {m!r}")
        self.dt = net.dt
        self.ticks = int(round(self.config.chunk_ms / self.dt))
        if self.ticks < 1 or abs(self.ticks * self.dt - self.config.chunk_ms) > 1e-9:
            raise ConfigError("vehicle.chunk_ms", f"must be a whole number of ticks of {self.dt:g} ms, "
                                                  f"got {self.config.chunk_ms!r}")
        self.world = world
        self.bank = UnitBank(self.units)
        index = {u.name: i for i, u in enumerate(self.units)}
        self.source = np.array([index[s] for u in self.units for s in u.sources], dtype=np.int64)
        self.sensors = {name: self.groups[name] for name in SENSORS if name in self.groups}
        self.fired = np.zeros(len(self.units), dtype=np.bool_)
        self.all = np.arange(len(self.units), dtype=np.int64)

    def speeds(self) -> tuple[float, float]:
        """Wheel speeds (mm/s) of the motor units' duties now."""
        top = self.world.arena.max_speed
        return tuple(top * float(np.mean(self.bank.st[self.groups[m], S_DUTY])) / DUTY_MAX for m in MOTORS)

    def run(self, seconds: float) -> ChipRecord:
        """Drive for `seconds` (whole chunks), recording every tick."""
        chunks = int(round(seconds * 1e3 / self.config.chunk_ms))
        n, steps = len(self.units), chunks * self.ticks
        rec = ChipRecord(np.zeros((steps, n), np.int64), np.zeros((steps, n), bool), np.zeros((steps, n), np.int64),
                         np.zeros((chunks + 1, 3)))
        pose = self.world.pose
        rec.poses[0] = (pose.x, pose.y, pose.theta)
        t = 0
        for k in range(chunks):
            readings = self.world.sense()
            for name, idx in self.sensors.items():
                self.bank.st[idx, S_ADC] = adc_value(readings[name])
            for _ in range(self.ticks):
                received = self.fired[self.source]
                self.bank.step(self.all, received, 0)
                self.fired = self.bank.spiked.copy()
                rec.adc[t], rec.spikes[t], rec.duty[t] = self.bank.st[:, S_ADC], self.fired, self.bank.st[:, S_DUTY]
                t += 1
            left, right = self.speeds()
            self.world.move(left, right, self.config.chunk_ms * 1e-3)
            pose = self.world.pose
            rec.poses[k + 1] = (pose.x, pose.y, pose.theta)
        return rec


def unit_inputs(units: list[FixedUnit], spikes: np.ndarray, u: int) -> np.ndarray:
    """bool[ticks, inputs]: what unit u received in each tick of a recorded run (its sources' spikes one tick
    earlier)."""
    index = {x.name: i for i, x in enumerate(units)}
    cols = [index[s] for s in units[u].sources]
    pre = np.zeros((spikes.shape[0], len(cols)), dtype=bool)
    pre[1:] = spikes[:-1][:, cols]
    return pre
