"""The generated per-unit configuration header and the layouts the firmware shares with Python.

`header(unit, pins, ...)` writes `unit_config.h`: the neuron's integer
constants (and its adaptive threshold), its synapse table in the firmware's
input order (`input_order`: the plastic inputs first; initial weights,
receptors, delays, and dendrite pins or source addresses), the learning
rule's constants (and the reward lines), LED constants, address, pin map,
tick timer and the bus (neurobox.hardware.avr.bus: speed, slot, receive
ring). `STATE_LAYOUT` is `struct unit_state` (unit.h).
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
"""Bus slot 0 begins this many cycles after the tick (neurobox.hardware.avr.bus): every unit has read its
inputs, stepped its neuron and armed its spike byte by then (a unit with 113 inputs about 2,000 cycles after
the tick), and a receiver whose tick lags the sender's by less than this still takes the byte in its next
tick."""
BUS_LEAD_CYCLES = 96
"""The slot's timer interrupt comes this long before the slot and waits for it (main.c send_in_slot): longer
than a receive interrupt (about 73 cycles), which may be running when it falls due."""
TICK_VECTOR = 6
"""TIMER1_COMPA is interrupt vector 6 on the ATmega8 (byte address 12)."""
REWARD_ADDRESS = MAX_ADDRESS + 2
"""A bus byte 0x80 | 127 is a reward pulse (+1) for every unit that learns by reward."""
PUNISH_ADDRESS = MAX_ADDRESS + 1
"""A bus byte 0x80 | 126 is a punishment pulse (-1)."""
APPLY_ADDRESS = REWARD_ADDRESS
"""For a unit that learns by e-prop the reward byte is the apply pulse (its gradients become weight steps)."""


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
    ("v", "h", None, None), ("i_ex", "h", None, None), ("i_in", "h", None, None), ("ref", "B", None, None),
    ("spiked", "B", None, None), ("x_post", "H", None, None), ("led_flash", "B", None, None),
    ("led_learn", "B", None, None), ("led_since", "B", None, None), ("led_g", "B", None, None),
    ("led_r", "B", None, None), ("led_b", "B", None, None), ("axon_hold", "B", None, None),
    ("learned", "B", None, None), ("theta", "H", None, "THETA_ON"), ("n_post", "H", None, "STDP_SCHEDULE"),
    ("w", "h", "inputs", None), ("x_pre", "H", "plastic", "LEARNING"), ("line", "H", "inputs", "DELAY_LINES"),
    ("c", "H", "plastic", "ELIGIBILITY"), ("reward", "b", None, "RSTDP_ON"), ("g", "i", "plastic", "EPROP_ON"),
    ("err", "b", "readouts", "EPROP_ON"), ("apply", "B", None, "EPROP_ON"), ("adc", "H", None, "SENSOR_ON"),
    ("rng", "H", None, "SENSOR_ON"), ("acc", "I", None, "MOTOR_ON"), ("duty", "B", None, "MOTOR_ON"),
)
"""`struct unit_state` in unit.h, in order (little-endian, no padding): field, struct code, how many (None: one,
"inputs": one per input, "plastic": one per plastic input, in input order, "readouts": one per e-prop readout),
and the unit_config.h switch it is compiled in under (None: always)."""


def delay_lines(unit: FixedUnit) -> bool:
    """The unit's firmware has delay lines: some input has a delay above one tick."""
    return any(d > 1 for d in unit.input_delays)


def theta_on(unit: FixedUnit) -> bool:
    """The unit's firmware has the adaptive threshold: it grows with spikes or starts above 0."""
    return unit.lif.theta_plus != 0 or unit.theta != 0


def stdp_schedule(unit: FixedUnit) -> bool:
    """The unit's firmware counts its spikes for the learning-rate schedule: a_plus halves at least once."""
    return unit.stdp is not None and unit.stdp.halve_every > 0 and unit.stdp.halvings > 0


def _switches(unit: FixedUnit) -> dict[str | None, bool]:
    return {None: True, "DELAY_LINES": delay_lines(unit), "RSTDP_ON": unit.rstdp is not None,
            "EPROP_ON": unit.eprop is not None, "ELIGIBILITY": unit.rstdp is not None or unit.eprop is not None,
            "LEARNING": unit.rule is not None, "THETA_ON": theta_on(unit), "STDP_SCHEDULE": stdp_schedule(unit),
            "SENSOR_ON": unit.sensor is not None, "MOTOR_ON": unit.motor is not None}


def input_order(unit: FixedUnit) -> list[int]:
    """The order the firmware keeps a unit's inputs in (its tables, state and EEPROM): the plastic inputs first,
    then the others, each in input order, so that a learning rule runs over one block of inputs 0 .. N_PLASTIC - 1."""
    plastic = list(unit.plastic_index)
    return plastic + [j for j in range(unit.n_inputs) if not unit.plastic[j]]


