"""NEST as a backend (target `nest`): the same description built and run in NEST through PyNEST.

What goes over, and how:

- populations: NEST's model of the same name (iaf_psc_exp, iaf_cond_exp, iaf_psc_alpha, iaf_cond_alpha,
  aeif_cond_exp, aeif_psc_exp, hh_psc_alpha, izhikevich without synapses into it and integrated by
  `euler` or `izhikevich2003`, NEST's two schemes), the parameters by
  their (shared) names, the initial state neurobox draws for the seed (`engine.compile.initial_state`),
  so both backends start from the same membrane potentials;
- spike sources: each neuron of a `spike_generator` population is a NEST spike_generator (it sends the
  same spikes to all its targets; where it feeds plastic synapses, which start at neurons only in NEST,
  it sends one step early to a parrot that repeats its spikes one step later); each neuron of a `poisson_generator` population a NEST
  poisson_generator feeding a `parrot_neuron`, and the parrots make the projections, so that one source's
  spikes reach all its targets, as in neurobox (a poisson_generator connected to many targets would send
  each its own train); the parrot repeats them one step (NEST's smallest delay) later. Where no neuron
  of the population sends more than one synapse and its spikes are not recorded (the microcircuit's
  background: a source per neuron), the generators connect directly (the same statistics, no parrots);
- projections: the exact synapses neurobox draws for the seed (`Projection.connections`: the same
  pairs, weights and delays), connected one to one as arrays; NEST routes a synapse to the inhibitory
  receptor by a negative weight, so conductance weights onto the inhibitory receptor are negated;
- step currents: `step_current_generator`s; recorders: a `spike_recorder` per population (the first k
  neurons where it records k) and a `multimeter` per state recorder (the same sample times, except that
  NEST's takes none at the last instant of a run);
- seeds and threads: NEST's `rng_seed` is the seed + 1 (NEST's seeds start at 1) and its
  `local_num_threads` the threads asked for.

- pair STDP (rule `stdp`, all-to-all pairing, additive or multiplicative, weights in [0, w_max]): a copy
  of NEST's `stdp_synapse` per projection (`stdp_synapse_params`), tau_minus set on the post neurons;
  `weights(projection)` reads the learnt weights back.

NEST draws its own random numbers (Poisson counts), so runs agree in their statistics, not spike for
spike, unless the network holds no random source. What NEST cannot express (the other learning rules and
options, gap junctions, unreliable synapses, neurobox's adaptive threshold, fixed-point precision) is
refused with one line naming it (`check`).

Under MPI (`mpirun -np N neurobox run MODEL --backend nest`, with a NEST built with MPI and mpi4py) every
process builds the same description, NEST places the neurons, each process records its own, and
`gather_ranks` joins the recordings (and the learnt weights) on every process, so each returns the same
Results. The pip wheel of NEST has no MPI: here the one-process path runs, and `gather_ranks` is tested with
a stand-in communicator.
"""
from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from neurobox.engine import threads
from neurobox.errors import ConfigError
from neurobox.network.projection import GapJunction
from neurobox.neurons.sources import per_neuron_times
from neurobox.plasticity.rules import make_plasticity
from neurobox.results import Results, SpikeTrains, Trace

NEURON_MODELS = ("iaf_psc_exp", "iaf_cond_exp", "iaf_psc_alpha", "iaf_cond_alpha", "aeif_cond_exp", "aeif_psc_exp",
                 "hh_psc_alpha", "izhikevich")
"""neurobox models whose NEST model of the same name has the same equations and parameter names."""

CONDUCTANCE_MODELS = ("iaf_cond_exp", "iaf_cond_alpha", "aeif_cond_exp")
"""Models whose weights are conductances (nS, >= 0 in neurobox; NEST takes inhibitory ones negative)."""

SOURCES = ("poisson_generator", "spike_generator")

IZHIKEVICH_METHODS = {"euler": True, "izhikevich2003": False}
"""neurobox's izhikevich methods -> NEST's consistent_integration (forward Euler, or the paper's two half
steps of V_m)."""



