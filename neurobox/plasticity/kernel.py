"""The compiled step of every learning rule in neurobox.plasticity.rules.

Called once per step for each plastic projection, after the neurons'
step: `arrivals` are the presynaptic neurons whose spikes arrive at their
synapses in this step (emitted `delay` steps ago), `post_spikes` the
postsynaptic neurons that fired in this step. Weights are CSR by pre
neuron; `rev_ptr/rev_syn/rev_pre` index the same synapses by post neuron.
Traces: x[0], x[1] per pre neuron, y[0], y[1] per post neuron (the second
rows only for the triplet rule).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from neurobox.plasticity.rstdp_fixed import eligible, rewarded
from neurobox.plasticity.rules import (FIXED_RSTDP, FIXED_STDP, P_A3_MINUS, P_A3_PLUS, P_A_MINUS, P_A_PLUS,
                                       P_DECAY_C, P_DECAY_D, P_DECAY_X1, P_DECAY_X2, P_DECAY_Y1, P_DECAY_Y2, P_DT,
                                       P_HALVE_EVERY, P_HALVINGS, P_LEARN, P_MULT, P_NEAREST, P_NORM_EVERY,
                                       P_NORM_TO, P_RULE, P_W_MAX, P_W_MIN)
from neurobox.plasticity.stdp_fixed import bump, halved, pair_update, scale_factor, scaled, trace_decay

TRIPLET = 1
RSTDP = 2
TINY = 1e-30


@njit(cache=True, boundscheck=False)
def _clip(w, lo, hi):
    return lo if w < lo else (hi if w > hi else w)


@njit(cache=True, boundscheck=False)
def store_spikes(spikes, n, history, counts, slot):
    """Keep this step's spikes of the pre population in the history ring."""
    for m in range(n):
        history[slot, m] = spikes[m]
    counts[slot] = n


@njit(cache=True, boundscheck=False)
def fixed_pair_step(arrivals, n_arrivals, post_spikes, n_post_spikes, indptr, targets, weights,
                    rev_ptr, rev_syn, rev_pre, x, y, c):
    """The integer pair rule of neurobox.plasticity.stdp_fixed, on integers held in float arrays.

    y[1] counts each post neuron's spikes (the schedule); a normalisation target scales a post neuron's
    weights down after its spike."""
    k_plus, k_minus = np.int64(c[P_DECAY_X1]), np.int64(c[P_DECAY_Y1])
    a_plus, a_minus = np.int64(c[P_A_PLUS]), np.int64(c[P_A_MINUS])
    w_min, w_max = np.int64(c[P_W_MIN]), np.int64(c[P_W_MAX])
    every, most, target = np.int64(c[P_HALVE_EVERY]), np.int64(c[P_HALVINGS]), np.int64(c[P_NORM_TO])
    x1, y1, n_post = x[0], y[0], y[1]
    for i in range(x1.shape[0]):
        x1[i] = trace_decay(np.int64(x1[i]), k_plus)
    for j in range(y1.shape[0]):
        y1[j] = trace_decay(np.int64(y1[j]), k_minus)
    if c[P_LEARN] > 0.0:
        for a in range(n_arrivals):
            i = arrivals[a]
            for k in range(indptr[i], indptr[i + 1]):
                weights[k] = pair_update(np.int64(weights[k]), 0, np.int64(y1[targets[k]]), True, False,
                                         a_plus, a_minus, w_min, w_max)
        for b in range(n_post_spikes):
            j = post_spikes[b]
            n_post[j] = min(n_post[j] + 1.0, 65535.0)
            a = halved(a_plus, np.int64(n_post[j]), every, most)
            total = np.int64(0)
            for r in range(rev_ptr[j], rev_ptr[j + 1]):
                k = rev_syn[r]
                weights[k] = pair_update(np.int64(weights[k]), np.int64(x1[rev_pre[r]]), 0, False, True,
                                         a, a_minus, w_min, w_max)
                total += np.int64(weights[k])
            if target > 0 and total > target:
                f = scale_factor(total, target)
                for r in range(rev_ptr[j], rev_ptr[j + 1]):
                    k = rev_syn[r]
                    weights[k] = scaled(np.int64(weights[k]), f, w_min, w_max)
    for a in range(n_arrivals):
        x1[arrivals[a]] = bump(np.int64(x1[arrivals[a]]))
    for b in range(n_post_spikes):
        y1[post_spikes[b]] = bump(np.int64(y1[post_spikes[b]]))


@njit(cache=True, boundscheck=False)
def fixed_reward_step(arrivals, n_arrivals, post_spikes, n_post_spikes, weights, rev_ptr, rev_syn, rev_pre, x,
                      c, eligibility, pulse):
    """The integer reward-modulated rule of neurobox.plasticity.rstdp_fixed (pre traces per pre neuron).

    pulse[0]: the reward pulse (-1, 0, +1) of this step, consumed here.
    """
    r = np.int64(pulse[0])
    pulse[0] = 0.0
    if c[P_LEARN] <= 0.0:
        return
    k_pre, k_c, a_plus = np.int64(c[P_DECAY_X1]), np.int64(c[P_DECAY_C]), np.int64(c[P_A_PLUS])
    w_min, w_max = np.int64(c[P_W_MIN]), np.int64(c[P_W_MAX])
    for k in range(weights.shape[0]):
        weights[k] = rewarded(np.int64(weights[k]), np.int64(eligibility[k]), r, w_min, w_max)
        eligibility[k] = trace_decay(np.int64(eligibility[k]), k_c)
    x1 = x[0]
    for i in range(x1.shape[0]):
        x1[i] = trace_decay(np.int64(x1[i]), k_pre)
    for b in range(n_post_spikes):
        j = post_spikes[b]
        for q in range(rev_ptr[j], rev_ptr[j + 1]):
            k = rev_syn[q]
            eligibility[k] = eligible(np.int64(eligibility[k]), np.int64(x1[rev_pre[q]]), True, a_plus)
    for a in range(n_arrivals):
        x1[arrivals[a]] = bump(np.int64(x1[arrivals[a]]))


