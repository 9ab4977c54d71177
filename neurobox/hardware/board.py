"""A network as a board of physical units: descriptions, addresses, and their recorded inputs.

`units_from_network(network)` is the one place that reads a network
description for the hardware targets: every neuron of an `iaf_psc_exp`
(or `iaf_psc_exp_fixed`) population becomes a unit named
"population" (n = 1) or "population.i"; spike-source populations
(`spike_generator`, `poisson_generator`) become stimulus inputs that feed
the board from outside (a wire per target input in wired mode, an address
on the bus in bus mode). An `eprop_readout` population is the host's: the
readouts of units that learn by e-prop (neurobox.plasticity.eprop_fixed)
are computed by the host from the spikes it hears on the bus, so its
incoming projections are not unit inputs, and a static projection from it
onto the units gives each unit its feedback weights. A wire or the bus delivers a spike in the next
tick: a spike sent in tick t is received in tick t + 1; a connection with
a delay of d ticks holds it d - 1 ticks more in the receiver's delay line.

`board_inputs(board, steps)` records the input spike sequence of every
unit: the stimulus spikes come from the engine (neurobox.engine, the same
seeded streams as any run of the network), the units' own spikes from the
fixed-point reference of the whole board (neurobox.hardware.unit). A
reward schedule (`reward_schedule`: one pulse of -1, 0 or +1 per tick,
driven by the host) reaches every unit in the tick it is scheduled for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurobox.errors import ConfigError
from neurobox.hardware.unit import MAX_ADDRESS, MAX_DELAY, FixedUnit, Input, UnitDescription, UnitSim, fixed_unit

UNIT_MODELS = ("iaf_psc_exp", "iaf_psc_exp_fixed")
SOURCE_MODELS = ("spike_generator", "poisson_generator")
HOST_MODELS = ("eprop_readout",)
"""Populations the host computes (e-prop's readouts): neither units nor stimuli."""
FIXED_ONLY = ("V_lsb", "I_lsb")


@dataclass
class Board:
    """Units (in address order), stimulus sources, and the network they came from.

    addresses: bus address of every unit and every stimulus source neuron;
    sources: stimulus source neuron names -> (population, index);
    neurons: unit names -> (population, index);
    readouts: the host's e-prop readouts -> (population, index), in feedback order.
    """

    dt: float
    units: list[UnitDescription]
    addresses: dict[str, int]
    sources: dict[str, tuple[str, int]]
    network: Any = field(repr=False, default=None)
    neurons: dict[str, tuple[str, int]] = field(default_factory=dict)
    readouts: dict[str, tuple[str, int]] = field(default_factory=dict)

    def fixed(self) -> list[FixedUnit]:
        return [fixed_unit(u) for u in self.units]


def _neuron_name(pop: str, n: int, i: int) -> str:
    return pop if n == 1 else f"{pop}.{i}"


def units_from_network(network) -> Board:
    """The board of physical units for a neurobox.network.Network.

    Every neuron of a unit model becomes a unit (starting from the adaptive
    threshold its population's `initial.theta` gives, if any), every source
    neuron a stimulus input; a plastic projection's rule (additive pair STDP,
    with its learning-rate schedule and normalisation, reward-modulated
    STDP, or e-prop with plain gradient steps, random feedback and online
    traces, its readouts the host's) becomes its units' rule; delays of 1 to MAX_DELAY
    ticks go to the units' delay lines; the integer scales are those the
    fixed-point engine uses (neurobox.engine.precision.choose_scales).
    Raises ConfigError naming the population or projection that cannot be
    built as hardware (another model, a delay out of range, a gap junction,
    a current stimulus, two rules on one unit, too many addresses).
    """
    from neurobox.engine.precision import choose_scales, largest_incoming_weights
    from neurobox.network.projection import GapJunction  # the description layer, read only here

    dt = float(network.dt)
    sources: dict[str, tuple[str, int]] = {}
    neurons: dict[str, tuple[str, int]] = {}
    readouts: dict[str, tuple[str, int]] = {}
    n_units = sum(int(p.n) for p in network.populations.values() if p.model.name in UNIT_MODELS)
    n_sources = sum(int(p.n) for p in network.populations.values() if p.model.name in SOURCE_MODELS)
    if n_units + n_sources > MAX_ADDRESS + 1:   # counted before a name is made for each of a million neurons
        raise ConfigError("populations", f"{n_units} units and {n_sources} stimulus neurons need "
                                         f"{n_units + n_sources} bus addresses; a bus has {MAX_ADDRESS + 1}: at most "
                                         f"{max(0, MAX_ADDRESS + 1 - n_sources)} units with these stimuli")
    for name, pop in network.populations.items():
        model = pop.model.name
        if model in SOURCE_MODELS:
            for i in range(pop.n):
                sources[_neuron_name(name, pop.n, i)] = (name, i)
        elif model in UNIT_MODELS:
            other = [var for var in pop.initial if var != "theta"]
            if other:
                raise ConfigError(f"populations.{name}.initial.{other[0]}",
                                  "a physical unit starts at rest, from its adaptive threshold theta at most; "
                                  "remove the other initial values")
            for i in range(pop.n):
                neurons[_neuron_name(name, pop.n, i)] = (name, i)
        elif model in HOST_MODELS:
            for i in range(pop.n):
                readouts[_neuron_name(name, pop.n, i)] = (name, i)
        else:
            raise ConfigError(f"populations.{name}.model",
                              f"{model} cannot be built as a physical unit; use one of {', '.join(UNIT_MODELS)} "
                              f"(units) or {', '.join(SOURCE_MODELS)} (stimuli)")
    if not neurons:
        raise ConfigError("populations", f"no population of a unit model ({', '.join(UNIT_MODELS)})")
    if network.stimuli:
        first = next(iter(network.stimuli))
        raise ConfigError(f"stimuli.{first}", "physical units take no injected current; "
                                              "drive them with a spike source population")
    addresses = {name: k for k, name in enumerate(list(neurons) + list(sources))}
    inputs: dict[str, list[Input]] = {u: [] for u in neurons}
    rule_of: dict[str, dict[str, Any]] = {}
    feedback: dict[str, dict[int, float]] = {u: {} for u in neurons}
    drawn = {}
    for pname, proj in network.projections.items():
        where = f"projections.{pname}"
        if isinstance(proj, GapJunction):
            raise ConfigError(where, "gap junctions cannot be built between physical units")
        rule = None
        if proj.plasticity is not None and proj.plasticity.learning:
            rule = _chip_rule(proj.plasticity, f"{where}.plasticity", network)
        if proj.post.model.name in HOST_MODELS:
            if rule is None or rule["rule"] != "eprop":
                raise ConfigError(where, f"{proj.post.model.name} is the host's e-prop readout: only projections "
                                         f"under rule eprop reach it")
            continue                   # the host's readout weights
        syn = proj.build(network.seed, dt, where)
        if proj.pre.model.name in HOST_MODELS:
            for a, b, w in zip(syn.pre, syn.post, syn.weight):
                feedback[_neuron_name(proj.post.name, proj.post.n, int(b))][int(a)] = float(w)
            continue                   # the units' feedback weights B
        drawn[pname] = syn
        if syn.delay_steps.size and (syn.delay_steps.min() < 1 or syn.delay_steps.max() > MAX_DELAY):
            raise ConfigError(f"{where}.delay", f"a unit's delay line holds 1 to {MAX_DELAY} ticks "
                                                f"({dt:g} to {MAX_DELAY * dt:g} ms); got up to "
                                                f"{int(syn.delay_steps.max()) * dt:g} ms")
        pre_pop, post_pop = proj.pre, proj.post
        for a, b, w, d in zip(syn.pre, syn.post, syn.weight, syn.delay_steps):
            src = _neuron_name(pre_pop.name, pre_pop.n, int(a))
            dst = _neuron_name(post_pop.name, post_pop.n, int(b))
            inputs[dst].append(Input(src, proj.receptor, float(w), plastic=rule is not None, delay=int(d),
                                     projection=pname))
            if rule is not None:
                if rule_of.setdefault(dst, rule) != rule:
                    raise ConfigError(f"{where}.plasticity", f"unit {dst} already learns with another rule; "
                                                             "one rule per unit")
    eprop = {k: syn for k, syn in drawn.items() if _rule_name(network.projections[k]) == "eprop"}
    largest = largest_incoming_weights(network, {k: syn for k, syn in drawn.items() if k not in eprop})
    for k, syn in eprop.items():            # rule eprop names its bounds as NEST does (Wmin, Wmax)
        params, post = network.projections[k].plasticity.params, network.projections[k].post.name
        largest[post] = max(largest[post], float(np.abs(syn.weight).max(initial=0.0)), abs(params["Wmin"]),
                            abs(params["Wmax"]))
    units: list[UnitDescription] = []
    scales = {name: choose_scales(network.populations[name], largest[name]) for name in network.populations
              if network.populations[name].model.name in UNIT_MODELS}
    theta = {name: _initial_theta(network, name, v_lsb) for name, (v_lsb, _) in scales.items()}
    for name, (pop_name, i) in neurons.items():
        v_lsb, i_lsb = scales[pop_name]
        params = {k: v for k, v in network.populations[pop_name].params.items() if k not in FIXED_ONLY}
        rule = rule_of.get(name)
        fb = ()
        if rule is not None and rule["rule"] == "eprop":
            fb = tuple(feedback[name].get(k, 0.0) for k in range(len(readouts)))
        units.append(UnitDescription(name, params, dt, tuple(inputs[name]), rule, addresses[name],
                                     V_lsb=v_lsb, I_lsb=i_lsb, theta=float(theta[pop_name][i]), feedback=fb))
    return Board(dt=dt, units=units, addresses=addresses, sources=sources, network=network, neurons=neurons,
                 readouts=readouts)


def _initial_theta(network, pop_name: str, v_lsb: float) -> np.ndarray:
    """The adaptive threshold (mV) every unit of a population starts from: its `initial.theta` drawn as the
    engine draws it (mV; V_lsb in a fixed-point model), else 0."""
    from neurobox.engine.compile import initial_state
    from neurobox.neurons.lif_fixed import IAF_PSC_EXP_FIXED

    pop = network.populations[pop_name]
    if "theta" not in pop.initial:
        return np.zeros(pop.n)
    theta = initial_state(pop, network.seed)[pop.model.state_index("theta")]
    return theta * v_lsb if pop.model is IAF_PSC_EXP_FIXED else theta


CHIP_RULES = {"stdp": ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max", "halve_every", "halvings",
                       "normalize_to", "normalize_every_ms"),
              "rstdp": ("tau_plus", "tau_c", "tau_d", "A_plus", "A_minus", "w_min", "w_max"),
              "eprop": ("eta", "Wmin", "Wmax")}