def state_fields(unit: FixedUnit) -> list[tuple[str, str, str | None, int]]:
    """The fields of `unit`'s state struct: (name, struct code, how many as in STATE_LAYOUT, count)."""
    on = _switches(unit)
    counts = {None: 1, "inputs": max(unit.n_inputs, 1), "plastic": len(unit.plastic_index),
              "readouts": len(unit.feedback)}
    return [(name, code, many, counts[many]) for name, code, many, switch in STATE_LAYOUT if on[switch]]


def state_format(unit: FixedUnit) -> str:
    """struct format of `unit`'s `struct unit_state`."""
    return "<" + "".join(f"{count}{code}" for _, code, _, count in state_fields(unit))


def decode_state(raw: bytes, unit: FixedUnit) -> dict:
    """The firmware's state from its SRAM bytes: scalars as ints, per-input fields as lists in input order (a
    field of the plastic inputs spread over all inputs, 0 on the others, as in the reference)."""
    fmt = state_format(unit)
    values = iter(struct.unpack(fmt, raw[:struct.calcsize(fmt)]))
    order = input_order(unit) or [0]
    out = {}
    for name, _, many, count in state_fields(unit):
        if many is None:
            out[name] = next(values)
            continue
        if many == "readouts":
            out[name] = [next(values) for _ in range(count)]
            continue
        out[name] = [0] * max(unit.n_inputs, 1)
        for j in order[:count]:
            out[name][j] = next(values)
    return out


def state_size(unit: FixedUnit) -> int:
    return struct.calcsize(state_format(unit))


def config_hash(unit: FixedUnit) -> int:
    """16-bit fingerprint of a unit's configuration (neuron, initial theta, synapses, delays, rule, address):
    EEPROM weights from another configuration are ignored."""
    text = repr((unit.lif, unit.weights, unit.receptors, unit.plastic, unit.stdp, unit.address,
                 unit.input_delays, unit.rstdp, unit.theta) + ((unit.eprop, unit.feedback) if unit.eprop else ()))
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:2], "little")


def _check_normalisation(unit: FixedUnit) -> None:
    """ConfigError unless the normalisation's dividend, (norm_target << 16) + total / 2, fits 32 bits unsigned
    for every sum of the plastic weights (stdp_fixed.scale_factor as one 32-bit division on the chip)."""
    s = unit.stdp
    most = (s.norm_target << 16) + len(unit.plastic_index) * max(s.w_max, 0) // 2
    if most >= 1 << 32:
        raise ConfigError(f"units.{unit.name}.rule.normalize_to",
                          f"unit {unit.name}: normalize_to is {s.norm_target} I_lsb; the chip divides "
                          f"(normalize_to << 16) + sum / 2 in 32 bits, which allows at most "
                          f"{((1 << 32) - 1 - len(unit.plastic_index) * max(s.w_max, 0) // 2) >> 16} I_lsb")


def _pin(name: str) -> tuple[str, int]:
    return name[1], int(name[2])


def _c_list(values) -> str:
    return "{ " + ", ".join(str(int(v)) for v in values) + " }" if len(values) else "{ 0 }"


def axon_cycles(dt: float) -> int:
    """Cycle after the tick at which a wired unit writes its axon pin: half way through the tick."""
    return tick_timer(dt).cycles // 2


def input_chains(sources: list[int]) -> tuple[list[int], list[int]]:
    """The bus look-up of a unit's inputs by source address, as chains of input indices plus one (0 ends a
    chain): first[a] starts the chain of the inputs address a feeds (a in 0..127), following[j] continues it
    after input j."""
    first, following = [0] * 128, [0] * len(sources)
    for j in reversed(range(len(sources))):
        following[j], first[sources[j]] = first[sources[j]], j + 1
    return first, following


