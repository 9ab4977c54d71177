"""Rank-order code (Thorpe 1990; Thorpe & Gautrais 1998) and its decoder.

Only the order in which neurons fire carries information. The encoder makes
each input above `threshold` fire one spike, strongest first, one
`step_ms` apart: a neuron's rank is the number of inputs strictly stronger
than it (equal inputs share a rank and fire together).

The decoder is Thorpe's desensitising receiver: the k-th spike to arrive
(rank k, counted from 0) is worth ``modulation ** k`` with ``0 < modulation
< 1``, so earlier spikes weigh more. `rank_order_decode` returns these
worths per neuron (a monotone reconstruction of the input: it keeps the
order of ``x``), and `rank_order_activation` the activation of receivers
with weights ``w``: ``sum_i w[i, j] * modulation ** rank_i``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurobox.coding import _checks
from neurobox.coding.spikes import Spikes, make_spikes
from neurobox.errors import ConfigError


def rank_order_encode(values: Any, *, step_ms: float = 1.0, threshold: float = 0.0,
                      max_spikes: int | None = None, t_start_ms: float = 0.0) -> Spikes:
    """One spike per value above `threshold` (flattened, C order), at ``t_start_ms + rank * step_ms``.

    values      intensities (any finite numbers); larger fires earlier
    step_ms     time between consecutive ranks, ms (> 0)
    threshold   values <= threshold stay silent
    max_spikes  keep only neurons whose rank is below this (>= 1); None keeps all
    """
    x = _checks.float_array(values, "values").ravel()
    step = _checks.number(step_ms, "step_ms", low=0.0, low_open=True)
    theta = _checks.number(threshold, "threshold")
    t0 = _checks.number(t_start_ms, "t_start_ms")
    ids = np.flatnonzero(x > theta)
    xs = x[ids]
    # competition rank: how many firing values are strictly larger
    sorted_desc = -np.sort(-xs)
    rank = np.searchsorted(-sorted_desc, -xs, side="left")
    if max_spikes is not None:
        k = _checks.integer(max_spikes, "max_spikes", low=1)
        keep = rank < k
        ids, rank = ids[keep], rank[keep]
    return make_spikes(t0 + rank * step, ids)


def spike_ranks(t_ms: Any, neuron_id: Any, n_neurons: int) -> np.ndarray:
    """Rank of each neuron's first spike (int64[n_neurons]); -1 for silent neurons.

    A neuron's rank is the number of neurons whose first spike came strictly
    earlier, so simultaneous spikes share a rank.
    """
    n = _checks.integer(n_neurons, "n_neurons", low=0)
    t, ids = make_spikes(t_ms, neuron_id, n)
    first = np.full(n, np.inf)
    np.minimum.at(first, ids, t)
    fired = np.isfinite(first)
    ranks = np.full(n, -1, dtype=np.int64)
    ft = first[fired]
    ranks[fired] = np.searchsorted(np.sort(ft), ft, side="left")
    return ranks


def _modulation(modulation):
    return _checks.number(modulation, "modulation", low=0.0, high=1.0, low_open=True, high_open=True)


def rank_order_decode(t_ms: Any, neuron_id: Any, n_neurons: int, *, modulation: float = 0.9) -> np.ndarray:
    """Per-neuron worth ``modulation ** rank`` (float64[n_neurons]); 0 for silent neurons.

    modulation  Thorpe's desensitisation factor, in (0, 1)
    """
    m = _modulation(modulation)
    ranks = spike_ranks(t_ms, neuron_id, n_neurons)
    out = np.zeros(ranks.size)
    fired = ranks >= 0
    out[fired] = m ** ranks[fired].astype(np.float64)
    return out


def rank_order_activation(t_ms: Any, neuron_id: Any, weights: Any, *, modulation: float = 0.9) -> np.ndarray:
    """Activation of Thorpe receivers: ``sum_i weights[i, j] * modulation ** rank_i``.

    weights     float[n_inputs, n_receivers] (or [n_inputs] for one receiver)
    modulation  desensitisation factor, in (0, 1)
    """
    w = _checks.float_array(weights, "weights", ndim=(1, 2))
    if w.ndim == 1:
        w = w[:, None]
        squeeze = True
    else:
        squeeze = False
    if w.shape[0] == 0:
        raise ConfigError("weights", "needs at least one input row")
    worth = rank_order_decode(t_ms, neuron_id, w.shape[0], modulation=modulation)
    act = worth @ w
    return act[0] if squeeze else act
