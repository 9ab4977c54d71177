"""Bit-accurate fixed-point Izhikevich (2003) neuron with exponential current synapses.

The specification of an integer Izhikevich unit, in the style of
`neurobox.neurons.lif_fixed`: it follows the published integration scheme
(`izhikevich2003` in neurobox.neurons.izhikevich: two half steps of V by
forward Euler, then U with the new V) in 16/32-bit integers.

Number formats (two's complement)
---------------------------------
    v            int24 (held in an int32)  membrane potential, absolute, 2**-16 mV
                 (-128 .. +128 mV, saturating)
    u            int24 (held in an int32)  recovery variable, 2**-16 mV/ms (+-128)
    i_ex, i_in   int16  synaptic currents, 2**-8 pA (the model reads 1 pA as
                        1 mV/ms, so a current adds to dV/dt without scaling)
    weights      int16  2**-8 pA

v and u carry 16 fractional bits so that small time steps lose nothing:
with 8 bits, u's increment a dt (b v - u) rounds to 0 while b v - u is
below 1.5 mV/ms at dt = 1/16 ms, which moves the resting point by mV.

Constants (from the float parameters and dt by `fixed_parameters`)
------------------------------------------------------------------
    k            1 .. 5   half-step shift: dt/2 = 2**-k ms, i.e. dt is one of
                          1, 1/2, 1/4, 1/8, 1/16 ms
    A            int16    a * dt * 2**16, |a dt| <= 1/4
    B            int32    b * 2**16, |b| <= 1
    c, v_th      int32    mV in 2**-16 mV;   d  int32 in 2**-16 mV/ms
    i_e          int16    pA in 2**-8 pA
    D_ex, D_in   uint16   exp(-dt/tau_syn) * 2**16 (decay as lif_fixed.decay)

Operations
----------
    quad(w)  = (((w * w) >> 12) * 5243) >> 13   # 0.04 w^2 for w = v >> 8 (2**-8 mV),
                                                # in 2**-8 mV/ms (5243 / 2**13 = 0.04 * 16)
    f        = quad(v >> 8) + 5 (v >> 8) + 35840 - (u >> 8) + I
                                                # dV/dt in 2**-8 mV/ms; 35840 = 140; |f| < 2**20
    sat24(x) = min(max(x, -2**23), 2**23 - 1);  sat16 likewise for 16 bits

One step (`in_ex`, `in_in`: weights of the spikes arriving in this step, int32):

    I    = sat16(i_e + i_ext + i_ex + i_in)
    v    = sat24(v + (f << (8 - k)))   twice (f recomputed from the new v)   # exact: f dt/2
    u    = sat24(u + ((((((B * v >> 8) >> 8) - u) >> 8) * A + 2**7) >> 8))
           i.e. u += a dt (b v - u), with b v - u taken in 2**-8 mV/ms
    i_ex = sat16(decay(i_ex, D_ex) + in_ex);  i_in = sat16(decay(i_in, D_in) + in_in)
    if v >= v_th: spike; v = c; u = sat24(u + d)

Every product fits an int32: (v >> 8)**2 <= 2**30, (.. >> 12) * 5243 < 2**31,
B * (v >> 8) <= 2**31 in magnitude, A * ((b v - u) >> 8) <= 2**30.
The v after the spike's half steps saturates at +128 mV, so with dt >= 1/4 ms
(where the published scheme overshoots far beyond the cut-off) the recovery
update of the spike step sees at most 128 mV; at dt <= 1/8 ms the two agree.
"""
from __future__ import annotations

import math
from typing import Mapping, NamedTuple

import numpy as np
from numba import njit

from neurobox.errors import ConfigError
from neurobox.neurons.base import NeuronModel, StateVariable
from neurobox.neurons.izhikevich import IZH_PARAMETERS, IZHIKEVICH_PRESETS
from neurobox.neurons.lif_fixed import INT16_MAX, INT16_MIN, _check_int, _decay_factor, decay, sat16

