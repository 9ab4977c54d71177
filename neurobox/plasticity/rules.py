"""Local learning rules: what a plastic projection's synapses do with spike timing.

Every rule is local: a synapse changes from its own pre- and postsynaptic
spikes (through traces), plus, for reward-modulated STDP, one dopamine
level broadcast to all synapses. Parameters follow the usual names;
weights and their bounds are in the projection's weight unit (pA or nS).

Timing convention (shared with the fixed-point rule the chips run): a pre
spike counts when it arrives at the synapse (emission time + delay); in
each step the traces decay, arriving pre spikes depress with the post
trace, post spikes potentiate with the pre trace, and only then are this
step's spikes added to the traces, so a pre and a post spike in the same
step form no pair. A spike is delivered with the weight it has before the
update of its arrival step.

Rules
-----
stdp      pair-based STDP. Δw for a pair with lag Δt = t_post - t_pre > 0 is
          +A_plus exp(-Δt/tau_plus) [x (w_max - w) when multiplicative],
          for Δt < 0 it is -A_minus exp(Δt/tau_minus) [x (w - w_min)].
          pairing = "all_to_all" (traces add 1 per spike) or "nearest"
          (traces reset to 1: only the nearest neighbours pair).
          Weights are clipped to [w_min, w_max] (hard bounds).
triplet   Pfister & Gerstner (2006), all-to-all minimal model: pre traces
          r1 (tau_plus), r2 (tau_x), post traces o1 (tau_minus), o2 (tau_y);
          pre spike: w -= o1 (A2_minus + A3_minus r2); post spike:
          w += r1 (A2_plus + A3_plus o2); r2, o2 read before their own bump.
rstdp     reward-modulated STDP (Izhikevich 2007): the pair rule above
          changes an eligibility trace c per synapse instead of w;
          dc/dt = -c/tau_c; the dopamine level d jumps by each reward
          (`Network.reward`) and decays with tau_d; dw/dt = c d.

eprop     e-prop (Bellec et al. 2020), as NEST 3.10's eprop_synapse: the
          synapses of a recurrent network of eprop_iaf / eprop_iaf_adapt
          neurons (input -> recurrent, recurrent -> recurrent without
          autapses, recurrent -> eprop_readout) learn from eligibility
          traces and a learning signal broadcast by the readouts. It is
          trained by neurobox.engine.eprop.EpropTrainer (dense, batched);
          the ordinary engine runs these synapses as static ones. The
          parameters are NEST's optimizer's: optimizer = "gradient_descent"
          (w -= eta g) or "adam" (beta_1, beta_2, epsilon), eta, Wmin, Wmax
          (weights clipped after each step), batch_size (NEST's; the
          trainer averages the gradient over the sequences of a batch);
          average_gradient (1: divide the gradient by the number of steps
          the loss counts, NEST's _bsshslm_2020 option). variant =
          "online" (NEST's eprop_iaf 2024: e_bar = kappa e_bar + e, the
          neuron's kappa, firing-rate regularisation low-pass filtered
          with kappa_reg) or "bsshslm_2020" (e_bar = kappa e_bar +
          (1 - kappa) e with kappa = exp(-dt/tau_m) of the readout,
          regularisation from each sequence's mean rate). The neurons keep
          the surrogate gradient, kappa, c_reg and f_target (as in NEST).
          feedback = "random" (NEST's examples: the learning signal of
          recurrent neuron j is L_j = sum_k B_jk (y_k - y*_k) with B the
          weights of a static projection from the readout population onto
          the recurrent one, NEST's eprop_learning_signal_connection; draw
          it like any projection, from the network's seed) or "symmetric"
          (B = W_out transposed, following the readout weights as they
          learn; no readout -> recurrent projection then). Every eprop
          projection of a network gives the same variant and feedback.

Homeostasis lives with the neurons (the adaptive threshold theta_plus,
tau_theta of the LIF models) and here as weight normalisation:
`normalize_to` (> 0) rescales, every `normalize_every_ms`, the incoming
weights of each post neuron so that they sum to that value; with
`normalize_every_ms = 0` a post neuron scales its incoming weights down
to that sum right after each of its spikes, when they exceed it (what a
unit does on chip). The pair rule's learning rate may follow a schedule
local to each post neuron: A_plus halves after every `halve_every` of its
spikes, at most `halvings` times.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Mapping

import numpy as np

from neurobox.checks import choice, flag, given
from neurobox.errors import ConfigError
from neurobox.neurons.base import Parameter, any_value, non_negative, positive

RULE_CODES = {"stdp": 0, "triplet": 1, "rstdp": 2}
TRAINER_RULES = ("eprop",)
"""Rules trained by a trainer of their own (neurobox.engine.eprop); the engine runs their synapses static."""
FIXED_STDP = 3
"""Engine code of the integer pair rule (neurobox.plasticity.stdp_fixed), used with precision = "fixed"."""
FIXED_RSTDP = 4
"""Engine code of the integer reward-modulated rule (neurobox.plasticity.rstdp_fixed)."""
PAIRINGS = ("all_to_all", "nearest")
MODES = ("additive", "multiplicative")

_COMMON = (
    any_value("w_min", 0.0, "weight unit", "lower weight bound"),
    any_value("w_max", 1.0, "weight unit", "upper weight bound"),
    non_negative("normalize_to", 0.0, "weight unit", "target sum of each post neuron's incoming weights (0: off)"),
    non_negative("normalize_every_ms", 100.0, "ms", "period of the weight normalisation (0: after each post "
                                                      "spike, scaling down only)"),
)

PARAMETERS: dict[str, tuple[Parameter, ...]] = {
    "stdp": (
        positive("tau_plus", 16.8, "ms", "time constant of the pre trace (potentiation window)"),
        positive("tau_minus", 33.7, "ms", "time constant of the post trace (depression window)"),
        non_negative("A_plus", 0.01, "weight unit", "potentiation at zero lag"),
        non_negative("A_minus", 0.01, "weight unit", "depression at zero lag"),
        non_negative("halve_every", 0.0, "spikes", "A_plus halves after every this many spikes of the post "
                                                     "neuron (0: never)"),
        non_negative("halvings", 0.0, "", "at most this many halvings"),
    ) + _COMMON,
    "triplet": (
        positive("tau_plus", 16.8, "ms", "pre trace r1"),
        positive("tau_x", 101.0, "ms", "slow pre trace r2"),
        positive("tau_minus", 33.7, "ms", "post trace o1"),
        positive("tau_y", 125.0, "ms", "slow post trace o2"),
        non_negative("A2_plus", 5e-10, "weight unit", "pair potentiation"),
        non_negative("A3_plus", 6.2e-3, "weight unit", "triplet potentiation"),
        non_negative("A2_minus", 7e-3, "weight unit", "pair depression"),
        non_negative("A3_minus", 2.3e-4, "weight unit", "triplet depression"),
    ) + _COMMON,
    "rstdp": (
        positive("tau_plus", 20.0, "ms", "time constant of the pre trace"),
        positive("tau_minus", 20.0, "ms", "time constant of the post trace"),
        non_negative("A_plus", 1.0, "weight unit", "eligibility added by a causal pair at zero lag"),
        non_negative("A_minus", 1.5, "weight unit", "eligibility removed by an anti-causal pair at zero lag"),
        positive("tau_c", 1000.0, "ms", "time constant of the eligibility trace"),
        positive("tau_d", 200.0, "ms", "time constant of the dopamine level"),
    ) + _COMMON,
    "eprop": (
        positive("eta", 1e-4, "", "learning rate"),
        Parameter("beta_1", 0.9, "", "Adam: decay of the first moment", low=0.0, high=1.0, high_open=True),
        Parameter("beta_2", 0.999, "", "Adam: decay of the second moment", low=0.0, high=1.0, high_open=True),
        non_negative("epsilon", 1e-7, "", "Adam: added to the root of the second moment"),
        any_value("Wmin", -100.0, "pA", "lower weight bound"),
        any_value("Wmax", 100.0, "pA", "upper weight bound"),
        Parameter("batch_size", 1.0, "sequences", "NEST's optimizer batch size (the trainer averages over the "
                  "batch it is given)", low=1.0),
        Parameter("average_gradient", 0.0, "", "1: divide the gradient by the steps the loss counts "
                  "(NEST's _bsshslm_2020 option)", low=0.0, high=1.0),
    ),
}
STRING_OPTIONS = {"stdp": ("mode", "pairing"), "triplet": (), "rstdp": ("mode", "pairing"),
                  "eprop": ("optimizer", "feedback", "variant")}
EPROP_CHOICES = {"optimizer": ("gradient_descent", "adam"), "feedback": ("random", "symmetric"),
                 "variant": ("online", "bsshslm_2020")}
"""The string options of rule eprop, default first."""

# Layout of the constants array the compiled rule reads.
(P_RULE, P_LEARN, P_MULT, P_NEAREST, P_DECAY_X1, P_DECAY_X2, P_DECAY_Y1, P_DECAY_Y2,
 P_A_PLUS, P_A_MINUS, P_A3_PLUS, P_A3_MINUS, P_W_MIN, P_W_MAX, P_DECAY_C, P_DECAY_D, P_DT,
 P_NORM_TO, P_NORM_EVERY) = range(19)
P_HALVE_EVERY, P_HALVINGS = 19, 20
N_CONSTANTS = 21


@dataclass
class Plasticity:
    """A checked learning rule for one projection."""

    rule: str
    params: dict[str, float]
    mode: str = "additive"
    pairing: str = "all_to_all"
    learning: bool = True
    options: dict[str, str] = dataclass_field(default_factory=dict)
    """Rule eprop's string options (EPROP_CHOICES), all present."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, **self.params}
        if "mode" in STRING_OPTIONS[self.rule]:
            out.update({"mode": self.mode, "pairing": self.pairing})
        out.update(self.options)
        if not self.learning:
            out["learning"] = False
        return out

    def constants_at(self, dt: float, learning: bool, field: str) -> np.ndarray:
        """`constants(dt, learning)`, or a ConfigError naming `field` when one overflows or is not finite."""
        try:
            with np.errstate(all="ignore"):
                c = self.constants(dt, learning)
        except (ArithmeticError, ValueError):
            c = None
        if c is None or not np.all(np.isfinite(c)):
            raise ConfigError(field, f"these parameters make the rule's constants overflow or not finite at "
                                     f"dt = {dt:g} ms: {given(self.params)}; allowed: values giving finite constants")
        return c

    def constants(self, dt: float, learning: bool = True) -> np.ndarray:
        """The float64 constants the compiled rule reads (layout P_* above); zeros for a trainer's rule."""
        p = self.params
        c = np.zeros(N_CONSTANTS)
        if self.rule in TRAINER_RULES:
            return c
        c[P_RULE] = RULE_CODES[self.rule]
        c[P_LEARN] = 1.0 if (learning and self.learning) else 0.0
        c[P_MULT] = 1.0 if self.mode == "multiplicative" else 0.0
        c[P_NEAREST] = 1.0 if self.pairing == "nearest" else 0.0
        c[P_DECAY_X1] = math.exp(-dt / p["tau_plus"])
        c[P_DECAY_Y1] = math.exp(-dt / p["tau_minus"])
        if self.rule == "triplet":
            c[P_DECAY_X2] = math.exp(-dt / p["tau_x"])
            c[P_DECAY_Y2] = math.exp(-dt / p["tau_y"])
            c[P_A_PLUS], c[P_A_MINUS] = p["A2_plus"], p["A2_minus"]
            c[P_A3_PLUS], c[P_A3_MINUS] = p["A3_plus"], p["A3_minus"]
        else:
            c[P_A_PLUS], c[P_A_MINUS] = p["A_plus"], p["A_minus"]
        if self.rule == "rstdp":
            c[P_DECAY_C] = math.exp(-dt / p["tau_c"])
            c[P_DECAY_D] = math.exp(-dt / p["tau_d"])
        c[P_W_MIN], c[P_W_MAX] = p["w_min"], p["w_max"]
        c[P_DT] = dt
        c[P_NORM_TO] = p["normalize_to"]
        c[P_NORM_EVERY] = max(1, round(p["normalize_every_ms"] / dt)) if p["normalize_every_ms"] > 0 else 0
        if self.rule == "stdp":
            c[P_HALVE_EVERY], c[P_HALVINGS] = p["halve_every"], p["halvings"]
        return c


