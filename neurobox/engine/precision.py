"""Which model, parameters, state and weights the engine uses for a precision; the integer scales of a population.

`precision = "float"` runs every population as described. `precision =
"fixed"` runs the network in the integer arithmetic the chips run
(neurobox.neurons.lif_fixed, neurobox.plasticity.stdp_fixed and
rstdp_fixed): every `iaf_psc_exp` population becomes `iaf_psc_exp_fixed`
with the same NEST parameters, its state and its incoming weights are
rounded to integers of V_lsb (mV) and I_lsb (pA), and pair STDP and
reward-modulated STDP become the integer rules. Spike sources are
unchanged. Traces of a fixed population are integers in V_lsb / I_lsb.

The scales of a population are its `fixed_point` option where given, and
otherwise chosen from what reaches it (`choose_scales`): I_lsb is the
finest of 0.25, 0.5, 1, 2, ... pA at which its largest incoming weight (or
plastic bound, or I_e) still leaves room for a second one in int16, and
V_lsb the finest of 2**-8, 2**-7, ... mV that holds its threshold and
reset. The same choice serves every physical target (neurobox.hardware.board),
so the engine, the twin, the firmware and the FPGA cells agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurobox.errors import ConfigError
from neurobox.neurons.base import NeuronModel
from neurobox.neurons.lif_fixed import (DEFAULT_I_LSB, DEFAULT_V_LSB, IAF_PSC_EXP_FIXED, INT16_MAX, INT16_MIN)
from neurobox.plasticity.rules import (FIXED_RSTDP, FIXED_STDP, N_CONSTANTS, P_A_MINUS, P_A_PLUS, P_DECAY_C,
                                       P_DECAY_X1, P_DECAY_Y1, P_HALVE_EVERY, P_HALVINGS, P_LEARN, P_NORM_TO,
                                       P_RULE, P_W_MAX, P_W_MIN, Plasticity)

FIXED_COUNTERPART = {"iaf_psc_exp": IAF_PSC_EXP_FIXED}
HEADROOM = INT16_MAX // 2
"""The largest weight (in LSB) a chosen scale allows: two coincident ones still fit int16."""


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


def choose_scales(pop, largest_weight_pA: float = 0.0) -> tuple[float, float]:
    """(V_lsb mV, I_lsb pA) of a population in fixed point: its `fixed_point` option, else chosen.

    largest_weight_pA: the largest |weight| that can reach it (drawn weights and plastic bounds).
    """
    declared = getattr(pop, "fixed_point", {}) or {}
    p = pop.params
    i_lsb = declared.get("I_lsb") or p.get("I_lsb")
    if i_lsb is None:
        largest = max(abs(largest_weight_pA), abs(p.get("I_e", 0.0)))
        i_lsb = DEFAULT_I_LSB
        while largest / i_lsb > HEADROOM:
            i_lsb *= 2.0
    v_lsb = declared.get("V_lsb") or p.get("V_lsb")
    if v_lsb is None:
        span = max(abs(p["V_th"] - p["E_L"]), abs(p["V_reset"] - p["E_L"]))
        v_lsb = DEFAULT_V_LSB
        while span / v_lsb > HEADROOM:
            v_lsb *= 2.0
    return float(v_lsb), float(i_lsb)


def engine_model(pop, precision: str, largest_weight_pA: float = 0.0) -> EngineModel:
    """The model, method and parameters population `pop` runs with under `precision`."""
    if precision == "fixed" and pop.model.name == "poisson_generator":  # a chip's unit fires once a tick at most
        return EngineModel(pop.model, "bernoulli", pop.params)
    if precision == "float" or pop.model.is_source:
        if pop.model is IAF_PSC_EXP_FIXED:
            params = {"V_lsb": DEFAULT_V_LSB, "I_lsb": DEFAULT_I_LSB, **pop.params}
            return EngineModel(pop.model, pop.method, params, params["V_lsb"], params["I_lsb"], params["E_L"])
        return EngineModel(pop.model, pop.method, pop.params)
    counterpart = FIXED_COUNTERPART.get(pop.model.name, pop.model if pop.model is IAF_PSC_EXP_FIXED else None)
    if counterpart is None:
        raise ConfigError(f"populations.{pop.name}.model",
                          f"{pop.model.name} has no fixed-point form; with precision = \"fixed\" the neuron "
                          f"models must be one of: {', '.join(FIXED_COUNTERPART)}")
    v_lsb, i_lsb = choose_scales(pop, largest_weight_pA)
    params = {**pop.params, "V_lsb": v_lsb, "I_lsb": i_lsb}
    return EngineModel(counterpart, counterpart.default_method, params, v_lsb, i_lsb, params["E_L"])


def largest_incoming_weights(net, synapses: dict) -> dict[str, float]:
    """Per population, the largest |weight| (pA) that reaches it: drawn weights and plastic bounds.

    synapses: projection name -> its drawn Synapses (neurobox.network.projection).
    """
    out: dict[str, float] = {name: 0.0 for name in net.populations}
    for name, syn in synapses.items():
        proj = net.projections[name]
        largest = float(np.abs(syn.weight).max(initial=0.0))
        if proj.plasticity is not None:
            largest = max(largest, abs(proj.plasticity.params["w_min"]), abs(proj.plasticity.params["w_max"]))
        out[proj.post.name] = max(out[proj.post.name], largest)
    return out


def fixed_state(em: EngineModel, state: np.ndarray, field: str) -> np.ndarray:
    """Float initial state (mV, pA) of an iaf_psc_exp population as the fixed model's integers."""
    out = np.zeros((len(em.model.state), state.shape[1]))
    out[:state.shape[0]] = state
    out[0] = np.rint((state[0] - em.offset_mV) / em.v_lsb)
    out[1] = np.rint(state[1] / em.i_lsb)
    out[2] = np.rint(state[2] / em.i_lsb)
    if state.shape[0] > 4:                          # the float model's adaptive threshold, mV
        out[4] = np.rint(state[4] / em.v_lsb)
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
    """The constants of the integer rule (FIXED_STDP or FIXED_RSTDP) for the compiled kernel."""
    from neurobox.plasticity.rstdp_fixed import fixed_rstdp_parameters
    from neurobox.plasticity.stdp_fixed import fixed_stdp_parameters

    c = np.zeros(N_CONSTANTS)
    c[P_LEARN] = 1.0 if (learning and rule.learning) else 0.0
    if rule.rule == "rstdp" and rule.mode == "additive" and rule.params["normalize_to"] == 0:
        keys = ("tau_plus", "tau_c", "tau_d", "A_plus", "A_minus", "w_min", "w_max")
        fp = fixed_rstdp_parameters({k: rule.params[k] for k in keys}, dt, i_lsb, field)
        c[P_RULE] = FIXED_RSTDP
        c[P_DECAY_X1], c[P_DECAY_C], c[P_A_PLUS] = fp.k_pre, fp.k_c, fp.a_plus
        c[P_W_MIN], c[P_W_MAX] = fp.w_min, fp.w_max
        return c
    if rule.rule != "stdp" or rule.mode != "additive" or rule.pairing != "all_to_all":
        raise ConfigError(field, "with precision = \"fixed\" plasticity must be additive all-to-all pair STDP "
                                 "(rule = \"stdp\") or additive reward-modulated STDP (rule = \"rstdp\"), "
                                 "as the chips run them")
    keys = ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max", "halve_every", "halvings",
            "normalize_to", "normalize_every_ms")
    fp = fixed_stdp_parameters({k: rule.params[k] for k in keys}, dt, i_lsb, field)
    c[P_RULE] = FIXED_STDP
    c[P_DECAY_X1], c[P_DECAY_Y1] = fp.k_plus, fp.k_minus
    c[P_A_PLUS], c[P_A_MINUS] = fp.a_plus, fp.a_minus
    c[P_W_MIN], c[P_W_MAX] = fp.w_min, fp.w_max
    c[P_HALVE_EVERY], c[P_HALVINGS], c[P_NORM_TO] = fp.halve_every, fp.halvings, fp.norm_target
    return c