"""The rules the units run, with the float parameters their integer forms are made from (pair STDP with its
learning-rate schedule and the normalisation of a unit's own weights after its spikes; e-prop with the readouts'
tau_m)."""
EPROP_ON_UNITS = {"optimizer": "gradient_descent", "feedback": "random", "variant": "online"}
"""What e-prop on the units is: plain steps, each unit's own fixed feedback weights, traces updated every tick."""


def _eprop_rule(rule, field: str, network) -> dict[str, Any]:
    """The units' e-prop parameters from a projection's rule eprop and the host's readout population."""
    for key, allowed in EPROP_ON_UNITS.items():
        if rule.options.get(key) != allowed:
            raise ConfigError(f"{field}.{key}", f"e-prop on the units takes {key} = {allowed!r} (each unit "
                                                f"steps its own weights with its own feedback weights, every "
                                                f"tick); got {rule.options.get(key)!r}")
    hosts = [p for p in network.populations.values() if p.model.name in HOST_MODELS]
    if not hosts:
        raise ConfigError(field, "e-prop on the units needs an eprop_readout population (the host's readout)")
    return {"rule": "eprop", "eta": rule.params["eta"], "w_min": rule.params["Wmin"], "w_max": rule.params["Wmax"],
            "tau_m_readout": float(hosts[0].params["tau_m"])}


