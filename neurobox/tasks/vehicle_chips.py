"""The vehicle on the chips: its network as physical units, sensors on ADC pins, motors on PWM pins.

`chip_network(per_population)` is Braitenberg's 2a (examples/vehicle_fear.toml)
with `per_population` neurons in each sensor and motor population and each
weight scaled by 10 / per_population, so that a motor neuron gets the same
input on average. `chip_board` turns it into a board of units: each sensor neuron
(a poisson_generator in the model) becomes a sensor unit that reads its
ADC channel (rate_min_hz .. rate_max_hz of the loop's LoopConfig over the
reading), each motor neuron a motor unit whose PWM duty follows its own
rate (time constant motor_tau_ms, full duty at motor_full_hz), every
other neuron an ordinary unit (neurobox.hardware.analog).

`ChipVehicle` drives the world with these units on the twin
(neurobox.twin.session.TwinSession on the bus, the board as built: each
unit runs `unit_tick` as the firmware does; a spike sent in tick t is
received in tick t + 1). Each chunk of `chunk_ms` the world's readings become the
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
from neurobox.hardware.board import Board, units_from_network
from neurobox.hardware.unit import S_ADC, S_DUTY, FixedUnit, UnitDescription
from neurobox.tasks.vehicle.loop import MOTORS, LoopConfig, check_vehicle_network
from neurobox.tasks.vehicle.world import SENSORS, World
from neurobox.twin.session import TwinSession

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
    return from_dict(doc, base_dir=source.parent)


def chip_board(net, config: LoopConfig = LoopConfig()) -> Board:
    """The vehicle's network as a board of units (module docstring): the sensor neurons are units too, so the
    board has no host-driven sources; addresses as `units_from_network` gives them."""
    board = units_from_network(net)
    foreign = sorted({pop for pop, _ in board.sources.values() if pop not in SENSORS})
    if foreign:
        raise ConfigError(f"populations.{foreign[0]}", "on the chips every source population is a sensor "
                                                       f"({', '.join(SENSORS)})")
    descs = {}
    for u in board.units:
        pop = board.neurons[u.name][0]
        descs[u.name] = replace(u, motor={"tau_ms": config.motor_tau_ms, "full_hz": config.motor_full_hz}) \
            if pop in MOTORS else u
    for name in board.sources:
        descs[name] = UnitDescription(name=name, params={}, dt=board.dt, address=board.addresses[name],
                                      sensor={"rate_min_hz": config.rate_min_hz, "rate_max_hz": config.rate_max_hz})
    order = sorted(descs, key=board.addresses.__getitem__)
    return Board(dt=board.dt, units=[descs[name] for name in order], addresses=dict(board.addresses), sources={},
                 network=net, neurons={**board.neurons, **board.sources})


def population_units(board: Board) -> dict[str, list[int]]:
    """Per population, the indices (in `board.units`) of its units, in neuron order."""
    groups: dict[str, list[int]] = {}
    for i, u in enumerate(board.units):
        groups.setdefault(board.neurons[u.name][0], []).append(i)
    return groups


@dataclass
class ChipRecord:
    """Per tick of a ChipVehicle run: adc (ticks, units; 0 for non-sensors), spikes (ticks, units) bool, duty
    (ticks, units); poses (chunks + 1, 3): x, y (mm), heading (rad); start: the twin's tick it began at (0: from
    power-up)."""

    adc: np.ndarray
    spikes: np.ndarray
    duty: np.ndarray
    poses: np.ndarray
    start: int = 0


class ChipVehicle:
    """The vehicle's units on the twin (a TwinSession on the bus) driving `world` (see the module docstring)."""

    def __init__(self, net, world: World, config: LoopConfig = LoopConfig()):
        self.config = config.check()
        check_vehicle_network(net)
        self.board = chip_board(net, self.config)
        self.groups = population_units(self.board)
        self.dt = net.dt
        self.ticks = int(round(self.config.chunk_ms / self.dt))
        if self.ticks < 1 or abs(self.ticks * self.dt - self.config.chunk_ms) > 1e-9:
            raise ConfigError("vehicle.chunk_ms", f"must be a whole number of ticks of {self.dt:g} ms, "
                                                  f"got {self.config.chunk_ms!r}")
        self.world = world
        self.twin = TwinSession(self.board, transport="bus")
        self.units = self.twin.bank.units
        self.sensors = [name for name in SENSORS if name in self.groups]

    def speeds(self) -> tuple[float, float]:
        """Wheel speeds (mm/s) of the motor units' duties now."""
        top = self.world.arena.max_speed
        return tuple(top * float(np.mean(self.twin.duty(m))) / DUTY_MAX for m in MOTORS)

    def run(self, seconds: float) -> ChipRecord:
        """Drive for `seconds` (whole chunks), recording every tick."""
        chunks = int(round(seconds * 1e3 / self.config.chunk_ms))
        n, steps, twin = len(self.units), chunks * self.ticks, self.twin
        rec = ChipRecord(np.zeros((steps, n), np.int64), np.zeros((steps, n), bool), np.zeros((steps, n), np.int64),
                         np.zeros((chunks + 1, 3)), twin.step)
        first = twin.step

        def tick(k: int, heard) -> None:
            rec.adc[k - first], rec.duty[k - first] = twin.bank.st[:, S_ADC], twin.bank.st[:, S_DUTY]

        pose = self.world.pose
        rec.poses[0] = (pose.x, pose.y, pose.theta)
        for c in range(chunks):
            readings = self.world.sense()
            for name in self.sensors:
                twin.set_adc(name, adc_value(readings[name]))
            t0 = twin.time
            twin.advance(self.config.chunk_ms, each_tick=tick)
            for pop, (t_ms, ids) in twin.spikes_between(t0, twin.time).items():
                ticks = np.rint(t_ms / self.dt).astype(np.int64) - 1 - first      # fired in tick t / dt - 1
                rec.spikes[ticks, np.asarray(self.groups[pop])[ids]] = True
            left, right = self.speeds()
            self.world.move(left, right, self.config.chunk_ms * 1e-3)
            pose = self.world.pose
            rec.poses[c + 1] = (pose.x, pose.y, pose.theta)
        return rec


