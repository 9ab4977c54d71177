"""A unit's analog side: a sensor unit fires from an ADC reading, a motor unit drives a PWM duty.

Sensor unit (no inputs, no neuron): each tick it reads its ADC channel
(10 bit, 0 .. ADC_MAX), steps its own 16-bit xorshift generator
(x ^= x << 7; x ^= x >> 9; x ^= x << 8; never 0, period 65535) and fires
when x - 1 < threshold, threshold = p_min + ((span * adc) >> 10): a
probability of threshold / 65535 per tick, which maps the reading
r = adc / ADC_MAX linearly onto rate_min_hz .. rate_max_hz (the vehicle
loop's mapping of a reading to a sensor population's rate).

Motor unit (an ordinary neuron unit): an integer low-pass of its own
spikes, acc = acc - (acc >> shift) + (inc if it fired), time constant
2**shift ticks (about tau_ms), and the 8-bit PWM duty min(acc >> 8, 255):
a steady rate of full_hz gives the full duty 255 (the loop's top wheel
speed at motor_full_hz).

The reference (`neurobox.hardware.unit.unit_tick`), the twin's bank and the
firmware (firmware/analog.c) all use these definitions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from numba import njit

from neurobox.checks import number
from neurobox.errors import ConfigError

ADC_MAX = 1023
"""Top reading of the ATmega8's 10-bit ADC."""
ADC_VREF_MV = 5000
"""The ADC's reference (AVCC), mV."""
P_ONE = 65535
"""A threshold of P_ONE fires every tick (the generator's values x - 1 lie in 0 .. 65534)."""
DUTY_MAX = 255
DUTY_SHIFT = 8
"""duty = min(acc >> DUTY_SHIFT, DUTY_MAX)."""
MAX_SHIFT = 15


@dataclass(frozen=True)
class SensorFixed:
    """A sensor unit in integers: threshold = p_min + ((span * adc) >> 10); seed: the generator's start (not 0)."""

    p_min: int
    span: int
    seed: int


@dataclass(frozen=True)
class MotorFixed:
    """A motor unit in integers: the low-pass's shift (time constant 2**shift ticks) and its step per spike."""

    shift: int
    inc: int


def _positive(params: Mapping, key: str, where: str, zero: bool = False) -> float:
    """params[key] as a finite number > 0 (>= 0 with `zero`), through neurobox.checks.number."""
    allowed = f"a finite number {'>=' if zero else '>'} 0"
    v = number(params.get(key), f"{where}.{key}", allowed)
    if v < 0 or (v == 0 and not zero):
        raise ConfigError(f"{where}.{key}", f"expected {allowed}, got {v!r}")
    return v


def sensor_seed(address: int) -> int:
    """The generator's start of the sensor unit at bus `address` (distinct per address, never 0)."""
    return ((address + 1) * 0x9E37) & 0xFFFF or 1


def fixed_sensor(params: Mapping, dt: float, address: int, where: str) -> SensorFixed:
    """params: rate_min_hz, rate_max_hz (Hz); dt: tick, ms. ConfigError when a rate needs more than one
    spike a tick."""
    lo = _positive(params, "rate_min_hz", where, zero=True)
    hi = _positive(params, "rate_max_hz", where)
    if lo > hi:
        raise ConfigError(f"{where}.rate_min_hz", f"must be at most rate_max_hz ({hi:g} Hz), got {lo:g}")
    if hi * dt * 1e-3 > 1.0:
        raise ConfigError(f"{where}.rate_max_hz", f"{hi:g} Hz is more than one spike a tick of {dt:g} ms")
    p_min = round(lo * dt * 1e-3 * P_ONE)
    span = round((hi - lo) * dt * 1e-3 * P_ONE * 1024 / ADC_MAX)
    span = min(span, ((P_ONE - p_min) << 10) // ADC_MAX)      # the top reading's threshold stays in 16 bits
    return SensorFixed(p_min=p_min, span=span, seed=sensor_seed(address))


def fixed_motor(params: Mapping, dt: float, where: str) -> MotorFixed:
    """params: tau_ms (the low-pass's time constant, ms), full_hz (the rate of the full duty, Hz)."""
    tau = _positive(params, "tau_ms", where)
    full = _positive(params, "full_hz", where)
    shift = round(math.log2(max(tau / dt, 1.0)))
    if not 1 <= shift <= MAX_SHIFT:
        raise ConfigError(f"{where}.tau_ms", f"{tau:g} ms is 2**{shift} ticks of {dt:g} ms; allowed: 2**1 to "
                                             f"2**{MAX_SHIFT} ticks")
    p_full = full * dt * 1e-3
    if p_full > 1.0:
        raise ConfigError(f"{where}.full_hz", f"{full:g} Hz is more than one spike a tick of {dt:g} ms")
    inc = round((DUTY_MAX << DUTY_SHIFT) / (p_full * (1 << shift)))
    if not 1 <= inc <= 0xFFFF:
        raise ConfigError(f"{where}.full_hz", f"{full:g} Hz with tau_ms {tau:g} needs a step of {inc} per spike; "
                                              f"allowed 1 to 65535 (a faster full rate or a longer tau)")
    return MotorFixed(shift=shift, inc=inc)


def adc_value(reading: float) -> int:
    """The ADC value of a reading in [0, 1] (clipped)."""
    return int(round(min(max(float(reading), 0.0), 1.0) * ADC_MAX))


def adc_millivolts(value: int) -> int:
    """The smallest input voltage (mV) the ADC converts to `value` (floor(mV * ADC_MAX / ADC_VREF_MV))."""
    return -(-int(value) * ADC_VREF_MV // ADC_MAX)


@njit(cache=True)
def xorshift16(x):
    """The sensor's generator: one step of a 16-bit xorshift (7, 9, 8)."""
    x ^= (x << 7) & 0xFFFF
    x ^= x >> 9
    x ^= (x << 8) & 0xFFFF
    return x


@njit(cache=True)
def sensor_fires(rng, adc, p_min, span):
    """(next generator state, fired) for a reading `adc`."""
    rng = xorshift16(rng)
    return rng, rng - 1 < p_min + ((span * adc) >> 10)


@njit(cache=True)
def motor_step(acc, spiked, shift, inc):
    """(next acc, duty) after a tick with or without a spike."""
    acc = acc - (acc >> shift) + (inc if spiked else 0)
    return acc, min(acc >> DUTY_SHIFT, DUTY_MAX)