def _chip_rule(rule, field: str, network=None) -> dict[str, Any]:
    """The parameters of the rule the chips run (pair STDP, reward-modulated STDP or e-prop), from a
    projection's rule."""
    if rule.rule not in CHIP_RULES:
        raise ConfigError(f"{field}.rule", f"units learn with {' or '.join(CHIP_RULES)}; got {rule.rule!r}")
    if rule.rule == "eprop":
        return _eprop_rule(rule, field, network)
    for key, allowed in (("mode", "additive"), ("pairing", "all_to_all")):
        if getattr(rule, key) != allowed:
            raise ConfigError(f"{field}.{key}", f"the units' rules are additive with all-to-all pairing; "
                                                f"got {key} = {getattr(rule, key)!r}, use {allowed!r}")
    if rule.rule == "rstdp" and rule.params["normalize_to"] > 0:
        raise ConfigError(f"{field}.normalize_to", "units that learn by reward do not normalise their weights; "
                                                   "set it to 0")
    return {"rule": rule.rule, **{k: rule.params[k] for k in CHIP_RULES[rule.rule]}}


def _rule_name(proj) -> str | None:
    return proj.plasticity.rule if proj.plasticity is not None else None


def load_board(path: str | Path) -> Board:
    """Read a model file into a Board."""
    from neurobox.network.modelfile import load

    return units_from_network(load(path))


