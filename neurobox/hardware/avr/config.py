"""The generated per-unit configuration header and the layouts the firmware shares with Python.

`header(unit, pins, ...)` writes `unit_config.h`: the neuron's integer
constants, its synapse table (initial weights, receptors, plastic flags,
and dendrite pins or source addresses), STDP constants, LED constants,
address, pin map, tick timer and bus settings.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from neurobox.errors import ConfigError
from neurobox.hardware import led
from neurobox.hardware.avr.pins import PinMap
from neurobox.hardware.unit import FixedUnit

F_CPU = 16_000_000
"""Clock of every unit, Hz (crystal)."""
PRESCALERS = ((1, 1), (8, 2), (64, 3), (256, 4), (1024, 5))
"""Timer1 prescaler and its CS1 bits."""
BUS_BAUD = 250_000
"""UART bit rate on the bus (UBRR = 3 at 16 MHz, exact)."""
BYTE_BITS = 10
"""Bits on the line per address-event byte (start, 8 data, stop)."""
AXON_HOLD = 2
"""Ticks an axon pulse stays high in wired mode (longer than one tick, so a
receiver polling on its own tick sees it)."""
PERSIST_STEPS = 10_000
"""Ticks between two copies of the weights to EEPROM (10 s at dt = 1 ms):
a weight byte is rewritten at most once a pass, so the 100,000-write
endurance of the EEPROM lasts over 11 days of continuous learning at 1 ms."""
SLOT_BASE_CYCLES = 4096
"""Bus slot 0 begins this many cycles after the tick, when every unit has
finished its update (on the example board the worst case measured is
about 2,300 cycles; the build refuses a unit that needs more)."""
TICK_VECTOR = 6
"""TIMER1_COMPA is interrupt vector 6 on the ATmega8 (byte address 12)."""


@dataclass(frozen=True)
class Tick:
    """Timer1 settings for a tick of dt ms: period = prescaler * (ocr + 1) cycles."""

    prescaler: int
    cs_bits: int
    ocr: int

    @property
    def cycles(self) -> int:
        return self.prescaler * (self.ocr + 1)


def tick_timer(dt: float) -> Tick:
    """Timer1 settings whose period is dt ms exactly; ConfigError if none is."""
    cycles = dt * 1e-3 * F_CPU
    for prescaler, bits in PRESCALERS:
        counts = cycles / prescaler
        if counts <= 65536 and abs(counts - round(counts)) < 1e-6 and round(counts) >= 1:
            return Tick(prescaler, bits, int(round(counts)) - 1)
    raise ConfigError("network.dt", f"a tick of {dt:g} ms is not a whole number of Timer1 counts at 16 MHz "
                                    f"for any prescaler; allowed: dt from 0.0000625 to 4194 ms in such steps")


def state_format(n_inputs: int) -> str:
    """struct format of `struct unit_state` in unit.h (little-endian, no padding)."""
    return "<hhhBBH" + "BBB3B" + "BB" + f"{n_inputs}h{n_inputs}H"


STATE_FIELDS = ("v", "i_ex", "i_in", "ref", "spiked", "x_post", "led_flash", "led_learn", "led_since",
                "led_g", "led_r", "led_b", "axon_hold", "learned")


def decode_state(raw: bytes, n_inputs: int) -> dict:
    """The firmware's state from its SRAM bytes: scalar fields, then lists w and x_pre."""
    values = struct.unpack(state_format(n_inputs), raw[:struct.calcsize(state_format(n_inputs))])
    out = dict(zip(STATE_FIELDS, values[:len(STATE_FIELDS)]))
    rest = values[len(STATE_FIELDS):]
    out["w"] = list(rest[:n_inputs])
    out["x_pre"] = list(rest[n_inputs:])
    return out


def state_size(n_inputs: int) -> int:
    return struct.calcsize(state_format(n_inputs))


def config_hash(unit: FixedUnit) -> int:
    """16-bit fingerprint of a unit's configuration: EEPROM weights from another configuration are ignored."""
    text = repr((unit.lif, unit.weights, unit.receptors, unit.plastic, unit.stdp, unit.address))
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:2], "little")


def _pin(name: str) -> tuple[str, int]:
    return name[1], int(name[2])


def _c_list(values) -> str:
    return "{ " + ", ".join(str(int(v)) for v in values) + " }" if len(values) else "{ 0 }"


def axon_cycles(dt: float) -> int:
    """Cycle after the tick at which a wired unit writes its axon pin: half way through the tick."""
    return tick_timer(dt).cycles // 2


def byte_cycles() -> int:
    """CPU cycles one address-event byte occupies the bus."""
    return BYTE_BITS * F_CPU // BUS_BAUD


def slot_cycles(address: int) -> int:
    """Cycle after the tick at which the unit with `address` may send its spike on the bus."""
    return SLOT_BASE_CYCLES + address * byte_cycles()