def _nest():
    """PyNEST, imported quietly (no banner on stdout, errors only), or one line saying how to install it."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    threads.start()  # before NEST's own OpenMP runtime is loaded (neurobox.engine.threads)
    try:
        import nest
    except ImportError:
        from neurobox.errors import ToolMissingError

        raise ToolMissingError("the NEST backend needs PyNEST: pip install 'neurobox[nest]' "
                               "(or pip install nest-simulator)") from None
    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def unsupported(net) -> list[tuple[str, str]]:
    """(field, why) for everything of `net` NEST cannot run as neurobox does."""
    problems = []
    if net.precision != "float":
        problems.append(("network.precision", f"NEST computes in floating point; got {net.precision!r}"))
    fed = {proj.post.name for proj in net.projections.values()}
    relayed = _relayed_sources(net)
    for name, pop in net.populations.items():
        model = pop.model.name
        if model not in NEURON_MODELS + SOURCES:
            problems.append((f"populations.{name}.model",
                             f"the nest runner does not build {model}; it builds "
                             f"{', '.join(NEURON_MODELS + SOURCES)}"))
            continue
        if model == "izhikevich" and pop.method not in IZHIKEVICH_METHODS:
            problems.append((f"populations.{name}.method", f"NEST integrates izhikevich by "
                                                           f"{' or '.join(IZHIKEVICH_METHODS)} only; got "
                                                           f"{pop.method!r}"))
        if model == "izhikevich" and name in fed:
            problems.append((f"populations.{name}.model", "NEST's izhikevich adds a spike's weight to V_m at once; "
                                                          "neurobox's filters it (tau_syn_ex, tau_syn_in): no NEST "
                                                          "model matches an izhikevich population with synapses"))
        if name in relayed and any(len(t) and min(t) <= net.dt for t in per_neuron_times(
                pop.params.get("spike_times"), pop.n, f"populations.{name}")):
            problems.append((f"populations.{name}.params.spike_times",
                             f"feeding plastic synapses in NEST, a spike_generator sends one step early to a "
                             f"parrot (NEST's plastic synapses start at neurons): spikes must come after one step "
                             f"({net.dt:g} ms)"))
        if pop.model.name == "poisson_generator" and pop.method != "poisson":
            problems.append((f"populations.{name}.method", f"NEST's poisson_generator draws a Poisson count; "
                                                           f"got method {pop.method!r}"))
        theta_plus = pop.params.get("theta_plus", 0.0)
        if np.any(np.asarray(theta_plus) != 0.0):
            problems.append((f"populations.{name}.params.theta_plus",
                             "NEST's models have no adaptive threshold; it must be 0"))
    tau_minus: dict[str, float] = {}    # post population -> the tau_minus of its plastic projections
    for name, proj in net.projections.items():
        field = f"projections.{name}"
        if isinstance(proj, GapJunction):
            problems.append((field, "gap junctions: NEST has them only for its *_gap models; not mapped"))
            continue
        if proj.plasticity is not None:
            rule = make_plasticity(proj.plasticity, f"{field}.plasticity")
            problems += _stdp_problems(proj, rule, field)
            tau = rule.params.get("tau_minus")
            if tau is not None and tau_minus.setdefault(proj.post.name, tau) != tau:
                problems.append((f"{field}.plasticity.tau_minus", f"NEST keeps tau_minus in the post neuron: every "
                                                                   f"plastic projection onto {proj.post.name} needs "
                                                                   f"the same ({tau_minus[proj.post.name]:g} ms)"))
        if proj.p_transmit is not None:
            problems.append((f"{field}.p_transmit", "unreliable synapses are not mapped to NEST's "
                                                    "bernoulli_synapse yet"))
    return problems


def _relayed_sources(net) -> set[str]:
    """The spike_generator populations that feed plastic synapses: NEST's plastic synapses start at neurons
    only, so their spikes go through parrots (sent one step earlier, repeated one step later)."""
    return {p.pre.name for p in net.projections.values()
            if getattr(p, "plasticity", None) is not None and p.pre.model.name == "spike_generator"}


def _stdp_problems(proj, rule, field: str) -> list[tuple[str, str]]:
    """What keeps a plastic projection (learning by `rule`) from NEST's stdp_synapse (`stdp_synapse_params`)."""
    where = f"{field}.plasticity"
    if rule.rule != "stdp":
        return [(f"{where}.rule", f"NEST's stdp_synapse is pair STDP (rule stdp); {rule.rule} is not mapped")]
    p = rule.params
    problems = []
    if rule.pairing != "all_to_all":
        problems.append((f"{where}.pairing", "NEST's stdp_synapse pairs all to all; got nearest"))
    if p["halve_every"] or p["normalize_to"]:
        problems.append((where, "NEST's stdp_synapse has no learning-rate schedule (halve_every) and no weight "
                                "normalisation (normalize_to): both must be 0"))
    if p["w_min"] != 0.0 or p["w_max"] <= 0.0:
        problems.append((f"{where}.w_min", f"NEST's stdp_synapse keeps weights in [0, Wmax]: w_min must be 0 and "
                                           f"w_max > 0; got [{p['w_min']:g}, {p['w_max']:g}]"))
    if p["A_plus"] == 0.0 and p["A_minus"] > 0.0:
        problems.append((f"{where}.A_plus", "NEST's stdp_synapse scales depression by its potentiation rate "
                                            "(alpha lambda): A_plus must be > 0"))
    if proj.receptor == "inhibitory":
        problems.append((f"{field}.receptor", "NEST routes a negative weight to the inhibitory receptor, and its "
                                              "stdp_synapse learns weights >= 0: plastic synapses must be "
                                              "excitatory"))
    return problems


