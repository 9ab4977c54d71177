"""Which model, parameters, state and weights the engine uses for a precision.

`precision = "float"` runs every population as described. `precision =
"fixed"` runs the network in the integer arithmetic the chips run
(neurobox.neurons.lif_fixed, neurobox.plasticity.stdp_fixed): every
`iaf_psc_exp` population becomes `iaf_psc_exp_fixed` with the same NEST
parameters, its state and its incoming weights are rounded to integers of
V_lsb (mV) and I_lsb (pA), and pair STDP becomes the integer rule. Spike
sources are unchanged. Traces of a fixed population are integers in
V_lsb / I_lsb (see `to_physical` for mV and pA).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurobox.errors import ConfigError
from neurobox.neurons.base import NeuronModel
from neurobox.neurons.lif_fixed import (DEFAULT_I_LSB, DEFAULT_V_LSB, IAF_PSC_EXP_FIXED, INT16_MAX, INT16_MIN)
from neurobox.plasticity.rules import Plasticity

FIXED_COUNTERPART = {"iaf_psc_exp": IAF_PSC_EXP_FIXED}


@dataclass(frozen=True)
class EngineModel:
    """The model the engine runs for one population, and how its numbers are scaled."""

    model: NeuronModel
    method: str
    params: dict
    v_lsb: float = 1.0      # mV per V_m unit (1 for float models)
    i_lsb: float = 1.0      # pA per current / weight unit
    offset_mV: float = 0.0  # V_m = offset + value * v_lsb

    @property
    def fixed(self) -> bool:
        return self.model is IAF_PSC_EXP_FIXED


def engine_model(pop, precision: str) -> EngineModel:
    """The model, method and parameters population `pop` runs with under `precision`."""
    if precision == "float" or pop.model.is_source:
        return EngineModel(pop.model, pop.method, pop.params)
    counterpart = FIXED_COUNTERPART.get(pop.model.name)
    if counterpart is None:
        raise ConfigError(f"populations.{pop.name}.model",
                          f"{pop.model.name} has no fixed-point form; with precision = \"fixed\" the neuron "
                          f"models must be one of: {', '.join(FIXED_COUNTERPART)}")
    params = {"V_lsb": DEFAULT_V_LSB, "I_lsb": DEFAULT_I_LSB, **pop.params}
    return EngineModel(counterpart, counterpart.default_method, params, params["V_lsb"], params["I_lsb"],
                       params["E_L"])


def fixed_state(em: EngineModel, state: np.ndarray, field: str) -> np.ndarray:
    """Float initial state (mV, pA) of an iaf_psc_exp population as the fixed model's integers."""
    out = state.copy()
    out[0] = np.rint((state[0] - em.offset_mV) / em.v_lsb)
    out[1] = np.rint(state[1] / em.i_lsb)
    out[2] = np.rint(state[2] / em.i_lsb)
    if out[:3].size and (out[:3].min() < INT16_MIN or out[:3].max() > INT16_MAX):
        raise ConfigError(f"{field}.initial", "initial V_m or currents do not fit int16 at this V_lsb / I_lsb")
    return out


def fixed_weights(weights: np.ndarray, i_lsb: float, field: str) -> np.ndarray:
    """Weights (pA) as int16 numbers of I_lsb (held in float64)."""
    w = np.rint(np.asarray(weights, dtype=np.float64) / i_lsb)
    if w.size and (w.min() < INT16_MIN or w.max() > INT16_MAX):
        raise ConfigError(field, f"weights must fit int16 in units of I_lsb = {i_lsb:g} pA "
                                 f"(|w| <= {INT16_MAX * i_lsb:g} pA)")
    return w


def fixed_plasticity_constants(rule: Plasticity, dt: float, i_lsb: float, field: str, learning: bool) -> np.ndarray:
    """The constants of the integer pair rule (rule code FIXED_STDP) for the compiled kernel."""
    from neurobox.plasticity.rules import (FIXED_STDP, N_CONSTANTS, P_A_MINUS, P_A_PLUS, P_DECAY_X1, P_DECAY_Y1,
                                           P_LEARN, P_RULE, P_W_MAX, P_W_MIN)
    from neurobox.plasticity.stdp_fixed import fixed_stdp_parameters
    if rule.rule != "stdp" or rule.mode != "additive" or rule.pairing != "all_to_all" \
            or rule.params["normalize_to"] > 0:
        raise ConfigError(field, "with precision = \"fixed\" plasticity must be additive all-to-all pair STDP "
                                 "(rule = \"stdp\") without normalisation, as the chips run it")
    keys = ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max")
    fp = fixed_stdp_parameters({k: rule.params[k] for k in keys}, dt, i_lsb, field)
    c = np.zeros(N_CONSTANTS)
    c[P_RULE] = FIXED_STDP
    c[P_LEARN] = 1.0 if (learning and rule.learning) else 0.0
    c[P_DECAY_X1], c[P_DECAY_Y1] = fp.k_plus, fp.k_minus
    c[P_A_PLUS], c[P_A_MINUS] = fp.a_plus, fp.a_minus
    c[P_W_MIN], c[P_W_MAX] = fp.w_min, fp.w_max
    return c
