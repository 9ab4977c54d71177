"""Latency (time-to-first-spike) code: a stronger input fires earlier.

Each value ``x`` in [0, 1] gives its neuron at most one spike. Values at or
below `threshold` stay silent; above it the spike time falls as ``x``
grows, from ``window_ms`` (just above threshold) to 0 (``x = 1``):

    linear:  t = window_ms * (1 - x) / (1 - threshold)
    log:     t = window_ms * ln(1 / x) / ln(1 / threshold)

The log mapping gives equal ratios of intensity equal steps of time (as a
photoreceptor's charging time does); it needs a threshold > 0. The decoder
inverts the mapping, so ``latency_decode(latency_encode(x))`` returns ``x``
where ``x > threshold`` and 0 elsewhere.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurobox.coding import _checks
from neurobox.coding.spikes import Spikes, make_spikes

METHODS = ("linear", "log")
_DEFAULT_THRESHOLD = {"linear": 0.0, "log": 0.01}


def _params(window_ms, method, threshold):
    window = _checks.number(window_ms, "window_ms", low=0.0, low_open=True)
    m = _checks.choice(method, "method", METHODS)
    if threshold is None:
        theta = _DEFAULT_THRESHOLD[m]
    elif m == "log":
        theta = _checks.number(threshold, "threshold", low=0.0, high=1.0, low_open=True, high_open=True)
    else:
        theta = _checks.number(threshold, "threshold", low=0.0, high=1.0, high_open=True)
    return window, m, theta


def latency_encode(values: Any, window_ms: float, *, method: str = "linear",
                   threshold: float | None = None, t_start_ms: float = 0.0) -> Spikes:
    """One spike per value above `threshold` (flattened, C order), earlier for larger values.

    values      intensities in [0, 1]
    window_ms   latest spike time after `t_start_ms`, ms (> 0)
    method      "linear" or "log"
    threshold   values <= threshold do not fire; in [0, 1) for linear
                (default 0), in (0, 1) for log (default 0.01)
    t_start_ms  time of intensity 1, ms
    """
    x = _checks.float_array(values, "values", low=0.0, high=1.0).ravel()
    window, m, theta = _params(window_ms, method, threshold)
    t0 = _checks.number(t_start_ms, "t_start_ms")
    ids = np.flatnonzero(x > theta)
    xs = x[ids]
    if m == "linear":
        t = window * (1.0 - xs) / (1.0 - theta)
    else:
        t = window * np.log(1.0 / xs) / np.log(1.0 / theta)
    return make_spikes(t0 + t, ids)


def latency_decode(t_ms: Any, neuron_id: Any, n_neurons: int, window_ms: float, *,
                   method: str = "linear", threshold: float | None = None,
                   t_start_ms: float = 0.0) -> np.ndarray:
    """Intensities (float64[n_neurons]) from the first spike of each neuron; 0 for silent ones.

    The arguments mean what they mean for `latency_encode`; spikes after
    ``t_start_ms + window_ms`` or before `t_start_ms` are ignored.
    """
    n = _checks.integer(n_neurons, "n_neurons", low=0)
    window, m, theta = _params(window_ms, method, threshold)
    t0 = _checks.number(t_start_ms, "t_start_ms")
    t, ids = make_spikes(t_ms, neuron_id, n)
    rel = t - t0
    keep = (rel >= 0.0) & (rel <= window)
    first = np.full(n, np.inf)
    np.minimum.at(first, ids[keep], rel[keep])
    out = np.zeros(n)
    fired = np.isfinite(first)
    if m == "linear":
        out[fired] = 1.0 - first[fired] * (1.0 - theta) / window
    else:
        out[fired] = np.exp(-first[fired] * np.log(1.0 / theta) / window)
    return out
