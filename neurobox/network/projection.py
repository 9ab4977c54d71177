"""A projection: synapses from one population onto a receptor of another."""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurobox.checks import choice, number
from neurobox.errors import ConfigError
from neurobox.network import connectivity, memory, values
from neurobox.network.population import Population, lookup
from neurobox.plasticity.rules import check_initial_weights, make_plasticity
from neurobox.random import generator, kernel_state


@dataclass(frozen=True)
class Synapses:
    """The drawn synapses of a projection, sorted by (pre, post).

    weight: pA (current receptors) or nS (conductance receptors);
    delay_steps: whole time steps, >= 1.
    """

    pre: np.ndarray          # int32
    post: np.ndarray         # int32
    weight: np.ndarray       # float64, or float32 when `build(compact=True)`
    delay_steps: np.ndarray  # int32 (uint8 when one small delay for all)

    def __len__(self) -> int:
        return int(self.pre.size)


@dataclass(frozen=True)
class Connections:
    """The drawn synapses of a projection as the engine stores them: rows by pre neuron (CSR).

    Row i (synapses indptr[i] to indptr[i + 1]) holds pre neuron i's synapses, sorted by post neuron: the
    order of `Synapses`. One draw makes both (`Projection.connections`, `Projection.build`).
    """

    indptr: np.ndarray            # int64[n_pre + 1]
    targets: np.ndarray           # post neuron: uint16 (post population <= 65536 neurons) or int32
    weights: np.ndarray           # float32 (what the engine stores) or float64, one per synapse
    delays: np.ndarray | None     # whole steps, uint8 (uint16 past 255 steps), or None when all are equal
    delay: int                    # the common delay (steps) when delays is None
    shared_weight: float | None = None
    """The one weight of every synapse when the description gives a constant (weights then repeat it)."""

    def __len__(self) -> int:
        return int(self.targets.size)

    @property
    def weight(self) -> np.ndarray:
        """The weights (as Synapses.weight)."""
        return self.weights

    def pre(self) -> np.ndarray:
        """The pre neuron of each synapse, int32 (a new array: for small users)."""
        return np.repeat(np.arange(self.indptr.size - 1, dtype=np.int32), np.diff(self.indptr))

    def to_synapses(self) -> Synapses:
        """The pair lists (pre, post, weight, delay_steps) of the same synapses."""
        n = len(self)
        if self.delays is not None:
            delay_steps = self.delays.astype(np.int32)
        else:
            delay_steps = np.full(n, self.delay, dtype=np.uint8 if self.delay < 256 else np.int32)
        return Synapses(self.pre(), self.targets.astype(np.int32), self.weights, delay_steps)


