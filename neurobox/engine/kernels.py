"""Compiled building blocks of the time loop: spike delivery and recording.

The ring buffer of a population is float64[D, n_receptors, N]: slot
(step % D) holds the input that arrives in that step. A spike of step s
over a synapse with delay d (steps, 1 <= d < D) lands in slot (s + d) % D.
"""
from __future__ import annotations

from numba import njit

from neurobox.random import next_double


@njit(cache=True, boundscheck=False)
def deliver_uniform_delay(spikes, n_spikes, indptr, targets, weights, row):
    """Add each spiking neuron's outgoing weights into `row` (one receptor's ring slot)."""
    for s in range(n_spikes):
        pre = spikes[s]
        for k in range(indptr[pre], indptr[pre + 1]):
            row[targets[k]] += weights[k]


@njit(cache=True, boundscheck=False)
def deliver_delays(spikes, n_spikes, indptr, targets, weights, delays, ring, receptor, step):
    """Add outgoing weights into the ring slots given by each synapse's delay."""
    depth = ring.shape[0]
    base = step % depth
    for s in range(n_spikes):
        pre = spikes[s]
        for k in range(indptr[pre], indptr[pre + 1]):
            slot = base + delays[k]
            if slot >= depth:
                slot -= depth
            ring[slot, receptor, targets[k]] += weights[k]


@njit(cache=True, boundscheck=False)
def deliver_unreliable(spikes, n_spikes, indptr, targets, weights, delays, uniform_delay, ring, receptor, step,
                       p_transmit, rng):
    """As the deliveries above, but each synapse transmits each spike only with probability p_transmit[0]."""
    depth = ring.shape[0]
    base = step % depth
    p = p_transmit[0]
    for s in range(n_spikes):
        pre = spikes[s]
        for k in range(indptr[pre], indptr[pre + 1]):
            if next_double(rng) >= p:
                continue
            slot = base + (delays[k] if delays.shape[0] > 0 else uniform_delay)
            if slot >= depth:
                slot -= depth
            ring[slot, receptor, targets[k]] += weights[k]


@njit(cache=True, boundscheck=False)
def record_spikes(spikes, n_spikes, step, out_steps, out_ids, count):
    """Append this step's spikes to the recording buffers; returns the new count."""
    for s in range(n_spikes):
        out_steps[count] = step
        out_ids[count] = spikes[s]
        count += 1
    return count


@njit(cache=True, boundscheck=False)
def record_state(state, rows, neurons, buffer, sample):
    """buffer[sample, a, j] = state[rows[a], neurons[j]]."""
    for a in range(rows.shape[0]):
        r = rows[a]
        for j in range(neurons.shape[0]):
            buffer[sample, a, j] = state[r, neurons[j]]


@njit(cache=True, boundscheck=False)
def gap_junction_currents(v_pre, v_post, a, b, g, i_pre, i_post):
    """Add each junction's current g (V_other - V_self) (pA) to both of its neurons."""
    for m in range(a.shape[0]):
        i = a[m]
        j = b[m]
        current = g[m] * (v_post[j] - v_pre[i])
        i_pre[i] += current
        i_post[j] -= current
