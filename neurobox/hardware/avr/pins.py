"""Pin planner for one unit on a real ATmega8 at 16 MHz with a crystal.

The ATmega8 has 23 I/O pins; the crystal takes PB6/PB7 and PC6 is RESET,
which leaves 20: PB0-PB5, PC0-PC5, PD0-PD7. Every unit drives its WS2812
LED from PB0. In wired mode the axon is PB1 and every input needs its own
dendrite pin (18 at most); in bus mode PD0/PD1 are the UART (RXD/TXD) and
inputs are addresses on the bus, so they need no pins.
PB3-PB5 double as the ISP programming pins (MOSI, MISO, SCK); they are
given to dendrites last. A unit that learns by reward takes the reward and
the punishment lines on PD2 and PD3 (INT0, INT1) in wired mode, which
leaves it 16 dendrites; on the bus a reward is a byte like a spike.
A sensor unit reads one ADC channel (ADC0-ADC5 on PC0-PC5: the first that
is not a dendrite); a motor unit drives one PWM output, OC2 on PB3: Timer1
keeps the tick (OC1A/PB1 is the axon), so Timer2's OC2 is the only PWM pin
a unit has; a dendrite never takes the ADC or the PWM pin.
"""
from __future__ import annotations

from dataclasses import dataclass

from neurobox.errors import ConfigError
from neurobox.hardware.unit import MAX_ADDRESS

RESERVED = {"PB6": "crystal (XTAL1)", "PB7": "crystal (XTAL2)", "PC6": "RESET"}
USABLE = tuple([f"PB{i}" for i in range(6)] + [f"PC{i}" for i in range(6)] + [f"PD{i}" for i in range(8)])
LED_PIN = "PB0"
AXON_PIN = "PB1"
UART_PINS = ("PD0", "PD1")
REWARD_PINS = ("PD2", "PD3")
"""The reward and the punishment line of a unit that learns by reward (wired mode)."""
DENDRITE_ORDER = tuple([f"PC{i}" for i in range(6)] + [f"PD{i}" for i in range(2, 8)] + ["PD0", "PD1"]
                       + [f"PB{i}" for i in range(2, 6)])
MODES = ("wired", "bus")
ADC_PINS = tuple(f"PC{i}" for i in range(6))
"""ADC0-ADC5 (the ATmega8's ADC6/ADC7 exist on the TQFP package only)."""
PWM_PINS = ("PB3",)
"""OC2 (Timer2); OC1A/OC1B belong to Timer1, which keeps the tick."""


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
    reward: tuple[str, str] | None = None
    """The reward and the punishment pin (wired mode, a unit that learns by reward)."""
    adc: str | None = None
    """The ADC pin a sensor unit reads (PC0-PC5: ADC0-ADC5)."""
    pwm: str | None = None
    """The PWM pin a motor unit drives (OC2)."""

    def as_dict(self) -> dict:
        return {"adc": self.adc, "pwm": self.pwm, "unit": self.unit, "mode": self.mode, "led": self.led, "axon": self.axon,
                "uart_rxd_txd": list(self.uart) if self.uart else None, "dendrites": list(self.dendrites),
                "reward_punish": list(self.reward) if self.reward else None, "reserved": RESERVED}


def _dendrite_pins(reward: bool, pwm: bool = False) -> tuple[str, ...]:
    taken = set(REWARD_PINS if reward else ()) | set(PWM_PINS if pwm else ())
    return tuple(p for p in DENDRITE_ORDER if p not in taken)


def max_inputs(mode: str, reward: bool = False, pwm: bool = False) -> int:
    """How many inputs fit one ATmega8 in `mode` (wired: free pins; bus: source addresses)."""
    return len(_dendrite_pins(reward, pwm)) if mode == "wired" else MAX_ADDRESS + 1


def plan(unit: str, n_inputs: int, mode: str, reward: bool = False, adc: int = 0, pwm: int = 0) -> PinMap:
    """The pin map of `unit` with `n_inputs` inputs (and reward lines if `reward`, `adc` ADC channels, `pwm`
    PWM outputs), or ConfigError naming the unit and the limit."""
    if mode not in MODES:
        raise ConfigError("mode", f"unknown connection mode {mode!r}; valid: {', '.join(MODES)}")
    if adc > 1:
        raise ConfigError(f"units.{unit}.sensor", f"unit {unit} needs {adc} ADC channels; a unit reads one "
                                                  f"(one sensor a unit)")
    if pwm > len(PWM_PINS):
        raise ConfigError(f"units.{unit}.motor", f"unit {unit} needs {pwm} PWM outputs; an ATmega8 whose Timer1 "
                                                 f"keeps the tick has {len(PWM_PINS)} (OC2 on {PWM_PINS[0]})")
    extra = {"adc": ADC_PINS[0] if adc else None, "pwm": PWM_PINS[0] if pwm else None}
    limit = 0 if adc else max_inputs(mode, reward, bool(pwm))
    if n_inputs > limit:
        if adc:
            raise ConfigError(f"units.{unit}.inputs", f"unit {unit} is a sensor: it reads its ADC and has no "
                                                      f"inputs, got {n_inputs}")
        why = (f"free dendrite pins on an ATmega8 with a 16 MHz crystal (20 usable I/O pins, minus the LED, "
               f"the axon{' and the reward and punishment lines' if reward else ''}"
               f"{' and the PWM pin ' + PWM_PINS[0] if pwm else ''})"
               if mode == "wired" else "distinct source addresses on one bus")
        raise ConfigError(f"units.{unit}.inputs",
                          f"unit {unit} has {n_inputs} inputs; at most {limit} fit ({why})")
    if mode == "wired":
        return PinMap(unit, mode, LED_PIN, AXON_PIN, None, _dendrite_pins(reward, bool(pwm))[:n_inputs],
                      REWARD_PINS if reward else None, **extra)
    return PinMap(unit, mode, LED_PIN, None, UART_PINS, (), **extra)
