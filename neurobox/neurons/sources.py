"""Spike sources: populations that emit spikes and receive none (NEST names).

`poisson_generator`: each neuron fires independently in each step with
probability 1 - exp(-rate dt), i.e. at most one spike per step (as Brian2's
PoissonGroup); the mean rate equals `rate` up to O((rate dt)^2).

`spike_generator`: each neuron fires at given times. `spike_times` is one
list of times (ms) for every neuron, or one list per neuron. A time t is
emitted in the step that ends at t (rounded to the nearest step), so it is
recorded at t; times must be >= dt.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurobox.checks import given, numbers
from neurobox.errors import ConfigError
from neurobox.neurons.base import NeuronModel, Parameter, StateVariable
from neurobox.random import next_double


@njit(cache=True, boundscheck=False)
def poisson_step(state, c, syn_in, i_in, rng, step_index, spikes_out):
    p = c[0]
    n = 0
    for i in range(spikes_out.shape[0]):
        if next_double(rng) < p:
            spikes_out[n] = i
            n += 1
    return n


def poisson_constants(p, dt, n):
    return np.array([-math.expm1(-p["rate"] * dt * 1e-3)])


POISSON_GENERATOR = NeuronModel(
    name="poisson_generator",
    summary="Independent Poisson spike trains, one per neuron.",
    equations="P(spike in a step) = 1 - exp(-rate dt)",
    integration="one Bernoulli draw per neuron and step from the population's own stream",
    parameters=(Parameter("rate", 10.0, "Hz", "mean firing rate", low=0.0),),
    state=(),
    receptors=(),
    receptor_kind="none",
    constants=poisson_constants,
    methods={"bernoulli": poisson_step},
    voltage=None,
    is_source=True,
    references=("NEST model poisson_generator.",),
)


def per_neuron_times(spike_times, n: int, field_path: str) -> list[np.ndarray]:
    """Normalise `spike_times` (one list for all, or one per neuron) to n sorted arrays."""
    if spike_times is None:
        return [np.zeros(0)] * n
    if not isinstance(spike_times, (list, tuple, np.ndarray)):
        raise ConfigError(field_path, f"expected an array of times (ms) or one array per neuron, "
                                      f"got {given(spike_times)}")
    items = list(spike_times)
    if _is_nested(items):
        if len(items) != n:
            raise ConfigError(field_path, f"one list of times per neuron expected: {n} lists, got {len(items)}")
        return [np.sort(numbers(times, f"{field_path}[{k}]", "an array of finite times (ms)"))
                for k, times in enumerate(items)]
    return [np.sort(numbers(items, field_path, "an array of finite times (ms)"))] * n

def spike_generator_constants(p, dt, n):
    """Pack per-neuron spike steps as float64: [indptr (n+1) | steps...]."""
    lists = per_neuron_times(p.get("spike_times"), n, "spike_times")
    steps = [np.unique(np.rint(t / dt).astype(np.int64) - 1) for t in lists]
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(s) for s in steps])
    flat = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    return np.concatenate([indptr, flat]).astype(np.float64)


def _validate_spike_generator(p, field_path):
    times = p.get("spike_times")
    if times is None:
        return
    nested = isinstance(times, (list, tuple, np.ndarray)) and _is_nested(times)
    lists = per_neuron_times(times, len(times) if nested else 1, f"{field_path}.spike_times")
    for k, t in enumerate(lists):
        if t.size and t[0] <= 0.0:
            where = f"{field_path}.spike_times[{k}]" if nested else f"{field_path}.spike_times"
            raise ConfigError(where, f"spike times must be > 0 ms, got {t[0]:g}")


def _is_nested(items) -> bool:
    items = list(items)
    return len(items) > 0 and all(isinstance(x, (list, tuple, np.ndarray)) for x in items)


@njit(cache=True, boundscheck=False)
def spike_generator_step(state, c, syn_in, i_in, rng, step_index, spikes_out):
    ptr = state[0]
    n_neurons = spikes_out.shape[0]
    base = n_neurons + 1
    n = 0
    for i in range(n_neurons):
        k = int(ptr[i])
        end = int(c[i + 1])
        k = max(k, int(c[i]))
        while k < end and c[base + k] < step_index:
            k += 1
        if k < end and c[base + k] == step_index:
            spikes_out[n] = i
            n += 1
            k += 1
        ptr[i] = k
    return n


SPIKE_GENERATOR = NeuronModel(
    name="spike_generator",
    summary="Neurons that fire at given times.",
    equations="spike at each listed time (ms), rounded to the step grid",
    integration="a pointer per neuron into its sorted list of spike steps",
    parameters=(),
    state=(StateVariable("next_index", "", "index of the next spike in this neuron's list"),),
    receptors=(),
    receptor_kind="none",
    constants=spike_generator_constants,
    methods={"table": spike_generator_step},
    voltage=None,
    is_source=True,
    array_params=("spike_times",),
    validate=_validate_spike_generator,
    references=("NEST model spike_generator.",),
)
