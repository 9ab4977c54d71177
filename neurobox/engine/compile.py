"""Compile a Network description into flat arrays.

`compile_network(net)` is a pure function of the description and its
seed: it draws connectivity and initial state and returns the flat arrays
the generated loop reads (neurobox.engine.codegen), without running
anything. Neuron state: float64[n_state, N] per population. Synapses: CSR
by presynaptic neuron per projection, drawn straight into this layout one
projection at a time (`Projection.connections`, no pair lists): uint16
targets (int32 when the post population has more than 65536 neurons),
float32 weights and uint8/uint16 delays in steps (a projection whose
delays are all equal stores one number instead): 6-9 bytes per synapse.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurobox.errors import ConfigError
from neurobox.network.network import Network
from neurobox.network.population import Population
from neurobox.network import values
from neurobox.network.projection import Connections, GapJunction
from neurobox.engine.memory import check_memory
from neurobox.engine.precision import (EngineModel, engine_model, fixed_plasticity_constants, fixed_state,
                                       fixed_weights, largest_incoming_weights)
from neurobox.plasticity.rules import TRAINER_RULES
from neurobox.random import generator, kernel_state


@dataclass
class CompiledPopulation:
    name: str
    population: Population
    engine: EngineModel      # the model the engine runs (the fixed-point form under precision "fixed")
    state: np.ndarray        # float64[n_state, N]
    consts: np.ndarray       # float64[:]
    ring: np.ndarray         # float64[D, n_receptors, N]
    i_ext: np.ndarray        # float64[N], pA
    rng: np.ndarray          # uint64[4]
    spikes: np.ndarray       # int32[2, N x max spikes per neuron and step] flat: a step's spikes, in its parity's half
    coupled: np.ndarray | None = None  # float64[N]: i_ext plus gap-junction currents (only when coupled)
    spike_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # a chunk's spike buffer
    spike_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def n(self) -> int:
        return self.population.n


@dataclass
class PlasticState:
    """What a plastic projection keeps besides its weights (see neurobox.plasticity.kernel)."""

    rule: object             # neurobox.plasticity.rules.Plasticity
    consts: np.ndarray       # float64, layout P_* of the rules module
    history: np.ndarray      # int32[delay + 1, spike slots of pre]: pre spikes of the last delay + 1 steps
    history_counts: np.ndarray  # int64[delay + 1]
    rev_ptr: np.ndarray      # int64[n_post + 1]
    rev_syn: np.ndarray      # int32: synapse indices sorted by post neuron
    rev_pre: np.ndarray      # int32: their pre neurons
    x: np.ndarray            # float64[2, n_pre] pre traces
    y: np.ndarray            # float64[2, n_post] post traces
    eligibility: np.ndarray  # float64[n_syn] (empty unless rstdp)
    dopamine: np.ndarray     # float64[1]


@dataclass
class CompiledProjection:
    name: str
    pre: int                 # index into CompiledNetwork.populations
    post: int
    receptor: int
    indptr: np.ndarray       # int64[n_pre + 1]
    targets: np.ndarray      # uint16[n_syn] (post population <= 65536 neurons) or int32[n_syn], sorted per row
    weights: np.ndarray      # float32[n_syn]
    delays: np.ndarray | None  # uint8/uint16[n_syn], or None when all equal
    uniform_delay: int       # the common delay (steps) when delays is None
    plastic: PlasticState | None = None
    p_transmit: np.ndarray | None = None   # float64[1] when transmission is unreliable
    transmit_rng: np.ndarray | None = None  # uint64[4], its random stream
    shared_weight: float | None = None
    """The one weight of every synapse when the description gives a constant (not plastic, float
    precision); `weights` still repeats it for the loop, which could read this number instead."""

    @property
    def n_synapses(self) -> int:
        return int(self.targets.size)

    @property
    def nbytes(self) -> int:
        extra = 0 if self.delays is None else self.delays.nbytes
        return self.indptr.nbytes + self.targets.nbytes + self.weights.nbytes + extra

    def to_lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The (pre, post, weight, delay_steps) view of the synapses."""
        pre = np.repeat(np.arange(self.indptr.size - 1), np.diff(self.indptr))
        delays = (np.full(self.targets.size, self.uniform_delay) if self.delays is None
                  else self.delays.astype(np.int64))
        return pre, self.targets.astype(np.int64), self.weights.astype(np.float64), delays