class Projection:
    """Synapses from `pre` to `post` (Population objects or their names).

    rule:     a connection rule (see neurobox.network.connectivity) with its
              options as keywords (p=..., indegree=..., pre_ids=..., ...)
    weight:   pA for current receptors (excitatory >= 0, inhibitory <= 0,
              as NEST), nS for conductance receptors (>= 0); a constant,
              an array (one per synapse) or a distribution
    delay:    ms, >= dt; rounded to whole steps; constant, array or distribution
    receptor: a receptor of the post model ("excitatory", "inhibitory");
              None picks "inhibitory" for a negative current weight and
              "excitatory" otherwise
    p_transmit: None (every spike reaches every synapse), or the probability
              in [0, 1] that a spike is transmitted by a synapse (drawn per
              synapse and spike, as NEST's bernoulli_synapse); it may change
              between runs (a lossy link, a faulty bus)
    plasticity: a learning rule, e.g. {"rule": "stdp", "A_plus": 0.01, ...}
              (see neurobox.plasticity.rules); a plastic projection has one
              delay for all its synapses and initial weights inside [w_min, w_max]
    """

    def __init__(self, pre: Population | str, post: Population | str, rule: str = "all_to_all", *,
                 weight: Any = 1.0, delay: Any = 1.0, receptor: str | None = None,
                 name: str | None = None, plasticity: Any = None, p_transmit: float | None = None,
                 **rule_options: Any):
        self.pre = pre
        self.post = post
        self.rule = rule
        self.rule_options = dict(rule_options)
        self.name = name
        self.weight = weight
        self.delay = delay
        self.receptor = receptor
        self.plasticity = plasticity
        self.p_transmit = p_transmit
        self._checked: dict[str, Any] | None = None

    @property
    def field(self) -> str:
        return f"projections.{self.name}" if self.name else "projection"

    def resolve(self, populations: dict[str, Population], field: str, dt: float) -> None:
        """Bind population names to populations and check everything that needs no drawing."""
        self.pre = lookup(self.pre, populations, f"{field}.pre")
        self.post = lookup(self.post, populations, f"{field}.post")
        post_model = self.post.model
        if post_model.receptor_kind == "none":
            raise ConfigError(f"{field}.post", f"{post_model.name} ({self.post.name}) is a spike source "
                                               "and receives no synapses")
        self.weight = values.check_spec(self.weight, f"{field}.weight")
        self.delay = values.check_spec(self.delay, f"{field}.delay")
        if not isinstance(self.delay, dict):
            _check_delays(np.atleast_1d(self.delay), dt, f"{field}.delay")
        if self.receptor is None:
            self.receptor = "inhibitory" if (post_model.receptor_kind == "current"
                                             and _mean(self.weight) < 0) else "excitatory"
        choice(self.receptor, post_model.receptors, f"{field}.receptor", f"receptor of {post_model.name}")
        self._checked = connectivity.check_rule(self.rule, self.rule_options, self.pre.n, self.post.n, field)
        connectivity.check_degree(self.rule, self._checked, self.pre.n, self.post.n, self.pre is self.post, field)
        self._check_weight_sign(self.weight, f"{field}.weight")
        self.plasticity = make_plasticity(self.plasticity, f"{field}.plasticity")
        if self.plasticity is not None:
            self.plasticity.constants_at(dt, True, f"{field}.plasticity")
        if self.p_transmit is not None:
            check_probability(self.p_transmit, f"{field}.p_transmit")
            if self.plasticity is not None:
                raise ConfigError(f"{field}.p_transmit", "unreliable transmission on a plastic projection is "
                                                         "not supported")
        if self.plasticity is not None:
            if np.ndim(self.delay) != 0 or isinstance(self.delay, dict):
                raise ConfigError(f"{field}.delay", "a plastic projection needs one delay (a number) for all "
                                                    "its synapses")
            if not isinstance(self.weight, dict):
                check_initial_weights(self.plasticity, np.atleast_1d(self.weight), f"{field}.weight")

    def _check_weight_sign(self, weight: Any, field: str) -> None:
        kind = self.post.model.receptor_kind
        if isinstance(weight, dict):
            return  # checked after drawing
        w = np.atleast_1d(np.asarray(weight, dtype=float))
        if w.size == 0:
            return
        if np.abs(w).max() > FLOAT32_MAX:
            raise ConfigError(field, f"got {np.abs(w).max():g}; allowed: weights of magnitude <= {FLOAT32_MAX:g} "
                                     "(the engine stores them as float32)")
        if kind == "conductance" and w.min() < 0:
            raise ConfigError(field, f"conductance weights are in nS and must be >= 0 (got {w.min():g}); "
                                     "inhibition comes from the inhibitory receptor's reversal potential")
        if kind == "current" and self.receptor == "excitatory" and w.min() < 0:
            raise ConfigError(field, f"excitatory current weights must be >= 0 pA (got {w.min():g}); "
                                     "use receptor = \"inhibitory\" with weights <= 0")
        if kind == "current" and self.receptor == "inhibitory" and w.max() > 0:
            raise ConfigError(field, f"inhibitory current weights must be <= 0 pA (got {w.max():g}), as in NEST")

    def connections(self, seed: int, dt: float, field: str, weight_dtype=np.float32) -> Connections:
        """Draw this projection's synapses under `seed`, straight into rows by pre neuron (no pair lists).

        The pairs come from the projection's own stream (neurobox.network.connectivity.connect_rows), the
        weights and delays of distributions from two compiled streams of their own ("weights" and "delays"
        under the projection's name), one value per synapse in row order.
        """
        if self._checked is None:
            raise ConfigError(field, "projection is not part of a network")
        check_synapse_memory(self, field)
        rng = generator(seed, "projection", self.name or "")
        args = (self.rule, self._checked, self.pre.n, self.post.n, self.pre is self.post, rng, field)
        if self.rule == "fixed_total_number" and self._checked["N"] >= PARALLEL_FROM:
            # the number is known before the pairs: draw them in a second thread (compiled code without the
            # GIL) while this one draws the weights and delays; every part has its own stream, so the result
            # does not depend on the threads
            with ThreadPoolExecutor(1) as pool:
                rows = pool.submit(connectivity.connect_rows, *args)
                try:
                    weights, shared, delays, delay = self._values(seed, dt, field, self._checked["N"], weight_dtype)
                finally:
                    indptr, targets = rows.result()
        else:
            indptr, targets = connectivity.connect_rows(*args)
            weights, shared, delays, delay = self._values(seed, dt, field, int(targets.size), weight_dtype)
        return Connections(indptr, targets, weights, delays, delay, shared)

    def _values(self, seed: int, dt: float, field: str, n: int, weight_dtype):
        """The weights and delays of n synapses (in row order): (weights, shared weight or None, delays or
        None, common delay)."""
        name = self.name or ""
        shared = None
        if isinstance(self.weight, dict):
            weights = np.empty(n, dtype=weight_dtype)
            low, high = values.fill(self.weight, weights, kernel_state(seed, "weights", name), f"{field}.weight")
            largest = float(np.finfo(weight_dtype).max)
            if n and not (math.isfinite(low) and math.isfinite(high) and max(-low, high) <= largest):
                raise ConfigError(f"{field}.weight", f"drew values up to {max(abs(low), abs(high)):g}; allowed: "
                                                     f"finite numbers of magnitude <= {largest:g}")
            self._check_weight_sign(np.array([low, high]) if n else weights, f"{field}.weight")
        else:
            if np.ndim(self.weight) == 0:  # one weight: no float64 copy of it per synapse
                shared = float(values.draw(self.weight, 1, None, f"{field}.weight", weight_dtype)[0])
                weights = np.full(n, shared, dtype=weight_dtype)
            else:
                weights = values.draw(self.weight, n, None, f"{field}.weight", weight_dtype)
            self._check_weight_sign(weights, f"{field}.weight")
        if self.plasticity is not None:
            check_initial_weights(self.plasticity, weights, f"{field}.weight")
        delays, delay = _draw_delays(self.delay, n, dt, kernel_state(seed, "delays", name), f"{field}.delay")
        return weights, shared, delays, delay

    def build(self, seed: int, dt: float, field: str, compact: bool = False) -> Synapses:
        """This projection's synapses as pair lists (the same draw as `connections`), for the small users
        (the twin, the hardware planners, fixed-point scales).

        compact: weights as float32 (what the engine stores), to keep memory low.
        """
        return self.connections(seed, dt, field, np.float32 if compact else np.float64).to_synapses()

    def __repr__(self) -> str:
        pre = getattr(self.pre, "name", self.pre)
        post = getattr(self.post, "name", self.post)
        return f"Projection({pre!r} -> {post!r}, {self.rule!r}, name={self.name!r})"


