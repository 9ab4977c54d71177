"""Van Rossum distance between spike trains (van Rossum 2001), exact.

Each train is filtered with a causal exponential kernel,
``f(t) = sum_i H(t - t_i) exp(-(t - t_i) / tau)``, and

    D^2 = (1 / tau) * integral over all t of (f(t) - g(t))^2 dt.

The integral has a closed form: with ``S(x, y) = sum_ij exp(-|x_i - y_j| / tau)``,
``D^2 = (S(a, a) + S(b, b) - 2 S(a, b)) / 2``. So a lone spike against an
empty train gives D^2 = 1/2, and D^2 approaches (number of unmatched spikes)/2
as tau shrinks. The sums are taken in one pass over the sorted trains
(O(n + m), as in Houghton & Kreuz 2012), with no time grid.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from numba import njit

from neurobox.coding import _checks
from neurobox.coding.spikes import as_pair, to_trains


@njit(cache=True)
def _self_sum(x, tau):
    n = x.size
    if n == 0:
        return 0.0
    acc = 0.0
    a = 0.0
    for i in range(1, n):
        a = math.exp(-(x[i] - x[i - 1]) / tau) * (1.0 + a)
        acc += a
    return n + 2.0 * acc


@njit(cache=True)
def _cross_sum(x, y, tau):
    total = 0.0
    # y spikes at or before each x spike
    j = 0
    trace = 0.0
    t_last = 0.0
    for i in range(x.size):
        while j < y.size and y[j] <= x[i]:
            trace = 1.0 if j == 0 else trace * math.exp(-(y[j] - t_last) / tau) + 1.0
            t_last = y[j]
            j += 1
        if j > 0:
            total += trace * math.exp(-(x[i] - t_last) / tau)
    # y spikes strictly after each x spike
    j = y.size - 1
    trace = 0.0
    t_last = 0.0
    for i in range(x.size - 1, -1, -1):
        while j >= 0 and y[j] > x[i]:
            trace = 1.0 if j == y.size - 1 else trace * math.exp(-(t_last - y[j]) / tau) + 1.0
            t_last = y[j]
            j -= 1
        if j < y.size - 1:
            total += trace * math.exp(-(t_last - x[i]) / tau)
    return total


@njit(cache=True)
def _squared(a, b, tau):
    d2 = 0.5 * (_self_sum(a, tau) + _self_sum(b, tau) - 2.0 * _cross_sum(a, b, tau))
    return d2 if d2 > 0.0 else 0.0


def _train(x: Any, field: str) -> np.ndarray:
    return np.sort(_checks.float_array(x, field, ndim=1))


def van_rossum_distance(train_a: Any, train_b: Any, tau_ms: float) -> float:
    """Van Rossum distance D (dimensionless) between two spike trains (times in ms).

    tau_ms  time constant of the exponential kernel, ms (> 0)
    """
    tau = _checks.number(tau_ms, "tau_ms", low=0.0, low_open=True)
    a = _train(train_a, "train_a")
    b = _train(train_b, "train_b")
    return math.sqrt(_squared(a, b, tau))


def van_rossum_matrix(trains: Sequence[Any], tau_ms: float) -> np.ndarray:
    """Pairwise van Rossum distances, float64[len(trains), len(trains)]."""
    tau = _checks.number(tau_ms, "tau_ms", low=0.0, low_open=True)
    ts = [_train(t, f"trains[{i}]") for i, t in enumerate(trains)]
    n = len(ts)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = math.sqrt(_squared(ts[i], ts[j], tau))
    return out


def van_rossum_multi(spikes_a: Any, spikes_b: Any, n_neurons: int, tau_ms: float) -> float:
    """Distance between two populations' spikes, neuron by neuron: ``sqrt(sum_i D_i^2)``.

    spikes_a, spikes_b  `Spikes`, (t_ms, neuron_id) pairs, or the engine's
                        spike records, over the same `n_neurons` neurons
    """
    tau = _checks.number(tau_ms, "tau_ms", low=0.0, low_open=True)
    ta = to_trains(*as_pair(spikes_a, "spikes_a"), n_neurons)
    tb = to_trains(*as_pair(spikes_b, "spikes_b"), n_neurons)
    return math.sqrt(sum(_squared(x, y, tau) for x, y in zip(ta, tb)))
