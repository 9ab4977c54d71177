"""The generated per-unit configuration header and the layouts the firmware shares with Python.

`header(unit, pins, ...)` writes `unit_config.h`: the neuron's integer
constants, its synapse table (initial weights, receptors, plastic flags,
delays, and dendrite pins or source addresses), the learning rule's
constants (and the reward lines), LED constants, address, pin map, tick
timer and bus settings. `STATE_LAYOUT` is `struct unit_state` (unit.h).
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from neurobox.errors import ConfigError
from neurobox.hardware import led
from neurobox.hardware.avr.pins import PinMap
from neurobox.hardware.unit import MAX_ADDRESS, FixedUnit

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
about 2,100 cycles, a learner with 16 plastic inputs about 3,800; the build
refuses a unit that needs more)."""
TICK_VECTOR = 6
"""TIMER1_COMPA is interrupt vector 6 on the ATmega8 (byte address 12)."""
REWARD_ADDRESS = MAX_ADDRESS + 2
"""A bus byte 0x80 | 127 is a reward pulse (+1) for every unit that learns by reward."""
PUNISH_ADDRESS = MAX_ADDRESS + 1
"""A bus byte 0x80 | 126 is a punishment pulse (-1)."""


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


STATE_LAYOUT = (
    ("v", "h", False, None), ("i_ex", "h", False, None), ("i_in", "h", False, None), ("ref", "B", False, None),
    ("spiked", "B", False, None), ("x_post", "H", False, None), ("led_flash", "B", False, None),
    ("led_learn", "B", False, None), ("led_since", "B", False, None), ("led_g", "B", False, None),
    ("led_r", "B", False, None), ("led_b", "B", False, None), ("axon_hold", "B", False, None),
    ("learned", "B", False, None), ("w", "h", True, None), ("x_pre", "H", True, None),
    ("line", "H", True, "DELAY_LINES"), ("c", "H", True, "RSTDP_ON"), ("reward", "b", False, "RSTDP_ON"),
)
"""`struct unit_state` in unit.h, in order (little-endian, no padding): field, struct code, one per
input, and the unit_config.h switch it is compiled in under (None: always)."""


def delay_lines(unit: FixedUnit) -> bool:
    """The unit's firmware has delay lines: some input has a delay above one tick."""
    return any(d > 1 for d in unit.input_delays)


def _switches(unit: FixedUnit) -> dict[str | None, bool]:
    return {None: True, "DELAY_LINES": delay_lines(unit), "RSTDP_ON": unit.rstdp is not None}


def state_fields(unit: FixedUnit) -> list[tuple[str, str, bool]]:
    """The fields of `unit`'s state struct: (name, struct code, one per input)."""
    on = _switches(unit)
    return [(name, code, per_input) for name, code, per_input, switch in STATE_LAYOUT if on[switch]]


def state_format(unit: FixedUnit) -> str:
    """struct format of `unit`'s `struct unit_state`."""
    n = max(unit.n_inputs, 1)
    return "<" + "".join(f"{n}{code}" if per_input else code for _, code, per_input in state_fields(unit))


def decode_state(raw: bytes, unit: FixedUnit) -> dict:
    """The firmware's state from its SRAM bytes: scalars as ints, per-input fields as lists."""
    fmt = state_format(unit)
    values = iter(struct.unpack(fmt, raw[:struct.calcsize(fmt)]))
    n = max(unit.n_inputs, 1)
    return {name: [next(values) for _ in range(n)] if per_input else next(values)
            for name, _, per_input in state_fields(unit)}


def state_size(unit: FixedUnit) -> int:
    return struct.calcsize(state_format(unit))


def config_hash(unit: FixedUnit) -> int:
    """16-bit fingerprint of a unit's configuration (neuron, synapses, delays, rule, address): EEPROM weights
    from another configuration are ignored."""
    text = repr((unit.lif, unit.weights, unit.receptors, unit.plastic, unit.stdp, unit.address,
                 unit.input_delays, unit.rstdp))
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


def input_chains(sources: list[int]) -> tuple[list[int], list[int]]:
    """The bus look-up of a unit's inputs by source address, as chains of input indices plus one (0 ends a
    chain): first[a] starts the chain of the inputs address a feeds (a in 0..127), following[j] continues it
    after input j."""
    first, following = [0] * 128, [0] * len(sources)
    for j in reversed(range(len(sources))):
        following[j], first[sources[j]] = first[sources[j]], j + 1
    return first, following


