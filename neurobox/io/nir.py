"""NIR graphs (the Neuromorphic Intermediate Representation) to and from a Network.

Units. A NIR voltage unit is 1 mV and a NIR current unit 1 pA; NIR time
constants are seconds, neurobox's milliseconds (tau_ms = 1000 tau_s). NIR's
resistance r is then tau_m / C_m (GOhm = mV/pA, tau_m in ms, C_m in pF), and
for IF and I nodes (dv/dt = r I, per second) C_m = 1000 / r pF.

Time. A NIR graph holds ODEs but no time step; its spikes are read as the
platforms that write it (snnTorch, Norse, the NIR reference) run it: a spike
is an impulse of area dt, the step it was trained with (`dt`; the graph's
metadata "dt", in seconds, when it has one). So a spike through weight W
moves a CubaLIF's I by w_in W dt / tau_syn (pA: the neurobox weight), a
LIF's v by r W dt / tau and an IF's v by r W dt (mV: the weight of an
`iaf_psc_delta` synapse). A NIR edge is instantaneous; a neurobox
projection takes at least one step: an edge gets 1 step, a Delay node d
seconds 1 + d / dt steps (and back). Neurons start at rest (v = v_leak,
0 for IF and I nodes) and fire at v >= v_threshold (NIR: v > v_threshold).

Nodes (import, export):
    Input                   spike_generator population (no spikes: feed it), and back from any spike source
    CubaLIF                 iaf_psc_exp (tau_syn_ex = tau_syn_in, t_ref = 0)
    LIF, IF                 iaf_psc_delta (g_L = 1 / r; IF: g_L = 0)
    LI, I                   leaky_integrator (never fires; its V_m is recorded; it may only feed an Output)
    Affine, Linear          synapses with the matrix's weights (no synapse where it is 0); a bias b is a
                            constant current (w_in b pA into a CubaLIF, b pA into the others; a CubaLIF's
                            synaptic current starts at -w_in b so that their sum rises as NIR's I does)
    Conv1d, Conv2d          synapses of the convolution (stride, padding, dilation, groups), bias as above
    Flatten                 nothing (neurons are numbered in C order)
    Delay                   synapse delays (before the weights: per pre neuron, after them: per post neuron)
    Output                  spikes recorded (V_m for LI and I)
Between two neuron nodes at most one weight node; neuron to neuron without
one is one-to-one with weight 1. A node whose parameters differ between its
neurons becomes one population per set of values ("name.0", "name.1", ...).
Anything else (Scale, Threshold, pooling, nested graphs) is refused in one
line naming the node and its type.

Export writes the network's model file and a digest of the graph into the
graph's metadata: a graph read back unchanged is that network exactly (a
graph changed elsewhere is converted from its nodes).
"""
from __future__ import annotations

import hashlib
import io
import json
from itertools import pairwise
from typing import Any

import numpy as np

from neurobox.errors import ConfigError
from neurobox.files import atomic_write
from neurobox.io import require

SUFFIXES = (".nir",)
DEFAULT_DT_MS = 1.0
"""The time step (ms) of a graph whose metadata names none."""
NEURON_TYPES = ("CubaLIF", "LIF", "IF", "LI", "I")
PATH_TYPES = ("Affine", "Linear", "Conv1d", "Conv2d", "Flatten", "Delay")
WEIGHT_TYPES = ("Affine", "Linear", "Conv1d", "Conv2d")
SOURCES = ("spike_generator", "poisson_generator")
READABLE = ("Input", "Output") + NEURON_TYPES + PATH_TYPES
REFUSED = {
    "Threshold": "a Heaviside of a continuous signal without reset; neurobox's spiking models reset (LIF, IF)",
    "Scale": "a per-value gain of a continuous signal; neurobox populations exchange spikes through weights",
    "CubaLI": "a non-spiking neuron with a synaptic current; neurobox reads LI and I as read-outs",
    "SumPool2d": "pooling of a continuous signal; neurobox populations exchange spikes through weights",
    "AvgPool2d": "pooling of a continuous signal; neurobox populations exchange spikes through weights",
    "NIRGraph": "a nested graph (as snnTorch writes recurrent layers); flatten it into one graph first",
}
"""Why the node types neurobox does not read have no neurobox meaning."""


