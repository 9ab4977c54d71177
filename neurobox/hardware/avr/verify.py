"""Hold one unit's firmware, run in simavr, bit-exact against the Python specification.

For a unit, an input spike sequence and a reward schedule: build the
firmware, run it in the emulator, run `neurobox.hardware.unit.simulate` on
the same inputs, and compare tick by tick: membrane, currents, refractory
count, spike, traces, weights, delay lines, eligibilities and the reward
pulse seen, then the LED: the colours decoded from the LED pin's
WS2812 stream (and the ticks they were sent in) against the reference's
frames, with every pulse inside the WS2812 timing tolerances.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurobox.hardware.avr import config, emulator, ws2812
from neurobox.hardware.avr.build import Image, build
from neurobox.hardware.avr.bus import BusPlan, unit_bus
from neurobox.hardware.avr.pins import PinMap
from neurobox.hardware.analog import adc_millivolts
from neurobox.hardware.unit import FixedUnit, UnitTrace, simulate

COMPARED = ("v", "i_ex", "i_in", "ref", "theta", "spiked", "x_post", "n_post", "w", "x_pre", "line", "c", "reward",
            "g", "err", "apply", "adc", "duty")
"""The state fields compared, each where the unit's firmware has it (config.STATE_LAYOUT)."""
OCR2_DATA = 0x43
"""OCR2 (I/O 0x23) in data space: a motor unit's PWM duty."""
PER_INPUT = ("w", "x_pre", "line", "c", "g")
PER_READOUT = ("err",)


@dataclass
class UnitVerification:
    """Outcome for one unit. `mismatch`: (tick, variable, firmware value, reference value) of the first difference."""

    unit: str
    steps: int
    bit_exact: bool
    led_ok: bool
    mismatch: tuple | None
    led_faults: list
    output_ok: bool
    output_faults: list
    cycles_per_update: int
    """Most CPU cycles one tick stayed awake (update, LED frame, bus byte)."""
    cycles_median: float
    spikes: int
    weight_changes: int
    run: emulator.EmulatorRun = field(repr=False, default=None)
    reference: UnitTrace = field(repr=False, default=None)


def delay_line_words(pre: np.ndarray) -> np.ndarray:
    """The delay lines after every tick for received spikes pre[t, j] (unit.unit_tick, step 1)."""
    pre = np.asarray(pre, dtype=np.int64)
    out = np.zeros(pre.shape, dtype=np.int64)
    line = np.zeros(pre.shape[1], dtype=np.int64)
    for t in range(pre.shape[0]):
        line = ((line << 1) | pre[t]) & 0xFFFF
        out[t] = line
    return out


def reference_fields(ref: UnitTrace, pre: np.ndarray | None = None, reward: np.ndarray | None = None,
                     error: np.ndarray | None = None, adc: np.ndarray | None = None) -> dict:
    """The reference's value of every field in COMPARED, one row per tick ("line" only when `pre` is given;
    "err" the error bytes seen, "apply" a reward pulse of +1)."""
    steps = len(ref.v)
    pulses = np.zeros(steps, dtype=np.int64) if reward is None else np.asarray(reward, dtype=np.int64)
    out = {"v": ref.v, "i_ex": ref.i_ex, "i_in": ref.i_in, "ref": ref.ref, "theta": ref.theta,
           "spiked": ref.spikes.astype(np.int64), "x_post": ref.x_post, "n_post": ref.n_post, "w": ref.weights,
           "x_pre": ref.x_pre, "c": ref.eligibility, "g": ref.gradient, "reward": pulses,
           "apply": (pulses > 0).astype(np.int64), "duty": ref.duty,
           "adc": np.zeros(steps, dtype=np.int64) if adc is None else np.asarray(adc, dtype=np.int64),
           "err": np.zeros((steps, 0), dtype=np.int64) if error is None else np.asarray(error, dtype=np.int64)}
    if pre is not None:
        out["line"] = delay_line_words(pre)
    return out