def check_probability(value: Any, field: str) -> float:
    """A probability in [0, 1], or a ConfigError naming `field`."""
    p = number(value, field, "a probability in [0, 1]")
    if not 0.0 <= p <= 1.0:
        raise ConfigError(field, f"a probability must be in [0, 1], got {value!r}")
    return p


FLOAT32_MAX = float(np.finfo(np.float32).max)
PARALLEL_FROM = 1_000_000
"""A fixed_total_number projection of at least this many synapses draws its pairs in a second thread."""
MAX_DELAY_STEPS = int(np.iinfo(np.uint16).max)
"""The longest delay in steps: the engine stores per-synapse delays as uint16."""


def _draw_delays(spec, n: int, dt: float, state: np.ndarray, field: str) -> tuple[np.ndarray | None, int]:
    """Per-synapse delays in steps (uint8, uint16 past 255 steps) and the common delay: (None, steps) when
    every synapse has the same delay."""
    if not isinstance(spec, dict) and np.ndim(spec) == 0:  # one delay (checked: at most MAX_DELAY_STEPS)
        return None, (max(int(round(float(spec) / dt)), 1) if n else 1)
    if isinstance(spec, dict):
        for dtype in (np.uint8, np.uint16):
            delays = np.empty(n, dtype=dtype)
            try:
                low, high = values.fill(spec, delays, state.copy(), field, dt)
            except OverflowError as e:
                if dtype is np.uint16:
                    _check_delays(np.array([float(e.args[0])]), dt, field)
                    raise ConfigError(field, f"delays must be <= {MAX_DELAY_STEPS} steps, got "
                                             f"{float(e.args[0]):g} ms") from None
                continue
            if n:
                _check_delays(np.array([low, high]), dt, field)
            break
    else:
        delay_ms = values.draw(spec, n, None, field)
        _check_delays(delay_ms, dt, field)
        steps = np.maximum(np.rint(delay_ms / dt), 1)
        delays = steps.astype(np.uint8 if steps.max(initial=1) <= 255 else np.uint16)
    if n == 0:
        return None, 1
    if bool(np.all(delays == delays[0])):
        return None, int(delays[0])
    return delays, int(delays[0])