def stdp_synapse_params(rule) -> dict[str, float]:
    """NEST's stdp_synapse parameters for neurobox's pair rule (additive: mu = 0, multiplicative: mu = 1).

    NEST potentiates by Wmax lambda (1 - w/Wmax)^mu_plus K+ and depresses by Wmax alpha lambda (w/Wmax)^mu_minus
    K-; neurobox by A_plus K+ [x (w_max - w)] and A_minus K- [x w]. So lambda = A_plus / w_max (additive) or
    A_plus (multiplicative), and alpha = A_minus / A_plus; tau_minus is the post neuron's in NEST."""
    p = rule.params
    multiplicative = rule.mode == "multiplicative"
    rate = p["A_plus"] if multiplicative else p["A_plus"] / p["w_max"]
    return {"tau_plus": p["tau_plus"], "lambda": rate if rule.learning else 0.0,
            "alpha": p["A_minus"] / p["A_plus"] if p["A_plus"] else 0.0,
            "mu_plus": 1.0 if multiplicative else 0.0, "mu_minus": 1.0 if multiplicative else 0.0,
            "Wmax": p["w_max"]}


def _current_times(times, dt: float) -> list[float]:
    """A step current's times as NEST's step_current_generator takes them: one step earlier, since its
    current reaches the neurons one step (the smallest delay) later; NEST's first possible time is one step,
    so a change at t <= dt happens at dt there."""
    return [max(float(t) - dt, dt) for t in times]