def board_source(p):
    """A copy of stimulus population `p` as a board runs it: a poisson_generator fires at most once a tick
    (method "bernoulli"; the fixed-point engine does the same), as a unit or the host sends one spike a tick."""
    from neurobox.network import Population

    method = "bernoulli" if p.model.name == "poisson_generator" else p.method
    return Population(p.n, p.model.name, p.given_params, name=p.name, preset=p.preset, method=method)


def source_spikes(board: Board, steps: int) -> dict[str, np.ndarray]:
    """bool[steps] per stimulus neuron: it fired in that tick (from the engine's seeded streams)."""
    out = {name: np.zeros(steps, dtype=bool) for name in board.sources}
    if not board.sources:
        return out
    from neurobox.engine import run
    from neurobox.network import Network

    net = board.network
    stim = Network(dt=board.dt, seed=net.seed, duration=steps * board.dt)
    pops = {pop for pop, _ in board.sources.values()}
    for name in pops:
        p = net.populations[name]
        stim.add(board_source(p))
    results = run(stim, steps * board.dt, progress=False)
    for name in pops:
        trains = results.spikes[name]
        n = net.populations[name].n
        ticks = np.rint(np.asarray(trains.t_ms) / board.dt).astype(np.int64) - 1
        for t, i in zip(ticks, trains.ids):
            if 0 <= t < steps:
                out[_neuron_name(name, n, int(i))][t] = True
    return out


WIRE_GAP = 3
"""On a wire, a spike is a pulse high for two ticks (AXON_HOLD); a receiver
counts rising edges, so spikes on one wire must be at least 3 ticks apart."""


def wire_carried(ticks, last: int = -WIRE_GAP) -> tuple[np.ndarray, int]:
    """The ticks (increasing) whose spikes a wire carries, each at least WIRE_GAP after the last one carried
    (`last`: the tick of the last pulse before these); returns them and the new last."""
    carried = []
    for t in np.asarray(ticks, dtype=np.int64).tolist():
        if t - last >= WIRE_GAP:
            carried.append(t)
            last = t
    return np.array(carried, dtype=np.int64), last


def wire_pulses(spikes: np.ndarray) -> np.ndarray:
    """The spikes a wire can carry (bool per tick): each one at least WIRE_GAP ticks after the last one carried."""
    out = np.zeros_like(spikes, dtype=bool)
    out[wire_carried(np.flatnonzero(spikes))[0]] = True
    return out