@dataclass
class CompiledGapJunctions:
    """Junction m couples neuron a[m] of population `pre` with b[m] of `post` by g[m] nS."""

    name: str
    pre: int
    post: int
    pre_voltage_row: int
    post_voltage_row: int
    a: np.ndarray            # int32
    b: np.ndarray            # int32
    g: np.ndarray            # float64, nS


@dataclass
class CompiledRecorder:
    """A state recorder: state rows and neurons of population `population`, sampled every `every` steps."""

    name: str
    population: int
    variables: list[str]
    rows: np.ndarray         # int64
    neurons: np.ndarray      # int64
    every: int
    buffer: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # a chunk's samples


@dataclass
class CompiledNetwork:
    dt: float
    seed: int
    populations: list[CompiledPopulation]
    projections: list[CompiledProjection]
    index: dict[str, int] = field(default_factory=dict)
    gap_junctions: list[CompiledGapJunctions] = field(default_factory=list)
    recorders: list[CompiledRecorder] = field(default_factory=list)

    def population(self, name: str) -> CompiledPopulation:
        if name not in self.index:
            raise ConfigError("population", f"no population named {name!r}; populations: {', '.join(self.index)}")
        return self.populations[self.index[name]]

    def projection(self, name: str) -> CompiledProjection:
        for cp in self.projections:
            if cp.name == name:
                return cp
        raise ConfigError("projection", f"no chemical projection named {name!r}; projections: "
                                        f"{', '.join(cp.name for cp in self.projections) or 'none'}")

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    @property
    def synapse_bytes(self) -> int:
        return sum(p.nbytes for p in self.projections)


def compile_network(net: Network, learning: bool = True) -> CompiledNetwork:
    """Draw connectivity and initial state, and lay everything out in flat arrays.

    learning: False freezes every plastic projection (the global learning switch).
    """
    if not net.populations:
        raise ConfigError("populations", "the network has no population")
    check_memory(net)  # before anything is drawn: refuse, with the numbers, a network that cannot fit
    index = {name: k for k, name in enumerate(net.populations)}
    chemical = {name: proj for name, proj in net.projections.items() if not isinstance(proj, GapJunction)}
    fixed = net.precision == "fixed"
    # in fixed point the integer scale of a population depends on every weight that reaches it: draw them first
    drawn = {name: proj.connections(net.seed, net.dt, f"projections.{name}", np.float64)
             for name, proj in chemical.items()} if fixed else {}
    largest = largest_incoming_weights(net, drawn) if fixed else {}
    engines = {name: engine_model(pop, net.precision, largest.get(name, 0.0))
               for name, pop in net.populations.items()}
    projections = []
    for name, proj in chemical.items():  # drawn straight into the compact rows, one projection at a time
        conns = drawn.pop(name) if fixed else proj.connections(net.seed, net.dt, f"projections.{name}")
        projections.append(_compile_projection(name, proj, conns, index, net, engines[proj.post.name], learning))
        del conns
    gaps = [_compile_gap_junctions(name, proj, index, net) for name, proj in net.projections.items()
            if isinstance(proj, GapJunction)]
    depth = {k: 1 for k in index.values()}
    for cp in projections:
        longest = cp.uniform_delay if cp.delays is None else int(cp.delays.max(initial=1))
        depth[cp.post] = max(depth[cp.post], longest + 1)
    coupled = {k for g in gaps for k in (g.pre, g.post)}
    check_memory(net, depths={name: depth[index[name]] for name in net.populations})   # the drawn delays
    populations = [_compile_population(name, pop, depth[index[name]], net, engines[name], index[name] in coupled)
                   for name, pop in net.populations.items()]
    recorders = [CompiledRecorder(name, index[rec.population.name], list(rec.variables),
                                  np.array([rec.population.model.state_index(v) for v in rec.variables], np.int64),
                                  rec.neuron_indices().astype(np.int64), int(rec.every))
                 for name, rec in net.recorders.items()]
    return CompiledNetwork(net.dt, net.seed, populations, projections, index, gaps, recorders)


CHUNK_STEPS = 2000
"""Steps per compiled chunk between returns to Python (200 ms at dt = 0.1 ms)."""


def initial_state(pop: Population, seed: int) -> np.ndarray:
    """The state array at t = 0: model initial values, overridden by `pop.initial`."""
    state = pop.model.default_state(pop.params, pop.n)
    rng = generator(seed, "initial", pop.name)
    for row, var in enumerate(pop.model.state):
        if var.name in pop.initial:
            state[row] = values.draw(pop.initial[var.name], pop.n, rng, f"{pop.field}.initial.{var.name}")
    return state