def _check_delays(delay_ms: np.ndarray, dt: float, field: str) -> None:
    if delay_ms.size and delay_ms.min() < dt * (1.0 - 1e-9):
        raise ConfigError(field, f"delays must be >= dt = {dt:g} ms (one step), got {delay_ms.min():g} ms")
    if delay_ms.size and delay_ms.max() > (MAX_DELAY_STEPS + 0.5) * dt:
        raise ConfigError(field, f"delays must be <= {MAX_DELAY_STEPS} steps ({MAX_DELAY_STEPS * dt:g} ms at "
                                 f"dt = {dt:g} ms), got {delay_ms.max():g} ms")


def check_synapse_memory(proj: "Projection", field: str) -> None:
    """Refuse, before drawing, a projection whose synapses would not fit the memory limit."""
    expected = connectivity.expected_synapses(proj.rule, proj._checked, proj.pre.n, proj.post.n)
    per = memory.BYTES_PER_SYNAPSE_ROWS if proj.rule == "fixed_total_number" else memory.BYTES_PER_SYNAPSE_BUILDING
    memory.check(expected * per,
                 f"{field}.rule", f"its about {expected:.3g} synapses")


def _mean(spec: Any) -> float:
    if isinstance(spec, dict):
        return spec.get("mean", spec.get("low", 0.0))
    return float(np.mean(spec)) if np.size(spec) else 0.0


class GapJunction(Projection):
    """Electrical synapses: each drawn pair (i in pre, j in post) is one junction.

    A junction of conductance g (nS, >= 0, the `weight`) passes
    I = g (V_j - V_i) into i and the opposite current into j, every step,
    from the membrane potentials at the start of the step. Both models
    need a membrane potential. A pair of a neuron with itself is skipped.
    """

    def __init__(self, pre: Population | str, post: Population | str, rule: str = "one_to_one", *,
                 weight: Any = 1.0, name: str | None = None, **rule_options: Any):
        super().__init__(pre, post, rule, weight=weight, delay=None, receptor="gap_junction", name=name,
                         **rule_options)

    def resolve(self, populations: dict[str, Population], field: str, dt: float) -> None:
        for end in ("pre", "post"):
            setattr(self, end, lookup(getattr(self, end), populations, f"{field}.{end}"))
            if getattr(self, end).model.voltage is None:
                raise ConfigError(f"{field}.{end}", f"{getattr(self, end).model.name} has no membrane "
                                                    "potential for a gap junction")
        self.weight = values.check_spec(self.weight, f"{field}.weight")
        if not isinstance(self.weight, dict) and np.size(self.weight) and np.min(self.weight) < 0:
            raise ConfigError(f"{field}.weight", "gap-junction conductances are in nS and must be >= 0")
        self._checked = connectivity.check_rule(self.rule, self.rule_options, self.pre.n, self.post.n, field)

    def build(self, seed: int, dt: float, field: str, compact: bool = False) -> Synapses:
        rng = generator(seed, "projection", self.name or "")
        check_synapse_memory(self, field)
        pre, post = connectivity.connect(self.rule, self._checked, self.pre.n, self.post.n,
                                         self.pre is self.post, rng, field)
        if self.pre is self.post:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        weight = values.draw(self.weight, pre.size, rng, f"{field}.weight")
        if weight.size and weight.min() < 0:
            raise ConfigError(f"{field}.weight", "gap-junction conductances are in nS and must be >= 0")
        return Synapses(pre, post, weight, np.zeros(pre.size, dtype=np.int32))
