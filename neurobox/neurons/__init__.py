"""Neuron models, one module per family; `get_model` looks one up by name."""
from __future__ import annotations

from neurobox.checks import choice
from neurobox.neurons.base import NeuronModel, Parameter, StateVariable
from neurobox.neurons.adex import AEIF_COND_EXP, AEIF_PSC_EXP
from neurobox.neurons.delta import IAF_PSC_DELTA, LEAKY_INTEGRATOR
from neurobox.neurons.eprop import EPROP_IAF, EPROP_IAF_ADAPT, EPROP_READOUT
from neurobox.neurons.hodgkin_huxley import HH_PSC_ALPHA
from neurobox.neurons.izhikevich import IZHIKEVICH, IZHIKEVICH2007
from neurobox.neurons.lif import IAF_COND_EXP, IAF_PSC_EXP
from neurobox.neurons.lif_alpha import IAF_COND_ALPHA, IAF_PSC_ALPHA
from neurobox.neurons.lif_fixed import IAF_PSC_EXP_FIXED
from neurobox.neurons.sources import POISSON_GENERATOR, SPIKE_GENERATOR

MODELS: dict[str, NeuronModel] = {
    m.name: m for m in (IAF_PSC_EXP, IAF_COND_EXP, IAF_PSC_ALPHA, IAF_COND_ALPHA, IZHIKEVICH, IZHIKEVICH2007,
                        AEIF_COND_EXP, AEIF_PSC_EXP, HH_PSC_ALPHA, IAF_PSC_EXP_FIXED, POISSON_GENERATOR,
                        SPIKE_GENERATOR, IAF_PSC_DELTA, LEAKY_INTEGRATOR, EPROP_IAF, EPROP_IAF_ADAPT, EPROP_READOUT)
}


def get_model(name: str, field_path: str = "model") -> NeuronModel:
    """The model called `name`, or a ConfigError listing the valid names."""
    if isinstance(name, NeuronModel):
        return name
    return MODELS[choice(name, sorted(MODELS), field_path, "model", "valid models")]


__all__ = ["MODELS", "NeuronModel", "Parameter", "StateVariable", "get_model"]
