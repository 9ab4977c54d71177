"""The synapse types of the neuron models: what a spike does, in which state variables, with which time constants.

Every model has two receptors, "excitatory" and "inhibitory" (X = ex, in
below). A spike of weight w changes the receptor's synaptic current
(pA, signed as in NEST) or conductance (nS, >= 0):

    exponential: dI_X/dt = -I_X / tau_syn_X, the spike adds w to I_X
    alpha:       I_X(t) = w (t/tau_syn_X) e^{1 - t/tau_syn_X} after the spike
                 (the pair dI_X/dt = dI_dot_X - I_X/tau_syn_X,
                 d(dI_dot_X)/dt = -dI_dot_X/tau_syn_X, the spike adding w e/tau_syn_X
                 to the drive dI_dot_X)

How each model integrates them is up to its kernel (see integrators.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from neurobox.neurons.base import Parameter, StateVariable, positive

RECEPTORS = ("excitatory", "inhibitory")

_KIND = {  # receptor kind -> (symbol of the synaptic variable of receptor X, unit of a weight, its noun)
    "current": ("I_syn_{}", "pA", "synaptic current"),
    "conductance": ("g_{}", "nS", "conductance"),
}


@dataclass(frozen=True)
class Synapse:
    """A synapse type: `shape` "exponential" or "alpha", `receptor_kind` "current" or "conductance"."""

    shape: str
    receptor_kind: str

    @property
    def description(self) -> str:
        """E.g. "alpha-shaped conductance-based synapses"."""
        shape = "exponential" if self.shape == "exponential" else "alpha-shaped"
        return f"{shape} {self.receptor_kind}-based synapses"

    @property
    def equation(self) -> str:
        """The synaptic variable of receptor X (ex, in) and what a spike of weight w does to it."""
        symbol, unit, _ = _KIND[self.receptor_kind]
        x = symbol.format("X")
        if self.shape == "exponential":
            return f"d{x}/dt = -{x} / tau_syn_X   (a spike adds its weight w, {unit})"
        return f"{x}(t) = w (t/tau_syn_X) e^{{1 - t/tau_syn_X}} per spike of weight w ({unit})"

    @property
    def state(self) -> tuple[StateVariable, ...]:
        """The state variables, excitatory receptor first, all starting at 0; an alpha synapse's drive
        (dI_X, pA/ms, or dg_X, nS/ms) comes before its value."""
        symbol, unit, noun = _KIND[self.receptor_kind]
        out: list[StateVariable] = []
        for x, receptor in zip(("ex", "in"), RECEPTORS):
            if self.shape == "alpha":
                out.append(StateVariable(f"d{symbol[0]}_{x}", f"{unit}/ms",
                                         f"derivative drive of the {receptor} alpha {self.receptor_kind}"))
            out.append(StateVariable(symbol.format(x), unit, f"{receptor} {noun}"))
        return tuple(out)

    def time_constants(self, tau_ex: float, tau_in: float) -> tuple[Parameter, Parameter]:
        """The parameters tau_syn_ex and tau_syn_in (ms, > 0) with these defaults."""
        if self.shape == "exponential":
            what = "time constant of the {} " + _KIND[self.receptor_kind][2]
        else:
            what = "rise time of the {} alpha " + self.receptor_kind
        return (positive("tau_syn_ex", tau_ex, "ms", what.format("excitatory")),
                positive("tau_syn_in", tau_in, "ms", what.format("inhibitory")))


EXP_CURRENT = Synapse("exponential", "current")
EXP_CONDUCTANCE = Synapse("exponential", "conductance")
ALPHA_CURRENT = Synapse("alpha", "current")
ALPHA_CONDUCTANCE = Synapse("alpha", "conductance")