def unit_inputs(units: list[FixedUnit], spikes: np.ndarray, u: int) -> np.ndarray:
    """bool[ticks, inputs]: what unit u received in each tick of a recorded run (its sources' spikes one tick
    earlier)."""
    index = {x.name: i for i, x in enumerate(units)}
    cols = [index[s] for s in units[u].sources]
    pre = np.zeros((spikes.shape[0], len(cols)), dtype=bool)
    pre[1:] = spikes[:-1][:, cols]
    return pre


def verify_on_chips(vehicle: ChipVehicle, record: ChipRecord, work_dir) -> list[dict]:
    """Every unit of `vehicle`'s board built as firmware and run in simavr on the recorded run (a sensor unit on
    its ADC values, every unit on the spikes its sources sent on the twin), on the board's bus: per unit, whether
    its state is bit-exact with `neurobox.hardware.unit.simulate`, its spike bytes left in its slot, its spikes
    equal the twin's, and (a motor unit) OCR2 after every tick equals the twin's duty."""
    from neurobox.hardware.avr.verify import verify_unit
    from neurobox.hardware.plan import plan_board

    if record.start != 0:
        raise ConfigError("record", f"the firmware starts from power-up: verify a run from the twin's tick 0, "
                                    f"not one from tick {record.start}")
    plan = plan_board(vehicle.board, "bus", vehicle.units)
    addresses = {u.name: u.address for u in vehicle.units}
    out = []
    for i, unit in enumerate(vehicle.units):
        v = verify_unit(unit, plan.pins[unit.name], unit_inputs(vehicle.units, record.spikes, i), work_dir,
                        addresses=addresses, bus=plan.bus, adc=record.adc[:, i] if unit.sensor else None)
        out.append({"unit": unit.name, "bit_exact": v.bit_exact, "mismatch": v.mismatch, "output_ok": v.output_ok,
                    "output_faults": v.output_faults, "spikes": int(v.reference.spikes.sum()),
                    "spikes_equal_twin": bool(np.array_equal(v.reference.spikes, record.spikes[:, i])),
                    "duty_equal_twin": None if unit.motor is None else v.run.register == record.duty[:, i].tolist(),
                    "busiest_tick_cycles": v.cycles_per_update, "pins": plan.pins[unit.name].as_dict()})
    return out

