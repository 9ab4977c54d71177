"""Bit-accurate fixed-point LIF neuron with exponential current synapses.

This module is the specification that the ATmega8 firmware
(`neurobox/hardware/avr/firmware/neuron.c`) and the FPGA cell mirror
exactly. It is written for reading: every width, shift, rounding and
saturation is stated here, and `step` below is the whole arithmetic.

Number formats (all integers, two's complement)
-----------------------------------------------
    v       int16  membrane potential relative to E_L, in units of V_lsb mV
                   (default V_lsb = 2**-8 mV: range -128 .. +127.996 mV)
    i_ex    int16  excitatory synaptic current, in units of I_lsb pA
    i_in    int16  inhibitory synaptic current, in units of I_lsb pA
                   (default I_lsb = 0.25 pA: range -8192 .. +8191.75 pA)
    ref     uint8  refractory steps left, 0 .. 255
    theta   uint16 adaptive threshold (homeostasis), V_lsb: added to v_th
    weights int16  in units of I_lsb pA (what arrives in `syn_in`)

Constants (computed once by `fixed_parameters` from the float NEST
parameters and dt; in firmware they are compile-time constants)
------------------------------------------------------------------
    D_m, D_ex, D_in  uint16  decay factors exp(-dt/tau) * 2**16, 0 .. 65535
    P_ex, P_in, P_e  uint13  membrane responses to one I_lsb of synaptic or
                             constant current, in V_lsb * 2**-S,  0 .. 8191
    S                        shift of those responses, 1 .. 30
    i_e              int16   constant current I_e in I_lsb
    v_th, v_reset    int16   threshold and reset, V_lsb relative to E_L
    ref_steps        uint8   t_ref / dt rounded
    theta_plus       uint16  theta_plus / V_lsb: what each spike adds to theta
                             (the threshold does not decay on a unit)

Operations
----------
    decay(x, D)   = r = (x * D + 2**15) >> 16     (x * D is an int32: round to
                    nearest, halves up), except that a non-zero x always
                    moves: if r == x != 0 then r = x - sign(x).
                    Rounding to nearest keeps the decay unbiased (with
                    V_lsb = 2**-8 mV the membrane stays within 0.1 mV of
                    the float model; truncation would drift by 0.5 LSB
                    per step, about 0.4 mV at dt = 0.1 ms); the exception
                    removes the dead band around 0 that plain rounding
                    leaves (|x| below 1 / (2 (1 - D/2**16)) would never
                    decay), so every value returns exactly to rest.
    sat16(x)      = min(max(x, -32768), 32767)
    acc           = i_ex*P_ex + i_in*P_in + sat16(i_e + i_ext)*P_e   (int32;
                    each product < 2**28, so the sum never overflows)
    dv            = (acc + 2**(S-1)) >> S    (round half up; >> is
                    arithmetic, i.e. floor, as GCC's >> and Verilog's >>>)

One step (NEST's order; `in_ex`/`in_in` are the weights summed over the
spikes arriving in this step, int32):

    if ref == 0:  v = sat16(decay(v, D_m) + dv)     # dv from currents at step start
    else:         ref = ref - 1                     # v held at v_reset
    i_ex = sat16(decay(i_ex, D_ex) + in_ex)
    i_in = sat16(decay(i_in, D_in) + in_in)
    if v >= v_th + theta:  spike; v = v_reset; ref = ref_steps;  (int32 compare)
                           theta = min(theta + theta_plus, 65535)

The float model this approximates is `neurobox.neurons.lif.IAF_PSC_EXP`
(exact integration): D and P are its propagators, rounded.
"""
from __future__ import annotations

import math
from typing import Mapping, NamedTuple

import numpy as np
from numba import njit

from neurobox.errors import ConfigError
from neurobox.neurons.base import NeuronModel, StateVariable, positive
from neurobox.neurons.lif import PSC_PARAMETERS, _propagator_32

INT16_MIN = -32768
INT16_MAX = 32767
UINT8_MAX = 255
DECAY_SHIFT = 16
"""Decay factors are unsigned 16-bit fractions of 2**16."""
P_MAX = 8191
"""Largest membrane response constant (13 bits), so that three products
with int16 currents sum below 2**30 in an int32."""
S_MIN, S_MAX = 1, 30
DEFAULT_V_LSB = 2.0 ** -8
DEFAULT_I_LSB = 0.25


