"""Leaky integrate-and-fire neurons with exponential synapses (NEST names).

`iaf_psc_exp`: current-based synapses, integrated exactly (Rotter &
Diesmann 1999), as NEST's model of the same name.

    C_m dV/dt = -g_L (V - E_L) + I_syn_ex + I_syn_in + I_e + I_stim,  g_L = C_m / tau_m
    dI_syn_X/dt = -I_syn_X / tau_syn_X,   a spike adds its weight (pA) to I_syn_X

`iaf_cond_exp`: conductance-based synapses, as NEST's model of the same name,
plus an optional adaptive threshold (homeostasis, as Diehl & Cook 2015):

    C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim
    dg_X/dt = -g_X / tau_syn_X,   a spike adds its weight (nS) to g_X
    the neuron fires at V >= V_th + theta; dtheta/dt = -theta / tau_theta,
    and each spike adds theta_plus (0 by default: a fixed threshold)

Both: when V >= V_th the neuron fires, V is set to V_reset and held there
for t_ref (rounded to whole steps) while the synapses keep integrating.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurobox.neurons.base import NeuronModel, StateVariable, any_value, non_negative, positive

TINY = 1e-12
"""Synaptic currents (pA) and conductances (nS) below this are set to 0, so
that decaying values never become subnormal numbers (which are ~40x slower)."""


def _refractory_steps(t_ref: float, dt: float) -> float:
    return float(round(t_ref / dt))


# --------------------------------------------------------------------------
# iaf_psc_exp

PSC_PARAMETERS = (
    positive("C_m", 250.0, "pF", "membrane capacitance"),
    positive("tau_m", 10.0, "ms", "membrane time constant"),
    positive("tau_syn_ex", 2.0, "ms", "time constant of the excitatory synaptic current"),
    positive("tau_syn_in", 2.0, "ms", "time constant of the inhibitory synaptic current"),
    non_negative("t_ref", 2.0, "ms", "absolute refractory period"),
    any_value("E_L", -70.0, "mV", "resting (leak reversal) potential"),
    any_value("V_reset", -70.0, "mV", "potential after a spike"),
    any_value("V_th", -55.0, "mV", "spike threshold"),
    any_value("I_e", 0.0, "pA", "constant external current"),
)

# Indices into the constants array of iaf_psc_exp.
_P_EL, _P_P22, _P_P20, _P_P21EX, _P_P21IN, _P_P11EX, _P_P11IN, _P_IE, _P_VTH, _P_VRESET, _P_REF = range(11)


def _propagator_32(tau_syn: float, tau_m: float, c_m: float, h: float) -> float:
    """Membrane response (mV) at time h to a unit synaptic current (1 pA) at time 0.

    (exp(-h/tau_syn) - exp(-h/tau_m)) / (C_m (1/tau_m - 1/tau_syn)), evaluated
    without cancellation, with its limit h/C_m exp(-h/tau_m) when the time
    constants are equal.
    """
    a = 1.0 / tau_m - 1.0 / tau_syn
    if abs(a) * h < 1e-12:
        return h / c_m * math.exp(-h / tau_m)
    return math.exp(-h / tau_m) * math.expm1(h * a) / (a * c_m)


def psc_exp_constants(p, dt, n):
    return np.array([
        p["E_L"],
        math.exp(-dt / p["tau_m"]),
        p["tau_m"] / p["C_m"] * -math.expm1(-dt / p["tau_m"]),
        _propagator_32(p["tau_syn_ex"], p["tau_m"], p["C_m"], dt),
        _propagator_32(p["tau_syn_in"], p["tau_m"], p["C_m"], dt),
        math.exp(-dt / p["tau_syn_ex"]),
        math.exp(-dt / p["tau_syn_in"]),
        p["I_e"],
        p["V_th"],
        p["V_reset"],
        _refractory_steps(p["t_ref"], dt),
    ])


@njit(cache=True, boundscheck=False)
def threshold_and_reset(v, ref, v_th, v_reset, ref_steps, spikes_out):
    """Fire every neuron with v >= v_th: reset it and start its refractory count.

    Returns the number of spikes, or -1 - i when neuron i's potential is NaN.
    """
    n = 0
    for i in range(v.shape[0]):
        x = v[i]
        if x >= v_th:
            v[i] = v_reset
            ref[i] = ref_steps
            spikes_out[n] = i
            n += 1
        elif x != x:
            return -1 - i
    return n


@njit(cache=True, boundscheck=False)
def adaptive_threshold_and_reset(v, ref, theta, v_th, v_reset, ref_steps, theta_plus, theta_decay, spikes_out):
    """As threshold_and_reset, firing at v >= v_th + theta[i]; theta decays and grows by theta_plus per spike."""
    n = 0
    for i in range(v.shape[0]):
        x = v[i]
        th = theta[i] * theta_decay
        if x >= v_th + th:
            v[i] = v_reset
            ref[i] = ref_steps
            th += theta_plus
            spikes_out[n] = i
            n += 1
        elif x != x:
            return -1 - i
        theta[i] = th
    return n


@njit(cache=True, boundscheck=False)
def psc_exp_exact(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v = state[0]
    i_ex = state[1]
    i_in_syn = state[2]
    ref = state[3]
    e_l = c[_P_EL]
    p22 = c[_P_P22]
    p20 = c[_P_P20]
    p21ex = c[_P_P21EX]
    p21in = c[_P_P21IN]
    p11ex = c[_P_P11EX]
    p11in = c[_P_P11IN]
    i_e = c[_P_IE]
    in_ex = syn_in[0]
    in_in = syn_in[1]
    for i in range(v.shape[0]):
        vi = v[i]
        v_new = e_l + p22 * (vi - e_l) + p20 * (i_e + i_in[i]) + p21ex * i_ex[i] + p21in * i_in_syn[i]
        r = ref[i]
        v[i] = v_new if r <= 0.0 else vi
        ref[i] = r - 1.0 if r > 0.0 else 0.0
        a = i_ex[i] * p11ex + in_ex[i]
        i_ex[i] = a if abs(a) > TINY else 0.0
        b = i_in_syn[i] * p11in + in_in[i]
        i_in_syn[i] = b if abs(b) > TINY else 0.0
        in_ex[i] = 0.0
        in_in[i] = 0.0
    return threshold_and_reset(v, ref, c[_P_VTH], c[_P_VRESET], c[_P_REF], spikes_out)


IAF_PSC_EXP = NeuronModel(
    name="iaf_psc_exp",
    summary="Leaky integrate-and-fire neuron with exponential current-based synapses.",
    equations=(
        "C_m dV/dt = -(C_m/tau_m)(V - E_L) + I_syn_ex + I_syn_in + I_e + I_stim\n"
        "dI_syn_X/dt = -I_syn_X / tau_syn_X   (a spike adds its weight w, pA)\n"
        "V >= V_th: spike, V <- V_reset, clamped for t_ref"),
    integration="exact integration of the linear system (Rotter & Diesmann 1999), as NEST",
    parameters=PSC_PARAMETERS,
    state=(
        StateVariable("V_m", "mV", "membrane potential", "E_L"),
        StateVariable("I_syn_ex", "pA", "excitatory synaptic current"),
        StateVariable("I_syn_in", "pA", "inhibitory synaptic current"),
        StateVariable("ref_steps", "steps", "refractory steps left"),
    ),
    receptors=("excitatory", "inhibitory"),
    receptor_kind="current",
    constants=psc_exp_constants,
    methods={"exact": psc_exp_exact},
    references=(
        "Rotter S, Diesmann M (1999) Exact digital simulation of time-invariant linear systems "
        "with applications to neuronal modeling. Biol Cybern 81:381-402.",
        "NEST model iaf_psc_exp.",
    ),
)


# --------------------------------------------------------------------------
# iaf_cond_exp

COND_PARAMETERS = (
    positive("C_m", 250.0, "pF", "membrane capacitance"),
    positive("g_L", 16.6667, "nS", "leak conductance"),
    any_value("E_L", -70.0, "mV", "leak reversal potential"),
    any_value("V_th", -55.0, "mV", "spike threshold"),
    any_value("V_reset", -60.0, "mV", "potential after a spike"),
    non_negative("t_ref", 2.0, "ms", "absolute refractory period"),
    any_value("E_ex", 0.0, "mV", "excitatory reversal potential"),
    any_value("E_in", -85.0, "mV", "inhibitory reversal potential"),
    positive("tau_syn_ex", 0.2, "ms", "time constant of the excitatory conductance"),
    positive("tau_syn_in", 2.0, "ms", "time constant of the inhibitory conductance"),
    any_value("I_e", 0.0, "pA", "constant external current"),
    non_negative("theta_plus", 0.0, "mV", "threshold increase per spike (adaptive threshold; 0: off)"),
    positive("tau_theta", 1e7, "ms", "time constant of the adaptive threshold's decay"),
)

(_C_EL, _C_GL, _C_DT_OVER_C, _C_EEX, _C_EIN, _C_PEX, _C_PIN, _C_IE, _C_VTH, _C_VRESET, _C_REF, _C_INV_C,
 _C_THETA_PLUS, _C_THETA_DECAY) = range(14)


def cond_exp_constants(p, dt, n):
    return np.array([
        p["E_L"],
        p["g_L"],
        dt / p["C_m"],
        p["E_ex"],
        p["E_in"],
        math.exp(-dt / p["tau_syn_ex"]),
        math.exp(-dt / p["tau_syn_in"]),
        p["I_e"],
        p["V_th"],
        p["V_reset"],
        _refractory_steps(p["t_ref"], dt),
        1.0 / p["C_m"],
        p["theta_plus"],
        math.exp(-dt / p["tau_theta"]),
    ])


@njit(cache=True, boundscheck=False)
def _decay_conductances(g_ex, g_in, in_ex, in_in, p_ex, p_in, i):
    a = g_ex[i] * p_ex + in_ex[i]
    g_ex[i] = a if a > TINY else 0.0
    b = g_in[i] * p_in + in_in[i]
    g_in[i] = b if b > TINY else 0.0
    in_ex[i] = 0.0
    in_in[i] = 0.0


@njit(cache=True, boundscheck=False)
def _cond_fire(state, c, spikes_out):
    """Threshold V_th + theta (theta stays 0 unless theta_plus > 0 or an initial theta is given)."""
    return adaptive_threshold_and_reset(state[0], state[3], state[4], c[_C_VTH], c[_C_VRESET], c[_C_REF],
                                        c[_C_THETA_PLUS], c[_C_THETA_DECAY], spikes_out)


@njit(cache=True, boundscheck=False)
def cond_exp_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v = state[0]
    g_ex = state[1]
    g_in = state[2]
    ref = state[3]
    e_l = c[_C_EL]
    g_l = c[_C_GL]
    dt_over_c = c[_C_DT_OVER_C]
    e_ex = c[_C_EEX]
    e_in = c[_C_EIN]
    p_ex = c[_C_PEX]
    p_in = c[_C_PIN]
    i_e = c[_C_IE]
    in_ex = syn_in[0]
    in_in = syn_in[1]
    for i in range(v.shape[0]):
        vi = v[i]
        dv = (g_l * (e_l - vi) + g_ex[i] * (e_ex - vi) + g_in[i] * (e_in - vi) + i_e + i_in[i]) * dt_over_c
        r = ref[i]
        v[i] = vi + dv if r <= 0.0 else vi
        ref[i] = r - 1.0 if r > 0.0 else 0.0
        _decay_conductances(g_ex, g_in, in_ex, in_in, p_ex, p_in, i)
    return _cond_fire(state, c, spikes_out)


@njit(cache=True, boundscheck=False)
def cond_exp_exponential_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v = state[0]
    g_ex = state[1]
    g_in = state[2]
    ref = state[3]
    e_l = c[_C_EL]
    g_l = c[_C_GL]
    dt_over_c = c[_C_DT_OVER_C]
    e_ex = c[_C_EEX]
    e_in = c[_C_EIN]
    p_ex = c[_C_PEX]
    p_in = c[_C_PIN]
    i_e = c[_C_IE]
    in_ex = syn_in[0]
    in_in = syn_in[1]
    for i in range(v.shape[0]):
        vi = v[i]
        g_tot = g_l + g_ex[i] + g_in[i]
        v_inf = (g_l * e_l + g_ex[i] * e_ex + g_in[i] * e_in + i_e + i_in[i]) / g_tot
        r = ref[i]
        v[i] = v_inf + (vi - v_inf) * math.exp(-g_tot * dt_over_c) if r <= 0.0 else vi
        ref[i] = r - 1.0 if r > 0.0 else 0.0
        _decay_conductances(g_ex, g_in, in_ex, in_in, p_ex, p_in, i)
    return _cond_fire(state, c, spikes_out)


IAF_COND_EXP = NeuronModel(
    name="iaf_cond_exp",
    summary="Leaky integrate-and-fire neuron with exponential conductance-based synapses.",
    equations=(
        "C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim\n"
        "dg_X/dt = -g_X / tau_syn_X   (a spike adds its weight w, nS)\n"
        "V >= V_th: spike, V <- V_reset, clamped for t_ref"),
    integration=(
        "exponential_euler (default): V relaxes exactly towards its steady state for the "
        "conductances at the start of the step; conductances decay exactly. "
        "euler: forward Euler for V (Brian2's method='euler'), exact decay of conductances. "
        "NEST integrates this model with an adaptive Runge-Kutta-Fehlberg solver."),
    parameters=COND_PARAMETERS,
    state=(
        StateVariable("V_m", "mV", "membrane potential", "E_L"),
        StateVariable("g_ex", "nS", "excitatory conductance"),
        StateVariable("g_in", "nS", "inhibitory conductance"),
        StateVariable("ref_steps", "steps", "refractory steps left"),
        StateVariable("theta", "mV", "adaptive threshold increment"),
    ),
    receptors=("excitatory", "inhibitory"),
    receptor_kind="conductance",
    constants=cond_exp_constants,
    methods={"exponential_euler": cond_exp_exponential_euler, "euler": cond_exp_euler},
    references=(
        "Brette R et al. (2007) Simulation of networks of spiking neurons: a review of tools "
        "and strategies. J Comput Neurosci 23:349-398.",
        "Diehl PU, Cook M (2015) Unsupervised learning of digit recognition using spike-timing-"
        "dependent plasticity. Front Comput Neurosci 9:99 (adaptive threshold).",
        "NEST model iaf_cond_exp.",
    ),
)