class NestRun:
    """A network built in NEST's kernel, run by `run(ms)` (again to continue), returning Results."""

    def __init__(self, net, *, threads: int | None = None, progress: bool | None = None):
        """threads: NEST's local_num_threads (None: every core, as the engine); progress: unused (NEST
        builds and runs without a progress bar here)."""
        from neurobox.engine.compile import initial_state

        problems = unsupported(net)
        if problems:
            raise ConfigError(*problems[0])
        start = time.perf_counter()
        nest = self.nest = _nest()
        self.net = net
        self.dt = float(net.dt)
        nest.ResetKernel()
        self.comm = _mpi_world() if nest.NumProcesses() > 1 else None
        """The MPI communicator when NEST runs on several processes (each records only its own neurons)."""
        nest.SetKernelStatus({"resolution": self.dt, "rng_seed": int(net.seed) % (2**31 - 2) + 1,
                              "local_num_threads": int(threads or os.cpu_count() or 1), "print_time": False})
        drawn = {name: proj.connections(net.seed, self.dt, f"projections.{name}", np.float64)
                 for name, proj in net.projections.items()}
        out_degree: dict[str, int] = {}   # population -> the most synapses one of its neurons sends
        for name, conns in drawn.items():
            pre = net.projections[name].pre
            most = int(np.bincount(conns.pre(), minlength=pre.n).max(initial=0)) if len(conns) else 0
            out_degree[pre.name] = out_degree.get(pre.name, 0) + most
        self.nodes: dict[str, Any] = {}
        relayed = _relayed_sources(net)
        self.spike_recorders: dict[str, tuple[Any, int]] = {}
        for name, pop in net.populations.items():
            model = pop.model.name
            if model == "spike_generator":    # a spike_generator sends the same spikes to all its targets
                relay = name in relayed
                generators = nest.Create(model, pop.n)
                times = per_neuron_times(pop.params.get("spike_times"), pop.n, f"populations.{name}")
                generators.set([{"spike_times": [float(x) - (self.dt if relay else 0.0) for x in t],
                                 "allow_offgrid_times": True} for t in times])
                self.nodes[name] = generators
                if relay:
                    self.nodes[name] = nest.Create("parrot_neuron", pop.n)
                    nest.Connect(generators, self.nodes[name], "one_to_one", {"delay": self.dt})
            elif model == "poisson_generator":  # ... a poisson_generator a train of its own to each: parrots,
                generators = nest.Create(model, pop.n)  # unless each neuron has one target at most and no recorder
                generators.set(rate=_per_neuron(pop.params["rate"], pop.n))
                self.nodes[name] = generators
                if pop.record_spikes or out_degree.get(name, 0) > 1:
                    self.nodes[name] = nest.Create("parrot_neuron", pop.n)
                    nest.Connect(generators, self.nodes[name], "one_to_one", {"delay": self.dt})
            else:
                nodes = nest.Create(model, pop.n)
                defaults = nest.GetDefaults(model)
                # the parameters NEST lacks (the adaptive threshold, izhikevich's synaptic time constants)
                # play no part here: `unsupported` refused the networks where they would
                params = {k: _per_neuron(v, pop.n) for k, v in pop.params.items() if k in defaults}
                if model == "izhikevich":
                    params["consistent_integration"] = IZHIKEVICH_METHODS[pop.method]
                nodes.set(params)
                state = initial_state(pop, net.seed)
                nodes.set({var.name: state[row].tolist() for row, var in enumerate(pop.model.state)
                           if var.name in defaults and var.name not in params})
                self.nodes[name] = nodes
            recorded = pop.record_spikes if pop.record_spikes is not True else pop.n
            if recorded:
                recorder = nest.Create("spike_recorder")
                nest.Connect(self.nodes[name][:int(recorded)], recorder)
                self.spike_recorders[name] = (recorder, int(self.nodes[name][0].global_id))
        self.synapses = 0
        self.synapse_models: dict[str, str] = {}
        for name, proj in net.projections.items():
            field = f"projections.{name}"
            model = "static_synapse"
            if proj.plasticity is not None:
                rule = make_plasticity(proj.plasticity, f"{field}.plasticity")
                model = f"neurobox_stdp_{len(self.synapse_models)}"
                nest.CopyModel("stdp_synapse", model, stdp_synapse_params(rule))
                self.nodes[proj.post.name].set(tau_minus=rule.params["tau_minus"])
            self.synapse_models[name] = model
            conns = drawn[name]
            if len(conns) == 0:
                continue
            pre_ids = np.asarray(self.nodes[proj.pre.name].tolist(), dtype=np.int64)[conns.pre()]
            post_ids = np.asarray(self.nodes[proj.post.name].tolist(), dtype=np.int64)[conns.targets.astype(np.int64)]
            weights = np.asarray(conns.weights, dtype=np.float64)
            if proj.post.model.name in CONDUCTANCE_MODELS and proj.receptor == "inhibitory":
                weights = -weights
            steps = conns.delays.astype(np.float64) if conns.delays is not None else np.full(len(conns), conns.delay)
            nest.Connect(pre_ids, post_ids, "one_to_one",
                         {"synapse_model": model, "weight": weights, "delay": steps * self.dt})
            self.synapses += len(conns)
        for name, stim in net.stimuli.items():
            generator = nest.Create("step_current_generator")
            generator.set(amplitude_times=_current_times(stim.times, self.dt),
                          amplitude_values=[float(a) for a in stim.amplitudes])
            targets = self.nodes[stim.target.name]
            nest.Connect(generator, targets if stim.neurons is None else targets[sorted(set(stim.neurons))],
                         syn_spec={"delay": self.dt})
        self.multimeters: dict[str, tuple[Any, Any, np.ndarray]] = {}
        for name, rec in net.recorders.items():
            targets = self.nodes[rec.population.name]
            neurons = np.arange(rec.population.n) if rec.neurons is None else np.asarray(sorted(set(rec.neurons)))
            meter = nest.Create("multimeter", params={"record_from": list(rec.variables),
                                                       "interval": rec.every * self.dt})
            nest.Connect(meter, targets[neurons.tolist()])
            self.multimeters[name] = (meter, rec, neurons)
        self.time = 0.0
        self.setup_s = time.perf_counter() - start
        self.simulate_s = 0.0

    def run(self, duration_ms: float | None = None) -> Results:
        """Simulate `duration_ms` more (default: the description's duration) and return everything recorded
        so far."""
        duration = float(self.net.duration if duration_ms is None else duration_ms)
        start = time.perf_counter()
        self.nest.Simulate(duration)
        self.simulate_s += time.perf_counter() - start
        self.time += duration
        return self._results()

    def _results(self) -> Results:
        spikes = {}
        for name, pop in self.net.populations.items():
            if name not in self.spike_recorders:
                spikes[name] = SpikeTrains(np.zeros(0), np.zeros(0, dtype=np.int32), pop.n)
                continue
            recorder, first = self.spike_recorders[name]
            events = gather_ranks(_events(recorder, ("times", "senders")), self.comm)
            t = events["times"].astype(np.float64)
            ids = events["senders"].astype(np.int64) - first
            order = np.lexsort((ids, t))
            spikes[name] = SpikeTrains(t[order], ids[order].astype(np.int32), pop.n)
        traces = {}
        for name, (meter, rec, neurons) in self.multimeters.items():
            events = gather_ranks(_events(meter, ("times", "senders", *rec.variables)), self.comm)
            first = int(self.nodes[rec.population.name][0].global_id)
            senders = events["senders"].astype(np.int64) - first
            t_all = events["times"].astype(np.float64)
            t_ms = np.unique(t_all)
            column = {int(n): j for j, n in enumerate(neurons)}
            rows = np.searchsorted(t_ms, t_all)
            cols = np.array([column[int(s)] for s in senders], dtype=np.int64)
            traces[name] = {}
            for var in rec.variables:
                values = np.full((t_ms.size, neurons.size), np.nan)
                values[rows, cols] = np.asarray(events[var], dtype=np.float64)
                traces[name][var] = Trace(rec.population.name, var, neurons.copy(), t_ms, values)
        wall = self.setup_s + self.simulate_s
        return Results(self.dt, self.net.seed, self.time, spikes, traces, self.net.to_toml,
                       {"setup_s": self.setup_s, "simulate_s": self.simulate_s, "wall_s": wall,
                        "threads": int(self.nest.GetKernelStatus("local_num_threads"))},
                       self.synapses, {"backend": "nest", "nest_version": str(self.nest.__version__)})

    def weights(self, projection: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pre, post, weight, delay_steps) of a projection's synapses as they are now in NEST (after
        learning), ordered by pre then post neuron (the engine's order; synapses of one pair in NEST's order);
        weights in neurobox's sign (conductances >= 0)."""
        if projection not in self.synapse_models:
            raise ConfigError("projection", f"no projection {projection!r}; there: {', '.join(self.synapse_models)}")
        proj = self.net.projections[projection]
        pre_nodes, post_nodes = self.nodes[proj.pre.name], self.nodes[proj.post.name]
        found = self.nest.GetConnections(pre_nodes, post_nodes, synapse_model=self.synapse_models[projection])
        keys = ("source", "target", "weight", "delay")
        local = {k: np.zeros(0) for k in keys}
        if len(found):
            local = {k: np.atleast_1d(v) for k, v in found.get(list(keys)).items()}   # one synapse: scalars
        c = gather_ranks(local, self.comm)
        pre = c["source"].astype(np.int64) - int(pre_nodes[0].global_id)
        post = c["target"].astype(np.int64) - int(post_nodes[0].global_id)
        w = c["weight"].astype(np.float64)
        if proj.post.model.name in CONDUCTANCE_MODELS and proj.receptor == "inhibitory":
            w = -w
        steps = np.rint(c["delay"].astype(np.float64) / self.dt).astype(np.int32)
        order = np.lexsort((post, pre))
        return pre[order].astype(np.int32), post[order].astype(np.int32), w[order], steps[order]

    def close(self) -> None:
        self.nest.ResetKernel()