class LifFixedParams(NamedTuple):
    """The integer constants of one fixed-point LIF unit (see the module docstring)."""

    D_m: int
    D_ex: int
    D_in: int
    P_ex: int
    P_in: int
    P_e: int
    S: int
    i_e: int
    v_th: int
    v_reset: int
    ref_steps: int
    V_lsb: float
    """mV per membrane LSB (for conversion only; not used by the arithmetic)."""
    I_lsb: float
    """pA per current LSB (for conversion only)."""
    theta_plus: int = 0


class LifFixedState(NamedTuple):
    """State of one unit: v, i_ex, i_in (int16), ref (uint8) and theta (uint16)."""

    v: int = 0
    i_ex: int = 0
    i_in: int = 0
    ref: int = 0
    theta: int = 0


# --------------------------------------------------------------------------
# the arithmetic: compiled once, called by the Python reference
# (neurobox.hardware.unit), the engine's kernel below and the twin's bank
# (neurobox.twin.units) alike

LIF_FIELDS = ("D_m", "D_ex", "D_in", "P_ex", "P_in", "P_e", "S", "i_e", "v_th", "v_reset", "ref_steps", "theta_plus")
"""The integer constants in the order `lif_update` reads them from its constants row."""
K_DM, K_DEX, K_DIN, K_PEX, K_PIN, K_PE, K_S, K_IE, K_VTH, K_VRESET, K_REF, K_THPLUS = range(len(LIF_FIELDS))
THETA_MAX = 65535


@njit(cache=True)
def sat16(x):
    """Saturate to the int16 range."""
    return INT16_MIN if x < INT16_MIN else INT16_MAX if x > INT16_MAX else x


@njit(cache=True)
def decay(x, d):
    """x * d / 2**16 rounded to nearest (halves up); a non-zero x moves at least one step toward 0."""
    r = (x * d + 32768) >> 16
    if r == x and x != 0:
        r = x - 1 if x > 0 else x + 1
    return r


@njit(cache=True)
def lif_update(v, i_ex, i_in, ref, theta, in_ex, in_in, i_ext, k):
    """One time step (the module docstring's `step`); k: the constants in LIF_FIELDS order (ints or floats).

    Returns (v, i_ex, i_in, ref, theta, spiked).
    """
    if ref == 0:
        s = np.int64(k[K_S])
        acc = i_ex * np.int64(k[K_PEX]) + i_in * np.int64(k[K_PIN]) + sat16(np.int64(k[K_IE]) + i_ext) * np.int64(k[K_PE])
        v = sat16(decay(v, np.int64(k[K_DM])) + ((acc + (np.int64(1) << (s - 1))) >> s))
    else:
        ref -= 1
    i_ex = sat16(decay(i_ex, np.int64(k[K_DEX])) + in_ex)
    i_in = sat16(decay(i_in, np.int64(k[K_DIN])) + in_in)
    spiked = v >= np.int64(k[K_VTH]) + theta
    if spiked:
        v = np.int64(k[K_VRESET])
        ref = np.int64(k[K_REF])
        theta = min(theta + np.int64(k[K_THPLUS]), THETA_MAX)
    return v, i_ex, i_in, ref, theta, spiked


def constants_row(p: "LifFixedParams") -> np.ndarray:
    """The int64 constants row of `p` for `lif_update` (LIF_FIELDS order)."""
    return np.array([getattr(p, name) for name in LIF_FIELDS], dtype=np.int64)


def step(state: LifFixedState, in_ex: int, in_in: int, p: LifFixedParams,
         i_ext: int = 0) -> tuple[LifFixedState, bool]:
    """One time step of the fixed-point LIF unit; returns (new state, spiked).

    `in_ex`, `in_in`: summed integer weights (I_lsb) of the spikes arriving
    in this step; `i_ext`: external current this step in I_lsb.
    """
    v, i_ex, i_in, ref, theta, spiked = lif_update(*state, in_ex, in_in, i_ext, constants_row(p))
    return LifFixedState(int(v), int(i_ex), int(i_in), int(ref), int(theta)), bool(spiked)


# --------------------------------------------------------------------------
# conversion from the float model

def _check_int(value: float, low: int, high: int, field: str, what: str) -> int:
    r = round(value)
    if not low <= r <= high:
        raise ConfigError(field, f"{what} = {value:g} does not fit the fixed-point range [{low}, {high}]")
    return int(r)


def _decay_factor(dt: float, tau: float) -> int:
    return min(65535, int(round(math.exp(-dt / tau) * 65536)))