LSB = 2.0 ** -8
"""pA per current step."""
VU_LSB = 2.0 ** -16
"""mV (v) and mV/ms (u) per step."""
QUAD_MUL, QUAD_SHIFT_1, QUAD_SHIFT_2 = 5243, 12, 13
REST_TERM = 140 * 256
INT24_MIN, INT24_MAX = -(1 << 23), (1 << 23) - 1


class IzhFixedParams(NamedTuple):
    k: int
    A: int
    B: int
    c: int
    d: int
    v_th: int
    i_e: int
    D_ex: int
    D_in: int


class IzhFixedState(NamedTuple):
    v: int
    u: int
    i_ex: int = 0
    i_in: int = 0


def quad(w: int) -> int:
    """0.04 w**2 in 2**-8 mV/ms for w in 2**-8 mV."""
    return (((w * w) >> QUAD_SHIFT_1) * QUAD_MUL) >> QUAD_SHIFT_2


def sat24(x: int) -> int:
    return INT24_MIN if x < INT24_MIN else INT24_MAX if x > INT24_MAX else x


def step(s: IzhFixedState, in_ex: int, in_in: int, p: IzhFixedParams,
         i_ext: int = 0) -> tuple[IzhFixedState, bool]:
    """One time step; returns (new state, spiked). i_ext: external current in 2**-8 pA."""
    v, u, i_ex, i_in = s
    cur = sat16(p.i_e + i_ext + i_ex + i_in)
    for _ in range(2):
        w = v >> 8
        f = quad(w) + 5 * w + REST_TERM - (u >> 8) + cur
        v = sat24(v + (f << (8 - p.k)))
    target = (p.B * (v >> 8)) >> 8          # b v in 2**-16 mV/ms
    u = sat24(u + ((((target - u) >> 8) * p.A + (1 << 7)) >> 8))
    i_ex = sat16(decay(i_ex, p.D_ex) + in_ex)
    i_in = sat16(decay(i_in, p.D_in) + in_in)
    spiked = v >= p.v_th
    if spiked:
        v = p.c
        u = sat24(u + p.d)
    return IzhFixedState(v, u, i_ex, i_in), spiked


def fixed_parameters(params: Mapping[str, float], dt: float, field_path: str = "params") -> IzhFixedParams:
    """Integer constants for an `izhikevich` parameter dict and dt (ms, one of 1, 1/2, ..., 1/16)."""
    m = -math.log2(dt) if dt > 0 else math.nan
    if not (m == m and abs(m - round(m)) < 1e-9 and 0 <= round(m) <= 4):
        raise ConfigError("dt", f"the fixed-point Izhikevich neuron needs dt in {{1, 1/2, 1/4, 1/8, 1/16}} ms, got {dt!r}")
    q = 1.0 / VU_LSB
    return IzhFixedParams(
        k=int(round(m)) + 1,
        A=_check_int(params["a"] * dt * 65536, -16384, 16384, f"{field_path}.a", "a * dt * 2**16"),
        B=_check_int(params["b"] * 65536, -65536, 65536, f"{field_path}.b", "b * 2**16"),
        c=_check_int(params["c"] * q, INT24_MIN, INT24_MAX, f"{field_path}.c", "c / 2**-16 mV"),
        d=_check_int(params["d"] * q, INT24_MIN, INT24_MAX, f"{field_path}.d", "d / 2**-16 mV/ms"),
        v_th=_check_int(params["V_th"] * q, INT24_MIN, INT24_MAX, f"{field_path}.V_th", "V_th / 2**-16 mV"),
        i_e=_check_int(params["I_e"] / LSB, INT16_MIN, INT16_MAX, f"{field_path}.I_e", "I_e / 2**-8 pA"),
        D_ex=_decay_factor(dt, params["tau_syn_ex"]),
        D_in=_decay_factor(dt, params["tau_syn_in"]),
    )


def weight_to_fixed(weight_pA: float, field: str = "weight") -> int:
    """A synaptic weight (pA) as an int16 number of 2**-8 pA."""
    return _check_int(weight_pA / LSB, INT16_MIN, INT16_MAX, field, "weight / 2**-8 pA")


# --------------------------------------------------------------------------
# the model for the engine