def _mpi_world():
    """mpi4py's COMM_WORLD (NEST built with MPI runs on several processes), or one line saying what is missing."""
    try:
        from mpi4py import MPI
    except ImportError:
        from neurobox.errors import ToolMissingError

        raise ToolMissingError("NEST runs on several MPI processes: gathering their recordings needs mpi4py "
                               "(pip install mpi4py)") from None
    return MPI.COMM_WORLD


def _events(device, keys) -> dict[str, np.ndarray]:
    """A recording device's events of this process, as arrays."""
    events = device.get("events")
    return {k: np.atleast_1d(np.asarray(events[k])) for k in keys}


def gather_ranks(local: dict[str, np.ndarray], comm) -> dict[str, np.ndarray]:
    """Every MPI process's arrays, joined in rank order, on every process (comm None: one process, `local`).

    Under MPI each NEST process records and holds the synapses of its own neurons only; the callers sort
    what they get (by time and neuron, by pre and post neuron), so the order of the ranks does not matter."""
    if comm is None:
        return local
    parts = comm.allgather(local)
    return {k: np.concatenate([np.atleast_1d(part[k]) for part in parts]) for k in local}


def _per_neuron(value, n: int):
    """A parameter as NEST takes it: a scalar, or a list of n values."""
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array.tolist()


class Nest:
    """The `nest` runner of neurobox.targets."""

    name = "nest"
    summary = "NEST, through PyNEST (the same synapses and initial state; NEST's own integrators and random numbers)"

    def check(self, net) -> list:
        from neurobox.targets import Unsupported

        return [Unsupported(field, why) for field, why in unsupported(net)]

    def open(self, net, *, progress: bool | None = None, threads: int | None = None) -> NestRun:
        return NestRun(net, threads=threads, progress=progress)