def header(unit: FixedUnit, pins: PinMap, persist_steps: int = PERSIST_STEPS,
           addresses: dict[str, int] | None = None) -> str:
    """The text of unit_config.h for `unit` wired as `pins`.

    `addresses` maps source unit names to bus addresses (bus mode).
    """
    if unit.n_inputs == 0:
        raise ConfigError(f"units.{unit.name}.inputs", "a unit needs at least one input to be built as firmware")
    lif = unit.lif
    tick = tick_timer(unit.dt)
    n = unit.n_inputs
    port_index = {"B": 0, "C": 1, "D": 2}
    led_port, led_bit = _pin(pins.led)
    lines = [
        f"/* Generated by neurobox for unit {unit.name}: do not edit. */",
        "#ifndef UNIT_CONFIG_H", "#define UNIT_CONFIG_H",
        f"#define UNIT_ADDRESS {unit.address}",
        f"#define BUS_MODE {1 if pins.mode == 'bus' else 0}",
        f"/* tick: dt = {unit.dt:g} ms = {tick.cycles} cycles */",
        f"#define TICK_OCR {tick.ocr}",
        f"#define TICK_CS {tick.cs_bits}",
        f"/* neuron (neurobox/neurons/lif_fixed.py): V_lsb = {lif.V_lsb:g} mV, I_lsb = {lif.I_lsb:g} pA */",
        f"#define LIF_D_M {lif.D_m}u", f"#define LIF_D_EX {lif.D_ex}u", f"#define LIF_D_IN {lif.D_in}u",
        f"#define LIF_P_EX {lif.P_ex}L", f"#define LIF_P_IN {lif.P_in}L", f"#define LIF_P_E {lif.P_e}L",
        f"#define LIF_S {lif.S}", f"#define LIF_I_E {lif.i_e}", f"#define LIF_V_TH {lif.v_th}",
        f"#define LIF_V_RESET {lif.v_reset}", f"#define LIF_REF_STEPS {lif.ref_steps}",
        f"/* synapse table: {n} inputs from {', '.join(unit.sources) or 'nothing'} */",
        f"#define N_SYN {max(n, 1)}",
        f"#define SYN_WEIGHTS {_c_list(unit.weights)}",
        f"#define SYN_RECEPTOR {_c_list(unit.receptors)}",
        f"#define SYN_PLASTIC {_c_list(unit.plastic)}",
    ]
    if pins.mode == "wired":
        ports = [port_index[_pin(p)[0]] for p in pins.dendrites]
        masks = [1 << _pin(p)[1] for p in pins.dendrites]
        axon_port, axon_bit = _pin(pins.axon)
        lines += [f"/* dendrites: {', '.join(pins.dendrites)} */",
                  f"#define SYN_PORT {_c_list(ports)}", f"#define SYN_MASK {_c_list(masks)}",
                  f"#define AXON_PORT PORT{axon_port}", f"#define AXON_DDR DDR{axon_port}",
                  f"#define AXON_BIT {axon_bit}", f"#define AXON_HOLD {AXON_HOLD}",
                  f"#define AXON_TCNT {axon_cycles(unit.dt) // tick.prescaler}u"]
    else:
        addresses = addresses or {}
        missing = [s for s in unit.sources if s not in addresses]
        if missing:
            raise ConfigError(f"units.{unit.name}.inputs", f"no bus address for source unit {missing[0]!r}")
        if slot_cycles(unit.address) + byte_cycles() > tick.cycles:
            fit = max(0, (tick.cycles - SLOT_BASE_CYCLES) // byte_cycles())
            raise ConfigError(f"units.{unit.name}.address",
                              f"unit {unit.name}: bus slot {unit.address} does not end within the {unit.dt:g} ms "
                              f"tick ({tick.cycles} cycles); at {BUS_BAUD} baud the tick has room for {fit} "
                              f"slots after the {SLOT_BASE_CYCLES}-cycle update")
        slot = slot_cycles(unit.address) // tick.prescaler
        lines += [f"#define SYN_SOURCE {_c_list([addresses[s] for s in unit.sources])}",
                  f"#define BUS_UBRR {F_CPU // (16 * BUS_BAUD) - 1}",
                  f"#define BUS_SLOT_TCNT {slot}u"]
    stdp = unit.stdp
    lines += [f"#define STDP_ON {1 if stdp else 0}"]
    if stdp:
        lines += [f"#define STDP_K_PLUS {stdp.k_plus}", f"#define STDP_K_MINUS {stdp.k_minus}",
                  f"#define STDP_A_PLUS {stdp.a_plus}u", f"#define STDP_A_MINUS {stdp.a_minus}u",
                  f"#define STDP_W_MIN ({stdp.w_min})", f"#define STDP_W_MAX ({stdp.w_max})",
                  f"#define PERSIST_STEPS {persist_steps}u", f"#define CONFIG_HASH 0x{config_hash(unit):04x}u"]
    p = unit.led
    lines += [f"/* LED (neurobox/hardware/led.py) on {pins.led} */",
              f"#define LED_PORT PORT{led_port}", f"#define LED_DDR DDR{led_port}", f"#define LED_BIT {led_bit}",
              f"#define LED_SPAN {p.span}u", f"#define LED_SCALE {p.scale}UL",
              f"#define LED_FLASH_STEPS {p.flash_steps}", f"#define LED_MIN_STEPS {p.min_steps}",
              "#define LED_FIRING_G {}\n#define LED_FIRING_R {}\n#define LED_FIRING_B {}".format(*led.FIRING),
              "#define LED_LEARNING_G {}\n#define LED_LEARNING_R {}\n#define LED_LEARNING_B {}".format(*led.LEARNING),
              "#endif", ""]
    return "\n".join(lines)
