"""The physical planner: what a board of units needs of its ATmega8s and of their bus, from the numbers alone.

`plan_board(board, mode)` runs before any tool (avr-gcc, simavr, the
twin's event loop) and checks, for every unit of the board in connection
mode "wired" or "bus":

    tick      Timer1 counts dt exactly at 16 MHz          (config.tick_timer)
    bus       every address's slot ends within the tick at the fastest speed
              that carries it (bus.plan_bus; bus mode)
    inputs    at least one (the firmware has no unit without a synapse table)
    pins      one dendrite pin per input: 18 free pins with a 16 MHz crystal,
              16 for a unit that learns by reward, one fewer for a motor unit
              (pins.plan; wired mode); a sensor unit's ADC channel, a motor
              unit's PWM pin (OC2)
    t_ref     at least WIRE_GAP - 1 ticks: a wired spike is a 2-tick pulse (wired mode)
    address   0 .. 125 (126 and 127 are the host's punishment and reward; bus mode)
    SRAM      state, tables, buffers, the bus's receive ring and the stack within
              1024 B (memory.memory_need, an upper bound of what the linker places)
    flash     code and tables within 8192 B
    rule      the normalisation's 32-bit division (config._check_normalisation); e-prop
              on the bus only (the host's error bytes); its traces (z-bar, eligibility,
              gradient: 10 B a plastic input with the weight) count in SRAM
              (memory.trace_capacity: how many plastic inputs fit)
    cycles    an e-prop unit's busiest tick (every input firing, four error bytes,
              the apply pulse: EPROP_TICK_CYCLES + EPROP_INPUT_CYCLES a plastic input,
              bounds of what simavr measures) within the tick

A refusal is one ConfigError naming the unit (or the bus), the resource,
what it needs against what an ATmega8 (or the tick) has, and the nearest fix.
The same plan builds the firmware (neurobox.hardware.avr.network), measures
it (neurobox.hardware.speed) and runs the twin (neurobox.twin: a board the
firmware cannot be built as is refused there too, unless the twin is asked
to explore).
"""
from __future__ import annotations

from dataclasses import dataclass

from neurobox.errors import ConfigError
from neurobox.hardware.avr import config, pins
from neurobox.hardware.avr.build import FLASH_BYTES, SRAM_BYTES
from neurobox.hardware.avr.bus import BAUDS, BusPlan, board_bus, plan_bus
from neurobox.hardware.avr.memory import MemoryNeed, check_memory, memory_need
from neurobox.hardware.board import WIRE_GAP, Board
from neurobox.hardware.unit import MAX_ADDRESS, FixedUnit

MODES = pins.MODES
EPROP_TICK_CYCLES = 1600
"""Cycles of an e-prop unit's busiest tick besides its plastic inputs (reading the bus, the neuron, the LED frame);
measured in simavr about 1,350 (tests/test_eprop_fixed.py)."""
EPROP_INPUT_CYCLES = 520
"""Cycles one plastic input adds to an e-prop unit's busiest tick (its byte received and looked up, z-bar,
eligibility, gradient and the weight step of an apply pulse); measured in simavr about 500."""