def fixed_parameters(params: Mapping[str, float], dt: float, V_lsb: float = DEFAULT_V_LSB,
                     I_lsb: float = DEFAULT_I_LSB, field_path: str = "params") -> LifFixedParams:
    """Integer constants for an `iaf_psc_exp` parameter dict and time step dt (ms).

    `V_lsb` (mV) and `I_lsb` (pA) are the sizes of one membrane and one
    current step. Raises ConfigError naming the parameter whose value does
    not fit its integer range (for example a threshold more than 128 mV
    above rest with the default V_lsb).
    """
    if not (dt > 0 and math.isfinite(dt)):
        raise ConfigError("dt", f"must be a finite number > 0 ms, got {dt!r}")
    for name, value in (("V_lsb", V_lsb), ("I_lsb", I_lsb)):
        if not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"{field_path}.{name}", f"must be a finite number > 0, got {value!r}")
    tau_m, c_m = params["tau_m"], params["C_m"]
    p20 = tau_m / c_m * -math.expm1(-dt / tau_m)
    # membrane response (V_lsb) to one I_lsb of current, for each input
    responses = {
        "tau_syn_ex": _propagator_32(params["tau_syn_ex"], tau_m, c_m, dt) * I_lsb / V_lsb,
        "tau_syn_in": _propagator_32(params["tau_syn_in"], tau_m, c_m, dt) * I_lsb / V_lsb,
        "C_m": p20 * I_lsb / V_lsb,
    }
    biggest = max(responses.values())
    s = S_MAX
    while s > S_MIN and biggest * 2 ** s > P_MAX + 0.5:
        s -= 1
    if biggest * 2 ** s > P_MAX + 0.5:
        raise ConfigError(f"{field_path}.I_lsb",
                          f"one current step of {I_lsb:g} pA moves the membrane by {biggest:g} V_lsb per step; "
                          f"allowed at most {P_MAX / 2 ** S_MIN:g}: choose a smaller I_lsb or a larger V_lsb")
    th = params["V_th"] - params["E_L"]
    reset = params["V_reset"] - params["E_L"]
    v_th = _check_int(th / V_lsb, INT16_MIN, INT16_MAX, f"{field_path}.V_th", "(V_th - E_L) / V_lsb")
    v_reset = _check_int(reset / V_lsb, INT16_MIN, INT16_MAX, f"{field_path}.V_reset",
                         "(V_reset - E_L) / V_lsb")
    if v_reset >= v_th:
        raise ConfigError(f"{field_path}.V_reset", f"must be below V_th ({params['V_th']:g} mV), "
                                                   f"got {params['V_reset']:g} mV")
    return LifFixedParams(
        D_m=_decay_factor(dt, tau_m),
        D_ex=_decay_factor(dt, params["tau_syn_ex"]),
        D_in=_decay_factor(dt, params["tau_syn_in"]),
        P_ex=int(round(responses["tau_syn_ex"] * 2 ** s)),
        P_in=int(round(responses["tau_syn_in"] * 2 ** s)),
        P_e=int(round(responses["C_m"] * 2 ** s)),
        S=s,
        i_e=_check_int(params.get("I_e", 0.0) / I_lsb, INT16_MIN, INT16_MAX, f"{field_path}.I_e", "I_e / I_lsb"),
        v_th=v_th,
        v_reset=v_reset,
        ref_steps=_check_int(params["t_ref"] / dt, 0, UINT8_MAX, f"{field_path}.t_ref", "t_ref / dt"),
        V_lsb=float(V_lsb),
        I_lsb=float(I_lsb),
        theta_plus=_theta_plus(params, V_lsb, field_path),
    )


THETA_STILL_MS = 1e6
"""A threshold whose decay takes longer than this (ms, about 17 minutes) counts as not decaying."""


def _theta_plus(params: Mapping[str, float], V_lsb: float, field_path: str) -> int:
    """theta_plus / V_lsb; a unit's adaptive threshold grows with every spike and never decays."""
    theta_plus = params.get("theta_plus", 0.0)
    if theta_plus > 0 and params.get("tau_theta", math.inf) < THETA_STILL_MS:
        raise ConfigError(f"{field_path}.tau_theta", f"a unit's adaptive threshold does not decay: tau_theta must be "
                                                     f">= {THETA_STILL_MS:g} ms, got {params['tau_theta']:g} ms")
    return _check_int(theta_plus / V_lsb, 0, THETA_MAX, f"{field_path}.theta_plus", "theta_plus / V_lsb")


def weight_to_fixed(weight_pA: float, p: LifFixedParams, field: str = "weight") -> int:
    """A synaptic weight (pA) as an int16 number of I_lsb; ConfigError if it does not fit."""
    return _check_int(weight_pA / p.I_lsb, INT16_MIN, INT16_MAX, field, "weight / I_lsb")