# ---------------------------------------------------------------------------------------------------- files

def read(path, dt: float | None = None):
    """The Network of the NIR graph in `path` (dt: its time step in ms, if its metadata names none)."""
    nir = require("nir", "nir")
    try:
        graph = nir.read(str(path), type_check=False)  # neurobox checks the sizes itself (scalars broadcast)
    except (OSError, ValueError, KeyError, TypeError, AssertionError, AttributeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError("file", f"{path} is not a readable NIR graph (an HDF5 file written by nir.write): "
                                  f"{first}") from None
    return from_nir(graph, dt)


def write(net, path) -> list[str]:
    """Write `net` as a NIR graph (HDF5, atomically); returns the notes on what NIR does not hold."""
    nir = require("nir", "nir")
    graph, notes = to_nir(net)
    buffer = io.BytesIO()
    nir.write(buffer, graph)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
    return notes


# ---------------------------------------------------------------------------------------------------- export

def to_nir(net):
    """(nir.NIRGraph, notes) of a Network; a ConfigError names the first part NIR cannot hold."""
    nir = require("nir", "nir")
    from neurobox.network.modelfile import to_dict
    from neurobox.network.projection import GapJunction

    dt_s = net.dt * 1e-3
    notes: list[str] = []
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    scale: dict[str, float] = {}      # population -> NIR weight unit in the population's weight unit
    bias: dict[str, np.ndarray] = {}  # population -> constant current (pA) into each neuron
    inhibited = {p.post.name for p in net.projections.values() if getattr(p, "receptor", "") == "inhibitory"}
    for name, pop in net.populations.items():
        nodes[name], scale[name] = _neuron_node(nir, pop, dt_s, name in inhibited, notes)
        bias[name] = np.full(pop.n, pop.params.get("I_e", 0.0))
    for name, stim in net.stimuli.items():
        if tuple(stim.times) != (0.0,):
            raise ConfigError(f"stimuli.{name}", "a step current that changes in time has no NIR node (a constant "
                                                 "current from t = 0 becomes an Affine bias)")
        bias[stim.target.name][stim.neuron_indices()] += stim.amplitudes[0]
    biased: set[str] = set()
    for name, proj in net.projections.items():
        field = f"projections.{name}"
        if isinstance(proj, GapJunction):
            raise ConfigError(field, "a gap junction has no NIR node")
        if proj.p_transmit is not None:
            raise ConfigError(f"{field}.p_transmit", "unreliable transmission has no NIR node")
        if proj.plasticity is not None:
            notes.append(f"{field}: its plasticity is not part of NIR; its initial weights were written")
        pre, post = proj.pre.name, proj.post.name
        syn = proj.build(net.seed, net.dt, field)
        w = np.zeros((proj.post.n, proj.pre.n))
        np.add.at(w, (syn.post, syn.pre), np.asarray(syn.weight, dtype=float) / scale[post])
        b = bias[post] if post not in biased and bias[post].any() else None
        if b is not None:
            biased.add(post)
            nodes[name] = nir.Affine(weight=w, bias=b / _bias_unit(nodes[post]))
        else:
            nodes[name] = nir.Linear(weight=w)
        chain = [pre, name, post]
        delays = np.asarray(syn.delay_steps, dtype=np.int64)
        if delays.size and delays.max() > 1:
            per_post, per_pre = _uniform_by(syn.post, delays, proj.post.n), _uniform_by(syn.pre, delays, proj.pre.n)
            if per_post is not None:
                nodes[f"{name}.delay"] = nir.Delay(delay=(per_post - 1) * dt_s)
                chain = [pre, name, f"{name}.delay", post]
            elif per_pre is not None:
                nodes[f"{name}.delay"] = nir.Delay(delay=(per_pre - 1) * dt_s)
                chain = [pre, f"{name}.delay", name, post]
            else:
                raise ConfigError(f"{field}.delay", "NIR delays are per neuron (a Delay node): the delays of one "
                                                    "post (or pre) neuron's synapses must be equal")
        edges += list(pairwise(chain))
    for name, b in bias.items():
        if b.any() and name not in biased:
            raise ConfigError(f"populations.{name}", "a constant current (I_e or a step current) into a population "
                                                     "without incoming synapses has no NIR node (it is an Affine "
                                                     "bias)")
        start = net.populations[name].initial.get("I_syn_ex")
        rising = start is not None and not isinstance(start, dict) and np.array_equal(
            np.broadcast_to(start, b.shape), -b)
        if b.any() and nodes[name].__class__.__name__ == "CubaLIF" and not rising:
            notes.append(f"populations.{name}: its constant current is NIR's Affine bias, which rises with "
                         "tau_syn where neurobox's acts at once (unless initial I_syn_ex is minus it, as in an "
                         "imported graph)")
    senders = {p.pre.name for p in net.projections.values()}
    for name, pop in net.populations.items():
        if pop.model.name not in SOURCES and name not in senders:
            nodes[f"{name}.output"] = nir.Output(output_type={"output": np.array([pop.n])})
            edges.append((name, f"{name}.output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    graph.metadata = {"dt": dt_s, "neurobox_model": json.dumps(to_dict(net)), "neurobox_digest": digest(graph)}
    return graph, notes


def _neuron_node(nir, pop, dt_s: float, inhibited: bool, notes: list[str]):
    """The NIR node of a population and the neurobox weight of one NIR weight unit into it."""
    p, n, model, field = pop.params, pop.n, pop.model.name, f"populations.{pop.name}"
    full = lambda v: np.full(n, float(v))
    if model in SOURCES:
        notes.append(f"{field}: a {model} is a NIR Input node; its spikes are data, not part of the graph")
        return nir.Input(input_type={"input": np.array([n])}), 1.0
    if p.get("t_ref", 0.0) > 0.0:
        notes.append(f"{field}: t_ref = {p['t_ref']:g} ms has no NIR parameter (NIR neurons have no refractory "
                     "period)")
    if model == "iaf_psc_exp":
        if inhibited and p["tau_syn_in"] != p["tau_syn_ex"]:
            raise ConfigError(f"{field}.params.tau_syn_in", f"{p['tau_syn_in']:g} ms differs from tau_syn_ex "
                                                            f"({p['tau_syn_ex']:g} ms); a NIR CubaLIF has one "
                                                            "synaptic time constant")
        if p["theta_plus"] != 0.0:
            raise ConfigError(f"{field}.params.theta_plus", "an adaptive threshold has no NIR parameter")
        tau_syn = p["tau_syn_ex"] * 1e-3
        node = nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(p["tau_m"] * 1e-3), r=full(p["tau_m"] / p["C_m"]),
                           v_leak=full(p["E_L"]), v_threshold=full(p["V_th"]), v_reset=full(p["V_reset"]),
                           w_in=full(tau_syn / dt_s))
        return node, 1.0
    if model in ("iaf_psc_delta", "leaky_integrator"):
        spiking = model == "iaf_psc_delta"
        if p["g_L"] > 0.0:
            tau, r = p["C_m"] / p["g_L"] * 1e-3, 1.0 / p["g_L"]
            kw = {"tau": full(tau), "r": full(r), "v_leak": full(p["E_L"])}
            node = nir.LIF(**kw, v_threshold=full(p["V_th"]), v_reset=full(p["V_reset"])) if spiking else nir.LI(**kw)
            return node, r * dt_s / tau
        if p["E_L"] != 0.0:
            notes.append(f"{field}: NIR's {'IF' if spiking else 'I'} node starts at v = 0; E_L = {p['E_L']:g} mV "
                         "(where it starts here) is not part of it")
        r = 1e3 / p["C_m"]
        node = nir.IF(r=full(r), v_threshold=full(p["V_th"]), v_reset=full(p["V_reset"])) if spiking \
            else nir.I(r=full(r))
        return node, r * dt_s
    raise ConfigError(f"{field}.model", f"{model} has no NIR node; NIR holds iaf_psc_exp (CubaLIF), iaf_psc_delta "
                                        "(LIF, IF), leaky_integrator (LI, I) and spike sources (Input)")


def _bias_unit(node) -> np.ndarray | float:
    """pA of constant current per unit of an Affine bias into `node`."""
    return node.w_in if node.__class__.__name__ == "CubaLIF" else 1.0


def _uniform_by(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray | None:
    """values per owner (n of them; 1 where none) when each owner's values are equal, else None."""
    out = np.ones(n, dtype=np.int64)
    out[owner] = values
    return out if np.array_equal(out[owner], values) else None


# ---------------------------------------------------------------------------------------------------- import

def from_nir(graph, dt: float | None = None):
    """A Network of a nir.NIRGraph (dt: its time step in ms when its metadata names none; default 1 ms)."""
    from neurobox.network.modelfile import from_dict

    meta = getattr(graph, "metadata", None) or {}
    if "neurobox_model" in meta and meta.get("neurobox_digest") == digest(graph):
        return from_dict(json.loads(str(meta["neurobox_model"])))
    if dt is None:
        dt = float(meta["dt"]) * 1e3 if "dt" in meta else DEFAULT_DT_MS
    return _Importer(graph, float(dt)).network


class _Importer:
    """The conversion of one graph: populations first, then the synapses of every path between them."""

    def __init__(self, graph, dt_ms: float):
        from neurobox.network import Network

        self.graph, self.dt_ms, self.dt_s = graph, dt_ms, dt_ms * 1e-3
        self.network = Network(dt=dt_ms)
        for name, node in graph.nodes.items():
            kind = type(node).__name__
            if kind not in READABLE:
                why = REFUSED.get(kind, "it has no neurobox meaning")
                raise ConfigError(f"nodes.{name}", f"{kind} node {name!r}: {why}; neurobox reads "
                                                   f"{', '.join(READABLE)}")
        self.succ: dict[str, list[str]] = {name: [] for name in graph.nodes}
        for a, b in graph.edges:
            for end in (a, b):
                if end not in graph.nodes:
                    raise ConfigError("edges", f"edge ({a!r}, {b!r}) names no node {end!r}")
            self.succ[a].append(b)
        self.parts: dict[str, list[tuple[str, np.ndarray]]] = {}  # node -> (population, its neurons in the node)
        self.where: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # node -> (part index, local index) per neuron
        self.units: dict[str, dict[str, np.ndarray]] = {}
        self.current: dict[str, np.ndarray] = {}
        used: set[str] = set()
        for name, node in graph.nodes.items():
            kind = type(node).__name__
            if kind == "Input" or kind in NEURON_TYPES:
                self._populations(name, node, kind, used)
        done: set[tuple[str, str]] = set()
        for name in self.parts:
            for path in self._paths(name):
                self._connect(path, done)
        for name, amps in self.current.items():
            self._constant_current(name, amps)

    # -- populations --------------------------------------------------------------------------------------
    def _populations(self, name: str, node, kind: str, used: set[str]) -> None:
        base = _population_name(name, used)
        if kind == "Input":
            n = int(np.prod(np.asarray(node.input_type["input"]).astype(np.int64)))
            self._add_parts(name, base, [("spike_generator", {"spike_times": [[] for _ in range(n)]},
                                          np.arange(n))], used)
            return
        table, unit = _neuron_params(name, node, kind, self.dt_s, self._size_hint(name))
        self.units[name] = unit
        n = int(np.prod(unit["shape"]))
        rows = np.stack([np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in table.values()], axis=1)
        values, inverse = np.unique(rows, axis=0, return_inverse=True)
        model = {"CubaLIF": "iaf_psc_exp", "LIF": "iaf_psc_delta", "IF": "iaf_psc_delta"}.get(kind, "leaky_integrator")
        groups = [(model, dict(zip(table, map(float, values[k]))), np.flatnonzero(inverse.ravel() == k))
                  for k in range(len(values))]
        groups.sort(key=lambda g: g[2][0])
        self._add_parts(name, base, groups, used)
        self.current[name] = np.zeros(rows.shape[0])

    def _add_parts(self, name: str, base: str, groups, used: set[str]) -> None:
        n = sum(g[2].size for g in groups)
        part, local = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        self.parts[name] = []
        for k, (model, params, idx) in enumerate(groups):
            pop = base if len(groups) == 1 else _population_name(f"{base}.{k}", used)
            used.add(pop)
            self.network.population(pop, int(idx.size), model, params)
            self.parts[name].append((pop, idx))
            part[idx], local[idx] = k, np.arange(idx.size)
        used.add(base)
        self.where[name] = (part, local)

    def _size_hint(self, name: str) -> int | None:
        """The number of values the nodes right before `name` send it (for a node whose parameters are scalars)."""
        for a, b in self.graph.edges:
            node = self.graph.nodes[a]
            if b == name and type(node).__name__ in ("Affine", "Linear"):
                return int(np.asarray(node.weight).shape[0])
            if b == name and type(node).__name__ in ("Conv1d", "Conv2d", "Delay"):
                out = node.output_type.get("output") if isinstance(node.output_type, dict) else None
                if out is not None:
                    return int(np.prod(np.asarray(out)))
        return None

    # -- paths ----------------------------------------------------------------------------------------------
    def _paths(self, start: str):
        """Every chain start -> (path nodes) -> neuron, Input or Output node."""
        stack = [(nxt, [start]) for nxt in self.succ[start]]
        while stack:
            node, chain = stack.pop()
            kind = type(self.graph.nodes[node]).__name__
            if node in chain:
                raise ConfigError(f"nodes.{node}", f"{kind} node {node!r} is on a loop without a neuron node")
            if kind in PATH_TYPES:
                stack += [(nxt, chain + [node]) for nxt in self.succ[node]]
            else:
                yield chain + [node]

    def _connect(self, path: list[str], done: set) -> None:
        src, ops, dst = path[0], path[1:-1], path[-1]
        src_kind, dst_kind = (type(self.graph.nodes[x]).__name__ for x in (src, dst))
        if src_kind in ("LI", "I"):
            if ops or dst_kind != "Output":
                raise ConfigError(f"nodes.{src}", f"{src_kind} node {src!r} feeds {dst!r}: it never fires, and "
                                                  "neurobox populations exchange spikes; it can only be read out "
                                                  "(an Output)")
            for pop, _ in self.parts[src]:
                self.network.record(pop, ["V_m"], name=f"{pop}.V_m")
            return
        if dst_kind == "Output":
            if any(type(self.graph.nodes[x]).__name__ in WEIGHT_TYPES for x in ops):
                raise ConfigError(f"nodes.{dst}", f"Output node {dst!r} reads weighted spikes; neurobox records a "
                                                  "population's own spikes (no weights between it and the Output)")
            return
        if dst_kind == "Input":
            raise ConfigError(f"nodes.{dst}", f"Input node {dst!r} has an incoming edge")
        n_src = self.where[src][0].size
        pre, post, w, delay = np.arange(n_src), np.arange(n_src), np.ones(n_src), np.zeros(n_src)
        shape: tuple = self.units.get(src, {}).get("shape", (n_src,))
        bias = None
        weighted = None
        for op in ops:
            node, kind = self.graph.nodes[op], type(self.graph.nodes[op]).__name__
            if kind == "Flatten":
                shape = (int(np.prod(shape)),)
            elif kind == "Delay":
                d = np.asarray(node.delay, dtype=float).ravel()
                d = np.broadcast_to(d, (int(np.prod(shape)),)) if d.size == 1 else d
                if d.size != int(np.prod(shape)):
                    raise ConfigError(f"nodes.{op}", f"Delay node {op!r} holds {d.size} delays for "
                                                     f"{int(np.prod(shape))} inputs")
                delay = delay + d[post]
            else:
                if weighted is not None:
                    raise ConfigError(f"nodes.{op}", f"{kind} node {op!r} follows {weighted!r} between two neuron "
                                                     "nodes; neurobox synapses join two populations directly (one "
                                                     "weight node between them)")
                weighted = op
                mat_pre, mat_post, mat_w, shape, bias = _weights(op, node, kind, shape)
                order = np.argsort(mat_pre, kind="stable")
                mat_pre, mat_post, mat_w = mat_pre[order], mat_post[order], mat_w[order]
                lo, hi = np.searchsorted(mat_pre, post, "left"), np.searchsorted(mat_pre, post, "right")
                take = np.repeat(np.arange(post.size), hi - lo)
                pick = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if take.size else take
                pre, post, w, delay = pre[take], mat_post[pick], w[take] * mat_w[pick], delay[take]
        unit = self.units[dst]
        n_dst = self.where[dst][0].size
        if int(np.prod(shape)) != n_dst:
            raise ConfigError(f"nodes.{dst}", f"{dst_kind} node {dst!r} has {n_dst} neurons; the path "
                                              f"{' -> '.join(path)} brings {int(np.prod(shape))} inputs")
        if bias is not None and (weighted, dst) not in done:
            done.add((weighted, dst))
            self.current[dst] += bias * unit["bias"]
        keep = w != 0.0
        pre, post, w, delay = pre[keep], post[keep], w[keep] * unit["weight"][post[keep]], delay[keep]
        steps = 1.0 + delay / self.dt_s
        if steps.size and np.abs(steps - np.round(steps)).max() > 1e-6:
            raise ConfigError(f"nodes.{path[1]}", f"delays on the path {' -> '.join(path)} are not whole steps of "
                                                  f"dt = {self.dt_ms:g} ms")
        self._projections(path, weighted, pre, post, w, np.round(steps) * self.dt_ms)

    def _projections(self, path, weighted, pre, post, w, delay_ms) -> None:
        src, dst = path[0], path[-1]
        src_part, src_local = self.where[src]
        dst_part, dst_local = self.where[dst]
        base = weighted or f"{src}_{dst}"
        for a, (pre_pop, _) in enumerate(self.parts[src]):
            for b, (post_pop, _) in enumerate(self.parts[dst]):
                for receptor, sel in (("excitatory", w > 0), ("inhibitory", w < 0)):
                    sel = sel & (src_part[pre] == a) & (dst_part[post] == b)
                    if not sel.any():
                        continue
                    i, j = src_local[pre[sel]], dst_local[post[sel]]
                    order = np.lexsort((j, i))
                    name = _population_name(f"{base}.{receptor[:3]}" if len(self.parts[src]) == 1
                                            and len(self.parts[dst]) == 1 else f"{base}.{a}.{b}.{receptor[:3]}",
                                            set(self.network.projections))
                    d = delay_ms[sel][order]
                    self.network.connect(pre_pop, post_pop, "explicit", pre_ids=i[order].tolist(),
                                         post_ids=j[order].tolist(), weight=w[sel][order].tolist(),
                                         delay=float(d[0]) if np.all(d == d[0]) else d.tolist(), receptor=receptor,
                                         name=name)

    def _constant_current(self, name: str, amps: np.ndarray) -> None:
        from neurobox.network.stimuli import StepCurrent

        cuba = type(self.graph.nodes[name]).__name__ == "CubaLIF"
        for pop, idx in self.parts[name]:
            a = amps[idx]
            if not a.any():
                continue
            for k, value in enumerate(np.unique(a[a != 0.0])):
                neurons = np.flatnonzero(a == value).tolist()
                self.network.add(StepCurrent(pop, [0.0], [float(value)], neurons=neurons,
                                             name=f"{pop}.bias{k}" if k else f"{pop}.bias"))
            if cuba:  # the synaptic current starts at -bias: their sum starts at 0 and rises as NIR's I
                population = self.network.populations[pop]
                population.initial["I_syn_ex"] = (-a).tolist()


def _neuron_params(name: str, node, kind: str, dt_s: float, hint: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The neurobox parameters of a neuron node (arrays over its neurons), and its units: the neurobox weight
    per NIR weight for spikes of area dt_s ("weight", per neuron), the pA per unit of bias ("bias") and the
    node's shape. Parameters that are all scalars (as snnTorch writes them) are taken for `hint` neurons."""
    field = f"nodes.{name}"
    arrays = {k: np.asarray(v, dtype=float) for k, v in vars(node).items()
              if k not in ("metadata", "input_type", "output_type")}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values())) or (1,)
    if int(np.prod(shape)) == 1 and hint:
        shape = (hint,)
    a = {k: np.broadcast_to(v, shape).ravel() for k, v in arrays.items()}
    for key in ("tau", "tau_mem", "tau_syn", "r"):
        if key in a and not np.all(a[key] > 0):
            raise ConfigError(f"{field}.{key}", f"{kind} node {name!r}: {key} must be > 0 for neurobox, got "
                                                f"{a[key].min():g}")
    if kind == "CubaLIF":
        tau_m, tau_s = a["tau_mem"] * 1e3, a["tau_syn"] * 1e3
        table = {"C_m": tau_m / a["r"], "tau_m": tau_m, "tau_syn_ex": tau_s, "tau_syn_in": tau_s, "t_ref": 0.0 * tau_m,
                 "E_L": a["v_leak"], "V_th": a["v_threshold"], "V_reset": a["v_reset"]}
        unit = {"weight": a["w_in"] * (dt_s / a["tau_syn"]), "bias": a["w_in"]}
    elif kind in ("LIF", "LI"):
        table = {"C_m": a["tau"] * 1e3 / a["r"], "g_L": 1.0 / a["r"], "E_L": a["v_leak"]}
        unit = {"weight": a["r"] * (dt_s / a["tau"]), "bias": 1.0}
    else:
        table = {"C_m": 1e3 / a["r"], "g_L": 0.0 * a["r"], "E_L": 0.0 * a["r"]}
        unit = {"weight": a["r"] * dt_s, "bias": 1.0}
    if kind in ("LIF", "IF"):
        table.update({"V_th": a["v_threshold"], "V_reset": a["v_reset"], "t_ref": 0.0 * a["r"]})
    unit["shape"] = tuple(int(s) for s in shape)
    return table, unit


def _weights(name: str, node, kind: str, shape: tuple):
    """(pre, post, weight, output shape, bias per output or None) of a weight node applied to inputs of `shape`."""
    n_in = int(np.prod(shape))
    field = f"nodes.{name}"
    if kind in ("Affine", "Linear"):
        W = np.asarray(node.weight, dtype=float)
        if W.ndim != 2 or W.shape[1] != n_in:
            raise ConfigError(f"{field}.weight", f"{kind} node {name!r} has weights of shape {W.shape}; "
                                                 f"its input has {n_in} values (expected ({W.shape[0]}, {n_in}))")
        post, pre = np.nonzero(W)
        b = np.asarray(node.bias, dtype=float).ravel() if kind == "Affine" else None
        return pre, post, W[post, pre], (W.shape[0],), b
    return _conv(name, node, kind, shape)


def _conv(name: str, node, kind: str, shape: tuple):
    """The synapses of a Conv1d or Conv2d node on inputs of `shape` (C_in, *spatial)."""
    field = f"nodes.{name}"
    W = np.asarray(node.weight, dtype=float)
    nd = 1 if kind == "Conv1d" else 2
    if node.input_shape is not None:
        spatial = tuple(int(s) for s in np.atleast_1d(node.input_shape))
        c_in = W.shape[1] * int(node.groups)
        if c_in * int(np.prod(spatial)) != int(np.prod(shape)):
            raise ConfigError(f"{field}.input_shape", f"{kind} node {name!r} expects {c_in} x {spatial} inputs, "
                                                      f"its input has {int(np.prod(shape))} values")
        shape = (c_in, *spatial)
    if len(shape) != nd + 1:
        raise ConfigError(f"{field}.input_shape", f"{kind} node {name!r} needs the shape of its input (C, "
                                                  f"{'N' if nd == 1 else 'H, W'}); give input_shape or a neuron "
                                                  "node of that shape before it")
    groups = int(node.groups)
    c_in, spatial = shape[0], shape[1:]
    c_out, per_group, kernel = W.shape[0], W.shape[1], W.shape[2:]
    if per_group * groups != c_in or c_out % groups:
        raise ConfigError(f"{field}.weight", f"{kind} node {name!r}: weights {W.shape} with groups = {groups} do "
                                             f"not fit {c_in} input channels")
    tup = lambda v: tuple(int(x) for x in np.broadcast_to(np.atleast_1d(v), (nd,)))
    stride, dilation = tup(node.stride), tup(node.dilation)
    if isinstance(node.padding, str):
        pad = (0,) * nd if node.padding == "valid" else tuple(d * (k - 1) // 2 for d, k in zip(dilation, kernel))
        out = spatial if node.padding == "same" else None
    else:
        pad, out = tup(node.padding), None
    if out is None:
        out = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                    for s, p, d, k, st in zip(spatial, pad, dilation, kernel, stride))
    pos = np.stack(np.meshgrid(*[np.arange(o) for o in out], indexing="ij"), axis=0).reshape(nd, -1)
    pre_all, post_all, w_all = [], [], []
    for co in range(c_out):
        g = co // (c_out // groups)
        for cj in range(per_group):
            ci = g * per_group + cj
            for koff in np.ndindex(*kernel):
                w = W[(co, cj, *koff)]
                if w == 0.0:
                    continue
                src = [pos[k] * stride[k] - pad[k] + koff[k] * dilation[k] for k in range(nd)]
                ok = np.all([(s >= 0) & (s < spatial[k]) for k, s in enumerate(src)], axis=0)
                pre_all.append(np.ravel_multi_index((np.full(ok.sum(), ci), *[s[ok] for s in src]), shape))
                post_all.append(np.ravel_multi_index((np.full(ok.sum(), co), *pos[:, ok]), (c_out, *out)))
                w_all.append(np.full(ok.sum(), w))
    cat = lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dtype=dt)
    b = np.repeat(np.asarray(node.bias, dtype=float).ravel(), int(np.prod(out)))
    return cat(pre_all, np.int64), cat(post_all, np.int64), cat(w_all, float), (c_out, *out), b


def _population_name(name: str, used: set[str]) -> str:
    """A population or projection name from a node name: letters, digits, _ . - and not yet used."""
    clean = "".join(c if c.isalnum() or c in "_.-" else "_" for c in str(name))
    if not clean or not (clean[0].isalpha() or clean[0] == "_"):
        clean = f"n_{clean}"
    out, k = clean, 1
    while out in used:
        k += 1
        out = f"{clean}_{k}"
    return out


def digest(graph) -> str:
    """A hash of a graph's nodes (types and values, not metadata) and edges."""
    h = hashlib.sha256()
    for name in sorted(graph.nodes):
        node = graph.nodes[name]
        h.update(f"{name}\0{type(node).__name__}\0".encode())
        if type(node).__name__ == "NIRGraph":
            h.update(digest(node).encode())
            continue
        for key, value in sorted(node.to_dict().items()):
            if key == "metadata":
                continue
            h.update(key.encode())
            arr = np.asarray(value)
            h.update(arr.astype(float).tobytes() if arr.dtype.kind in "biuf" else repr(value).encode())
            h.update(repr(arr.shape).encode())
    for a, b in sorted(graph.edges):
        h.update(f"{a}\0{b}\0".encode())
    return h.hexdigest()
