"""What a unit's firmware needs of an ATmega8's SRAM and flash, from its numbers, before compiling.

SRAM: the state struct (config.STATE_LAYOUT), the synapse tables the
firmware keeps in SRAM (dendrite pins, arrival bits of the delay lines), the
per-input flags of a tick, the EEPROM snapshot of the plastic weights, the
fixed buffers (bus receive ring, pin history, input sums, counters), and a
stack margin (the deepest call chain with an interrupt on top). Flash: a
bound on the code plus the tables' initial values, the initial weights, the
receptors and, on the bus, the look-up of inputs by source address. The figures are upper bounds of what avr-size reports
(tests/test_avr_learners.py holds them against it).

`check_memory` refuses a unit that does not fit with its numbers and the
nearest fixes: how many of its inputs would fit, a smaller receive ring
(fewer bus addresses) or no delay lines where either alone would do. The
planner (neurobox.hardware.plan) runs it for every unit before any tool, and
config.header runs it again, so no header of a unit the linker cannot place
is ever written.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from neurobox.errors import ConfigError
from neurobox.hardware.avr import config
from neurobox.hardware.avr.build import FLASH_BYTES, SRAM_BYTES
from neurobox.hardware.avr.bus import RX_MIN, BusPlan
from neurobox.hardware.unit import FixedUnit

CODE_BYTES = 3600
"""Bound on the code (.text without the initial weights and the bus look-up) of any unit: measured up to
3,350 B at -O2."""
STACK_BYTES = 96
"""Stack margin: the deepest call chain of a tick (update, the learning rule, the LED) with an interrupt on
top; measured in simavr up to 56 B."""


@dataclass(frozen=True)
class MemoryNeed:
    """SRAM parts and flash of one unit's firmware, bytes."""

    state: int
    """struct unit_state."""
    tables: int
    """synapse tables, EEPROM snapshot, buffers and counters."""
    stack: int
    flash: int

    @property
    def sram(self) -> int:
        return self.state + self.tables + self.stack


def memory_need(unit: FixedUnit, mode: str, bus: BusPlan | None = None) -> MemoryNeed:
    """The SRAM and flash `unit`'s firmware needs in connection mode `mode` ("wired" or "bus"; `bus`: the
    board's bus, whose receive ring the unit keeps; default the smallest)."""
    ring = bus.rx_size if bus is not None else RX_MIN
    n = max(unit.n_inputs, 1)
    plastic = len(unit.plastic_index)
    learning = unit.rule is not None
    per_input = (2 if mode == "wired" else 0) + (2 if config.delay_lines(unit) else 0)  # pin port, mask; arrival bit
    fixed = 1 + 8 + 1 + (4 if mode == "wired" else ring + 3)       # tick flag, input sums, LED frame due;
    fixed += 3 if learning else 0                                  # axon and pins, or ring; EEPROM copy
    fixed += len(unit.feedback)                                    # e-prop's feedback weights
    in_flash = 3 * n + (128 + n if mode == "bus" else 0)      # weights, receptors; inputs by source address
    return MemoryNeed(state=config.state_size(unit), tables=n * (per_input + 1) + 2 * plastic + fixed + 1,
                      stack=STACK_BYTES, flash=CODE_BYTES + n * per_input + in_flash)   # per input: + its flag


def _first_inputs(unit: FixedUnit, k: int) -> FixedUnit:
    """The unit with only its first k inputs (to find how many fit)."""
    return dataclasses.replace(unit, weights=unit.weights[:k], receptors=unit.receptors[:k],
                               plastic=unit.plastic[:k], sources=unit.sources[:k], delays=unit.delays[:k])


def _inputs_that_fit(unit: FixedUnit, mode: str, bus: BusPlan | None) -> int:
    """The most of the unit's first inputs whose firmware fits an ATmega8's SRAM and flash."""
    for k in range(unit.n_inputs - 1, 0, -1):
        need = memory_need(_first_inputs(unit, k), mode, bus)
        if need.sram <= SRAM_BYTES and need.flash <= FLASH_BYTES:
            return k
    return 0


def trace_capacity(unit: FixedUnit, bus: BusPlan | None = None) -> int:
    """How many plastic inputs a unit like `unit` (its neuron, rule and readouts; every input plastic, delays of
    one tick) keeps traces for on an ATmega8 on the bus `bus` (default: the smallest receive ring)."""
    k = 256
    wide = dataclasses.replace(unit, weights=(0,) * k, receptors=(0,) * k, plastic=(True,) * k, sources=("",) * k,
                               delays=())
    return _inputs_that_fit(wide, "bus", bus)


def check_memory(unit: FixedUnit, mode: str, bus: BusPlan | None = None) -> MemoryNeed:
    """`memory_need`, or ConfigError naming the unit, SRAM or flash, needed against available, and the fix."""
    need = memory_need(unit, mode, bus)
    if need.sram <= SRAM_BYTES and need.flash <= FLASH_BYTES:
        return need
    fit = _inputs_that_fit(unit, mode, bus)
    fix = f"give it at most {fit} inputs" if fit else "it cannot be built"

    def fits(need: MemoryNeed) -> bool:
        return need.sram <= SRAM_BYTES and need.flash <= FLASH_BYTES
    if mode == "bus" and bus is not None and bus.rx_size > RX_MIN and fits(memory_need(unit, mode)):
        fix += (f", or put fewer addresses on the bus (its receive ring takes {bus.rx_size} B for "
                f"{bus.addresses} addresses; {RX_MIN} B up to {RX_MIN - 2})")
    if config.delay_lines(unit) and fits(memory_need(dataclasses.replace(unit, delays=()), mode, bus)):
        fix += ", or delays of one tick (no delay lines)"
    if need.sram > SRAM_BYTES:
        parts = (f"{need.state} B state ({unit.n_inputs} inputs), {need.tables} B tables and buffers, "
                 f"{need.stack} B stack")
        raise ConfigError(f"units.{unit.name}.inputs",
                          f"unit {unit.name} needs {need.sram} B of SRAM, an ATmega8 has {SRAM_BYTES}: {parts}; "
                          f"{fix}")
    raise ConfigError(f"units.{unit.name}.inputs",
                      f"unit {unit.name} needs about {need.flash} B of flash, an ATmega8 has {FLASH_BYTES}: "
                      f"{CODE_BYTES} B code and {need.flash - CODE_BYTES} B of tables; {fix}")