def first_mismatch(run: emulator.EmulatorRun, ref: UnitTrace, n_inputs: int, pre: np.ndarray | None = None,
                   reward: np.ndarray | None = None, error: np.ndarray | None = None,
                   adc: np.ndarray | None = None) -> tuple | None:
    """(tick, variable, firmware, reference) of the first difference, or None.

    `pre` (the received spikes) is needed for a unit with delay lines, `reward` for one that learns by reward.
    """
    want = reference_fields(ref, pre, reward, error, adc)
    for t, st in enumerate(run.states):
        for name in COMPARED:
            if name not in st:
                continue
            if name not in want:
                raise ValueError(f"the firmware has {name!r}: pass the received spikes to compare it")
            fw = st[name][:n_inputs] if name in PER_INPUT else st[name]
            if name in PER_READOUT:
                r = [int(x) for x in want[name][t][:len(fw)]] + [0] * max(0, len(fw) - want[name].shape[1])
            else:
                r = [int(x) for x in want[name][t]] if name in PER_INPUT else int(want[name][t])
            if fw != r:
                return (t, name, fw, r)
    return None


def led_check(run: emulator.EmulatorRun, ref: UnitTrace, pin: str) -> list[str]:
    """Faults of the LED stream: timing, and colours or ticks that differ from the reference.

    The frame decided in tick t goes out early in tick t + 1 (main.c), so the last tick's frame is not seen."""
    frames = ws2812.decode(run.edges.get(pin, []))
    faults = [f"frame {i}: {f}" for i, frame in enumerate(frames) for f in frame.faults]
    got = []
    for frame in frames:
        t = int(np.searchsorted(run.tick_cycles, frame.start, side="right")) - 2
        got.append((t, tuple(frame.data)))
    want = [(t, tuple(c)) for t, c in ref.led_frames if t < len(run.states) - 1]
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            faults.append(f"frame {i}: sent {g[1]} (G, R, B) in tick {g[0]}, expected {w[1]} in tick {w[0]}")
            break
    if len(got) != len(want):
        faults.append(f"{len(got)} LED frames sent, expected {len(want)}")
    return faults


LATE = "its spike was decided too late"
"""The words of an output fault for a byte that left after its slot began."""
SEND_LATENCY_CYCLES = 16
"""A spike byte is written to the UART at most this many cycles after its slot begins (main.c send_in_slot:
the last turn of its wait for the slot)."""


def output_faults(run: emulator.EmulatorRun, ref: UnitTrace, pins: PinMap, address: int, dt: float,
                  bus: BusPlan | None = None) -> list[str]:
    """Faults of the unit's spike output against the reference's spikes.

    wired: the axon pin, written half way through each tick, is high exactly
    while an axon pulse lasts (AXON_HOLD ticks from the spike); bus: one byte
    0x80|address in the tick of every spike and none otherwise, each written
    in the unit's slot of `bus` (a byte that leaves later was armed too late; the last tick's byte may
    leave after the run has ended).
    """
    faults = []
    n = len(run.states)
    if pins.mode == "wired":
        # the axon is written half way through the tick; look at it a quarter tick later
        ends = run.tick_cycles + config.axon_cycles(dt) * 3 // 2
        edges = run.edges.get(pins.axon, [])
        cycles = np.array([c for c, _ in edges], dtype=np.int64)
        levels = [lv for _, lv in edges]
        hold = 0
        for t in range(n - 1):  # the run ends at the last tick's sleep, before its axon write
            if ref.spikes[t]:
                hold = config.AXON_HOLD
            elif hold:
                hold -= 1
            k = int(np.searchsorted(cycles, ends[t], side="right")) - 1
            level = levels[k] if k >= 0 else 0
            if level != int(hold > 0):
                faults.append(f"tick {t}: axon {pins.axon} is {level}, expected {int(hold > 0)}")
                break
    else:
        sent = np.zeros(n, dtype=int)
        slot = bus.slot_cycles(address)
        for cycle, byte in run.uart:
            t = int(np.searchsorted(run.tick_cycles, cycle, side="right")) - 1
            late = cycle - run.tick_cycles[t] - slot if t >= 0 else 0
            if byte != 0x80 | address:
                faults.append(f"tick {t}: sent byte 0x{byte:02x}, expected 0x{0x80 | address:02x}")
            elif not 0 <= late <= SEND_LATENCY_CYCLES:
                faults.append(f"tick {t}: the byte left {late} cycles after the start of slot {address} "
                              f"({slot} cycles after the tick): {LATE}")
            elif 0 <= t < n:
                sent[t] += 1
        expected = ref.spikes[:n].astype(int)
        if n and sent[-1] == 0:   # the run ends at the last tick's sleep, before a slot that comes later
            expected[-1] = 0
        bad = np.flatnonzero(sent != expected)
        if bad.size:
            t = int(bad[0])
            faults.append(f"tick {t}: {sent[t]} address-event bytes sent, expected {int(ref.spikes[t])}")
    return faults


