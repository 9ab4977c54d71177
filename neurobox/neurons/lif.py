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

from neurobox.neurons.base import NeuronModel, Parameter, StateVariable, non_negative, positive
from neurobox.neurons.integrators import (adaptive_threshold_and_reset, decay_exponential_synapses, decay_factors,
                                          hold_while_refractory, refractory_steps, row, shifted_threshold_and_reset)
from neurobox.neurons.parameters import MEMBRANE_POTENTIAL, REFRACTORY_STEPS, shared
from neurobox.neurons.synapses import EXP_CONDUCTANCE, EXP_CURRENT, RECEPTORS, Synapse

EXACT_INTEGRATION = "exact integration of the linear system (Rotter & Diesmann 1999), as NEST"
ROTTER_DIESMANN_1999 = ("Rotter S, Diesmann M (1999) Exact digital simulation of time-invariant linear systems "
                        "with applications to neuronal modeling. Biol Cybern 81:381-402.")

_MEMBRANE = {  # receptor kind -> the membrane equation
    "current": "C_m dV/dt = -(C_m/tau_m)(V - E_L) + I_syn_ex + I_syn_in + I_e + I_stim",
    "conductance": "C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim",
}


def lif_parameters(synapse: Synapse) -> tuple[Parameter, ...]:
    """NEST's table of iaf_psc_* (current synapses) or iaf_cond_* (conductance synapses)."""
    if synapse.receptor_kind == "current":
        return (shared(C_m=250.0, tau_m=10.0) + synapse.time_constants(2.0, 2.0)
                + shared(t_ref=2.0, E_L=-70.0, V_reset=-70.0, V_th=-55.0, I_e=0.0))
    return (shared(C_m=250.0, g_L=16.6667, E_L=-70.0, V_th=-55.0, V_reset=-60.0, t_ref=2.0, E_ex=0.0, E_in=-85.0)
            + synapse.time_constants(0.2, 2.0) + shared(I_e=0.0))


def lif_model(name: str, synapse: Synapse, integration: str, constants, methods, references: tuple[str, ...],
              extra_parameters: tuple[Parameter, ...] = (), extra_state: tuple[StateVariable, ...] = ()) -> NeuronModel:
    """An iaf_* model (NEST's names): a leaky membrane with `synapse` synapses, a threshold and a
    refractory period."""
    return NeuronModel(
        name=name,
        summary=f"Leaky integrate-and-fire neuron with {synapse.description}.",
        equations=(f"{_MEMBRANE[synapse.receptor_kind]}\n{synapse.equation}\n"
                   "V >= V_th: spike, V <- V_reset, clamped for t_ref"),
        integration=integration,
        parameters=lif_parameters(synapse) + extra_parameters,
        state=(MEMBRANE_POTENTIAL, *synapse.state, REFRACTORY_STEPS, *extra_state),
        receptors=RECEPTORS,
        receptor_kind=synapse.receptor_kind,
        constants=constants,
        methods=methods,
        references=(*references, f"NEST model {name}."),
    )


@njit(cache=True, inline="always")
def relax_membrane(v, g_ex, g_in, i_stim, dt, inv_c, leak):
    """V (mV) after dt of exponential relaxation towards its steady state at fixed conductances g_ex, g_in
    (nS) and input current i_stim (pA); leak = (g_L, E_L, E_ex, E_in, I_e), inv_c = 1/C_m. A perfect
    integrator (all conductances 0) integrates the current.

    The exponent is -g_tot dt inv_c, multiplied in that order: a kernel that keeps dt/C_m as one number
    passes it as dt with inv_c = 1.
    """
    g_l, e_l, e_ex, e_in, i_e = leak
    g_tot = g_l + g_ex + g_in
    if g_tot > 0.0:
        v_inf = (g_l * e_l + g_ex * e_ex + g_in * e_in + i_e + i_stim) / g_tot
        return v_inf + (v - v_inf) * math.exp(-g_tot * dt * inv_c)
    return v + (i_e + i_stim) * dt * inv_c


# --------------------------------------------------------------------------
# iaf_psc_exp

PSC_PARAMETERS = lif_parameters(EXP_CURRENT)

# Indices into the constants array of iaf_psc_exp.
(_P_EL, _P_P22, _P_P20, _P_P21EX, _P_P21IN, _P_P11EX, _P_P11IN, _P_IE, _P_VTH, _P_VRESET, _P_REF,
 _P_THETA_PLUS, _P_THETA_DECAY) = range(13)


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


ADAPTIVE_THRESHOLD = (
    non_negative("theta_plus", 0.0, "mV", "threshold increase per spike (adaptive threshold; 0: off)"),
    positive("tau_theta", 1e7, "ms", "time constant of the adaptive threshold's decay"),
)

def psc_exp_constants(p, dt, n):
    return np.array([
        p["E_L"],
        math.exp(-dt / p["tau_m"]),
        p["tau_m"] / p["C_m"] * -math.expm1(-dt / p["tau_m"]),
        _propagator_32(p["tau_syn_ex"], p["tau_m"], p["C_m"], dt),
        _propagator_32(p["tau_syn_in"], p["tau_m"], p["C_m"], dt),
        *decay_factors(p, dt),
        p["I_e"],
        p["V_th"],
        p["V_reset"],
        refractory_steps(p["t_ref"], dt),
        p["theta_plus"],
        math.exp(-dt / p["tau_theta"]),
    ])