def header(unit: FixedUnit, pins: PinMap, persist_steps: int = PERSIST_STEPS,
           addresses: dict[str, int] | None = None, bus=None) -> str:
    """The text of unit_config.h for `unit` wired as `pins`.

    Bus mode: `addresses` maps source unit names to bus addresses; `bus` is the board's
    neurobox.hardware.avr.bus.BusPlan (default: the plan of the addresses this unit sees).
    """
    if unit.eprop is not None and pins.mode != "bus":
        raise ConfigError(f"units.{unit.name}.rule", f"unit {unit.name} learns by e-prop: it hears the host's error "
                                                     f"bytes on the bus only (connection mode 'bus')")
    if unit.sensor is not None and pins.adc is None:
        raise ConfigError(f"units.{unit.name}.sensor", f"unit {unit.name} is a sensor: plan its pins with an ADC "
                                                       f"channel (pins.plan(..., adc=True))")
    if unit.motor is not None and pins.pwm is None:
        raise ConfigError(f"units.{unit.name}.motor", f"unit {unit.name} drives a motor: plan its pins with a PWM "
                                                      f"output (pins.plan(..., pwm=True))")
    if unit.rstdp is not None and pins.mode == "wired" and pins.reward is None:
        raise ConfigError(f"units.{unit.name}.rule", f"unit {unit.name} learns by reward: plan its pins with "
                                                     f"reward lines (pins.plan(..., reward=True))")
    from neurobox.hardware.avr.bus import unit_bus
    from neurobox.hardware.avr.memory import check_memory

    if pins.mode == "bus" and bus is None:
        missing = [s for s in unit.sources if s not in (addresses or {})]
        if missing:
            raise ConfigError(f"units.{unit.name}.inputs", f"no bus address for source unit {missing[0]!r}")
        bus = unit_bus(unit, [addresses[s] for s in unit.sources])
    check_memory(unit, pins.mode, bus)          # the last guard: no header of a unit the linker cannot place
    lif = unit.lif
    tick = tick_timer(unit.dt)
    n = unit.n_inputs
    order = input_order(unit)

    def ordered(values) -> str:
        return _c_list([values[j] for j in order])
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
        f"#define THETA_ON {int(theta_on(unit))}",
    ]
    if theta_on(unit):
        lines += [f"#define LIF_THETA_PLUS {lif.theta_plus}u", f"#define LIF_THETA_INIT {unit.theta}u"]
    lines += [
        f"/* synapse table: {n} inputs, the plastic ones first (config.input_order), from "
        f"{', '.join(unit.sources[j] for j in order) or 'nothing'} */",
        f"#define N_SYN {max(n, 1)}",
        f"#define N_PLASTIC {len(unit.plastic_index)}",
        f"#define SYN_WEIGHTS {ordered(unit.weights)}",
        f"#define SYN_RECEPTOR {ordered(unit.receptors)}",
        f"#define DELAY_LINES {int(delay_lines(unit))}",
    ]
    if delay_lines(unit):
        lines += [f"/* delays (ticks): {', '.join(str(unit.input_delays[j]) for j in order)} */",
                  f"#define SYN_ARRIVAL_BIT {ordered([1 << (d - 1) for d in unit.input_delays])}"]
    if pins.mode == "wired":
        ports = [port_index[_pin(p)[0]] for p in pins.dendrites]
        masks = [1 << _pin(p)[1] for p in pins.dendrites]
        axon_port, axon_bit = _pin(pins.axon)
        lines += [f"/* dendrites: {', '.join(pins.dendrites[j] for j in order)} */",
                  f"#define SYN_PORT {ordered(ports)}", f"#define SYN_MASK {ordered(masks)}",
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
        sources = [addresses[unit.sources[j]] for j in order]
        plan = bus or unit_bus(unit, sources)
        if plan.slot_cycles(unit.address + 1) > tick.cycles:
            raise ConfigError(f"units.{unit.name}.address",
                              f"unit {unit.name}: bus slot {unit.address} does not end within the {unit.dt:g} ms "
                              f"tick ({tick.cycles} cycles); at {plan.baud} baud the tick has room for "
                              f"{plan.as_dict()['slots_per_tick']} slots after the first {SLOT_BASE_CYCLES} cycles")
        first, following = input_chains(sources)
        lines += [f"/* sources: {', '.join(map(str, sources))} */",
                  f"#define SYN_FIRST_INPUT {_c_list(first)}", f"#define SYN_NEXT_INPUT {_c_list(following)}",
                  f"/* bus: {plan.baud} baud, a byte every {plan.byte_cycles} cycles (neurobox.hardware.avr.bus) */",
                  f"#define BUS_UBRR {plan.ubrr}", f"#define BUS_U2X {int(plan.u2x)}", f"#define RX_SIZE {plan.rx_size}",
                  f"#define BUS_SLOT_TCNT {plan.slot_cycles(unit.address) // tick.prescaler}u",
                  f"#define BUS_ARM_TCNT {(plan.slot_cycles(unit.address) - BUS_LEAD_CYCLES) // tick.prescaler}u"]
        if unit.rstdp is not None:
            lines += [f"#define REWARD_ADDRESS {REWARD_ADDRESS}", f"#define PUNISH_ADDRESS {PUNISH_ADDRESS}"]
        if unit.eprop is not None:
            if plan.rx_size < plan.addresses + 1 + len(unit.feedback):
                raise ConfigError(f"units.{unit.name}.feedback",
                                  f"unit {unit.name}: its {plan.rx_size} B receive ring holds a byte from each of "
                                  f"{plan.addresses} addresses, the apply byte and no room for "
                                  f"{len(unit.feedback)} error bytes; use fewer addresses or readouts")
            lines += [f"#define APPLY_ADDRESS {APPLY_ADDRESS}"]
    stdp, rstdp, eprop = unit.stdp, unit.rstdp, unit.eprop
    lines += [f"#define STDP_ON {int(stdp is not None)}", f"#define RSTDP_ON {int(rstdp is not None)}",
              f"#define EPROP_ON {int(eprop is not None)}"]
    if stdp:
        lines += ["/* pair STDP (neurobox/plasticity/stdp_fixed.py) */",
                  f"#define STDP_K_PLUS {stdp.k_plus}", f"#define STDP_K_MINUS {stdp.k_minus}",
                  f"#define STDP_A_PLUS {stdp.a_plus}u", f"#define STDP_A_MINUS {stdp.a_minus}u",
                  f"#define STDP_W_MIN ({stdp.w_min})", f"#define STDP_W_MAX ({stdp.w_max})",
                  f"#define STDP_SCHEDULE {int(stdp_schedule(unit))}", f"#define STDP_NORM {int(stdp.norm_target > 0)}"]
        if stdp_schedule(unit):
            lines += [f"#define STDP_HALVE_EVERY {stdp.halve_every}u", f"#define STDP_HALVINGS {stdp.halvings}u"]
        if stdp.norm_target > 0:
            _check_normalisation(unit)
            lines += [f"#define STDP_NORM_TARGET {stdp.norm_target}L"]
    if rstdp:
        lines += ["/* reward-modulated STDP (neurobox/plasticity/rstdp_fixed.py) */",
                  f"#define RSTDP_K_PRE {rstdp.k_pre}", f"#define RSTDP_K_C {rstdp.k_c}",
                  f"#define RSTDP_A_PLUS {rstdp.a_plus}u",
                  f"#define RSTDP_W_MIN ({rstdp.w_min})", f"#define RSTDP_W_MAX ({rstdp.w_max})"]
    if eprop:
        lines += ["/* e-prop (neurobox/plasticity/eprop_fixed.py) */",
                  f"#define N_READOUTS {len(unit.feedback)}", f"#define EPROP_FEEDBACK {_c_list(unit.feedback)}",
                  f"#define EPROP_K_Z {eprop.k_z}", f"#define EPROP_K_KAPPA {eprop.k_kappa}",
                  f"#define EPROP_WIDTH {eprop.width}L",
                  f"#define EPROP_K_PSI {eprop.k_psi}", f"#define EPROP_ETA_MUL {eprop.eta_mul}L",
                  f"#define EPROP_K_ETA {eprop.k_eta}",
                  f"#define EPROP_W_MIN ({eprop.w_min}L)", f"#define EPROP_W_MAX ({eprop.w_max}L)"]
    if stdp or rstdp or eprop:
        lines += [f"#define PERSIST_STEPS {persist_steps}u", f"#define CONFIG_HASH 0x{config_hash(unit):04x}u"]
    lines += [f"#define SENSOR_ON {int(unit.sensor is not None)}", f"#define MOTOR_ON {int(unit.motor is not None)}"]
    if unit.sensor is not None:
        sensor = unit.sensor
        lines += [f"/* sensor (neurobox/hardware/analog.py) on ADC{_pin(pins.adc)[1]} ({pins.adc}) */",
                  f"#define SENSOR_ADC_CHANNEL {_pin(pins.adc)[1]}", f"#define SENSOR_P_MIN {sensor.p_min}u",
                  f"#define SENSOR_SPAN {sensor.span}UL", f"#define SENSOR_SEED {sensor.seed}u"]
    if unit.motor is not None:
        motor_port, motor_bit = _pin(pins.pwm)
        lines += [f"/* motor (neurobox/hardware/analog.py): PWM on OC2 ({pins.pwm}) */",
                  f"#define MOTOR_DDR DDR{motor_port}", f"#define MOTOR_BIT {motor_bit}",
                  f"#define MOTOR_SHIFT {unit.motor.shift}", f"#define MOTOR_INC {unit.motor.inc}UL"]
    p = unit.led
    lines += [f"/* LED (neurobox/hardware/led.py) on {pins.led} */",
              f"#define LED_PORT PORT{led_port}", f"#define LED_DDR DDR{led_port}", f"#define LED_BIT {led_bit}",
              f"#define LED_SPAN {p.span}u", f"#define LED_SCALE {p.scale}UL",
              f"#define LED_FLASH_STEPS {p.flash_steps}", f"#define LED_MIN_STEPS {p.min_steps}",
              "#define LED_FIRING_G {}\n#define LED_FIRING_R {}\n#define LED_FIRING_B {}".format(*led.FIRING),
              "#define LED_LEARNING_G {}\n#define LED_LEARNING_R {}\n#define LED_LEARNING_B {}".format(*led.LEARNING),
              "#endif", ""]
    return "\n".join(lines)
