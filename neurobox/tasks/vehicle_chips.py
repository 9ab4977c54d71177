"""The vehicle on the chips: its network as physical units, sensors on ADC pins, motors on PWM pins.

`chip_network(per_population, vehicle=...)` is Braitenberg's 2a "fear" or 3b
"explorer" (examples/vehicle_*.toml) with `per_population` neurons in each
sensor and motor population and each weight scaled by 10 / per_population,
so that a motor neuron gets the same input on average. `chip_board` turns it into a board of units: each sensor neuron
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
255 for the chunk. A run's record keeps, per tick, every sensor unit's ADC
value and every unit's spike and duty (the sequence the firmware is held to
in simavr), and per chunk the drive in the engine loop's shape
(neurobox.tasks.vehicle.loop.Episode; a motor's "rate" is its units' mean
duty * motor_full_hz / 255, the firmware's counterpart of the filtered rate).
`drive_starts_on_chips` drives from several starts, each on a fresh twin.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace

import numpy as np

from neurobox.errors import ConfigError
from neurobox.hardware.analog import DUTY_MAX, adc_value
from neurobox.hardware.board import Board, units_from_network
from neurobox.hardware.unit import S_ADC, S_DUTY, FixedUnit, UnitDescription
from neurobox.tasks.vehicle.loop import MOTORS, Episode, LoopConfig, check_vehicle_network
from neurobox.tasks.vehicle.world import SENSORS, World
from neurobox.twin.session import TwinSession

MODEL_NEURONS = 10
"""Neurons per population in examples/vehicle_fear.toml and vehicle_explorer.toml."""
CHIP_VEHICLES = ("fear", "explorer")
"""The vehicles that go on the chips: the hand-wired ones (examples/vehicle_NAME.toml)."""


def chip_network(per_population: int = 2, seed: int = 1, vehicle: str = "fear"):
    """Braitenberg's 2a ("fear") or 3b ("explorer") with `per_population` neurons a population and weights
    scaled to keep each motor neuron's mean input (see the module docstring)."""
    from neurobox.examples import path as example
    from neurobox.network.modelfile import from_dict

    if isinstance(per_population, bool) or not isinstance(per_population, int) \
            or not 1 <= per_population <= MODEL_NEURONS:
        raise ConfigError("per_population", f"must be an integer in [1, {MODEL_NEURONS}], got {per_population!r}")
    if vehicle not in CHIP_VEHICLES:
        raise ConfigError("vehicle", f"on the chips: {', '.join(CHIP_VEHICLES)}, got {vehicle!r}")
    source = example(f"vehicle_{vehicle}.toml")
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
    (ticks, units) (no ticks when run without `record`); poses (chunks + 1, 3): x, y (mm), heading (rad); start:
    the twin's tick it began at (0: from power-up); episode: the drive per chunk (module docstring)."""

    adc: np.ndarray
    spikes: np.ndarray
    duty: np.ndarray
    poses: np.ndarray
    start: int = 0
    episode: Episode | None = None


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

    def run(self, seconds: float, *, stop_at_light: bool = False, record: bool = True) -> ChipRecord:
        """Drive for `seconds` (whole chunks; with stop_at_light, until the light is reached), recording every
        tick unless `record` is False."""
        chunks = int(round(seconds * 1e3 / self.config.chunk_ms))
        n, steps, twin, world = len(self.units), chunks * self.ticks if record else 0, self.twin, self.world
        rec = ChipRecord(np.zeros((steps, n), np.int64), np.zeros((steps, n), bool), np.zeros((steps, n), np.int64),
                         np.zeros((chunks + 1, 3)), twin.step)
        first = twin.step

        def tick(k: int, heard) -> None:
            rec.adc[k - first], rec.duty[k - first] = twin.bank.st[:, S_ADC], twin.bank.st[:, S_DUTY]

        pose = world.pose
        rec.poses[0] = (pose.x, pose.y, pose.theta)
        readings, rates, speeds, bumped = [], [], [], []
        reached_at = 0.0 if world.reached() else None
        done = 0
        for c in range(chunks):
            if reached_at is not None and stop_at_light:
                break
            sensed = world.sense()
            for name in self.sensors:
                twin.set_adc(name, adc_value(sensed[name]))
            t0 = twin.time
            twin.advance(self.config.chunk_ms, each_tick=tick if record else None)
            if record:
                for pop, (t_ms, ids) in twin.spikes_between(t0, twin.time).items():
                    ticks = np.rint(t_ms / self.dt).astype(np.int64) - 1 - first      # fired in tick t / dt - 1
                    rec.spikes[ticks, np.asarray(self.groups[pop])[ids]] = True
            left, right = self.speeds()
            bumped.append(world.move(left, right, self.config.chunk_ms * 1e-3))
            readings.append([sensed[name] for name in SENSORS])
            rates.append([float(np.mean(twin.duty(m))) * self.config.motor_full_hz / DUTY_MAX for m in MOTORS])
            speeds.append((left, right))
            pose = world.pose
            rec.poses[c + 1] = (pose.x, pose.y, pose.theta)
            done = c + 1
            if reached_at is None and world.reached():
                reached_at = done * self.config.chunk_ms * 1e-3
        if done < chunks:
            rec.poses = rec.poses[:done + 1]
            rec.adc, rec.spikes, rec.duty = (a[:done * self.ticks] for a in (rec.adc, rec.spikes, rec.duty))
        t_s = np.arange(done) * self.config.chunk_ms * 1e-3
        rec.episode = Episode(reached_at is not None, done * self.config.chunk_ms * 1e-3 if reached_at is None
                              else reached_at, int(sum(bumped)), world.light, t_s, rec.poses,
                              np.array(readings).reshape(-1, len(SENSORS)), np.array(rates).reshape(-1, 2),
                              np.array(speeds).reshape(-1, 2), np.array(bumped, dtype=bool))
        return rec

    def counters(self) -> dict:
        """The twin's figures so far: spikes the units sent, deliveries lost, bus load (fraction of time busy),
        ticks run and the twin's wall time (s)."""
        c = self.twin.counters()
        return {"spikes": int(c["emitted"]), "lost": int(c["lost"]), "bus_load": float(c["bus_load"] or 0.0),
                "ticks": int(self.twin.step), "wall_s": float(self.twin.loop_s)}


