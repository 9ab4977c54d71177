"""Pin planner for one unit on a real ATmega8 at 16 MHz with a crystal.

The ATmega8 has 23 I/O pins; the crystal takes PB6/PB7 and PC6 is RESET,
which leaves 20: PB0-PB5, PC0-PC5, PD0-PD7. Every unit drives its WS2812
LED from PB0. In wired mode the axon is PB1 and every input needs its own
dendrite pin (18 at most); in bus mode PD0/PD1 are the UART (RXD/TXD) and
inputs are addresses on the bus, so they need no pins.
PB3-PB5 double as the ISP programming pins (MOSI, MISO, SCK); they are
given to dendrites last.
"""
from __future__ import annotations

from dataclasses import dataclass

from neurobox.errors import ConfigError

RESERVED = {"PB6": "crystal (XTAL1)", "PB7": "crystal (XTAL2)", "PC6": "RESET"}
USABLE = tuple([f"PB{i}" for i in range(6)] + [f"PC{i}" for i in range(6)] + [f"PD{i}" for i in range(8)])
LED_PIN = "PB0"
AXON_PIN = "PB1"
UART_PINS = ("PD0", "PD1")
DENDRITE_ORDER = tuple([f"PC{i}" for i in range(6)] + [f"PD{i}" for i in range(2, 8)] + ["PD0", "PD1"]
                       + [f"PB{i}" for i in range(2, 6)])
MODES = ("wired", "bus")


@dataclass(frozen=True)
class PinMap:
    """Where everything of one unit is wired: pin names like "PC3"."""

    unit: str
    mode: str
    led: str
    axon: str | None
    uart: tuple[str, str] | None
    dendrites: tuple[str, ...]
    """One pin per input, in input order (wired mode); empty in bus mode."""

    def as_dict(self) -> dict:
        return {"unit": self.unit, "mode": self.mode, "led": self.led, "axon": self.axon,
                "uart_rxd_txd": list(self.uart) if self.uart else None, "dendrites": list(self.dendrites),
                "reserved": RESERVED}


def max_inputs(mode: str) -> int:
    """How many inputs fit one ATmega8 in `mode` (wired: free pins; bus: addresses)."""
    return len(DENDRITE_ORDER) if mode == "wired" else 127


def plan(unit: str, n_inputs: int, mode: str) -> PinMap:
    """The pin map of `unit` with `n_inputs` inputs, or ConfigError naming the unit and the limit."""
    if mode not in MODES:
        raise ConfigError("mode", f"unknown connection mode {mode!r}; valid: {', '.join(MODES)}")
    limit = max_inputs(mode)
    if n_inputs > limit:
        why = ("free dendrite pins on an ATmega8 with a 16 MHz crystal (20 usable I/O pins, "
               "minus the LED and the axon)" if mode == "wired" else "distinct source addresses on one bus")
        raise ConfigError(f"units.{unit}.inputs",
                          f"unit {unit} has {n_inputs} inputs; at most {limit} fit ({why})")
    if mode == "wired":
        return PinMap(unit, mode, LED_PIN, AXON_PIN, None, DENDRITE_ORDER[:n_inputs])
    return PinMap(unit, mode, LED_PIN, None, UART_PINS, ())