@njit(cache=True, boundscheck=False)
def _scale_down(j, weights, rev_ptr, rev_syn, target, w_min, w_max):
    """Scale post neuron j's incoming weights down to sum to `target`, if they sum to more."""
    total = 0.0
    for r in range(rev_ptr[j], rev_ptr[j + 1]):
        total += weights[rev_syn[r]]
    if total > target:
        scale = target / total
        for r in range(rev_ptr[j], rev_ptr[j + 1]):
            k = rev_syn[r]
            weights[k] = _clip(weights[k] * scale, w_min, w_max)


@njit(cache=True, boundscheck=False)
def plasticity_step(step, arrivals, n_arrivals, post_spikes, n_post_spikes, indptr, targets, weights,
                    rev_ptr, rev_syn, rev_pre, x, y, c, eligibility, dopamine):
    rule = int(c[P_RULE])
    if rule == FIXED_STDP:
        fixed_pair_step(arrivals, n_arrivals, post_spikes, n_post_spikes, indptr, targets, weights,
                        rev_ptr, rev_syn, rev_pre, x, y, c)
        return
    if rule == FIXED_RSTDP:
        fixed_reward_step(arrivals, n_arrivals, post_spikes, n_post_spikes, weights, rev_ptr, rev_syn, rev_pre, x,
                          c, eligibility, dopamine)
        return
    learn = c[P_LEARN] > 0.0
    mult = c[P_MULT] > 0.0
    nearest = c[P_NEAREST] > 0.0
    w_min = c[P_W_MIN]
    w_max = c[P_W_MAX]
    a_plus = c[P_A_PLUS]
    a_minus = c[P_A_MINUS]

    x1, x2, y1, y2 = x[0], x[1], y[0], y[1]
    x1 *= c[P_DECAY_X1]
    y1 *= c[P_DECAY_Y1]
    if rule == TRIPLET:  # only the triplet rule has the slow traces
        x2 *= c[P_DECAY_X2]
        y2 *= c[P_DECAY_Y2]

    if rule == RSTDP:
        d = dopamine[0]
        if learn and d != 0.0:
            gain = c[P_DT] * d
            for k in range(weights.shape[0]):
                weights[k] = _clip(weights[k] + gain * eligibility[k], w_min, w_max)
        decay_c = c[P_DECAY_C]
        for k in range(eligibility.shape[0]):
            eligibility[k] *= decay_c
        d *= c[P_DECAY_D]
        dopamine[0] = d if abs(d) > TINY else 0.0

    if learn:
        for a in range(n_arrivals):          # depression: arriving pre spike meets the post trace
            i = arrivals[a]
            for k in range(indptr[i], indptr[i + 1]):
                j = targets[k]
                if rule == TRIPLET:
                    dw = -y1[j] * (a_minus + c[P_A3_MINUS] * x2[i])
                else:
                    dw = -a_minus * y1[j]
                    if mult:
                        dw *= weights[k] - w_min
                if rule == RSTDP:
                    eligibility[k] += dw
                else:
                    weights[k] = _clip(weights[k] + dw, w_min, w_max)
        every, most = c[P_HALVE_EVERY], c[P_HALVINGS]
        for b in range(n_post_spikes):       # potentiation: post spike meets the pre traces
            j = post_spikes[b]
            a_j = a_plus
            if every > 0.0:                  # the post neuron's own schedule: its spikes are counted in y[1]
                y2[j] += 1.0
                a_j = a_plus * 2.0 ** -min(np.floor((y2[j] - 1.0) / every), most)
            for r in range(rev_ptr[j], rev_ptr[j + 1]):
                k = rev_syn[r]
                i = rev_pre[r]
                if rule == TRIPLET:
                    dw = x1[i] * (a_j + c[P_A3_PLUS] * y2[j])
                else:
                    dw = a_j * x1[i]
                    if mult:
                        dw *= w_max - weights[k]
                if rule == RSTDP:
                    eligibility[k] += dw
                else:
                    weights[k] = _clip(weights[k] + dw, w_min, w_max)
            if rule != RSTDP and c[P_NORM_TO] > 0.0 and c[P_NORM_EVERY] == 0.0:
                _scale_down(j, weights, rev_ptr, rev_syn, c[P_NORM_TO], w_min, w_max)

    triplet = rule == TRIPLET
    for a in range(n_arrivals):
        i = arrivals[a]
        x1[i] = 1.0 if nearest else x1[i] + 1.0
        if triplet:
            x2[i] += 1.0
    for b in range(n_post_spikes):
        j = post_spikes[b]
        y1[j] = 1.0 if nearest else y1[j] + 1.0
        if triplet:
            y2[j] += 1.0

    target = c[P_NORM_TO]
    if target > 0.0 and c[P_NORM_EVERY] > 0.0 and (step + 1) % int(c[P_NORM_EVERY]) == 0:
        for j in range(rev_ptr.shape[0] - 1):
            total = 0.0
            for r in range(rev_ptr[j], rev_ptr[j + 1]):
                total += weights[rev_syn[r]]
            if total > 0.0:
                scale = target / total
                for r in range(rev_ptr[j], rev_ptr[j + 1]):
                    k = rev_syn[r]
                    weights[k] = _clip(weights[k] * scale, w_min, w_max)