def reward_schedule(reward, steps: int, mode: str = "wired") -> np.ndarray:
    """The host's reward pulses as int64[steps]: reward[t] (-1, 0, +1) is seen by every unit in tick t.

    The host sends a pulse in the tick before (a bus byte, or a pulse on the
    reward or the punishment line held AXON_HOLD ticks like an axon's), so
    in wired mode two pulses on one line must be at least WIRE_GAP ticks
    apart. None is no reward. ConfigError names the first pulse that does not fit.
    """
    if reward is None:
        return np.zeros(steps, dtype=np.int64)
    pulses = np.asarray(reward)
    if pulses.shape != (steps,):
        raise ConfigError("reward", f"expected {steps} pulses (one per tick), got shape {pulses.shape}")
    if not np.isin(pulses, (-1, 0, 1)).all():
        t = int(np.flatnonzero(~np.isin(pulses, (-1, 0, 1)))[0])
        raise ConfigError("reward", f"a pulse is -1, 0 or +1; tick {t} has {pulses[t]}")
    pulses = pulses.astype(np.int64)
    if mode == "wired":
        for sign, line in ((1, "reward"), (-1, "punishment")):
            ticks = np.flatnonzero(pulses == sign)
            close = np.flatnonzero(np.diff(ticks) < WIRE_GAP)
            if close.size:
                a, b = ticks[close[0]], ticks[close[0] + 1]
                raise ConfigError("reward", f"pulses on the {line} line in ticks {a} and {b}: a wire carries "
                                            f"them at least {WIRE_GAP} ticks apart")
    return pulses


def board_inputs(board: Board, steps: int, mode: str = "wired", reward=None) -> dict[str, np.ndarray]:
    """bool[steps, n_inputs] per unit: input j of the unit receives a spike in tick t.

    Runs the fixed-point reference of every unit together, one tick at a
    time, each spike arriving one tick after it was fired, every unit seeing
    the pulse reward[t] (`reward_schedule`) in tick t. In wired mode a
    stimulus drives its wire with the same pulses as a unit's axon, so its
    spikes closer than WIRE_GAP ticks are not carried (`wire_pulses`).
    """
    pulses = reward_schedule(reward, steps, mode)
    fired = {name: (wire_pulses(s) if mode == "wired" else s) for name, s in source_spikes(board, steps).items()}
    units = board.fixed()
    sims = {u.name: UnitSim(u) for u in units}
    for u in units:
        fired[u.name] = np.zeros(steps, dtype=bool)
    pre = {u.name: np.zeros((steps, u.n_inputs), dtype=bool) for u in units}
    for t in range(steps):
        for u in units:
            if t > 0:
                pre[u.name][t] = [fired[s][t - 1] for s in u.sources]
        for u in units:
            fired[u.name][t] = sims[u.name].tick(pre[u.name][t], int(pulses[t]))[0]
    return pre


def steps_for(board: Board, duration_ms: float) -> int:
    """Whole ticks in `duration_ms`."""
    return max(1, int(math.floor(duration_ms / board.dt + 1e-9)))


def board_results(board: Board, unit_spikes: dict[str, np.ndarray], steps: int, *, timings: dict | None = None,
                  extras: dict | None = None):
    """What a physical target ran, as neurobox Results: spikes per population (units and stimuli).

    unit_spikes: per unit name, the ticks (int array) or a bool[steps] array of its spikes; a
    spike in tick t is at (t + 1) dt ms, as in the engine.
    """
    from neurobox.results import Results, SpikeTrains

    per_pop: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    fired = dict(unit_spikes)
    fired.update(source_spikes(board, steps))
    owners = {**board.neurons, **board.sources}
    for name, ticks in fired.items():
        ticks = np.asarray(ticks)
        ticks = np.flatnonzero(ticks) if ticks.dtype == bool else ticks.astype(np.int64)
        pop, i = owners[name]
        per_pop.setdefault(pop, []).append((ticks, np.full(ticks.size, i, dtype=np.int32)))
    spikes = {}
    for pop, parts in per_pop.items():
        ticks = np.concatenate([t for t, _ in parts])
        ids = np.concatenate([i for _, i in parts])
        order = np.lexsort((ids, ticks))
        spikes[pop] = SpikeTrains((ticks[order] + 1) * board.dt, ids[order], board.network.populations[pop].n)
    synapses = sum(len(u.inputs) for u in board.units)
    return Results(board.dt, board.network.seed, steps * board.dt, spikes, {}, board.network.to_toml,
                   dict(timings or {}), synapses, dict(extras or {}))

