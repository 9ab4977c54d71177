"""Spike sources: populations that emit spikes and receive none (NEST names).

`poisson_generator`: each neuron emits a Poisson-distributed number of
spikes in each step, with mean rate dt (as NEST's poisson_generator), so
the train is Poisson at any rate, also where rate dt approaches or exceeds
1. The kernel writes a neuron's index once per spike (count times, in
increasing neuron order): every delivery kernel then adds weight x count
to the targets and the recorder records count events at the same time.
The count is drawn by inversion from a CDF table in the constants,
started from a guide table (the first candidate count for each of
POISSON_GUIDE equal slices of [0, 1], so the search rarely takes a step:
the same count as a search from 0: 4-7 ns per neuron-step at rate dt
= 1.3-2.3 against 12-15 ns for a search from 0, which stays where
P(count 0) >= 0.8, about 2.5 ns at rate dt = 0.01, 3.5 at 0.1; means
above 30 are a sum of draws of at most 30 each); it is clipped at
`poisson_max_count(rate, dt)`, the smallest k with P(count > k) < 1e-12
(so a clip happens less than once in 10^12 neuron-steps), which also sizes
the engine's spike scratch (`NeuronModel.max_spikes_per_step`).
Method "bernoulli" is the one-spike-per-step form (probability
1 - exp(-rate dt), as Brian2's PoissonGroup): the chips' targets (a unit
emits at most one spike a tick) and so the fixed-point engine use it.

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
from neurobox.random import INV_TWO_53, TWO_53, next_bits53, next_double


POISSON_TAIL = 1e-12   # P(count > max count) per neuron and step, at most
POISSON_MAX_RATE_HZ = 1e6   # the highest rate a poisson_generator takes (a spike per microsecond)
POISSON_MAX_MEAN = 1e4      # the largest mean count per step (rate dt) it draws: its tables grow with it
POISSON_CHUNK = 30.0   # the largest mean one table covers; larger means are a sum of draws
POISSON_GUIDE = 256    # slices of the guide table (a power of 2: u * POISSON_GUIDE is exact)
_GUIDE_SHIFT = np.uint64(53 - (POISSON_GUIDE.bit_length() - 1))  # r >> it = floor(r 2^-53 POISSON_GUIDE)
POISSON_GUIDED_BELOW = 0.8  # the guide table serves where P(count 0) is below this (mean above 0.22)
# constants of poisson_generator: N, max count, full chunks, length of each table, P(spike) of the bernoulli
# method, then the two CDF tables (of Poisson(POISSON_CHUNK), present when there are full chunks, and of
# Poisson(the rest)), then their guide tables (POISSON_GUIDE + 1 entries each, present with their table)
_PG_N, _PG_MAX, _PG_CHUNKS, _PG_CHUNK_LEN, _PG_REST_LEN, _PG_P_SPIKE, _PG_TABLES = range(7)


def _log_pmf(lam: float, top: int) -> np.ndarray:
    k = np.arange(top + 1, dtype=np.float64)
    return k * math.log(lam) - lam - np.array([math.lgamma(x + 1.0) for x in k])


def poisson_max_count(rate_hz: float, dt_ms: float) -> int:
    """The smallest k >= 1 with P(X > k) < 1e-12 for X ~ Poisson(rate dt): the clip of one step's count."""
    lam = float(rate_hz) * float(dt_ms) * 1e-3
    if not lam > 0.0:
        return 1
    if lam > POISSON_MAX_MEAN:   # (reported by NeuronModel.constants_at as the rate, with the step)
        raise ValueError(f"rate dt = {lam:g} spikes per step; at most {POISSON_MAX_MEAN:g}")
    top = int(lam + 20.0 * math.sqrt(lam) + 40.0)
    tail = np.cumsum(np.exp(_log_pmf(lam, top))[::-1])[::-1]   # tail[j] = P(X >= j)
    above = np.nonzero(tail < POISSON_TAIL)[0]                  # first j with P(X > j - 1) < the bound
    return max(1, int(above[0]) - 1) if above.size else top


def poisson_cdf(lam: float, cap: int) -> np.ndarray:
    """P(X <= k) for k = 0..cap, X ~ Poisson(lam)."""
    if lam <= 0.0:
        return np.ones(1)
    return np.minimum(np.cumsum(np.exp(_log_pmf(lam, cap))), 1.0)


def poisson_guide(cdf: np.ndarray) -> np.ndarray:
    """guide[j] = the first k with cdf[k] >= j / POISSON_GUIDE (at most len(cdf) - 1), j = 0..POISSON_GUIDE.

    A u in [j / G, (j + 1) / G) exceeds every cdf[k] below guide[j], so a search from guide[j] finds the same
    first k with u <= cdf[k] as a search from 0."""
    if cdf.size == 0:
        return np.zeros(0)
    bounds = np.arange(POISSON_GUIDE + 1, dtype=np.float64) / POISSON_GUIDE
    return np.minimum(np.searchsorted(cdf, bounds, side="left"), cdf.size - 1).astype(np.float64)


