"""Parameters and state variables that several neuron models share, each defined once (NEST's names and units).

A model's table takes these with its own defaults (`shared`) and adds what
only it has; the synaptic ones come from its synapse type
(neurobox.neurons.synapses). The allowed ranges follow NEST: capacitances
and time constants > 0, conductances and refractory periods >= 0 (a leak
conductance of 0 makes a perfect integrator), potentials and currents any
finite value.
"""
from __future__ import annotations

import math
from dataclasses import replace

from neurobox.neurons.base import Parameter, StateVariable, any_value, non_negative, positive

_SHARED = {p.name: p for p in (
    positive("C_m", math.nan, "pF", "membrane capacitance"),
    positive("tau_m", math.nan, "ms", "membrane time constant"),
    non_negative("g_L", math.nan, "nS", "leak conductance"),
    any_value("E_L", math.nan, "mV", "leak reversal potential"),
    any_value("V_th", math.nan, "mV", "spike threshold"),
    any_value("V_reset", math.nan, "mV", "potential after a spike"),
    non_negative("t_ref", math.nan, "ms", "absolute refractory period"),
    any_value("E_ex", math.nan, "mV", "excitatory reversal potential"),
    any_value("E_in", math.nan, "mV", "inhibitory reversal potential"),
    any_value("I_e", math.nan, "pA", "constant external current"),
)}

MEMBRANE_POTENTIAL = StateVariable("V_m", "mV", "membrane potential", "E_L")
"""V_m, starting at E_L."""

REFRACTORY_STEPS = StateVariable("ref_steps", "steps", "refractory steps left")


def shared(**defaults: float) -> tuple[Parameter, ...]:
    """The shared definitions of the named parameters, with these defaults, in this order."""
    return tuple(replace(_SHARED[name], default=float(value)) for name, value in defaults.items())
