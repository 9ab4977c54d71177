"""Bit-accurate pair STDP with integer traces (the rule the firmware runs on chip).

Specification, mirrored by `neurobox/hardware/avr/firmware/stdp.c` and the
FPGA cell.

Number formats
--------------
    x_pre[j], x_post  uint15  traces, 0 .. 32767; one spike adds ONE = 2**14
                              (so a trace of 1.0 is 16384, saturating near 2.0)
    w[j]              int16   weight in I_lsb of the post-synaptic neuron
    a_plus, a_minus   uint15  weight change (I_lsb) for a pre/post pair at zero
                              lag, 0 .. 32767
    k_plus, k_minus   1 .. 15 trace decay shifts: a trace loses 1/2**k per step
                              (time constant about 2**k steps, see effective_tau)
    w_min, w_max      int16   bounds, w_min <= w_max
    halve_every       uint16  the unit-local learning-rate schedule: a_plus is
                              halved after every `halve_every` own spikes (0: never),
    halvings          0 .. 15 at most this many times
    norm_target       int32   the sum the plastic weights are scaled down to after
                              an own spike when they exceed it (0: no normalisation)
    n_post            uint16  the unit's own spikes so far while learning (saturating)

Operations (all on non-negative integers, so floor == trunc)
------------------------------------------------------------
    decay(x, k)  = x - ((x + 2**k - 1) >> k)    # x - ceil(x / 2**k): reaches 0
    bump(x)      = min(x + ONE, 32767)
    dw(a, x)     = (a * x) >> 14                # a * x < 2**30 fits an int32
    clamp(w)     = min(max(w, w_min), w_max)

One step, after the neuron's step (pre[j]: a spike arrived on synapse j in
this step; post: the neuron fired in this step):

    if post:            n_post = min(n_post + 1, 65535)
                        a = a_plus >> min((n_post - 1) // halve_every, halvings)   (a_plus if halve_every = 0)
    x_pre[j] = decay(x_pre[j], k_plus)  for all j;  x_post = decay(x_post, k_minus)
    for j with pre[j]:  w[j] = clamp(w[j] - dw(a_minus, x_post))     # depression
    if post:            w[j] = clamp(w[j] + dw(a, x_pre[j]))  for all j  # potentiation
    if post and norm_target > 0 and s = sum_j w[j] > norm_target:     # the unit's own weights only
                        f = ((norm_target << 16) + (s >> 1)) // s      # one 32-bit division, f < 2**16
                        w[j] = clamp((w[j] * f + 2**15) >> 16)  for all j
    for j with pre[j]:  x_pre[j] = bump(x_pre[j]);   if post: x_post = bump(x_post)

Traces are read before this step's spikes are added, so a pre and a post
spike in the same step form no pair. A spike arriving in a step is
delivered with the weight it had before that step's update.
"""
from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Sequence

from numba import njit

from neurobox.errors import ConfigError

ONE = 1 << 14
TRACE_MAX = 32767
DW_SHIFT = 14
K_MAX = 15


class StdpFixedParams(NamedTuple):
    """The integer constants of the fixed-point pair STDP rule."""

    k_plus: int
    k_minus: int
    a_plus: int
    a_minus: int
    w_min: int
    w_max: int
    halve_every: int = 0
    halvings: int = 0
    norm_target: int = 0


class StdpFixedState(NamedTuple):
    """Traces and weights of one unit's plastic synapses."""

    x_pre: tuple[int, ...]
    x_post: int
    w: tuple[int, ...]
    n_post: int = 0


@njit(cache=True)
def trace_decay(x, k):
    """x - ceil(x / 2**k): the trace after one step of decay."""
    return x - ((x + (1 << k) - 1) >> k)


@njit(cache=True)
def bump(x):
    """The trace after a spike: + ONE, saturating at TRACE_MAX."""
    return min(x + ONE, TRACE_MAX)


@njit(cache=True)
def dw(a, x):
    """Weight change for amplitude `a` and trace `x`: (a * x) >> 14."""
    return (a * x) >> DW_SHIFT


@njit(cache=True)
def clamp(w, w_min, w_max):
    return w_min if w < w_min else w_max if w > w_max else w