def eprop_inputs_per_tick(dt: float) -> int:
    """The most plastic inputs an e-prop unit updates within a tick of dt ms in its busiest tick."""
    return max(0, (config.tick_timer(dt).cycles - EPROP_TICK_CYCLES) // EPROP_INPUT_CYCLES)
TRANSPORT_MODE = {"wire": "wired", "bus": "bus"}
"""The twin's transports and the connection modes of the firmware they simulate."""


@dataclass(frozen=True)
class BoardPlan:
    """A board that fits: its mode, its bus (bus mode), every unit's pins and memory."""

    mode: str
    bus: BusPlan | None
    pins: dict[str, pins.PinMap]
    memory: dict[str, MemoryNeed]

    def as_dict(self) -> dict:
        return {"mode": self.mode, "bus": None if self.bus is None else self.bus.as_dict(),
                "units": {name: {"pins": self.pins[name].as_dict(), "sram_bytes": m.sram, "sram_of": SRAM_BYTES,
                                 "flash_bytes": m.flash, "flash_of": FLASH_BYTES}
                          for name, m in self.memory.items()}}


def planned_bus(board: Board) -> BusPlan:
    """The board's bus (neurobox.hardware.avr.bus.board_bus), or ConfigError when no speed carries every
    address's slot within the tick: with the numbers, how many addresses fit and how long a tick they need."""
    bus = board_bus(board)
    if not bus.fits:
        fastest = plan_bus(1, board.dt, BAUDS[-1])
        room = max(0, (bus.tick_cycles - config.SLOT_BASE_CYCLES) // fastest.byte_cycles)
        raise ConfigError("populations", f"{bus.addresses} bus addresses need {bus.end_cycles} cycles a tick at "
                                         f"{bus.baud} baud, the fastest bus; a {board.dt:g} ms tick has "
                                         f"{bus.tick_cycles}: use a longer dt (at least "
                                         f"{bus.end_cycles / config.F_CPU * 1e3:g} ms) or fewer units and stimuli "
                                         f"(at most {room} addresses fit a {board.dt:g} ms tick)")
    return bus


def plan_unit(unit: FixedUnit, mode: str, bus: BusPlan | None = None) -> pins.PinMap:
    """The pin map of one unit, checked from its numbers before anything is compiled (module docstring);
    `bus`: the board's bus, whose receive ring the unit keeps (default the smallest). ConfigError names the
    unit, the resource and the numbers."""
    if mode not in MODES:
        raise ConfigError("mode", f"unknown connection mode {mode!r}; valid: {', '.join(MODES)}")
    reward = unit.rstdp is not None
    if unit.eprop is not None and mode != "bus":
        raise ConfigError(f"units.{unit.name}.rule", f"unit {unit.name} learns by e-prop: it hears the host's "
                                                     f"error bytes on the bus only; connect the units by the bus")
    io = {"adc": int(unit.sensor is not None), "pwm": int(unit.motor is not None)}
    if unit.sensor is not None and mode == "wired":
        raise ConfigError(f"units.{unit.name}.sensor", f"unit {unit.name} is a sensor: it may fire in consecutive "
                                                       f"ticks, which a wire (a {config.AXON_HOLD}-tick pulse) cannot "
                                                       f"carry; connect the units by the bus")
    if mode == "wired" and unit.sensor is None and unit.n_inputs > pins.max_inputs("wired", reward, bool(io["pwm"])):
        try:
            pins.plan(unit.name, unit.n_inputs, mode, reward=reward, **io)
        except ConfigError as err:
            raise ConfigError(err.field, f"{err.message}; connect the units by the bus (inputs are addresses "
                                         f"there, up to {MAX_ADDRESS + 1}) or give it at most "
                                         f"{pins.max_inputs('wired', reward, bool(io['pwm']))} inputs") from None
    pin_map = pins.plan(unit.name, unit.n_inputs, mode, reward=reward, **io)
    if mode == "wired" and unit.lif.ref_steps < WIRE_GAP - 1:
        raise ConfigError(f"units.{unit.name}.params.t_ref",
                          f"unit {unit.name}: in wired mode a spike is a {config.AXON_HOLD}-tick pulse, so t_ref "
                          f"must be at least {WIRE_GAP - 1} ticks ({(WIRE_GAP - 1) * unit.dt:g} ms); "
                          f"got {unit.lif.ref_steps}; or connect the units by the bus")
    if mode == "bus" and not 0 <= unit.address <= MAX_ADDRESS:
        raise ConfigError(f"units.{unit.name}.address",
                          f"unit {unit.name} has bus address {unit.address}; a unit's address is 0 to {MAX_ADDRESS} "
                          f"({config.PUNISH_ADDRESS} and {config.REWARD_ADDRESS} are the punishment and the reward)")
    check_memory(unit, mode, bus)
    if unit.eprop is not None:
        n, most, tick = len(unit.plastic_index), eprop_inputs_per_tick(unit.dt), config.tick_timer(unit.dt).cycles
        if n > most:
            raise ConfigError(f"units.{unit.name}.inputs",
                              f"unit {unit.name} learns by e-prop on {n} inputs: its busiest tick takes up to "
                              f"{EPROP_TICK_CYCLES + n * EPROP_INPUT_CYCLES} cycles, a {unit.dt:g} ms tick has "
                              f"{tick}; give it at most {most} plastic inputs or a longer dt")
    if unit.stdp is not None and unit.stdp.norm_target > 0:
        config._check_normalisation(unit)
    return pin_map


def plan_board(board: Board, mode: str, units: list[FixedUnit] | None = None) -> BoardPlan:
    """Every unit of `board` (or `units`, its fixed forms) checked for `mode` ("wired" or "bus") before any
    tool runs: the tick, the bus (bus mode), then each unit in address order (`plan_unit`). The first that
    does not fit raises one ConfigError with its numbers and the nearest fix."""
    if mode not in MODES:
        raise ConfigError("mode", f"unknown connection mode {mode!r}; valid: {', '.join(MODES)}")
    config.tick_timer(board.dt)
    units = board.fixed() if units is None else units
    bus = planned_bus(board) if mode == "bus" else None
    maps, memory = {}, {}
    for u in units:
        maps[u.name] = plan_unit(u, mode, bus)
        memory[u.name] = memory_need(u, mode, bus)
    return BoardPlan(mode, bus, maps, memory)


def buildable(board: Board) -> ConfigError | None:
    """None when the board can be built in some connection mode (the bus first, then wires); else the bus's
    refusal (a target's check: which mode a run takes is chosen when it opens)."""
    first = None
    for mode in ("bus", "wired"):
        try:
            plan_board(board, mode)
            return None
        except ConfigError as err:
            first = first or err
    return first


def check_network(net) -> list:
    """A physical target's `check` (neurobox.targets): the network as a board (units_from_network) that can
    be built in some connection mode."""
    from neurobox.hardware.board import units_from_network
    from neurobox.targets import Unsupported

    try:
        err = buildable(units_from_network(net))
    except ConfigError as e:
        err = e
    return [] if err is None else [Unsupported(err.field, err.message)]