@njit(cache=True, boundscheck=False, inline="always")
def poisson_count(rng, c, first, length, guide):
    """One draw by inversion: the first k with u <= CDF[k] (table c[first:first+length]), at most length - 1,
    searched from the guide table's entry c[guide + floor(u POISSON_GUIDE)] (from 0 when guide < 0: faster
    where the count is mostly 0, as the first comparison then mostly ends the search).

    u = 1 - (the stream's uniform in [0, 1)), so that the count is >= 1 exactly where the bernoulli method
    fires (uniform < 1 - exp(-lam)): the two methods draw the same trains up to the counts above one.
    The uniform is next_double's (m = next_bits53, times 2^-53), so u = r 2^-53 exactly with the integer
    r = 2^53 - m, and the guide's slice floor(u POISSON_GUIDE) is r >> _GUIDE_SHIFT: the
    same count as the floating-point slice, without turning u back into an integer (about 20 % less time a
    draw)."""
    r = TWO_53 - next_bits53(rng)
    u = float(r) * INV_TWO_53
    k = int(c[guide + int(r >> _GUIDE_SHIFT)]) if guide >= 0 else 0
    last = length - 1
    while k < last and u > c[first + k]:
        k += 1
    return k


@njit(cache=True, boundscheck=False)
def poisson_step(state, c, syn_in, i_in, rng, step_index, spikes_out):
    n_neurons = int(c[_PG_N])
    cap = int(c[_PG_MAX])
    chunks = int(c[_PG_CHUNKS])
    chunk_len = int(c[_PG_CHUNK_LEN])
    rest_len = int(c[_PG_REST_LEN])
    rest_first = _PG_TABLES + chunk_len
    chunk_guide = rest_first + rest_len
    rest_guide = chunk_guide + (POISSON_GUIDE + 1 if chunks else 0)
    if c[rest_first] >= POISSON_GUIDED_BELOW:  # P(count 0) high: a search from 0 mostly stops at once
        rest_guide = -1
    n = 0
    if chunks == 0 and rest_guide >= 0 and cap >= 4:  # a mean of 0.22..30: one draw, 4 spike writes at once
        for i in range(n_neurons):
            k = poisson_count(rng, c, rest_first, rest_len, rest_guide)
            if k > cap:
                k = cap
            # the scratch holds cap spikes per neuron, so 4 writes from n <= i * cap stay inside it
            spikes_out[n] = i
            spikes_out[n + 1] = i
            spikes_out[n + 2] = i
            spikes_out[n + 3] = i
            for e in range(4, k):
                spikes_out[n + e] = i
            n += k
        return n
    for i in range(n_neurons):
        k = 0
        for _ in range(chunks):
            k += poisson_count(rng, c, _PG_TABLES, chunk_len, chunk_guide)
        if rest_len > 1:
            k += poisson_count(rng, c, rest_first, rest_len, rest_guide)
        if k > cap:
            k = cap
        for _ in range(k):
            spikes_out[n] = i
            n += 1
    return n


@njit(cache=True, boundscheck=False)
def poisson_bernoulli_step(state, c, syn_in, i_in, rng, step_index, spikes_out):
    """At most one spike per neuron and step, with probability 1 - exp(-rate dt) (the chips' form).

    It fires exactly where poisson_step's first draw gives a count >= 1, so below a mean of 30 the two
    methods differ only in the steps where the count is 2 or more."""
    n_neurons = int(c[_PG_N])
    p = c[_PG_P_SPIKE]
    n = 0
    for i in range(n_neurons):
        if next_double(rng) < p:
            spikes_out[n] = i
            n += 1
    return n


def poisson_constants(p, dt, n):
    lam = p["rate"] * dt * 1e-3
    cap = poisson_max_count(p["rate"], dt)
    chunks = int(lam // POISSON_CHUNK)
    rest = lam - chunks * POISSON_CHUNK
    chunk_cdf = poisson_cdf(POISSON_CHUNK, cap) if chunks else np.zeros(0)
    rest_cdf = poisson_cdf(rest, cap) if rest > 0.0 else np.ones(1)
    head = [n, cap, chunks, chunk_cdf.size, rest_cdf.size, -math.expm1(-lam)]
    return np.concatenate([np.array(head, dtype=np.float64), chunk_cdf, rest_cdf, poisson_guide(chunk_cdf),
                           poisson_guide(rest_cdf)])


def poisson_max_spikes(p, dt) -> int:
    return poisson_max_count(p["rate"], dt)


POISSON_GENERATOR = NeuronModel(
    name="poisson_generator",
    summary="Independent Poisson spike trains, one per neuron.",
    equations="spikes per neuron and step ~ Poisson(rate dt)",
    integration="one Poisson count per neuron and step (inversion of a CDF table) from the population's own stream; "
                "clipped where P(larger count) < 1e-12",
    parameters=(Parameter("rate", 10.0, "Hz", "mean firing rate", low=0.0, high=POISSON_MAX_RATE_HZ),),
    state=(),
    receptors=(),
    receptor_kind="none",
    constants=poisson_constants,
    methods={"poisson": poisson_step, "bernoulli": poisson_bernoulli_step},
    max_spikes_per_step=poisson_max_spikes,
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
    n_neurons = state.shape[1]
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
