"""Poisson rate code: an intensity in [0, 1] sets a neuron's firing rate.

Value ``x`` of input ``i`` makes neuron ``i`` fire as a homogeneous Poisson
process at ``x * max_rate_hz`` during ``window_ms``. In continuous time the
spike count is Poisson and the times are uniform (exact, not binned); with
`dt_ms` the window is cut into steps and each step holds at most one spike,
drawn with probability ``rate * dt`` at the step's start (what a
clock-driven engine delivers).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurobox.coding import _checks
from neurobox.coding.spikes import Spikes, make_spikes
from neurobox.errors import ConfigError


def poisson_encode(values: Any, window_ms: float, max_rate_hz: float = 100.0, *,
                   seed: int | np.random.Generator = 0, dt_ms: float | None = None,
                   t_start_ms: float = 0.0) -> Spikes:
    """Spikes of one neuron per value (flattened, C order) firing at ``value * max_rate_hz``.

    values       intensities in [0, 1], any shape
    window_ms    duration of the spike train, ms (> 0)
    max_rate_hz  rate of a value of 1, Hz (>= 0; with `dt_ms`, at most 1000 / dt_ms)
    seed         int seed or numpy Generator
    dt_ms        step of a clock-driven grid, ms; None for continuous times
    t_start_ms   time of the window's start, ms
    """
    x = _checks.float_array(values, "values", low=0.0, high=1.0).ravel()
    window = _checks.number(window_ms, "window_ms", low=0.0, low_open=True)
    rate_max = _checks.number(max_rate_hz, "max_rate_hz", low=0.0)
    t0 = _checks.number(t_start_ms, "t_start_ms")
    gen = _checks.rng(seed)
    rates_per_ms = x * rate_max / 1000.0
    if dt_ms is None:
        counts = gen.poisson(rates_per_ms * window)
        ids = np.repeat(np.arange(x.size), counts)
        t = t0 + gen.uniform(0.0, window, ids.size)
        return make_spikes(t, ids)
    dt = _checks.number(dt_ms, "dt_ms", low=0.0, low_open=True, high=window)
    if rate_max * dt / 1000.0 > 1.0:
        raise ConfigError("max_rate_hz", f"must be in [0, {1000.0 / dt:g}] Hz with dt_ms = {dt:g} "
                                         f"(at most one spike per step), got {rate_max:g}")
    n_steps = int(np.floor(window / dt + 1e-9))
    fired = gen.random((n_steps, x.size)) < rates_per_ms * dt
    step, ids = np.nonzero(fired)
    return make_spikes(t0 + step * dt, ids)