def drive_starts_on_chips(net, worlds: list[World], seconds: float, config: LoopConfig = LoopConfig(), *,
                          record_first: bool = False, progress=None) -> tuple[ChipVehicle, list[ChipRecord], dict]:
    """Drive `net`'s units from each world's start, each on a fresh twin from power-up, for `seconds` or until
    the light is reached; the first drive recorded tick by tick with `record_first` (for verify_on_chips).
    Returns the first drive's vehicle, every drive's record and the twins' figures (ChipVehicle.counters)
    summed (bus_load: weighted by ticks). progress(fraction): after every drive."""
    first, records, total = None, [], {"spikes": 0, "lost": 0, "bus_load": 0.0, "ticks": 0, "wall_s": 0.0}
    for k, world in enumerate(worlds):
        vehicle = ChipVehicle(net, world, config)
        records.append(vehicle.run(seconds, stop_at_light=True, record=record_first and k == 0))
        figures = vehicle.counters()
        for key in ("spikes", "lost", "ticks", "wall_s"):
            total[key] += figures[key]
        total["bus_load"] += figures["bus_load"] * figures["ticks"]
        first = first or vehicle
        if progress is not None:
            progress((k + 1) / len(worlds))
    total["bus_load"] /= max(total["ticks"], 1)
    return first, records, total


def check_tools() -> None:
    """ToolMissingError (one line saying how to install it) unless avr-gcc and the simavr runner are there."""
    from neurobox.hardware.avr import emulator
    from neurobox.hardware.avr.build import tool

    tool("avr-gcc")
    emulator.runner_path()


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

