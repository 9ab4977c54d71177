"""The neurons of e-prop (Bellec et al. 2020) as NEST 3.10 models them: `eprop_iaf`, `eprop_iaf_adapt`, `eprop_readout`.

Delta synapses: a spike adds its weight (NEST calls it pA) straight to V_m
(mV), in the step it arrives, scaled by P_z = 1 (`regular_spike_arrival`
= 1, the default) or 1 - exp(-dt/tau_m) (0, NEST's `_bsshslm_2020`
option). Weights of either sign reach either receptor (receptor kind
"signed"). One step, in NEST's order (v = V_m - E_L)::

    r > 0: r -= 1                                       (refractory steps left)
    v <- exp(-dt/tau_m) v + P_z (spikes arriving) + tau_m/C_m (1 - exp(-dt/tau_m)) I_in;  I_in <- I_e + I_stim
    v <- max(v, V_min - E_L)
    a <- exp(-dt/adapt_tau) a + z                       (eprop_iaf_adapt; z: last step's spike)
    v >= V_th - E_L + adapt_beta a and r == 0: spike z = 1, v -= V_th - E_L, r = t_ref/dt

`eprop_readout` is the same membrane without threshold: its V_m is the
readout signal y. The e-prop parameters (surrogate gradient, kappa, the
firing-rate regularisation c_reg and f_target, the trace cutoff) are
read by the trainer (neurobox.engine.eprop); the engine's kernels here
only run the neurons, so a trained network runs like any other. The
surrogate gradient is NEST's default "piecewise_linear":
psi = height max(0, 1 - |v - V_th_adapt| / width), 0 while refractory.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurobox.neurons.base import NeuronModel, Parameter, StateVariable, any_value, non_negative, positive
from neurobox.neurons.integrators import row
from neurobox.neurons.parameters import MEMBRANE_POTENTIAL, REFRACTORY_STEPS, shared
from neurobox.neurons.synapses import RECEPTORS

NEST = "NEST 3.10 models eprop_iaf, eprop_iaf_adapt, eprop_readout (and their _bsshslm_2020 variants)."
BELLEC = ("Bellec G et al. (2020) A solution to the learning dilemma for recurrent networks of spiking neurons. "
          "Nat Commun 11:3625.")
INTEGRATION = ("exact integration of the leak over each step; arriving spikes added to V_m in their step; reset by "
               "subtraction of the threshold")
NO_CUTOFF = 1e9
"""Default of eprop_isi_trace_cutoff (NEST: infinity): more steps than any run."""

STEP = ("r > 0: r -= 1\n"
        "v <- exp(-dt/tau_m) v + P_z (spikes arriving) + tau_m/C_m (1 - exp(-dt/tau_m)) I_in; I_in <- I_e + I_stim\n"
        "v <- max(v, V_min - E_L)\n"
        "a <- exp(-dt/adapt_tau) a + z   (eprop_iaf_adapt; z: last step's spike)\n"
        "v >= V_th - E_L + adapt_beta a and r == 0: spike, v -= V_th - E_L, r = t_ref/dt")

# Indices into the constants array.
C_EL, C_DECAY, C_GAIN, C_IE, C_VTH, C_VMIN, C_REF, C_PZ, C_ADAPT_DECAY, C_BETA = range(10)

_MEMBRANE = shared(C_m=250.0, E_L=-70.0, I_e=0.0)
_V_MIN = any_value("V_min", -1.7976931348623157e308, "mV", "lower bound of V_m")
_ARRIVAL = Parameter("regular_spike_arrival", 1.0, "", "1: a spike adds its weight to V_m; 0: weight x "
                     "(1 - exp(-dt/tau_m)) (NEST's _bsshslm_2020 option)", low=0.0, high=1.0)
_CUTOFF = positive("eprop_isi_trace_cutoff", NO_CUTOFF, "steps", "a synapse's eligibility counts only this "
                   "many steps after its last pre spike (default: no cutoff)")
_RECURRENT = _MEMBRANE + (
    positive("tau_m", 10.0, "ms", "membrane time constant"),
    any_value("V_th", -55.0, "mV", "spike threshold (reset subtracts V_th - E_L)"),
    _V_MIN,
    non_negative("t_ref", 2.0, "ms", "refractory period (NEST: t_ref/dt - 1 steps blocked)"),
    _ARRIVAL,
    non_negative("c_reg", 0.0, "", "coefficient of the firing-rate regularisation"),
    non_negative("f_target", 10.0, "spikes/s", "target firing rate of the regularisation"),
    Parameter("kappa", 0.97, "", "low-pass filter of the eligibility trace (online e-prop)", low=0.0, high=1.0),
    Parameter("kappa_reg", 0.97, "", "low-pass filter of the firing rate for the regularisation (online e-prop)",
              low=0.0, high=1.0),
    non_negative("surrogate_gradient_height", 0.3, "", "height of the piecewise linear pseudo-derivative"),
    positive("surrogate_gradient_width", 1.0, "mV", "half width of the piecewise linear pseudo-derivative"),
    _CUTOFF,
)
_ADAPT = (
    non_negative("adapt_beta", 1.0, "", "threshold increase per unit of adaptation (mV)"),
    positive("adapt_tau", 10.0, "ms", "time constant of the adaptation"),
)
_READOUT = _MEMBRANE[:1] + (any_value("E_L", 0.0, "mV", "leak reversal potential"),) + _MEMBRANE[2:] + (
    positive("tau_m", 10.0, "ms", "membrane time constant (its exp(-dt/tau_m) filters the readout)"),
    _V_MIN,
    _ARRIVAL,
    _CUTOFF,
)


def eprop_constants(p, dt, n):
    """The constants of one step (layout C_*): potentials relative to E_L."""
    decay = math.exp(-dt / p["tau_m"])
    el = p["E_L"]
    return np.array([el, decay, p["tau_m"] / p["C_m"] * (1.0 - decay), p["I_e"], p.get("V_th", el) - el,
                     max(p["V_min"] - el, -1.7976931348623157e308),
                     float(round(p.get("t_ref", 0.0) / dt)),
                     1.0 if p["regular_spike_arrival"] >= 0.5 else 1.0 - decay,
                     math.exp(-dt / p["adapt_tau"]) if "adapt_tau" in p else 0.0, p.get("adapt_beta", 0.0)])


@njit(cache=True, boundscheck=False)
def eprop_kernel(state, c, syn_in, i_in, rng, step_index, spikes_out):
    """One step of eprop_readout (state rows V_m, I_in), eprop_iaf (+ ref_steps, z) or eprop_iaf_adapt
    (+ adaptation): see the module text. As NEST, the current drives V_m from the step after it is given."""
    v = row(state, 0)
    current = row(state, 1)
    n_state = state.shape[0]
    n = 0
    for i in range(v.shape[0]):
        x = c[C_DECAY] * (v[i] - c[C_EL]) + c[C_PZ] * (syn_in[0, i] + syn_in[1, i]) + c[C_GAIN] * current[i]
        syn_in[0, i] = 0.0
        syn_in[1, i] = 0.0
        current[i] = c[C_IE] + i_in[i]
        x = max(x, c[C_VMIN])
        if n_state > 2:
            ref = row(state, 2)
            z = row(state, 3)
            if ref[i] > 0.0:
                ref[i] -= 1.0
            threshold = c[C_VTH]
            if n_state > 4:
                a = c[C_ADAPT_DECAY] * state[4, i] + z[i]
                state[4, i] = a
                threshold += c[C_BETA] * a
            z[i] = 0.0
            if x >= threshold and ref[i] == 0.0:
                z[i] = 1.0
                x -= c[C_VTH]
                ref[i] = c[C_REF]
                spikes_out[n] = i
                n += 1
        v[i] = x + c[C_EL]
        if math.isnan(x):
            return -1 - i
    return n


_CURRENT = StateVariable("I_in", "pA", "I_e plus the stimulus current of the last step (it drives this step)")
_ADAPTATION = StateVariable("adaptation", "", "spike-triggered adaptation a (threshold V_th + adapt_beta a)")

EPROP_IAF = NeuronModel(
    name="eprop_iaf",
    summary="Leaky integrate-and-fire neuron of e-prop: delta synapses, reset by subtracting the threshold.",
    equations=STEP,
    integration=INTEGRATION,
    parameters=_RECURRENT,
    state=(MEMBRANE_POTENTIAL, _CURRENT, REFRACTORY_STEPS, StateVariable("z", "", "the spike of the last step (0 or 1)")),
    receptors=RECEPTORS,
    receptor_kind="signed",
    constants=eprop_constants,
    methods={"exact": eprop_kernel},
    references=(NEST, BELLEC),
)

EPROP_IAF_ADAPT = NeuronModel(
    name="eprop_iaf_adapt",
    summary="Adaptive LIF neuron of e-prop (ALIF): threshold V_th + adapt_beta a, a decaying with adapt_tau.",
    equations=EPROP_IAF.equations,
    integration=INTEGRATION,
    parameters=_RECURRENT + _ADAPT,
    state=EPROP_IAF.state + (_ADAPTATION,),
    receptors=RECEPTORS,
    receptor_kind="signed",
    constants=eprop_constants,
    methods={"exact": eprop_kernel},
    references=(NEST, BELLEC),
)

EPROP_READOUT = NeuronModel(
    name="eprop_readout",
    summary="Leaky readout of e-prop: delta synapses, never fires; V_m is the readout signal y.",
    equations="v <- exp(-dt/tau_m) v + P_z (spikes arriving) + tau_m/C_m (1 - exp(-dt/tau_m)) I_in; "
              "I_in <- I_e + I_stim; y = V_m",
    integration=INTEGRATION,
    parameters=_READOUT,
    state=(StateVariable("V_m", "mV", "membrane potential: the readout signal y", "E_L"), _CURRENT),
    receptors=RECEPTORS,
    receptor_kind="signed",
    constants=eprop_constants,
    methods={"exact": eprop_kernel},
    references=(NEST, BELLEC),
)