def spike_slots(pop: Population, dt: float, params=None) -> int:
    """Entries of a population's spike scratch: N times the most spikes a neuron emits in a step
    (1 for neurons; a poisson_generator's count bound, see neurobox.neurons.sources)."""
    return pop.n * pop.model.max_spikes(pop.params if params is None else params, dt)


def _compile_population(name: str, pop: Population, depth: int, net: Network, em: EngineModel,
                        coupled: bool) -> CompiledPopulation:
    model = em.model
    state = initial_state(pop, net.seed)
    if em.fixed and pop.model is not model:  # a float population run in fixed point: its state in integers
        state = fixed_state(em, state, f"populations.{name}")
    return CompiledPopulation(
        name=name,
        population=pop,
        engine=em,
        state=state,
        consts=model.constants_at(em.params, net.dt, pop.n, f"populations.{name}.params"),
        ring=np.zeros((depth, len(model.receptors), pop.n), dtype=np.float64),
        i_ext=np.zeros(pop.n, dtype=np.float64),
        rng=kernel_state(net.seed, "population", name),
        spikes=np.zeros(2 * spike_slots(pop, net.dt, em.params), dtype=np.int32),
        coupled=np.zeros(pop.n, dtype=np.float64) if coupled else None,
    )


def _compile_projection(name: str, proj, conns: Connections, index: dict[str, int], net: Network,
                        post: EngineModel, learning: bool) -> CompiledProjection:
    weights = conns.weights
    if post.fixed:
        weights = fixed_weights(weights, post.i_lsb, f"projections.{name}.weight")
    weights = weights.astype(np.float32, copy=False)
    plastic = None
    if proj.plasticity is not None and proj.plasticity.rule not in TRAINER_RULES:  # eprop: static here
        plastic = _plastic_state(proj, conns, conns.delay, spike_slots(proj.pre, net.dt),
                                 plasticity_constants(proj.plasticity, net.dt, post, learning,
                                                      f"projections.{name}.plasticity"))
    return CompiledProjection(
        name=name,
        pre=index[proj.pre.name],
        post=index[proj.post.name],
        receptor=proj.post.model.receptor_index(proj.receptor),
        indptr=conns.indptr,
        targets=conns.targets,
        weights=weights,
        delays=conns.delays,
        uniform_delay=conns.delay,
        plastic=plastic,
        p_transmit=None if proj.p_transmit is None else np.array([float(proj.p_transmit)]),
        transmit_rng=None if proj.p_transmit is None else kernel_state(net.seed, "transmission", name),
        shared_weight=None if post.fixed or plastic is not None else conns.shared_weight,
    )


def plasticity_constants(rule, dt: float, post: EngineModel, learning: bool, field: str) -> np.ndarray:
    """The compiled rule's constants: the float rule, or the integer rule onto a fixed-point population."""
    if post.fixed:
        return fixed_plasticity_constants(rule, dt, post.i_lsb, field, learning)
    return rule.constants_at(dt, learning, field)


def _plastic_state(proj, conns: Connections, delay: int, slots: int, consts: np.ndarray) -> PlasticState:
    post = conns.targets
    order = np.argsort(post, kind="stable")
    rev_ptr = np.zeros(proj.post.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(post, minlength=proj.post.n), out=rev_ptr[1:])
    rule = proj.plasticity
    return PlasticState(
        rule=rule,
        consts=consts,
        history=np.zeros((delay + 1, slots), dtype=np.int32),
        history_counts=np.zeros(delay + 1, dtype=np.int64),
        rev_ptr=rev_ptr,
        rev_syn=order.astype(np.int32),
        rev_pre=conns.pre()[order],
        x=np.zeros((2, proj.pre.n)),
        y=np.zeros((2, proj.post.n)),
        eligibility=np.zeros(len(conns) if rule.rule == "rstdp" else 0),
        dopamine=np.zeros(1),
    )


def _compile_gap_junctions(name: str, proj: GapJunction, index: dict[str, int], net: Network) -> CompiledGapJunctions:
    syn = proj.build(net.seed, net.dt, f"projections.{name}")
    return CompiledGapJunctions(
        name=name,
        pre=index[proj.pre.name],
        post=index[proj.post.name],
        pre_voltage_row=proj.pre.model.state_index(proj.pre.model.voltage),
        post_voltage_row=proj.post.model.state_index(proj.post.model.voltage),
        a=syn.pre.astype(np.int32),
        b=syn.post.astype(np.int32),
        g=syn.weight.astype(np.float64),
    )