def theta_to_fixed(theta_mV: float, p: LifFixedParams, field: str = "theta") -> int:
    """An adaptive threshold (mV) as a uint16 number of V_lsb; ConfigError if it does not fit."""
    return _check_int(theta_mV / p.V_lsb, 0, THETA_MAX, field, "theta / V_lsb")


def voltage_to_mV(v: int | np.ndarray, p: LifFixedParams, E_L: float) -> float | np.ndarray:
    """Membrane potential in mV from its fixed-point value."""
    return E_L + np.asarray(v, dtype=float) * p.V_lsb if isinstance(v, np.ndarray) else E_L + v * p.V_lsb


# --------------------------------------------------------------------------
# the model for the engine: the same arithmetic, looped over a population

def fixed_constants(params, dt, n):
    """The kernel's constants: the integers of `fixed_parameters` (LIF_FIELDS order), then I_lsb (pA)."""
    fp = fixed_parameters({k: params[k] for k in params if k not in ("V_lsb", "I_lsb")}, dt,
                          params.get("V_lsb", DEFAULT_V_LSB), params.get("I_lsb", DEFAULT_I_LSB))
    return np.array([*constants_row(fp), fp.I_lsb], dtype=np.float64)


@njit(cache=True, boundscheck=False)
def fixed_kernel(state, c, syn_in, i_in, rng, step_index, spikes_out):
    """Kernel of `iaf_psc_exp_fixed` (contract in neurobox.neurons.base): `lif_update` for every neuron.

    State rows hold exact integers (V_m, I_syn_ex, I_syn_in in LSB,
    ref_steps, theta in V_lsb); `syn_in` holds summed integer weights; the external current
    `i_in` (pA) is rounded to the nearest I_lsb. Returns the number of
    spikes, or -1 - i if neuron i's membrane is NaN (only possible if it was
    set so from outside).
    """
    i_lsb = c[len(LIF_FIELDS)]
    n = 0
    for i in range(state.shape[1]):
        if state[0, i] != state[0, i]:
            return -1 - i
        ext = np.int64(np.floor(i_in[i] / i_lsb + 0.5))
        v, a, b, ref, theta, spiked = lif_update(np.int64(state[0, i]), np.int64(state[1, i]),
                                                 np.int64(state[2, i]), np.int64(state[3, i]), np.int64(state[4, i]),
                                                 np.int64(syn_in[0, i]), np.int64(syn_in[1, i]), ext, c)
        syn_in[0, i] = 0.0
        syn_in[1, i] = 0.0
        if spiked:
            spikes_out[n] = i
            n += 1
        state[0, i] = v
        state[1, i] = a
        state[2, i] = b
        state[3, i] = ref
        state[4, i] = theta
    return n


IAF_PSC_EXP_FIXED = NeuronModel(
    name="iaf_psc_exp_fixed",
    summary="Fixed-point LIF neuron with exponential current synapses, bit-exact with the ATmega8 firmware.",
    equations=(
        "v = sat16(decay(v, D_m) + ((i_ex P_ex + i_in P_in + i_e P_e + 2^(S-1)) >> S))  unless refractory\n"
        "i_X = sat16(decay(i_X, D_X) + sum of integer weights arriving)\n"
        "v >= v_th + theta: spike, v <- v_reset, ref <- ref_steps, theta <- min(theta + theta_plus, 65535)"),
    integration="integer arithmetic (int16 state, int32 accumulators) specified in neurobox.neurons.lif_fixed",
    parameters=PSC_PARAMETERS + (
        positive("V_lsb", DEFAULT_V_LSB, "mV", "membrane potential per integer step"),
        positive("I_lsb", DEFAULT_I_LSB, "pA", "synaptic current (and weight) per integer step"),
    ),
    state=(
        StateVariable("V_m", "V_lsb", "membrane potential relative to E_L, integer", 0.0),
        StateVariable("I_syn_ex", "I_lsb", "excitatory synaptic current, integer"),
        StateVariable("I_syn_in", "I_lsb", "inhibitory synaptic current, integer"),
        StateVariable("ref_steps", "steps", "refractory steps left"),
        StateVariable("theta", "V_lsb", "adaptive threshold, integer"),
    ),
    receptors=("excitatory", "inhibitory"),
    receptor_kind="current",
    constants=fixed_constants,
    methods={"fixed": fixed_kernel},
    references=("Lava's bit-accurate LIF process models (Intel), for the style of specification.",
                "NEST model iaf_psc_exp (the float model it approximates)."),
)
