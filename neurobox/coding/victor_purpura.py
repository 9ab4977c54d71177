"""Victor-Purpura spike-time distance (Victor & Purpura 1996).

The least total cost of turning one train into the other, where deleting
or inserting a spike costs 1 and moving a spike by ``dt`` ms costs
``q * |dt|`` (q in 1/ms). At q = 0 it is the difference of the spike
counts; once ``q * |dt| > 2`` for every pair of spikes it is the total
number of spikes. Computed by dynamic programming, O(n * m) time.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numba import njit

from neurobox.coding import _checks


@njit(cache=True)
def _vp(a, b, q):
    n = a.size
    m = b.size
    prev = np.empty(m + 1)
    cur = np.empty(m + 1)
    for j in range(m + 1):
        prev[j] = j
    for i in range(1, n + 1):
        cur[0] = i
        for j in range(1, m + 1):
            best = prev[j] + 1.0
            c = cur[j - 1] + 1.0
            if c < best:
                best = c
            c = prev[j - 1] + q * abs(a[i - 1] - b[j - 1])
            if c < best:
                best = c
            cur[j] = best
        prev, cur = cur, prev
    return prev[m]


def victor_purpura_distance(train_a: Any, train_b: Any, q_per_ms: float) -> float:
    """Victor-Purpura distance between two spike trains (times in ms).

    q_per_ms  cost per ms of moving a spike, 1/ms (>= 0)
    """
    q = _checks.number(q_per_ms, "q_per_ms", low=0.0)
    a = np.sort(_checks.float_array(train_a, "train_a", ndim=1))
    b = np.sort(_checks.float_array(train_b, "train_b", ndim=1))
    return float(_vp(a, b, q))


def victor_purpura_matrix(trains: Sequence[Any], q_per_ms: float) -> np.ndarray:
    """Pairwise Victor-Purpura distances, float64[len(trains), len(trains)]."""
    q = _checks.number(q_per_ms, "q_per_ms", low=0.0)
    ts = [np.sort(_checks.float_array(t, f"trains[{i}]", ndim=1)) for i, t in enumerate(trains)]
    n = len(ts)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = _vp(ts[i], ts[j], q)
    return out