@njit(cache=True)
def halved(a, n_post, every, most):
    """The potentiation amplitude after n_post own spikes: a >> min((n_post - 1) // every, most) (every 0: a)."""
    if every <= 0 or n_post <= 0:
        return a
    return a >> min((n_post - 1) // every, most)


@njit(cache=True)
def scale_factor(total, target):
    """round(target * 2**16 / total), for total > target > 0: the factor (in 2**-16) that brings total to target."""
    return ((target << 16) + (total >> 1)) // total


@njit(cache=True)
def scaled(w, f, w_min, w_max):
    """A weight scaled by f / 2**16, rounded to nearest, clamped."""
    return clamp((w * f + 32768) >> 16, w_min, w_max)


@njit(cache=True)
def pair_update(w, x_pre, x_post, arrived, fired, a_plus, a_minus, w_min, w_max):
    """One synapse's weight after this step (traces already decayed, not yet bumped): depression, then
    potentiation."""
    if arrived:
        w = clamp(w - dw(a_minus, x_post), w_min, w_max)
    if fired:
        w = clamp(w + dw(a_plus, x_pre), w_min, w_max)
    return w


def step(state: StdpFixedState, pre: Sequence[bool], post: bool, p: StdpFixedParams) -> StdpFixedState:
    """One step of the rule for all plastic synapses of one unit (the module docstring, line by line)."""
    n_post = min(state.n_post + 1, 65535) if post else state.n_post
    a = halved(p.a_plus, n_post, p.halve_every, p.halvings)
    x_pre = [trace_decay(x, p.k_plus) for x in state.x_pre]
    x_post = trace_decay(state.x_post, p.k_minus)
    w = [pair_update(w, x, x_post, bool(fired), bool(post), a, p.a_minus, p.w_min, p.w_max)
         for w, x, fired in zip(state.w, x_pre, pre)]
    if post and p.norm_target > 0 and sum(w) > p.norm_target:
        f = scale_factor(sum(w), p.norm_target)
        w = [scaled(x, f, p.w_min, p.w_max) for x in w]
    x_pre = [bump(x) if fired else x for x, fired in zip(x_pre, pre)]
    if post:
        x_post = bump(x_post)
    return StdpFixedState(tuple(int(x) for x in x_pre), int(x_post), tuple(int(x) for x in w), int(n_post))


def effective_tau(k: int, dt: float) -> float:
    """Time constant (ms) of a trace losing 1/2**k of itself per step of dt ms (k >= 1)."""
    if k < 1:
        raise ConfigError("k", f"a trace shift must be >= 1, got {k}")
    return -dt / math.log1p(-(2.0 ** -k))


def _shift_for(tau: float, dt: float, field: str) -> int:
    if not (tau > 0 and math.isfinite(tau)):
        raise ConfigError(field, f"must be a finite time constant > 0 ms, got {tau!r}")
    k = round(math.log2(max(tau / dt, 1.0)))
    if k > K_MAX:
        raise ConfigError(field, f"{tau:g} ms is {tau / dt:g} steps; at most 2**{K_MAX} steps fit the trace shift")
    return max(1, int(k))


def fixed_stdp_parameters(params: Mapping[str, float], dt: float, I_lsb: float,
                          field_path: str = "plasticity") -> StdpFixedParams:
    """Integer STDP constants from float parameters.

    `params`: tau_plus, tau_minus (ms; rounded to the nearest power of two
    of steps), A_plus, A_minus (pA: weight change for a pair at zero lag,
    >= 0), w_min, w_max (pA), and optionally halve_every, halvings (the
    schedule) and normalize_to (pA; with normalize_every_ms = 0: after each
    own spike). `I_lsb` (pA) is the post-synaptic neuron's current step.
    """
    allowed = ("rule", "tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max", "halve_every", "halvings",
               "normalize_to", "normalize_every_ms")
    for key in params:
        if key not in allowed:
            raise ConfigError(f"{field_path}.{key}", f"unknown STDP parameter; valid: {', '.join(allowed[1:])}")
    defaults = {"tau_plus": 20.0, "tau_minus": 20.0, "A_plus": 0.0, "A_minus": 0.0, "halve_every": 0,
                "halvings": 0, "normalize_to": 0.0, "normalize_every_ms": 0.0}
    q = {**defaults, **params}
    for need in ("w_min", "w_max"):
        if need not in q:
            raise ConfigError(f"{field_path}.{need}", "required (pA)")

    def to_int(name: str, low: int, high: int) -> int:
        value = q[name]
        try:
            r = round(float(value) / I_lsb)
        except (TypeError, ValueError):
            raise ConfigError(f"{field_path}.{name}", f"expected a number, got {value!r}") from None
        if not low <= r <= high:
            raise ConfigError(f"{field_path}.{name}",
                              f"{value} pA is {r} steps of {I_lsb:g} pA; allowed [{low}, {high}] steps")
        return int(r)

    w_min = to_int("w_min", -32768, 32767)
    w_max = to_int("w_max", -32768, 32767)
    if w_min > w_max:
        raise ConfigError(f"{field_path}.w_max", f"must be >= w_min ({q['w_min']} pA), got {q['w_max']} pA")
    if q["normalize_to"] > 0 and q["normalize_every_ms"] != 0:
        raise ConfigError(f"{field_path}.normalize_every_ms", "a unit normalises its weights after each of its "
                                                              "own spikes: set normalize_every_ms = 0")
    for name, high in (("halve_every", 65535), ("halvings", K_MAX)):
        if not (float(q[name]).is_integer() and 0 <= q[name] <= high):
            raise ConfigError(f"{field_path}.{name}", f"must be a whole number in [0, {high}], got {q[name]!r}")
    return StdpFixedParams(
        k_plus=_shift_for(float(q["tau_plus"]), dt, f"{field_path}.tau_plus"),
        k_minus=_shift_for(float(q["tau_minus"]), dt, f"{field_path}.tau_minus"),
        a_plus=to_int("A_plus", 0, TRACE_MAX),
        a_minus=to_int("A_minus", 0, TRACE_MAX),
        w_min=w_min,
        w_max=w_max,
        halve_every=int(q["halve_every"]),
        halvings=int(q["halvings"]),
        norm_target=to_int("normalize_to", 0, 2 ** 31 - 1),
    )