@njit(cache=True, boundscheck=False)
def psc_exp_exact(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v, i_ex, i_inh, ref, theta = row(state, 0), row(state, 1), row(state, 2), row(state, 3), row(state, 4)
    e_l, p22, p20, i_e = c[_P_EL], c[_P_P22], c[_P_P20], c[_P_IE]
    p21ex, p21in, p11ex, p11in = c[_P_P21EX], c[_P_P21IN], c[_P_P11EX], c[_P_P11IN]
    in_ex, in_in = row(syn_in, 0), row(syn_in, 1)
    for i in range(v.shape[0]):
        hold_while_refractory(v, ref, i, e_l + p22 * (v[i] - e_l) + p20 * (i_e + i_in[i]) + p21ex * i_ex[i]
                              + p21in * i_inh[i])
        decay_exponential_synapses(i_ex, i_inh, p11ex, p11in, in_ex, in_in, i)
    if c[_P_THETA_PLUS] == 0.0 and c[_P_THETA_DECAY] == 1.0:   # a threshold that stays where it is (theta fixed)
        return shifted_threshold_and_reset(v, ref, theta, c[_P_VTH], c[_P_VRESET], c[_P_REF], spikes_out)
    return adaptive_threshold_and_reset(v, ref, theta, c[_P_VTH], c[_P_VRESET], c[_P_REF], c[_P_THETA_PLUS],
                                        c[_P_THETA_DECAY], spikes_out)


IAF_PSC_EXP = lif_model("iaf_psc_exp", EXP_CURRENT, EXACT_INTEGRATION, psc_exp_constants,
                        {"exact": psc_exp_exact}, (ROTTER_DIESMANN_1999,), extra_parameters=ADAPTIVE_THRESHOLD,
                        extra_state=(StateVariable("theta", "mV", "adaptive threshold increment"),))


# --------------------------------------------------------------------------
# iaf_cond_exp

COND_EXP_INTEGRATION = (
    "exponential_euler (default): V relaxes exactly towards its steady state for the conductances at the start of "
    "the step; conductances decay exactly. euler: forward Euler for V (Brian2's method='euler'), exact decay of "
    "conductances. NEST integrates this model with an adaptive Runge-Kutta-Fehlberg solver.")
BRETTE_2007 = ("Brette R et al. (2007) Simulation of networks of spiking neurons: a review of tools and strategies. "
               "J Comput Neurosci 23:349-398.")
DIEHL_COOK_2015 = ("Diehl PU, Cook M (2015) Unsupervised learning of digit recognition using spike-timing-dependent "
                   "plasticity. Front Comput Neurosci 9:99 (adaptive threshold).")

(_C_EL, _C_GL, _C_DT_OVER_C, _C_EEX, _C_EIN, _C_PEX, _C_PIN, _C_IE, _C_VTH, _C_VRESET, _C_REF,
 _C_THETA_PLUS, _C_THETA_DECAY) = range(13)


def cond_exp_constants(p, dt, n):
    return np.array([
        p["E_L"],
        p["g_L"],
        dt / p["C_m"],
        p["E_ex"],
        p["E_in"],
        *decay_factors(p, dt),
        p["I_e"],
        p["V_th"],
        p["V_reset"],
        refractory_steps(p["t_ref"], dt),
        p["theta_plus"],
        math.exp(-dt / p["tau_theta"]),
    ])


@njit(cache=True, inline="always")
def _cond_exp_step(v_step, state, c, syn_in, i_in, spikes_out):
    """One step of iaf_cond_exp with the membrane update `v_step` (_euler or _exponential_euler);
    the threshold is V_th + theta (theta stays 0 unless theta_plus > 0 or an initial theta is given)."""
    v, g_ex, g_in, ref = row(state, 0), row(state, 1), row(state, 2), row(state, 3)
    leak = (c[_C_GL], c[_C_EL], c[_C_EEX], c[_C_EIN], c[_C_IE])
    dt_over_c, p_ex, p_in = c[_C_DT_OVER_C], c[_C_PEX], c[_C_PIN]
    in_ex, in_in = row(syn_in, 0), row(syn_in, 1)
    for i in range(v.shape[0]):
        hold_while_refractory(v, ref, i, v_step(v[i], g_ex[i], g_in[i], i_in[i], dt_over_c, leak))
        decay_exponential_synapses(g_ex, g_in, p_ex, p_in, in_ex, in_in, i)
    return adaptive_threshold_and_reset(v, ref, row(state, 4), c[_C_VTH], c[_C_VRESET], c[_C_REF], c[_C_THETA_PLUS],
                                        c[_C_THETA_DECAY], spikes_out)


@njit(cache=True, inline="always")
def _euler(v, g_ex, g_in, i_stim, dt_over_c, leak):
    """V after one forward Euler step (Brian2's method='euler')."""
    g_l, e_l, e_ex, e_in, i_e = leak
    return v + (g_l * (e_l - v) + g_ex * (e_ex - v) + g_in * (e_in - v) + i_e + i_stim) * dt_over_c


@njit(cache=True, boundscheck=False)
def cond_exp_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _cond_exp_step(_euler, state, c, syn_in, i_in, spikes_out)


@njit(cache=True, inline="always")
def _exponential_euler(v, g_ex, g_in, i_stim, dt_over_c, leak):
    """V relaxed over the step towards its steady state at the conductances of the start of the step."""
    return relax_membrane(v, g_ex, g_in, i_stim, dt_over_c, 1.0, leak)


@njit(cache=True, boundscheck=False)
def cond_exp_exponential_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _cond_exp_step(_exponential_euler, state, c, syn_in, i_in, spikes_out)


IAF_COND_EXP = lif_model("iaf_cond_exp", EXP_CONDUCTANCE, COND_EXP_INTEGRATION, cond_exp_constants,
                         {"exponential_euler": cond_exp_exponential_euler, "euler": cond_exp_euler},
                         (BRETTE_2007, DIEHL_COOK_2015), extra_parameters=ADAPTIVE_THRESHOLD,
                         extra_state=(StateVariable("theta", "mV", "adaptive threshold increment"),))
