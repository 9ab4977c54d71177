"""Neurons with delta synapses: an arriving spike moves V_m at once, by its weight in mV.

`iaf_psc_delta`: leaky integrate-and-fire (NEST's model of the same name,
its leak given as a conductance so that g_L = 0 is the perfect integrator)::

    C_m dV/dt = -g_L (V - E_L) + I_e + I_stim        (tau_m = C_m / g_L)
    a spike adds its weight (mV) to V in the step it arrives
    V >= V_th: spike, V <- V_reset, clamped for t_ref (arriving spikes are lost meanwhile)

`leaky_integrator`: the same membrane without a threshold; it never fires,
its V_m is its output (record it). g_L = 0 makes it a pure integrator.

These are NIR's LIF and IF (`iaf_psc_delta`) and LI and I
(`leaky_integrator`) nodes (neurobox.io.nir). Both are integrated exactly:
over a step V relaxes towards E_L + (I_e + I_stim) / g_L, then the step's
spikes are added, then the threshold is tested.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurobox.neurons.base import NeuronModel
from neurobox.neurons.integrators import hold_while_refractory, refractory_steps, row, threshold_and_reset
from neurobox.neurons.parameters import MEMBRANE_POTENTIAL, REFRACTORY_STEPS, shared
from neurobox.neurons.synapses import RECEPTORS

EXACT = ("exact integration of the linear membrane over each step (V relaxes towards its steady state for the "
         "step's current), then the step's spikes are added to V")
NEST = "NEST model iaf_psc_delta (here with g_L = C_m / tau_m)."
NIR = ("Pedersen JE et al. (2024) Neuromorphic intermediate representation: a unified instruction set for "
       "interoperable brain-inspired computing. Nat Commun 15:8122 (the LIF, IF, LI and I nodes).")
MEMBRANE = "C_m dV/dt = -g_L (V - E_L) + I_e + I_stim; a spike adds its weight (mV) to V"

# Indices into the constants array.
_EL, _DECAY, _GAIN, _IE, _VTH, _VRESET, _REF = range(7)


def delta_constants(p, dt, n):
    """E_L, the decay of V - E_L over a step, mV per pA of current held over a step, I_e, V_th, V_reset and
    the refractory steps (the last three only for iaf_psc_delta)."""
    rate = p["g_L"] / p["C_m"]  # 1/ms
    gain = -math.expm1(-dt * rate) / p["g_L"] if p["g_L"] > 0.0 else dt / p["C_m"]
    return np.array([p["E_L"], math.exp(-dt * rate), gain, p["I_e"], p.get("V_th", 0.0), p.get("V_reset", 0.0),
                     refractory_steps(p.get("t_ref", 0.0), dt)])


@njit(cache=True, inline="always")
def _membrane(v, c, syn_in, i_in, i):
    """V of neuron i after the step: relaxed over dt, plus this step's spikes (consumed)."""
    x = c[_EL] + c[_DECAY] * (v[i] - c[_EL]) + c[_GAIN] * (c[_IE] + i_in[i]) + syn_in[0, i] + syn_in[1, i]
    syn_in[0, i] = 0.0
    syn_in[1, i] = 0.0
    return x


@njit(cache=True, boundscheck=False)
def iaf_delta_exact(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v, ref = row(state, 0), row(state, 1)
    for i in range(v.shape[0]):
        hold_while_refractory(v, ref, i, _membrane(v, c, syn_in, i_in, i))
    return threshold_and_reset(v, ref, c[_VTH], c[_VRESET], c[_REF], spikes_out)


@njit(cache=True, boundscheck=False)
def li_delta_exact(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v = row(state, 0)
    for i in range(v.shape[0]):
        v[i] = _membrane(v, c, syn_in, i_in, i)
        if v[i] != v[i]:
            return -1 - i
    return 0


IAF_PSC_DELTA = NeuronModel(
    name="iaf_psc_delta",
    summary="Leaky (or, with g_L = 0, perfect) integrate-and-fire neuron with delta synapses (weights in mV).",
    equations=f"{MEMBRANE}\nV >= V_th: spike, V <- V_reset, clamped for t_ref",
    integration=EXACT,
    parameters=shared(C_m=250.0, g_L=25.0, E_L=-70.0, V_th=-55.0, V_reset=-70.0, t_ref=2.0, I_e=0.0),
    state=(MEMBRANE_POTENTIAL, REFRACTORY_STEPS),
    receptors=RECEPTORS,
    receptor_kind="current",
    constants=delta_constants,
    methods={"exact": iaf_delta_exact},
    references=(NEST, NIR),
)

LEAKY_INTEGRATOR = NeuronModel(
    name="leaky_integrator",
    summary="Leaky (or, with g_L = 0, pure) integrator with delta synapses (weights in mV); it never fires.",
    equations=f"{MEMBRANE}\nno threshold: V_m is the output",
    integration=EXACT,
    parameters=shared(C_m=250.0, g_L=25.0, E_L=-70.0, I_e=0.0),
    state=(MEMBRANE_POTENTIAL,),
    receptors=RECEPTORS,
    receptor_kind="current",
    constants=delta_constants,
    methods={"exact": li_delta_exact},
    references=(NIR,),
)
