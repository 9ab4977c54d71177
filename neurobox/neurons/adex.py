"""Adaptive exponential integrate-and-fire neurons (Brette & Gerstner 2005), NEST names.

`aeif_cond_exp` (conductance-based exponential synapses, as NEST)::

    C_m dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_th)/Delta_T)
                - g_ex (V - E_ex) - g_in (V - E_in) - w + I_e + I_stim
    tau_w dw/dt = a (V - E_L) - w
    dg_X/dt = -g_X / tau_syn_X          (a spike adds its weight w_syn, nS, to g_X)
    V >= V_peak: spike, V <- V_reset, w <- w + b, V clamped at V_reset for t_ref

`aeif_psc_exp` is the same neuron with exponential current synapses
(I_syn_ex + I_syn_in instead of the conductance terms; weights in pA).

Units: C_m pF, g_L/a nS, potentials mV, tau ms, b/w/I pA. Initial state
V = E_L, w = 0, no synaptic input. With Delta_T = 0 the exponential term
vanishes and the neuron fires at V_th (as NEST, V_peak is then ignored).

Integration (method `rk4`, the only one): classical Runge-Kutta 4 with
a step size that depends on V. dt is cut into coarse steps of at most
0.1 ms; while V stays below V_th - 4 Delta_T (and the neuron is not
refractory) one RK4 step covers a coarse step. Otherwise the coarse step
is redone on substeps of at most 0.01 ms, each split 20-fold once
V > V_th - 2 Delta_T, where the exponential runs away. The synaptic
conductances (currents) are evaluated in closed form g(t) = g(0)
exp(-t/tau) at the RK stages. As in NEST, V in the exponential is capped
at V_peak, the threshold is tested after every (fine) substep, so the
reset happens within 0.0005 ms of the crossing and integration goes on
from there; during the refractory time V stays at V_reset while w keeps
evolving. At most one spike per neuron is reported per step. Spike times
agree with scipy's solve_ivp within 0.003 ms plus the step grid, PSPs
within 1e-5 mV (tested). NEST integrates these models with an adaptive
Runge-Kutta-Fehlberg 4(5) solver instead.

Presets: the eight firing patterns of Naud et al. (2008), Table 1, each
with its step current in `NAUD2008`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurobox.errors import ConfigError
from neurobox.neurons.base import NeuronModel, StateVariable, any_value, non_negative, positive
from neurobox.neurons.integrators import decay_factors, flush_tiny, report_spike, rk4, row, substeps
from neurobox.neurons.parameters import MEMBRANE_POTENTIAL, shared
from neurobox.neurons.synapses import EXP_CONDUCTANCE, EXP_CURRENT, RECEPTORS, Synapse

H_COARSE = 0.1
"""Largest RK4 step far below threshold, ms."""

H_MAX = 0.01
"""Largest RK4 substep near threshold, ms."""

V_COARSE_BELOW = 4.0
"""A coarse step is taken while V stays below V_th - V_COARSE_BELOW * Delta_T."""

FINE = 20
"""Above V_th - 2 Delta_T a substep is split into FINE smaller ones (the exponential runs away there)."""

_COMMON = shared(C_m=281.0, g_L=30.0, E_L=-70.6) + (
    any_value("V_th", -50.4, "mV", "spike initiation threshold (V_T)"),
    non_negative("Delta_T", 2.0, "mV", "slope factor of the exponential (0: integrate-and-fire)"),
    any_value("a", 4.0, "nS", "subthreshold adaptation"),
    positive("tau_w", 144.0, "ms", "adaptation time constant"),
    any_value("b", 80.5, "pA", "spike-triggered adaptation increment"),
) + shared(V_reset=-60.0) + (
    any_value("V_peak", 0.0, "mV", "spike detection potential (the spike is cut here)"),
) + shared(t_ref=0.0)

COND_PARAMETERS = _COMMON + shared(E_ex=0.0, E_in=-85.0) + EXP_CONDUCTANCE.time_constants(0.2, 2.0) + shared(I_e=0.0)

PSC_PARAMETERS = _COMMON + EXP_CURRENT.time_constants(0.2, 2.0) + shared(I_e=0.0)

(_CM_INV, _GL, _EL, _VTH, _DELTA, _A, _TAUW_INV, _B, _VRESET, _VPEAK, _TREF, _EEX, _EIN, _IE, _NSUB, _H,
 _PEX_H2, _PIN_H2, _PEX_H, _PIN_H, _COND, _PEX_F2, _PIN_F2, _PEX_F, _PIN_F,
 _NCOARSE, _HC, _PEX_C2, _PIN_C2, _PEX_C, _PIN_C) = range(31)


def _spike_cut(p) -> float:
    """Where a spike is detected: V_peak, or V_th for the integrate-and-fire limit Delta_T = 0."""
    return p["V_peak"] if p["Delta_T"] > 0.0 else p["V_th"]


def _constants(p, dt, n, conductance):
    ncoarse, hc = substeps(dt, H_COARSE)
    nsub, h = substeps(hc, H_MAX)
    return np.array([
        1.0 / p["C_m"], p["g_L"], p["E_L"], p["V_th"], p["Delta_T"], p["a"], 1.0 / p["tau_w"], p["b"],
        p["V_reset"], _spike_cut(p), p["t_ref"], p.get("E_ex", 0.0), p.get("E_in", 0.0), p["I_e"], float(nsub), h,
        *decay_factors(p, 0.5 * h, h),
        1.0 if conductance else 0.0,
        *decay_factors(p, 0.5 * h / FINE, h / FINE),
        float(ncoarse), hc,
        *decay_factors(p, 0.5 * hc, hc),
    ])


def cond_constants(p, dt, n):
    return _constants(p, dt, n, True)


def psc_constants(p, dt, n):
    return _constants(p, dt, n, False)


def _validate(p, field_path):
    if p["Delta_T"] > 0.0 and p["V_peak"] <= p["V_th"]:
        raise ConfigError(f"{field_path}.V_peak", f"V_peak ({p['V_peak']:g} mV) must be above V_th "
                                                  f"({p['V_th']:g} mV) when Delta_T > 0")
    if p["V_reset"] >= _spike_cut(p):
        raise ConfigError(f"{field_path}.V_reset", f"V_reset ({p['V_reset']:g} mV) must be below the spike "
                                                   "detection potential (V_peak, or V_th when Delta_T = 0)")
    if p["Delta_T"] > 0.0 and (p["V_peak"] - p["V_th"]) / p["Delta_T"] > 600.0:
        raise ConfigError(f"{field_path}.Delta_T", "(V_peak - V_th)/Delta_T must be <= 600, or the "
                                                   "exponential overflows")


@njit(cache=True, inline="always")
def _adex_rhs(y, syn, p):
    """(dV/dt, dw/dt) at y = (V, w) with the synaptic conductances (or currents) syn = (ex, in);
    p = (constants, external current). V is capped at V_peak, as in NEST."""
    v, w = y
    c, i_ext = p
    delta = c[_DELTA]
    v_c = min(v, c[_VPEAK])
    spike_cur = c[_GL] * delta * math.exp((v_c - c[_VTH]) / delta) if delta > 0.0 else 0.0
    if c[_COND] > 0.0:
        i_syn = -syn[0] * (v_c - c[_EEX]) - syn[1] * (v_c - c[_EIN])
    else:
        i_syn = syn[0] + syn[1]
    dv = (-c[_GL] * (v_c - c[_EL]) + spike_cur + i_syn - w + i_ext) * c[_CM_INV]
    dw = (c[_A] * (v_c - c[_EL]) - w) * c[_TAUW_INV]
    return dv, dw


@njit(cache=True, inline="always")
def _w_rhs(y, v, c):
    """(dw/dt,) at y = (w,) with V held at v."""
    return ((c[_A] * (v - c[_EL]) - y[0]) * c[_TAUW_INV],)


@njit(cache=True)
def _adex_substep(v, w, ref, s0, s1, s2, hh, i_ext, c):
    """One RK4 step of length hh (synaptic values s = (ex, in) at its start, middle, end).

    Returns (v, w, ref, fired). While refractory (ref > 0 ms), V stays at V_reset and only w moves.
    """
    v_reset = c[_VRESET]
    if ref > 0.0:
        w, = rk4(_w_rhs, (w,), v_reset, v_reset, v_reset, hh, c)
        ref -= hh
        if ref < 0.5 * hh:
            ref = 0.0
        return v_reset, w, ref, False
    v, w = rk4(_adex_rhs, (v, w), s0, s1, s2, hh, (c, i_ext))
    if v >= c[_VPEAK]:
        return v_reset, w + c[_B], c[_TREF], True
    return v, w, ref, False


@njit(cache=True, boundscheck=False)
def adex_rk4(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v_arr = row(state, 0)
    w_arr = row(state, 1)
    gx_arr = row(state, 2)
    gi_arr = row(state, 3)
    ref_arr = row(state, 4)
    nsub = int(c[_NSUB])
    h = c[_H]
    hf = h / FINE
    e_ex2 = c[_PEX_H2]
    e_in2 = c[_PIN_H2]
    e_ex = c[_PEX_H]
    e_in = c[_PIN_H]
    ncoarse = int(c[_NCOARSE])
    hc = c[_HC]
    # exponential regime: from V_th - 2 Delta_T on, a substep is split into FINE ones
    v_fine = c[_VTH] - 2.0 * c[_DELTA] if c[_DELTA] > 0.0 else math.inf
    v_coarse = c[_VTH] - V_COARSE_BELOW * c[_DELTA]
    in_ex = row(syn_in, 0)
    in_in = row(syn_in, 1)
    n = 0
    for i in range(v_arr.shape[0]):
        v, w, gx, gi, ref = v_arr[i], w_arr[i], gx_arr[i], gi_arr[i], ref_arr[i]
        i_ext = c[_IE] + i_in[i]
        fired = False
        for _c in range(ncoarse):
            gxc = gx * c[_PEX_C]
            gic = gi * c[_PIN_C]
            if ref <= 0.0 and v < v_coarse:
                # far below threshold one RK4 step of up to 0.1 ms is accurate; keep it if V stays there
                v1, w1, ref1, f = _adex_substep(v, w, ref, (gx, gi), (gx * c[_PEX_C2], gi * c[_PIN_C2]),
                                                (gxc, gic), hc, i_ext, c)
                if v1 < v_coarse and not f:
                    v = v1
                    w = w1
                    gx = gxc
                    gi = gic
                    continue
            for _ in range(nsub):
                gx2 = gx * e_ex
                gi2 = gi * e_in
                if v <= v_fine or ref > 0.0:
                    v, w, ref, f = _adex_substep(v, w, ref, (gx, gi), (gx * e_ex2, gi * e_in2), (gx2, gi2), h,
                                                 i_ext, c)
                    fired = fired or f
                else:
                    fx = gx
                    fi = gi
                    for _j in range(FINE):
                        fx2 = fx * c[_PEX_F]
                        fi2 = fi * c[_PIN_F]
                        v, w, ref, f = _adex_substep(v, w, ref, (fx, fi), (fx * c[_PEX_F2], fi * c[_PIN_F2]),
                                                     (fx2, fi2), hf, i_ext, c)
                        fired = fired or f
                        fx = fx2
                        fi = fi2
                gx = gx2
                gi = gi2
            gx = gxc
            gi = gic
        v_arr[i] = v
        w_arr[i] = w
        ref_arr[i] = ref
        gx_arr[i] = flush_tiny(gx + in_ex[i])
        gi_arr[i] = flush_tiny(gi + in_in[i])
        in_ex[i] = 0.0
        in_in[i] = 0.0
        n = report_spike(fired, v, w, i, n, spikes_out)
        if n < 0:
            return n
    return n


# Naud, Marcille, Clopath & Gerstner (2008), Table 1. Columns of the paper:
# C (pF), g_L (nS), E_L (mV), V_T (mV), Delta_T (mV), a (nS), tau_w (ms), b (pA), V_r (mV), I (pA);
# then the pattern name used here and the paper's name of the row. V_peak = 0 mV (the spike cut).
_NAUD_TABLE = {
    "tonic": (200, 10, -70, -50, 2, 2, 30, 0, -58, 500, "tonic", "tonic spiking"),
    "adapting": (200, 12, -70, -50, 2, 2, 300, 60, -58, 500, "adapting", "adaptation"),
    "initial_burst": (130, 18, -58, -50, 2, 4, 150, 120, -50, 400, "initial burst", "initial burst"),
    "regular_bursting": (200, 10, -58, -50, 2, 2, 120, 100, -46, 210, "bursting", "regular bursting"),
    "delayed_accelerating": (200, 12, -70, -50, 2, -10, 300, 0, -58, 300, "delayed", "delayed accelerating"),
    "delayed_regular_bursting": (100, 10, -65, -50, 2, -10, 90, 30, -47, 110, "delayed", "delayed regular bursting"),
    "transient": (100, 10, -65, -50, 2, 10, 90, 100, -47, 180, "transient", "transient spiking"),
    "irregular": (100, 12, -60, -50, 2, -11, 130, 30, -48, 160, "irregular", "irregular spiking"),
}

NAUD2008_PRESETS = {
    name: {"C_m": float(r[0]), "g_L": float(r[1]), "E_L": float(r[2]), "V_th": float(r[3]),
           "Delta_T": float(r[4]), "a": float(r[5]), "tau_w": float(r[6]), "b": float(r[7]),
           "V_reset": float(r[8]), "V_peak": 0.0, "t_ref": 0.0}
    for name, r in _NAUD_TABLE.items()
}

NAUD2008 = {
    name: (r[10], float(r[9]), 0.0, 600.0, f"Naud et al. 2008, Table 1: {r[11]}")
    for name, r in _NAUD_TABLE.items()
}
"""preset -> (firing pattern the paper names, step current pA, step onset ms, run ms, source);
the neuron starts at rest (V = E_L, w = 0), so the step starts at t = 0."""

_REFERENCES = (
    "Brette R, Gerstner W (2005) Adaptive exponential integrate-and-fire model as an effective "
    "description of neuronal activity. J Neurophysiol 94:3637-3642.",
    "Naud R, Marcille N, Clopath C, Gerstner W (2008) Firing patterns in the adaptive exponential "
    "integrate-and-fire model. Biol Cybern 99:335-347.",
)

_CLOSED_FORM = {"current": "synaptic currents", "conductance": "conductances"}


def _aeif(name: str, synapse: Synapse, syn_term: str, parameters, constants) -> NeuronModel:
    """aeif_cond_exp or aeif_psc_exp: the same neuron with `synapse` synapses, `syn_term` in dV/dt."""
    return NeuronModel(
        name=name,
        summary=f"Adaptive exponential integrate-and-fire neuron with {synapse.description}.",
        equations=(f"C_m dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_th)/Delta_T) {syn_term} - w + I_e + I_stim\n"
                   f"{synapse.equation}\n"
                   "tau_w dw/dt = a (V - E_L) - w\n"
                   "V >= V_peak: spike, V <- V_reset, w <- w + b, V held at V_reset for t_ref"),
        integration=(f"rk4: Runge-Kutta 4 on substeps <= 0.01 ms, {_CLOSED_FORM[synapse.receptor_kind]} in closed "
                     "form, threshold tested after each substep (NEST uses adaptive RKF45)."),
        parameters=parameters,
        state=(MEMBRANE_POTENTIAL, StateVariable("w", "pA", "adaptation current"), *synapse.state,
               StateVariable("ref_ms", "ms", "refractory time left")),
        receptors=RECEPTORS,
        receptor_kind=synapse.receptor_kind,
        constants=constants,
        methods={"rk4": adex_rk4},
        references=_REFERENCES + (f"NEST model {name}.",),
        presets=NAUD2008_PRESETS,
        validate=_validate,
    )


AEIF_COND_EXP = _aeif("aeif_cond_exp", EXP_CONDUCTANCE, "- g_ex (V - E_ex) - g_in (V - E_in)", COND_PARAMETERS,
                      cond_constants)
AEIF_PSC_EXP = _aeif("aeif_psc_exp", EXP_CURRENT, "+ I_syn_ex + I_syn_in", PSC_PARAMETERS, psc_constants)