def verify_unit(unit: FixedUnit, pins: PinMap, pre: np.ndarray, work_dir: Path,
                addresses: dict[str, int] | None = None, persist_steps: int = config.PERSIST_STEPS,
                image: Image | None = None, eeprom: bytes | None = None,
                initial_weights: tuple[int, ...] | None = None, reward: np.ndarray | None = None,
                bus: BusPlan | None = None, error: np.ndarray | None = None,
                adc: np.ndarray | None = None) -> UnitVerification:
    """Build (unless `image` is given), emulate and compare `len(pre)` ticks of `unit`.

    `reward[t]` (-1, 0, +1) is the pulse the unit sees in tick t, sent by the host in the tick before (e-prop:
    +1 is the apply pulse); `error[t, k]` the e-prop error bytes it sees in tick t (bus only);
    `bus`: the board's bus plan (default: the plan of the addresses the unit sees); `adc[t]`: the value a
    sensor unit reads in tick t (fed to simavr's ADC as the voltage that converts to it). A motor unit's PWM
    register OCR2 is read after every tick and held against the reference's duty (an output fault if not).
    """
    pre = np.asarray(pre, dtype=bool)
    steps = pre.shape[0]
    source_addresses = [addresses[s] for s in unit.sources] if pins.mode == "bus" else None
    if pins.mode == "bus":
        bus = bus or unit_bus(unit, source_addresses)
    if image is None:
        image = build(config.header(unit, pins, persist_steps, addresses=addresses, bus=bus), Path(work_dir),
                      unit.name)
    watch = (pins.led,) + ((pins.axon,) if pins.axon else ())
    # on the bus every unit hears the reward bytes; wired, only a unit that learns by reward has the lines
    sent = reward if unit.rstdp is not None or pins.mode == "bus" else None
    lines = emulator.input_lines(pre, pins, source_addresses, sent, bus, error)
    if unit.sensor is not None:
        channel = int(pins.adc[2])
        lines = [f"{line} A{channel}={adc_millivolts(int(adc[t]))}".strip() for t, line in enumerate(lines)]
    run = emulator.run(image, unit, lines, steps, config.tick_timer(unit.dt).cycles, watch=watch, eeprom=eeprom,
                       read_eeprom=unit.rule is not None, reg=OCR2_DATA if unit.motor is not None else 0)
    ref = simulate(unit, pre, initial_weights, reward, error, adc)
    mismatch = first_mismatch(run, ref, unit.n_inputs, pre, reward, error, adc)
    faults = led_check(run, ref, pins.led)
    out_faults = output_faults(run, ref, pins, unit.address, unit.dt, bus)
    if unit.motor is not None:
        bad = [t for t, (got, want) in enumerate(zip(run.register, ref.duty)) if got != want]
        if bad or len(run.register) != len(run.states):
            t = bad[0] if bad else len(run.register)
            out_faults.append(f"tick {t}: OCR2 (PWM duty on {pins.pwm}) is "
                              f"{run.register[t] if t < len(run.register) else 'missing'}, expected {ref.duty[t]}")
    return UnitVerification(
        unit=unit.name, steps=len(run.states), bit_exact=mismatch is None and len(run.states) == steps,
        led_ok=not faults, mismatch=mismatch, led_faults=faults, output_ok=not out_faults,
        output_faults=out_faults,
        cycles_per_update=int(run.busy_cycles.max()) if len(run.busy_cycles) else 0,
        cycles_median=float(np.median(run.busy_cycles)) if len(run.busy_cycles) else 0.0,
        spikes=int(ref.spikes.sum()), weight_changes=int(ref.learned.sum()), run=run, reference=ref)