def header(unit: FixedUnit, pins: PinMap, persist_steps: int = PERSIST_STEPS,
           addresses: dict[str, int] | None = None) -> str:
    """The text of unit_config.h for `unit` wired as `pins`.

    `addresses` maps source unit names to bus addresses (bus mode).
    """
    if unit.n_inputs == 0:
        raise ConfigError(f"units.{unit.name}.inputs", "a unit needs at least one input to be built as firmware")
    if unit.rstdp is not None and pins.mode == "wired" and pins.reward is None:
        raise ConfigError(f"units.{unit.name}.rule", f"unit {unit.name} learns by reward: plan its pins with "
                                                     f"reward lines (pins.plan(..., reward=True))")
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
        f"#define DELAY_LINES {int(delay_lines(unit))}",
    ]
    if delay_lines(unit):
        lines += [f"/* delays (ticks): {', '.join(map(str, unit.input_delays))} */",
                  f"#define SYN_ARRIVAL_BIT {_c_list([1 << (d - 1) for d in unit.input_delays])}"]
    if pins.mode == "wired":
        ports = [port_index[_pin(p)[0]] for p in pins.dendrites]
        masks = [1 << _pin(p)[1] for p in pins.dendrites]
        axon_port, axon_bit = _pin(pins.axon)
        lines += [f"/* dendrites: {', '.join(pins.dendrites)} */",
                  f"#define SYN_PORT {_c_list(ports)}", f"#define SYN_MASK {_c_list(masks)}",
                  f"#define AXON_PORT PORT{axon_port}", f"#define AXON_DDR DDR{axon_port}",
                  f"#define AXON_BIT {axon_bit}", f"#define AXON_HOLD {AXON_HOLD}",
                  f"#define AXON_TCNT {axon_cycles(unit.dt) // tick.prescaler}u"]
        if unit.rstdp is not None:
            (rp, rb), (pp, pb) = (_pin(p) for p in pins.reward)
            lines += [f"/* reward line {pins.reward[0]}, punishment line {pins.reward[1]} */",
                      f"#define REWARD_PORT {port_index[rp]}", f"#define REWARD_MASK {1 << rb}",
                      f"#define PUNISH_PORT {port_index[pp]}", f"#define PUNISH_MASK {1 << pb}"]
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
        first, following = input_chains([addresses[s] for s in unit.sources])
        lines += [f"/* sources: {', '.join(str(addresses[s]) for s in unit.sources)} */",
                  f"#define SYN_FIRST_INPUT {_c_list(first)}", f"#define SYN_NEXT_INPUT {_c_list(following)}",
                  f"#define BUS_UBRR {F_CPU // (16 * BUS_BAUD) - 1}",
                  f"#define BUS_SLOT_TCNT {slot}u"]
        if unit.rstdp is not None:
            lines += [f"#define REWARD_ADDRESS {REWARD_ADDRESS}", f"#define PUNISH_ADDRESS {PUNISH_ADDRESS}"]
    stdp, rstdp = unit.stdp, unit.rstdp
    lines += [f"#define STDP_ON {int(stdp is not None)}", f"#define RSTDP_ON {int(rstdp is not None)}"]
    if stdp:
        lines += [f"#define STDP_K_PLUS {stdp.k_plus}", f"#define STDP_K_MINUS {stdp.k_minus}",
                  f"#define STDP_A_PLUS {stdp.a_plus}u", f"#define STDP_A_MINUS {stdp.a_minus}u",
                  f"#define STDP_W_MIN ({stdp.w_min})", f"#define STDP_W_MAX ({stdp.w_max})"]
    if rstdp:
        lines += ["/* reward-modulated STDP (neurobox/plasticity/rstdp_fixed.py) */",
                  f"#define RSTDP_K_PRE {rstdp.k_pre}", f"#define RSTDP_K_C {rstdp.k_c}",
                  f"#define RSTDP_A_PLUS {rstdp.a_plus}u",
                  f"#define RSTDP_W_MIN ({rstdp.w_min})", f"#define RSTDP_W_MAX ({rstdp.w_max})"]
    if stdp or rstdp:
        lines += [f"#define PERSIST_STEPS {persist_steps}u", f"#define CONFIG_HASH 0x{config_hash(unit):04x}u"]
    p = unit.led
    lines += [f"/* LED (neurobox/hardware/led.py) on {pins.led} */",
              f"#define LED_PORT PORT{led_port}", f"#define LED_DDR DDR{led_port}", f"#define LED_BIT {led_bit}",
              f"#define LED_SPAN {p.span}u", f"#define LED_SCALE {p.scale}UL",
              f"#define LED_FLASH_STEPS {p.flash_steps}", f"#define LED_MIN_STEPS {p.min_steps}",
              "#define LED_FIRING_G {}\n#define LED_FIRING_R {}\n#define LED_FIRING_B {}".format(*led.FIRING),
              "#define LED_LEARNING_G {}\n#define LED_LEARNING_R {}\n#define LED_LEARNING_B {}".format(*led.LEARNING),
              "#endif", ""]
    return "\n".join(lines)
