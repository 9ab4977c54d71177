"""The bus of a board: its speed, its slots, and when the host speaks.

Every unit and every stimulus neuron has an address (0..125) and its own
slot of one byte time in every tick: slot a begins SLOT_BASE_CYCLES + a *
byte_cycles after the sender's tick, in address order. The host's
broadcast (a reward or a punishment) takes the byte time just before slot 0.

The speed is chosen per board (`plan_bus`): the slowest of BAUDS at which
the last address's slot ends within the tick (a small board keeps 250
kbaud; a digits board with 64 pixels and 50 units needs 2 Mbaud, U2X with
UBRR = 0 at 16 MHz). Every unit's receive ring holds a byte from every
address. The firmware, the planner and the twin all take their byte time,
slots and ring from the plan.

What a unit must do in time: it reads its inputs and steps its neuron, and
arms its spike byte, before its own slot (within SLOT_BASE_CYCLES of its
tick; the byte then goes out from the slot's timer interrupt while the unit
goes on); its learning rule, its LED and its EEPROM copy may run on past
any slot, but the whole update, with the receive interrupts of the bytes
that arrive meanwhile (RX_INTERRUPT_CYCLES each), ends before the next tick.
"""
from __future__ import annotations

from dataclasses import dataclass

from neurobox.hardware.avr.config import BYTE_BITS, F_CPU, SLOT_BASE_CYCLES, tick_timer

BAUDS = (250_000, 500_000, 1_000_000, 2_000_000)
"""The bus speeds a board may use, slowest first (all exact at 16 MHz)."""
RX_MIN = 32
"""The smallest receive ring (bytes, a power of two) of a unit on the bus."""
RX_INTERRUPT_CYCLES = 73
"""Cycles the receive interrupt takes for a byte it keeps (main.c USART_RXC_vect, from the interrupt to its
return at -O2; measured in simavr)."""


@dataclass(frozen=True)
class BusPlan:
    """The bus of one board: `baud`, how many addresses it carries (slots 0 .. addresses - 1), its tick."""

    baud: int
    addresses: int
    tick_cycles: int

    @property
    def byte_cycles(self) -> int:
        """CPU cycles one address-event byte (start, 8 data, stop) occupies the line."""
        return BYTE_BITS * F_CPU // self.baud

    @property
    def ubrr(self) -> int:
        return F_CPU // ((8 if self.u2x else 16) * self.baud) - 1

    @property
    def u2x(self) -> bool:
        """Double speed: the only way to 2 Mbaud at 16 MHz."""
        return self.baud > F_CPU // 16

    def slot_cycles(self, address: int) -> int:
        """Cycle after the sender's tick at which the slot of `address` begins."""
        return SLOT_BASE_CYCLES + address * self.byte_cycles

    @property
    def host_cycles(self) -> int:
        """Cycle after the tick at which the host sends a broadcast (the byte time before slot 0)."""
        return SLOT_BASE_CYCLES - self.byte_cycles

    @property
    def end_cycles(self) -> int:
        """Cycle after the tick at which the last slot ends."""
        return self.slot_cycles(self.addresses)

    @property
    def fits(self) -> bool:
        return self.end_cycles <= self.tick_cycles

    @property
    def rx_size(self) -> int:
        """Bytes of every unit's receive ring (main.c RX_SIZE, a power of two): room for a byte from every
        address and both host broadcasts, so that a unit never loses a byte of one tick."""
        return max(RX_MIN, 1 << (self.addresses + 1).bit_length())

    @property
    def phase_window(self) -> int:
        """How far (cycles) the ticks of two units may be apart and every byte still reach the other in its
        next tick: a lagging receiver must have read its inputs (well within half of SLOT_BASE_CYCLES) before
        the first byte ends, a leading one must not have begun its next tick before the last slot ends."""
        return max(1, min(SLOT_BASE_CYCLES // 2, self.tick_cycles - self.end_cycles))

    def as_dict(self) -> dict:
        return {"baud": self.baud, "ubrr": self.ubrr, "u2x": self.u2x, "byte_cycles": self.byte_cycles,
                "addresses": self.addresses, "rx_size": self.rx_size, "slot_base_cycles": SLOT_BASE_CYCLES,
                "host_cycles": self.host_cycles, "slots_end_cycles": self.end_cycles,
                "tick_cycles": self.tick_cycles, "fits": self.fits, "phase_window_cycles": self.phase_window,
                "slots_per_tick": max(0, (self.tick_cycles - SLOT_BASE_CYCLES) // self.byte_cycles)}


def plan_bus(addresses: int, dt: float, baud: int | None = None) -> BusPlan:
    """The bus for `addresses` slots at a tick of dt ms: at `baud`, else the slowest of BAUDS at which the last
    slot ends within the tick (the fastest when none does: `fits` says so)."""
    tick = tick_timer(dt).cycles
    if baud is not None:
        return BusPlan(baud, addresses, tick)
    plans = [BusPlan(b, addresses, tick) for b in BAUDS]
    return next((p for p in plans if p.fits), plans[-1])


def unit_bus(unit, sources: list[int]) -> BusPlan:
    """The plan of a unit built on its own (a FixedUnit whose sources have these addresses): one slot per
    address up to the highest it knows."""
    return plan_bus(max([unit.address, *sources]) + 1, unit.dt)


def board_bus(board) -> BusPlan:
    """The plan of a board's bus (neurobox.hardware.board.Board): one slot per address up to the highest."""
    return plan_bus(max(board.addresses.values(), default=-1) + 1, board.dt)