def make_plasticity(spec: Any, field: str) -> Plasticity | None:
    """A Plasticity from a dict such as {"rule": "stdp", "A_plus": 0.01, ...} (None passes through)."""
    if spec is None or isinstance(spec, Plasticity):
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(field, "expected a table such as { rule = \"stdp\", A_plus = 0.01, ... }")
    spec = dict(spec)
    if "rule" not in spec:
        raise ConfigError(f"{field}.rule", f"is required (a learning rule); valid: {', '.join(PARAMETERS)}")
    rule = choice(spec.pop("rule"), PARAMETERS, f"{field}.rule", "learning rule")
    table = {p.name: p for p in PARAMETERS[rule]}
    options = STRING_OPTIONS[rule]
    chosen = {key: choice(spec.pop(key, valid[0]), valid, f"{field}.{key}", key)
              for key, valid in EPROP_CHOICES.items() if key in options}
    mode = spec.pop("mode", "additive") if "mode" in options else "additive"
    pairing = spec.pop("pairing", "all_to_all") if "pairing" in options else "all_to_all"
    learning = spec.pop("learning", True)
    mode = choice(mode, MODES, f"{field}.mode", "mode")
    pairing = choice(pairing, PAIRINGS, f"{field}.pairing", "pairing")
    learning = flag(learning, f"{field}.learning")
    params = {p.name: p.default for p in PARAMETERS[rule]}
    for key, value in spec.items():
        if key not in table:
            valid = ", ".join(list(table) + list(options) + ["learning"])
            raise ConfigError(f"{field}.{key}", f"unknown parameter of rule {rule}; valid: {valid}")
        params[key] = table[key].check(value, f"{field}.{key}")
    low, high = bound_names(rule)
    if params[high] < params[low]:
        raise ConfigError(f"{field}.{high}", f"must be >= {low} ({params[low]:g}), got {params[high]:g}")
    return Plasticity(rule, params, mode, pairing, learning, chosen)


def bound_names(rule: str) -> tuple[str, str]:
    """The names of a rule's weight bounds: (w_min, w_max), or NEST's (Wmin, Wmax) for eprop."""
    return ("Wmin", "Wmax") if rule == "eprop" else ("w_min", "w_max")


def check_initial_weights(plasticity: Plasticity, weights: np.ndarray, field: str) -> None:
    """The initial weights must lie inside the rule's bounds."""
    if weights.size == 0:
        return
    low, high = bound_names(plasticity.rule)
    lo, hi = plasticity.params[low], plasticity.params[high]
    if weights.min() < lo or weights.max() > hi:
        raise ConfigError(field, f"initial weights span [{weights.min():g}, {weights.max():g}], outside the "
                                 f"plasticity bounds [{low}, {high}] = [{lo:g}, {hi:g}]")
