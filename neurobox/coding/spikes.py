"""The spike representation every coder returns and every metric accepts.

Spikes are two parallel arrays, the shape NEST and SONATA use:
``t_ms`` (float64, ms) and ``neuron_id`` (int32), sorted by time and, at
equal times, by neuron id. `Spikes` is a named pair of them, so
``t_ms, ids = encode(...)`` works as well as ``spikes.t_ms``.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from neurobox.coding import _checks
from neurobox.errors import ConfigError


class Spikes(NamedTuple):
    """Spike times in ms (float64) and the neuron that fired each (int32), sorted by time."""

    t_ms: np.ndarray
    neuron_id: np.ndarray


def make_spikes(t_ms: Any, neuron_id: Any, n_neurons: int | None = None) -> Spikes:
    """Check, convert and sort two parallel arrays into `Spikes`.

    `n_neurons`, when given, bounds the ids to [0, n_neurons - 1].
    """
    t = _checks.float_array(t_ms, "t_ms", ndim=1)
    try:
        ids_raw = np.asarray(neuron_id)
    except (TypeError, ValueError):
        raise ConfigError("neuron_id", "expected an array of integers") from None
    if ids_raw.ndim != 1:
        raise ConfigError("neuron_id", f"expected a 1-D array, got shape {ids_raw.shape}")
    if ids_raw.size and not np.issubdtype(ids_raw.dtype, np.integer):
        if not np.issubdtype(ids_raw.dtype, np.floating) or np.any(ids_raw != np.round(ids_raw)):
            raise ConfigError("neuron_id", "expected integers")
    ids = ids_raw.astype(np.int64)
    if ids.shape != t.shape:
        raise ConfigError("neuron_id", f"must have the same length as t_ms ({t.size}), got {ids.size}")
    high = np.iinfo(np.int32).max if n_neurons is None else n_neurons - 1
    if ids.size and (ids.min() < 0 or ids.max() > high):
        bad = int(ids[(ids < 0) | (ids > high)][0])
        raise ConfigError("neuron_id", f"ids must be in [0, {high}], got {bad}")
    order = np.lexsort((ids, t))
    return Spikes(t[order], ids[order].astype(np.int32))


def as_pair(spikes: Any, field: str = "spikes") -> tuple[Any, Any]:
    """(t_ms, ids) of a `Spikes`, a (t_ms, ids) pair, or an object with ``t_ms`` and ``ids``
    (the engine's per-population spike record)."""
    if hasattr(spikes, "t_ms") and hasattr(spikes, "ids"):
        return spikes.t_ms, spikes.ids
    if hasattr(spikes, "t_ms") and hasattr(spikes, "neuron_id"):
        return spikes.t_ms, spikes.neuron_id
    if isinstance(spikes, (tuple, list)) and len(spikes) == 2:
        return spikes[0], spikes[1]
    raise ConfigError(field, "expected spikes as (t_ms, neuron_id) arrays or an object with t_ms and ids")


def to_trains(t_ms: Any, neuron_id: Any, n_neurons: int) -> list[np.ndarray]:
    """Per-neuron lists of spike times (ms, sorted) from the parallel arrays."""
    n = _checks.integer(n_neurons, "n_neurons", low=0)
    t, ids = make_spikes(t_ms, neuron_id, n)
    order = np.argsort(ids, kind="stable")  # keeps time order within a neuron
    bounds = np.searchsorted(ids[order], np.arange(n + 1))
    t_sorted = t[order]
    return [t_sorted[bounds[i]:bounds[i + 1]].copy() for i in range(n)]


def from_trains(trains: Sequence[Any]) -> Spikes:
    """The parallel arrays from per-neuron lists of spike times (ms); list index = neuron id."""
    if isinstance(trains, np.ndarray) and trains.ndim == 1 and trains.dtype != object:
        raise ConfigError("trains", "expected a sequence of spike-time arrays, one per neuron")
    ts, ids = [], []
    for i, train in enumerate(trains):
        t = _checks.float_array(train, f"trains[{i}]", ndim=(0, 1)).ravel()
        ts.append(t)
        ids.append(np.full(t.size, i, dtype=np.int64))
    if not ts:
        return Spikes(np.zeros(0), np.zeros(0, dtype=np.int32))
    return make_spikes(np.concatenate(ts), np.concatenate(ids))


def spike_counts(t_ms: Any, neuron_id: Any, n_neurons: int, t_start_ms: float, t_stop_ms: float,
                 bin_ms: float | None = None) -> np.ndarray:
    """Spike counts per neuron in [t_start_ms, t_stop_ms).

    Without `bin_ms`, shape (n_neurons,); with it, shape (n_bins, n_neurons)
    for consecutive bins of `bin_ms` ms (the last bin may be shorter).
    """
    n = _checks.integer(n_neurons, "n_neurons", low=0)
    t0 = _checks.number(t_start_ms, "t_start_ms")
    t1 = _checks.number(t_stop_ms, "t_stop_ms", low=t0, low_open=True)
    t, ids = make_spikes(t_ms, neuron_id, n)
    keep = (t >= t0) & (t < t1)
    t, ids = t[keep], ids[keep]
    if bin_ms is None:
        return np.bincount(ids, minlength=n).astype(np.int64)
    width = _checks.number(bin_ms, "bin_ms", low=0.0, low_open=True)
    n_bins = int(np.ceil((t1 - t0) / width - 1e-9))
    b = np.minimum(((t - t0) // width).astype(np.int64), n_bins - 1)
    counts = np.zeros((n_bins, n), dtype=np.int64)
    np.add.at(counts, (b, ids), 1)
    return counts