_K, _A, _B, _C, _D, _VTH, _IE, _DEX, _DIN = range(9)


def fixed_constants(params, dt, n):
    fp = fixed_parameters(params, dt)
    return np.array(list(fp), dtype=np.float64)


@njit(cache=True, boundscheck=False)
def _sat24(x):
    if x < INT24_MIN:
        return INT24_MIN
    if x > INT24_MAX:
        return INT24_MAX
    return x


@njit(cache=True, boundscheck=False)
def fixed_kernel(state, c, syn_in, i_in, rng, step_index, spikes_out):
    """Kernel of `izhikevich_fixed` (contract in neurobox.neurons.base): integer state in float64 rows.

    The external current `i_in` (pA) is rounded to the nearest 2**-8 pA.
    """
    k = np.int64(c[_K])
    a = np.int64(c[_A])
    b = np.int64(c[_B])
    v_reset = np.int64(c[_C])
    d = np.int64(c[_D])
    v_th = np.int64(c[_VTH])
    i_e = np.int64(c[_IE])
    d_ex = np.int64(c[_DEX])
    d_in = np.int64(c[_DIN])
    n = 0
    for i in range(state.shape[1]):
        if state[0, i] != state[0, i] or state[1, i] != state[1, i]:
            return -1 - i
        v = np.int64(state[0, i])
        u = np.int64(state[1, i])
        x = np.int64(state[2, i])
        y = np.int64(state[3, i])
        ext = np.int64(np.floor(i_in[i] * 256.0 + 0.5))
        cur = sat16(i_e + ext + x + y)
        for _ in range(2):
            w = v >> 8
            f = ((((w * w) >> QUAD_SHIFT_1) * QUAD_MUL) >> QUAD_SHIFT_2) + 5 * w + REST_TERM - (u >> 8) + cur
            v = _sat24(v + (f << (8 - k)))
        target = (b * (v >> 8)) >> 8
        u = _sat24(u + ((((target - u) >> 8) * a + 128) >> 8))
        x = sat16(decay(x, d_ex) + np.int64(syn_in[0, i]))
        y = sat16(decay(y, d_in) + np.int64(syn_in[1, i]))
        syn_in[0, i] = 0.0
        syn_in[1, i] = 0.0
        if v >= v_th:
            v = v_reset
            u = _sat24(u + d)
            spikes_out[n] = i
            n += 1
        state[0, i] = v
        state[1, i] = u
        state[2, i] = x
        state[3, i] = y
    return n


IZHIKEVICH_FIXED = NeuronModel(
    name="izhikevich_fixed",
    summary="Fixed-point Izhikevich (2003) neuron, 24-bit v and u, bit-exact specification for hardware.",
    equations=(
        "v += (0.04 v^2 + 5 v + 140 - u + I) dt/2, twice;  u += a dt (b v - u)   (integer forms)\n"
        "i_X = sat16(decay(i_X, D_X) + integer weights arriving)\n"
        "v >= v_th: spike, v <- c, u <- u + d   (v, u in 2^-16 mV, mV/ms; currents in 2^-8 pA)"),
    integration="integer form of the published scheme (izhikevich2003), specified in neurobox.neurons.izhikevich_fixed",
    parameters=IZH_PARAMETERS,
    state=(
        StateVariable("V_m", "2^-16 mV", "membrane potential, integer", -65.0 * 65536),
        StateVariable("U_m", "2^-16 mV/ms", "recovery variable, integer", lambda p: round(p["b"] * -65.0 * 65536)),
        StateVariable("I_syn_ex", "2^-8 pA", "excitatory synaptic current, integer"),
        StateVariable("I_syn_in", "2^-8 pA", "inhibitory synaptic current, integer"),
    ),
    receptors=("excitatory", "inhibitory"),
    receptor_kind="current",
    constants=fixed_constants,
    methods={"fixed": fixed_kernel},
    presets=IZHIKEVICH_PRESETS,
    references=("Izhikevich EM (2003) Simple model of spiking neurons. IEEE Trans Neural Netw 14:1569-1572.",),
)
