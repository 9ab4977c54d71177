"""Firing statistics of spike trains: rates, ISI coefficient of variation, Fano factor."""
from __future__ import annotations

from typing import Any

import numpy as np

from neurobox.coding import _checks
from neurobox.coding.spikes import spike_counts


def firing_rate(t_ms: Any, neuron_id: Any, n_neurons: int, t_start_ms: float, t_stop_ms: float) -> np.ndarray:
    """Mean rate of each neuron over [t_start_ms, t_stop_ms), Hz (float64[n_neurons])."""
    counts = spike_counts(t_ms, neuron_id, n_neurons, t_start_ms, t_stop_ms)
    return counts * 1000.0 / (float(t_stop_ms) - float(t_start_ms))


def isi_cv(train: Any) -> float:
    """Coefficient of variation (std / mean, population std) of a train's inter-spike intervals.

    NaN when the train has fewer than 3 spikes (fewer than 2 intervals).
    A Poisson train gives about 1, a regular one 0.
    """
    t = np.sort(_checks.float_array(train, "train", ndim=1))
    if t.size < 3:
        return float("nan")
    isi = np.diff(t)
    mean = isi.mean()
    if mean == 0.0:
        return float("nan")
    return float(isi.std() / mean)


def fano_factor(counts: Any, axis: int = 0) -> np.ndarray | float:
    """Variance / mean of spike counts along `axis` (trials or windows); NaN where the mean is 0.

    A Poisson process gives 1. Variance is the population variance (ddof = 0).
    """
    c = _checks.float_array(counts, "counts", ndim=(1, 2), low=0.0, allow_empty=False)
    ax = _checks.integer(axis, "axis", low=-c.ndim, high=c.ndim - 1)
    mean = c.mean(axis=ax)
    var = c.var(axis=ax)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mean > 0, var / np.where(mean > 0, mean, 1.0), np.nan)
    return float(out) if np.ndim(out) == 0 else out
