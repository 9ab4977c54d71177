"""Bit-accurate reward-modulated STDP with integer eligibility (the rule the units run on chip).

Specification, mirrored by the ATmega8 firmware (`neurobox/hardware/avr/firmware/rstdp.c`)
and the FPGA cell. The operations are those of `neurobox.plasticity.stdp_fixed`.

Number formats
--------------
    x[j]         uint15  pre trace of plastic input j (one arriving spike adds ONE = 2**14)
    c[j]         uint15  eligibility of input j, in weight LSB (I_lsb): what one
                         reward pulse adds to w[j] (never negative: the rule has
                         no anti-causal term)
    w[j]         int16   weight, I_lsb, kept in [w_min, w_max]
    a_plus       uint15  eligibility a causal pair at zero lag adds, I_lsb
    k_pre, k_c   1 .. 15 decay shifts of the pre trace and of the eligibility
    r            -1, 0 or +1: the reward pulse this step (a broadcast reward
                         or punishment seen by every unit in the same step)

One step, after the neuron's step (pre[j]: a spike arrived on input j in
this step; post: the unit fired in this step), when learning is on:

    if r != 0:  w[j] = clamp(w[j] + r * c[j])                        for all j  (int32 sum, then clamp)
    c[j] = trace_decay(c[j], k_c);   x[j] = trace_decay(x[j], k_pre)  for all j
    if post:    c[j] = min(c[j] + dw(a_plus, x[j]), TRACE_MAX)       for all j
    if pre[j]:  x[j] = bump(x[j])

A spike arriving in a step is delivered with the weight it had before that
step's update; traces are read before this step's spikes are added.

The float rule it stands for (`neurobox.plasticity.rules`, rule "rstdp"):
pairs add A_plus exp(-lag / tau_plus) to an eligibility c that decays with
tau_c; a reward of 1 (1/ms, `Simulation.reward(1.0)`) raises a dopamine
level that decays with tau_d, and dw/dt = c d. A reward right after a pair
then changes w by c tau_cd, tau_cd = 1 / (1/tau_c + 1/tau_d): so the
integer eligibility holds c tau_cd / I_lsb, a_plus = A_plus tau_cd / I_lsb,
and a reward is one pulse of +1 (a punishment -1). The float rule's
anti-causal term (A_minus) has no integer counterpart and must be 0.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

from numba import njit

from neurobox.checks import entry
from neurobox.errors import ConfigError
from neurobox.neurons.lif_fixed import INT16_MAX, INT16_MIN
from neurobox.plasticity.stdp_fixed import TRACE_MAX, _shift_for, bump, clamp, dw, trace_decay


class RstdpFixedParams(NamedTuple):
    """The integer constants of the fixed-point reward-modulated rule."""

    k_pre: int
    k_c: int
    a_plus: int
    w_min: int
    w_max: int


class RstdpFixedState(NamedTuple):
    """Traces, eligibilities and weights of one unit's plastic inputs."""

    x: tuple[int, ...]
    c: tuple[int, ...]
    w: tuple[int, ...]


@njit(cache=True)
def rewarded(w, c, r, w_min, w_max):
    """The weight after a reward pulse r (-1, 0, +1) with eligibility c."""
    return clamp(w + r * c, w_min, w_max) if r != 0 else w


@njit(cache=True)
def eligible(c, x, fired, a_plus):
    """The eligibility after this step's pair (c and x already decayed): + dw(a_plus, x) if the unit fired."""
    return min(c + dw(a_plus, x), TRACE_MAX) if fired else c


def step(state: RstdpFixedState, pre: Sequence[bool], post: bool, r: int, p: RstdpFixedParams) -> RstdpFixedState:
    """One step of the rule for all plastic inputs of one unit (the module docstring, line by line)."""
    w = [rewarded(w, c, r, p.w_min, p.w_max) for w, c in zip(state.w, state.c)]
    c = [trace_decay(c, p.k_c) for c in state.c]
    x = [trace_decay(x, p.k_pre) for x in state.x]
    c = [eligible(cj, xj, bool(post), p.a_plus) for cj, xj in zip(c, x)]
    x = [bump(xj) if fired else xj for xj, fired in zip(x, pre)]
    return RstdpFixedState(tuple(int(v) for v in x), tuple(int(v) for v in c), tuple(int(v) for v in w))


def fixed_rstdp_parameters(params: Mapping[str, float], dt: float, I_lsb: float,
                           field_path: str = "plasticity") -> RstdpFixedParams:
    """Integer constants from the float rule's parameters (tau_plus, tau_c, tau_d, A_plus, A_minus, w_min, w_max).

    Times in ms (the decays round to the nearest power of two of steps),
    A_plus and the bounds in pA; `I_lsb` (pA) is the post-synaptic unit's
    current step. A_minus must be 0.
    """
    def number(name: str, default: float | None = None) -> float:
        return entry(params, name, field_path, default)

    if number("A_minus") != 0.0:
        raise ConfigError(f"{field_path}.A_minus", "the units' reward-modulated rule has no anti-causal term: "
                                                   "set A_minus = 0")
    tau_c, tau_d = number("tau_c"), number("tau_d")
    if tau_c <= 0 or tau_d <= 0:
        raise ConfigError(f"{field_path}.tau_c", "tau_c and tau_d must be > 0 ms")
    tau_cd = 1.0 / (1.0 / tau_c + 1.0 / tau_d)

    def steps(value: float, name: str, low: int, high: int) -> int:
        r = round(value / I_lsb)
        if not low <= r <= high:
            raise ConfigError(f"{field_path}.{name}", f"{value:g} pA is {r} steps of {I_lsb:g} pA; "
                                                      f"allowed [{low}, {high}] steps")
        return int(r)

    w_min = steps(number("w_min"), "w_min", INT16_MIN, INT16_MAX)
    w_max = steps(number("w_max"), "w_max", INT16_MIN, INT16_MAX)
    if w_min > w_max:
        raise ConfigError(f"{field_path}.w_max", "must be >= w_min")
    return RstdpFixedParams(
        k_pre=_shift_for(number("tau_plus"), dt, f"{field_path}.tau_plus"),
        k_c=_shift_for(tau_c, dt, f"{field_path}.tau_c"),
        a_plus=steps(number("A_plus") * tau_cd, "A_plus", 0, TRACE_MAX),
        w_min=w_min,
        w_max=w_max,
    )
