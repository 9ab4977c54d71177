"""NeuroML 2 documents to and from a Network (`neurobox export --to neuroml`, `neurobox import x.nml`).

What maps (neurobox model <-> NeuroML cell; synapses are one component per receptor, weights per connection)::

    iaf_psc_exp    <-> IF_curr_exp   + expCurrSynapse      (weights nA, PyNN's units)
    iaf_psc_alpha  <-> IF_curr_alpha + alphaCurrSynapse    (weights nA)
    iaf_cond_exp   <-> IF_cond_exp   + expCondSynapse      (weights uS; tau_m = C_m / g_L)
    iaf_cond_alpha <-> IF_cond_alpha + alphaCondSynapse    (weights uS)
    izhikevich2007 <-> izhikevich2007Cell + expCurrSynapse
    aeif_psc_exp   <-> adExIaFCell + expCurrSynapse;  aeif_cond_exp <-> adExIaFCell + expCondSynapse
    poisson_generator <-> spikeGeneratorPoisson;  spike_generator (one list of times) <-> spikeArray
    StepCurrent    <-> one pulseGenerator per segment, an inputList each ("NAME__segK")
    Projection     <-> projection of connectionWD (the drawn synapses: weight, delay in ms)
    GapJunction    <-> electricalProjection of electricalConnectionInstanceW (gapJunction of 1 nS x weight)

Read only: EIF_cond_exp_isfa_ista (aeif_cond_exp; its a in uS and b in nA, as its LEMS equations use them),
iafCell / iafRefCell (iaf_psc_exp, or iaf_cond_exp under conductance synapses), expOneSynapse,
alphaSynapse, alphaCurrentSynapse (weight x gbase or ibase), SpikeSourcePoisson (start 0, no end),
spikeGenerator (its regular times up to the network's duration), `connection` (weight 1), synapticConnection,
explicitInput, electricalConnection(Instance). A current synapse feeds the inhibitory receptor when all its
weights are <= 0 (some < 0), a conductance synapse when its reversal is at or below the cell's rest;
components named "POP__excitatory" / "POP__inhibitory" (what neurobox writes) name the receptor of population
POP. A delay below one step (NeuroML's
default is 0) becomes one step, the shortest neurobox has. The izhikevich2007Cell and adExIaFCell have no
constant current: I_e is written as an always-on pulseGenerator "POP__I_e" and read back as I_e.

Units: NeuroML writes a unit after each value ("10ms", "-65mV", "0.1uS"); `UNITS` is the one table of the units
read, each a power of ten of its SI unit; a value is converted to neurobox's unit (ms, mV, pA, pF, nS, Hz,
1/ms, nS/mV) by shifting its decimal digits, so values round-trip exactly. PyNN cells take bare numbers in
PyNN's units (nF, nA, uS, ms, mV). neurobox writes the XML itself: libNeuroML's writer keeps 15 decimals of
a float attribute (a weight of 1e-20 nA would become 0). dt, seed and duration (which NeuroML leaves to the
LEMS simulation file) and names that are not NeuroML ids ride along as network properties "neurobox.*".
"""
from __future__ import annotations

import contextlib
import io
import itertools
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import numpy as np

from neurobox.errors import ConfigError, one_line
from neurobox.files import atomic_write_text
from neurobox.io import require
from neurobox.network.network import Network
from neurobox.network.population import Population
from neurobox.network.projection import GapJunction, Projection
from neurobox.network.stimuli import StepCurrent

SUFFIXES = (".net.nml", ".nml")
NAMESPACE = "http://www.neuroml.org/schema/neuroml2"
SCHEMA = f"{NAMESPACE} https://raw.github.com/NeuroML/NeuroML2/development/Schemas/NeuroML2/NeuroML_v2.3.1.xsd"

UNITS = {
    "voltage": {"V": 0, "mV": -3},
    "time": {"s": 0, "ms": -3},
    "per_time": {"per_s": 0, "Hz": 0, "per_ms": 3},
    "current": {"A": 0, "uA": -6, "nA": -9, "pA": -12},
    "capacitance": {"F": 0, "uF": -6, "nF": -9, "pF": -12},
    "conductance": {"S": 0, "mS": -3, "uS": -6, "nS": -9, "pS": -12},
    "conductance_per_voltage": {"S_per_V": 0, "nS_per_mV": -6},
}
"""Dimension -> NeuroML unit -> its power of ten of the SI unit (NeuroMLCoreDimensions)."""
NEUROBOX_UNITS = {"voltage": "mV", "time": "ms", "current": "pA", "capacitance": "pF", "conductance": "nS",
                  "conductance_per_voltage": "nS_per_mV"}
"""The unit neurobox keeps each dimension in (rates: Hz for sources, per_ms for Izhikevich's a)."""
PYNN_SCALE = 3
"""PyNN's nA, nF, uS are 10^3 neurobox's pA, pF, nS."""
FOREVER_MS = Decimal("1e9")
"""A pulse at least this long (ms) never ends: the last segment of a step current, I_e."""
NUMBER = re.compile(r"\s*(-?(?:[0-9]*(?:\.[0-9]+)?)(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z_]*)\s*")
NML_ID = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
CELL_REF = re.compile(r"(?:\.\./)?([a-zA-Z_][a-zA-Z0-9_]*)(?:\[(\d+)\]|/(\d+)(?:/[a-zA-Z0-9_]+)?)")

WRITTEN = {  # neurobox model -> (cell element, synapse shape, receptor kind)
    "iaf_psc_exp": ("IF_curr_exp", "exp", "current"),
    "iaf_psc_alpha": ("IF_curr_alpha", "alpha", "current"),
    "iaf_cond_exp": ("IF_cond_exp", "exp", "conductance"),
    "iaf_cond_alpha": ("IF_cond_alpha", "alpha", "conductance"),
    "izhikevich2007": ("izhikevich2007Cell", "exp", "current"),
    "aeif_psc_exp": ("adExIaFCell", "exp", "current"),
    "aeif_cond_exp": ("adExIaFCell", "exp", "conductance"),
    "poisson_generator": ("spikeGeneratorPoisson", None, None),
    "spike_generator": ("spikeArray", None, None),
}
PYNN_SYNAPSES = {("current", "exp"): "expCurrSynapse", ("current", "alpha"): "alphaCurrSynapse",
                 ("conductance", "exp"): "expCondSynapse", ("conductance", "alpha"): "alphaCondSynapse"}
DOCUMENT_ORDER = ("gapJunction", "izhikevich2007Cell", "adExIaFCell", "pulseGenerator", "spikeArray",
                  "spikeGeneratorPoisson", "IF_curr_alpha", "IF_curr_exp", "IF_cond_alpha", "IF_cond_exp",
                  "expCondSynapse", "alphaCondSynapse", "expCurrSynapse", "alphaCurrSynapse", "network")
"""The order of the document's children that the schema requires."""
NETWORK_ORDER = ("property", "population", "projection", "electricalProjection", "inputList")
"""The order of the network's children that the schema requires."""


# -- numbers and units --------------------------------------------------------

def decimal_of(text: Any, dimension: str | None, where: str) -> Decimal:
    """A NeuroML value ("-65mV", "0.1 uS", or a bare number when `dimension` is None) in neurobox's unit of
    its dimension (per_time: per second), exactly; a ConfigError naming `where` otherwise."""
    if isinstance(text, (int, float)) and dimension is None:
        return _finite(Decimal(repr(float(text))), text, where)
    match = NUMBER.fullmatch(str(text))
    if not match or not any(ch.isdigit() for ch in match[1]):
        raise ConfigError(where, f"{one_line(str(text))!r} is not a number with a unit such as \"10ms\"")
    unit = match[2]
    value = _finite(Decimal(match[1]), text, where)
    if dimension is None:
        if unit:
            raise ConfigError(where, f"{text!r}: expected a bare number (PyNN's units), got the unit {unit!r}")
        return value
    units = UNITS[dimension]
    if unit not in units:
        raise ConfigError(where, f"unit of {text!r} is not one neurobox converts; allowed for {dimension}: "
                                 f"{', '.join(units)}")
    target = NEUROBOX_UNITS.get(dimension, "per_s")
    return value.scaleb(units[unit] - units[target])


def _finite(value: Decimal, text: Any, where: str) -> Decimal:
    if not value.is_finite():
        raise ConfigError(where, f"{text!r} is not a finite number")
    return value


def value_of(text: Any, dimension: str | None, where: str) -> float:
    """`decimal_of` as a float."""
    return float(decimal_of(text, dimension, where))


def number(value: float | Decimal, shift: int = 0) -> str:
    """A value as the schema's number text, its decimal point moved `shift` places (exact: no rounding)."""
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    text = format(d.scaleb(shift).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def quotient(a: float, b: float) -> Decimal:
    """a / b to 20 significant digits (tau_m = C_m / g_L and back round-trip to the same float)."""
    with localcontext() as ctx:
        ctx.prec = 20
        return Decimal(repr(float(a))) / Decimal(repr(float(b)))


# -- writing ------------------------------------------------------------------

def write(net: Network, path) -> list[str]:
    """Write `net` as a NeuroML 2 document at `path` (atomically); returns the notes a user should read."""
    root, notes = _document(net)
    ET.indent(root)
    atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
                      + "\n")
    return notes


def to_neuroml(net: Network):
    """`net` as a libNeuroML NeuroMLDocument (libNeuroML's own writer keeps 15 decimals: use `write` for files)."""
    loaders = require("neuroml.loaders", "libNeuroML")
    root, _ = _document(net)
    return loaders.read_neuroml2_string(ET.tostring(root, encoding="unicode"))


class _Ids:
    """NeuroML ids for neurobox names (letters, digits and _ only), unique, with the original names kept."""

    def __init__(self):
        self.used: set[str] = set()
        self.renamed: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name)
        nml_id, k = base, 1
        while nml_id in self.used:
            k += 1
            nml_id = f"{base}_{k}"
        self.used.add(nml_id)
        if nml_id != name:
            self.renamed[nml_id] = name
        return nml_id


def _document(net: Network) -> tuple[ET.Element, list[str]]:
    notes: list[str] = []
    parts: dict[str, list[ET.Element]] = {tag: [] for tag in DOCUMENT_ORDER}
    ids = _Ids()
    network = ET.Element("network", id="network")
    for key, value in (("dt", number(net.dt)), ("seed", str(net.seed)), ("duration", number(net.duration))):
        ET.SubElement(network, "property", tag=f"neurobox.{key}", value=value)
    pop_ids = {name: ids(name) for name in net.populations}
    inputs: list[ET.Element] = []
    for name, pop in net.populations.items():
        network.append(_population(pop, pop_ids[name], parts, inputs, notes))
    for name, proj in net.projections.items():
        if isinstance(proj, GapJunction):
            network.append(_gap_junctions(net, proj, ids(name), pop_ids, parts))
        else:
            network.append(_projection(net, proj, ids(name), pop_ids))
    for name, stim in net.stimuli.items():
        inputs += _step_current(stim, ids(name), pop_ids[stim.target.name], parts)
    network.extend(inputs)
    for nml_id, name in ids.renamed.items():
        ET.SubElement(network, "property", tag=f"neurobox.name.{nml_id}", value=name)
    network[:] = sorted(network, key=lambda e: NETWORK_ORDER.index(e.tag))
    parts["network"].append(network)
    if net.recorders:
        notes.append(f"recorders ({', '.join(net.recorders)}) are not written: NeuroML leaves recording to the "
                     "LEMS simulation file")
    if net.precision != "float":
        notes.append(f"precision {net.precision!r} is not written: NeuroML describes the equations only")
    root = ET.Element("neuroml", {"xmlns": NAMESPACE, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                  "xsi:schemaLocation": SCHEMA, "id": "neurobox"})
    for tag in DOCUMENT_ORDER:
        root.extend(parts[tag])
    return root, notes


def _population(pop: Population, pid: str, parts: dict, inputs: list, notes: list[str]) -> ET.Element:
    field = pop.field
    if pop.model.name not in WRITTEN:
        raise ConfigError(f"{field}.model", f"{pop.model.name} has no NeuroML 2 cell type neurobox writes; "
                                            f"allowed: {', '.join(WRITTEN)}")
    tag, shape, kind = WRITTEN[pop.model.name]
    p = pop.params
    v0 = _initial_v(pop, tag)
    cid = f"{pid}__cell"
    if pop.method != pop.model.default_method:
        notes.append(f"{field}: the integration method {pop.method!r} is not written (NeuroML leaves it to "
                     "the simulator)")
    if pop.record_spikes is not True:
        notes.append(f"{field}: record_spikes is not written (NeuroML leaves recording to the LEMS file)")
    if p.get("theta_plus", 0.0) != 0.0:
        raise ConfigError(f"{field}.params.theta_plus", f"the adaptive threshold has no place in NeuroML's "
                                                        f"<{tag}>; allowed: theta_plus = 0")
    if tag.startswith("IF_"):
        attrs = {"cm": number(p["C_m"], -PYNN_SCALE), "i_offset": number(p["I_e"], -PYNN_SCALE),
                 "tau_syn_E": number(p["tau_syn_ex"]), "tau_syn_I": number(p["tau_syn_in"]),
                 "v_init": number(v0), "tau_m": number(p["tau_m"]) if "tau_m" in p else None,
                 "tau_refrac": number(p["t_ref"]), "v_reset": number(p["V_reset"]), "v_rest": number(p["E_L"]),
                 "v_thresh": number(p["V_th"])}
        if kind == "conductance":
            if p["g_L"] == 0:
                raise ConfigError(f"{field}.params.g_L", f"<{tag}> needs tau_m = C_m / g_L; allowed: g_L > 0")
            attrs.update(tau_m=number(quotient(p["C_m"], p["g_L"])), e_rev_E=number(p["E_ex"]),
                         e_rev_I=number(p["E_in"]))
    elif tag == "izhikevich2007Cell":
        attrs = {"C": f"{number(p['C'])}pF", "v0": f"{number(v0)}mV", "k": f"{number(p['k'])}nS_per_mV",
                 "vr": f"{number(p['v_r'])}mV", "vt": f"{number(p['v_t'])}mV", "vpeak": f"{number(p['v_peak'])}mV",
                 "a": f"{number(p['a'])}per_ms", "b": f"{number(p['b'])}nS", "c": f"{number(p['c'])}mV",
                 "d": f"{number(p['d'])}pA"}
    elif tag == "adExIaFCell":
        if p["Delta_T"] == 0:
            raise ConfigError(f"{field}.params.Delta_T", "adExIaFCell divides by delT; allowed: Delta_T > 0")
        attrs = {"C": f"{number(p['C_m'])}pF", "gL": f"{number(p['g_L'])}nS", "EL": f"{number(p['E_L'])}mV",
                 "reset": f"{number(p['V_reset'])}mV", "VT": f"{number(p['V_th'])}mV",
                 "thresh": f"{number(p['V_peak'])}mV", "delT": f"{number(p['Delta_T'])}mV",
                 "tauw": f"{number(p['tau_w'])}ms", "refract": f"{number(p['t_ref'])}ms",
                 "a": f"{number(p['a'])}nS", "b": f"{number(p['b'])}pA"}
    elif tag == "spikeGeneratorPoisson":
        attrs = {"averageRate": f"{number(p['rate'])}Hz"}
    else:
        attrs = {}
    cell = ET.Element(tag, id=cid, **{k: v for k, v in attrs.items() if v is not None})
    if tag == "spikeArray":
        from neurobox.neurons.sources import per_neuron_times
        times = per_neuron_times(p.get("spike_times"), pop.n, f"{field}.params.spike_times")
        if any(not np.array_equal(t, times[0]) for t in times):
            raise ConfigError(f"{field}.params.spike_times", "NeuroML's <spikeArray> gives every neuron of a "
                                                             "population the same times; allowed: one list of "
                                                             "times for all neurons")
        for k, t in enumerate(times[0]):
            ET.SubElement(cell, "spike", id=str(k), time=f"{number(t)}ms")
    parts[tag].append(cell)
    if kind is not None:
        for receptor, suffix in (("excitatory", "ex"), ("inhibitory", "in")):
            syn = {"id": f"{pid}__{receptor}", "tau_syn": number(p[f"tau_syn_{suffix}"])}
            if kind == "conductance":
                syn["e_rev"] = number(p[f"E_{suffix}"])
            parts[PYNN_SYNAPSES[kind, shape]].append(ET.Element(PYNN_SYNAPSES[kind, shape], **syn))
    if "I_e" in p and p["I_e"] != 0 and not tag.startswith("IF_"):
        gid = f"{pid}__I_e"
        parts["pulseGenerator"].append(ET.Element("pulseGenerator", id=gid, delay="0ms",
                                                  duration=f"{number(FOREVER_MS)}ms",
                                                  amplitude=f"{number(p['I_e'])}pA"))
        inputs.append(_input_list(gid, pid, gid, range(pop.n)))
    return ET.Element("population", id=pid, component=cid, size=str(pop.n))


def _initial_v(pop: Population, tag: str) -> float:
    """The constant initial V_m the cell element can hold (v_init, v0), or a ConfigError."""
    holds = tag.startswith("IF_") or tag == "izhikevich2007Cell"
    for var, spec in pop.initial.items():
        if var != "V_m" or not holds:
            allowed = "a constant initial V_m" if holds else "none (the cell starts at rest)"
            raise ConfigError(f"{pop.field}.initial.{var}", f"NeuroML's <{tag}> sets no initial {var}; "
                                                            f"allowed: {allowed}")
        if isinstance(spec, dict) or np.ndim(spec) != 0:
            raise ConfigError(f"{pop.field}.initial.{var}", f"values drawn per neuron have no NeuroML form "
                                                            f"(<{tag}> holds one initial V_m for all its cells); "
                                                            "allowed: a constant initial V_m")
    if "V_m" in pop.initial:
        return float(pop.initial["V_m"])
    if pop.model.voltage is None:
        return math.nan
    return pop.model.state[pop.model.state_index("V_m")].initial_value(pop.params)


def _projection(net: Network, proj: Projection, proj_id: str, pop_ids: dict[str, str]) -> ET.Element:
    field = proj.field
    if proj.plasticity is not None:
        raise ConfigError(f"{field}.plasticity", "neurobox's learning rules have no NeuroML form; allowed: "
                                                 "static synapses")
    if proj.p_transmit is not None:
        raise ConfigError(f"{field}.p_transmit", "unreliable transmission has no NeuroML form; allowed: none")
    pre, post = pop_ids[proj.pre.name], pop_ids[proj.post.name]
    element = ET.Element("projection", id=proj_id, presynapticPopulation=pre, postsynapticPopulation=post,
                         synapse=f"{post}__{proj.receptor}")
    c = proj.connections(net.seed, net.dt, field, np.float32)
    sources = c.pre()
    steps = c.delays if c.delays is not None else np.full(len(c), c.delay)
    dt = Decimal(repr(net.dt))
    delays = {s: f"{number(Decimal(int(s)) * dt)}ms" for s in np.unique(steps)}
    for k in range(len(c)):
        ET.SubElement(element, "connectionWD", id=str(k), preCellId=f"../{pre}[{sources[k]}]",
                      postCellId=f"../{post}[{c.targets[k]}]", weight=number(float(c.weights[k]), -PYNN_SCALE),
                      delay=delays[steps[k]])
    return element


def _gap_junctions(net: Network, proj: GapJunction, proj_id: str, pop_ids: dict[str, str],
                   parts: dict) -> ET.Element:
    """A gap-junction projection as an electricalProjection: a gapJunction of 1 nS, weighted by each
    junction's conductance (nS)."""
    pre, post = pop_ids[proj.pre.name], pop_ids[proj.post.name]
    gid = f"{proj_id}__gap"
    parts["gapJunction"].append(ET.Element("gapJunction", id=gid, conductance="1nS"))
    element = ET.Element("electricalProjection", id=proj_id, presynapticPopulation=pre, postsynapticPopulation=post)
    s = proj.build(net.seed, net.dt, proj.field)
    for k in range(len(s)):
        ET.SubElement(element, "electricalConnectionInstanceW", id=str(k), preCell=f"../{pre}[{s.pre[k]}]",
                      postCell=f"../{post}[{s.post[k]}]", synapse=gid, weight=number(float(s.weight[k])))
    return element


def _step_current(stim: StepCurrent, sid: str, pid: str, parts: dict) -> list[ET.Element]:
    """One pulseGenerator and inputList per segment of the step current: "SID__segK"."""
    out = []
    times = [Decimal(repr(t)) for t in stim.times]
    for k, (t, amplitude) in enumerate(zip(times, stim.amplitudes)):
        gid = f"{sid}__seg{k}"
        duration = times[k + 1] - t if k + 1 < len(times) else FOREVER_MS
        parts["pulseGenerator"].append(ET.Element("pulseGenerator", id=gid, delay=f"{number(t)}ms",
                                                  duration=f"{number(duration)}ms",
                                                  amplitude=f"{number(amplitude)}pA"))
        out.append(_input_list(gid, pid, gid, stim.neuron_indices()))
    return out


def _input_list(list_id: str, pid: str, component: str, neurons) -> ET.Element:
    element = ET.Element("inputList", id=list_id, population=pid, component=component)
    for k, i in enumerate(neurons):
        ET.SubElement(element, "input", id=str(k), target=f"../{pid}[{int(i)}]", destination="synapses")
    return element


# -- reading ------------------------------------------------------------------

def read(path) -> Network:
    """Read a NeuroML 2 document (one <network>) into a Network."""
    loaders = require("neuroml.loaders", "libNeuroML")
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            doc = loaders.read_neuroml2_file(str(path), include_includes=False)  # its warnings: our checks say it
    except Exception as err:  # lxml's and generateDS's errors: a file that is not a NeuroML 2 document
        raise ConfigError(str(path), f"not a NeuroML 2 document: {one_line(str(err))[:200]}") from None
    if doc is None:
        raise ConfigError(str(path), "not a NeuroML 2 document")
    return from_neuroml(doc)


@dataclass(frozen=True)
class _Synapse:
    element: str
    id: str
    kind: str          # "current" or "conductance"
    shape: str         # "exp" or "alpha"
    tau: float         # ms
    erev: float | None  # mV
    scale: Decimal     # neurobox weight (pA or nS) per unit of NeuroML weight

    def same(self, other: _Synapse) -> bool:
        return (self.kind, self.shape, self.tau, self.erev) == (other.kind, other.shape, other.tau, other.erev)


CELLS_READ = ("IF_curr_exp", "IF_curr_alpha", "IF_cond_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista",
              "izhikevich2007Cell",
              "adExIaFCell", "iafCell", "iafRefCell", "spikeGeneratorPoisson", "SpikeSourcePoisson", "spikeArray",
              "spikeGenerator")
SYNAPSES_READ = ("expCurrSynapse", "alphaCurrSynapse", "expCondSynapse", "alphaCondSynapse", "expOneSynapse",
                 "alphaSynapse", "alphaCurrentSynapse")
CELL_MODELS = {  # cell element -> synapse (kind, shape) -> neurobox model
    "IF_curr_exp": {("current", "exp"): "iaf_psc_exp"},
    "IF_curr_alpha": {("current", "alpha"): "iaf_psc_alpha"},
    "IF_cond_exp": {("conductance", "exp"): "iaf_cond_exp"},
    "IF_cond_alpha": {("conductance", "alpha"): "iaf_cond_alpha"},
    "EIF_cond_exp_isfa_ista": {("conductance", "exp"): "aeif_cond_exp"},
    "izhikevich2007Cell": {("current", "exp"): "izhikevich2007"},
    "adExIaFCell": {("current", "exp"): "aeif_psc_exp", ("conductance", "exp"): "aeif_cond_exp"},
    "iafCell": {("current", "exp"): "iaf_psc_exp", ("conductance", "exp"): "iaf_cond_exp"},
    "iafRefCell": {("current", "exp"): "iaf_psc_exp", ("conductance", "exp"): "iaf_cond_exp"},
}


def from_neuroml(doc) -> Network:
    """A Network from a libNeuroML NeuroMLDocument holding one <network>."""
    if len(doc.networks) != 1:
        raise ConfigError("network", f"the document holds {len(doc.networks)} <network> elements; allowed: one")
    nw = doc.networks[0]
    props = {p.tag: p.value for p in nw.properties}
    net = Network(dt=value_of(props.get("neurobox.dt", 0.1), None, "network.property.neurobox.dt"),
                  seed=int(decimal_of(props.get("neurobox.seed", "0"), None, "network.property.neurobox.seed")),
                  duration=value_of(props.get("neurobox.duration", 1000.0), None,
                                    "network.property.neurobox.duration"))

    def name(nml_id: str) -> str:
        return props.get(f"neurobox.name.{nml_id}", nml_id)

    components = _components(doc)
    synapses = {sid: _synapse(tag, obj) for sid, (tag, obj) in components.items() if tag in SYNAPSES_READ}
    pops = {}
    for pop in nw.populations:
        where = f"population#{pop.id}"
        if pop.component not in components:
            raise ConfigError(f"{where}.component", f"no component {pop.component!r} in the document (includes "
                                                    "are not read); allowed: a cell defined in the file")
        tag, cell = components[pop.component]
        if tag not in CELLS_READ:
            raise ConfigError(f"{where}.component", f"<{tag} id={pop.component!r}> is not a cell type neurobox "
                                                    f"reads; allowed: {', '.join(CELLS_READ)}")
        size = len(pop.instances) if pop.instances else pop.size
        if not size:
            raise ConfigError(f"{where}.size", "a population needs at least one cell")
        index = {int(inst.id): k for k, inst in enumerate(pop.instances)} if pop.instances else None
        pops[pop.id] = (tag, cell, int(size), index)
    projections = _projections(nw, pops, synapses)
    receptors = _receptors(pops, projections, synapses)
    i_e, stimuli = _inputs(nw, pops, components)
    for pid, (tag, cell, size, _) in pops.items():
        model, params, initial = _cell(tag, cell, f"population#{pid}", receptors.get(pid, {}), net.duration)
        if pid in i_e:
            params["I_e"] = params.get("I_e", 0.0) + i_e[pid]
        defaults = Population(1, model).params
        given = {k: v for k, v in params.items() if k == "spike_times" or v != defaults.get(k)}
        net.add(Population(size, model, given, name=name(pid), initial=initial))
    for proj_id, (pre, post, syn, pairs) in projections.items():
        receptor = receptors[post][syn]
        pre_ids, post_ids, weights, delays = pairs
        scale = synapses[syn].scale
        w = np.array([float(Decimal(repr(x)) * scale) for x in weights])
        d = np.maximum(np.array(delays), net.dt)
        net.add(Projection(name(pre), name(post), "explicit", pre_ids=pre_ids, post_ids=post_ids,
                           weight=_constant_or_array(w), delay=_constant_or_array(d), receptor=receptor[0],
                           name=name(proj_id)))
    for proj_id, (pre, post, pairs) in _electrical(nw, pops, components).items():
        net.add(GapJunction(name(pre), name(post), "explicit", pre_ids=pairs[0], post_ids=pairs[1],
                            weight=_constant_or_array(np.array(pairs[2])), name=name(proj_id)))
    for stim_id, (pid, times, amplitudes, neurons) in stimuli.items():
        net.add(StepCurrent(name(pid), times, amplitudes, neurons=neurons, name=name(stim_id)))
    return net


def _constant_or_array(values: np.ndarray):
    return float(values[0]) if values.size and np.all(values == values[0]) else values


def _components(doc) -> dict[str, tuple[str, Any]]:
    """Every component of the document with an id: id -> (NeuroML element, libNeuroML object)."""
    out = {}
    for item in doc.member_data_items_:
        objs = getattr(doc, item.name, None)
        tag = (item.get_child_attrs() or {}).get("name", item.name)
        if tag == "network" or not isinstance(objs, list):
            continue
        for obj in objs:
            if getattr(obj, "id", None) is not None:
                out[obj.id] = (tag, obj)
    return out


def _synapse(tag: str, s) -> _Synapse:
    where = f"{tag}#{s.id}"
    if tag in PYNN_SYNAPSES.values():
        kind = "conductance" if "Cond" in tag else "current"
        erev = value_of(s.e_rev, None, f"{where}.e_rev") if kind == "conductance" else None
        return _Synapse(tag, s.id, kind, "alpha" if tag.startswith("alpha") else "exp",
                        value_of(s.tau_syn, None, f"{where}.tau_syn"), erev, Decimal(10) ** PYNN_SCALE)
    if tag == "expOneSynapse":
        return _Synapse(tag, s.id, "conductance", "exp", value_of(s.tau_decay, "time", f"{where}.tauDecay"),
                        value_of(s.erev, "voltage", f"{where}.erev"), decimal_of(s.gbase, "conductance",
                                                                                 f"{where}.gbase"))
    if tag == "alphaSynapse":
        return _Synapse(tag, s.id, "conductance", "alpha", value_of(s.tau, "time", f"{where}.tau"),
                        value_of(s.erev, "voltage", f"{where}.erev"), decimal_of(s.gbase, "conductance",
                                                                                 f"{where}.gbase"))
    return _Synapse(tag, s.id, "current", "alpha", value_of(s.tau, "time", f"{where}.tau"), None,
                    decimal_of(s.ibase, "current", f"{where}.ibase"))


def _cell_index(ref: str, pop_id: str, pops: dict, where: str) -> int:
    """The index in population `pop_id` of a cell reference "../pop[3]", "../pop/3/cell" or "pop[3]"."""
    match = CELL_REF.fullmatch(str(ref).strip())
    if not match or match[1] != pop_id:
        raise ConfigError(where, f"{ref!r} is not a cell of population {pop_id!r}; allowed: \"../{pop_id}[i]\" "
                                 f"or \"../{pop_id}/i/cell\"")
    number_ = int(match[2] if match[2] is not None else match[3])
    _, _, size, index = pops[pop_id]
    k = index.get(number_) if index is not None else number_
    if k is None or not 0 <= k < size:
        raise ConfigError(where, f"{ref!r}: no cell {number_} in population {pop_id!r} of {size}")
    return k


def _projections(nw, pops: dict, synapses: dict) -> dict:
    """projection id -> (pre pop, post pop, synapse id, (pre ids, post ids, NeuroML weights, delays ms))."""
    out = {}
    for proj in nw.projections:
        where = f"projection#{proj.id}"
        for end, pid in (("presynapticPopulation", proj.presynaptic_population),
                         ("postsynapticPopulation", proj.postsynaptic_population)):
            if pid not in pops:
                raise ConfigError(f"{where}.{end}", f"no population {pid!r}; populations: {', '.join(pops)}")
        if proj.synapse not in synapses:
            raise ConfigError(f"{where}.synapse", f"{proj.synapse!r} is not a synapse neurobox reads; allowed: "
                                                  f"{', '.join(SYNAPSES_READ)} defined in the file")
        pre_ids, post_ids, weights, delays = [], [], [], []
        for conns, with_wd in ((proj.connections, False), (proj.connection_wds, True)):
            for c in conns:
                cw = f"{where}.connection#{c.id}"
                pre_ids.append(_cell_index(c.pre_cell_id, proj.presynaptic_population, pops, f"{cw}.preCellId"))
                post_ids.append(_cell_index(c.post_cell_id, proj.postsynaptic_population, pops, f"{cw}.postCellId"))
                weights.append(float(c.weight) if with_wd else 1.0)
                delays.append(value_of(c.delay, "time", f"{cw}.delay") if with_wd else 0.0)
        out[proj.id] = (proj.presynaptic_population, proj.postsynaptic_population, proj.synapse,
                        (pre_ids, post_ids, weights, delays))
    for k, sc in enumerate(nw.synaptic_connections):
        where = f"synapticConnection[{k}]"
        pre, post = (CELL_REF.fullmatch(str(ref).strip()) for ref in (sc.from_, sc.to))
        if not pre or not post or pre[1] not in pops or post[1] not in pops:
            raise ConfigError(where, f"from={sc.from_!r} to={sc.to!r}: expected cells of the network's "
                                     "populations, such as \"pop[0]\"")
        if sc.synapse not in synapses:
            raise ConfigError(f"{where}.synapse", f"{sc.synapse!r} is not a synapse neurobox reads; allowed: "
                                                  f"{', '.join(SYNAPSES_READ)} defined in the file")
        key = f"{pre[1]}_{post[1]}_{sc.synapse}"
        entry = out.setdefault(key, (pre[1], post[1], sc.synapse, ([], [], [], [])))
        if entry[2] != sc.synapse:
            raise ConfigError(where, f"the id {key!r} is taken by a projection")
        entry[3][0].append(_cell_index(sc.from_, pre[1], pops, f"{where}.from"))
        entry[3][1].append(_cell_index(sc.to, post[1], pops, f"{where}.to"))
        entry[3][2].append(1.0)
        entry[3][3].append(0.0)
    return out


def _electrical(nw, pops: dict, components: dict) -> dict:
    """electricalProjection id -> (pre pop, post pop, (pre ids, post ids, conductances nS))."""
    out = {}
    for proj in nw.electrical_projections:
        where = f"electricalProjection#{proj.id}"
        pre_pop, post_pop = proj.presynaptic_population, proj.postsynaptic_population
        for end, pid in (("presynapticPopulation", pre_pop), ("postsynapticPopulation", post_pop)):
            if pid not in pops:
                raise ConfigError(f"{where}.{end}", f"no population {pid!r}; populations: {', '.join(pops)}")
        pairs: tuple[list, list, list] = ([], [], [])
        for conns, kind in ((proj.electrical_connections, "plain"), (proj.electrical_connection_instances, "ref"),
                            (proj.electrical_connection_instance_ws, "ref")):
            for c in conns:
                cw = f"{where}.connection#{c.id}"
                tag, gap = components.get(c.synapse, (None, None))
                if tag != "gapJunction":
                    raise ConfigError(f"{cw}.synapse", f"{c.synapse!r} is not a gapJunction of the document; "
                                                       "allowed: gapJunction")
                if kind == "plain":
                    ends = [(c.pre_cell, pre_pop), (c.post_cell, post_pop)]
                    ids = [_cell_index(f"{pop}[{int(ref)}]" if str(ref).isdigit() else ref, pop, pops, cw)
                           for ref, pop in ends]
                else:
                    ids = [_cell_index(c.pre_cell, pre_pop, pops, f"{cw}.preCell"),
                           _cell_index(c.post_cell, post_pop, pops, f"{cw}.postCell")]
                w = getattr(c, "weight", None)  # only electricalConnectionInstanceW has one
                weight = Decimal(1) if w is None else Decimal(repr(float(w)))
                pairs[0].append(ids[0])
                pairs[1].append(ids[1])
                pairs[2].append(float(decimal_of(gap.conductance, "conductance", f"gapJunction#{c.synapse}"
                                                                                 ".conductance") * weight))
        out[proj.id] = (pre_pop, post_pop, pairs)
    return out


def _rest(tag: str, cell) -> float:
    """The resting potential of a cell (mV): where a synapse's reversal turns inhibitory."""
    if tag.startswith(("IF_", "EIF_")):
        return value_of(cell.v_rest, None, f"{tag}#{cell.id}.v_rest")
    attr = {"izhikevich2007Cell": "vr", "adExIaFCell": "EL"}.get(tag, "leak_reversal")
    return value_of(getattr(cell, attr), "voltage", f"{tag}#{cell.id}")


def _receptors(pops: dict, projections: dict, synapses: dict) -> dict:
    """post pop -> synapse id -> (receptor, _Synapse), one synapse's parameters per receptor."""
    out: dict[str, dict[str, tuple[str, _Synapse]]] = {}

    def assign(pid: str, sid: str, receptor: str, where: str) -> None:
        syn = synapses[sid]
        table = out.setdefault(pid, {})
        for other, (r, s) in table.items():
            if r == receptor and not s.same(syn):
                raise ConfigError(where, f"<{syn.element} id={sid!r}> and <{s.element} id={other!r}> both feed the "
                                         f"{receptor} receptor of population {pid!r} with different kinetics; "
                                         "allowed: one synapse type per receptor (excitatory, inhibitory)")
        if sid in table and table[sid][0] != receptor:
            raise ConfigError(where, f"<{syn.element} id={sid!r}> feeds population {pid!r} with both signs; "
                                     "allowed: one synapse component per receptor")
        table[sid] = (receptor, syn)

    for sid in synapses:
        pid, _, receptor = sid.rpartition("__")
        if pid in pops and receptor in ("excitatory", "inhibitory"):
            assign(pid, sid, receptor, f"{synapses[sid].element}#{sid}")
    for proj_id, (pre, post, sid, pairs) in projections.items():
        where = f"projection#{proj_id}"
        if pops[post][0] not in CELL_MODELS:
            raise ConfigError(f"{where}.postsynapticPopulation", f"population {post!r} is a spike source and "
                                                                 "receives no synapses")
        if sid in out.get(post, {}):
            continue
        syn, w = synapses[sid], np.array(pairs[2])
        if syn.kind == "current":
            if w.size and w.min() < 0 < w.max():
                raise ConfigError(where, "weights of both signs through one current synapse; allowed: one sign "
                                         "per projection (neurobox's excitatory and inhibitory receptors)")
            receptor = "inhibitory" if w.size and w.min() < 0 else "excitatory"
        else:
            if w.size and w.min() < 0:
                raise ConfigError(where, f"a conductance weight is negative ({w.min():g}); allowed: >= 0")
            receptor = "excitatory" if syn.erev > _rest(*pops[post][:2]) else "inhibitory"
        assign(post, sid, receptor, where)
    return out


def _cell(tag: str, cell, where: str, receptors: dict, duration: float) -> tuple[str, dict, dict]:
    """(neurobox model, parameters, initial values) of a NeuroML cell and the synapses it receives."""
    def q(attr: str, dimension: str | None) -> float:
        return value_of(getattr(cell, attr), dimension, f"{tag}#{cell.id}.{attr}")

    kinds = {(s.kind, s.shape) for _, s in receptors.values()}
    if tag in CELL_MODELS:
        allowed = CELL_MODELS[tag]
        if len(kinds) > 1 or (kinds and next(iter(kinds)) not in allowed):
            sid, (_, syn) = next((k, v) for k, v in receptors.items() if (v[1].kind, v[1].shape) not in allowed)
            raise ConfigError(f"{syn.element}#{sid}", f"a {syn.kind} {syn.shape} synapse onto <{tag} id="
                                                      f"{cell.id!r}> ({where}); allowed: "
                                                      f"{', '.join(PYNN_SYNAPSES.get(k, k[0]) for k in allowed)}")
        model = allowed[next(iter(kinds))] if kinds else next(iter(allowed.values()))
    p: dict[str, Any] = {}
    initial: dict[str, float] = {}
    if tag.startswith("IF_"):
        p.update(C_m=float(decimal_of(cell.cm, None, f"{tag}#{cell.id}.cm").scaleb(PYNN_SCALE)),
                 I_e=float(decimal_of(cell.i_offset, None, f"{tag}#{cell.id}.i_offset").scaleb(PYNN_SCALE)),
                 tau_syn_ex=q("tau_syn_E", None), tau_syn_in=q("tau_syn_I", None), t_ref=q("tau_refrac", None),
                 V_reset=q("v_reset", None), E_L=q("v_rest", None), V_th=q("v_thresh", None))
        _pynn_leak(p, q, "cond" in tag)
        if q("v_init", None) != p["E_L"]:
            initial["V_m"] = q("v_init", None)
    elif tag == "EIF_cond_exp_isfa_ista":  # a in uS and b in nA, as its LEMS equations read them
        p.update(C_m=float(decimal_of(cell.cm, None, f"{tag}#{cell.id}.cm").scaleb(PYNN_SCALE)),
                 I_e=float(decimal_of(cell.i_offset, None, f"{tag}#{cell.id}.i_offset").scaleb(PYNN_SCALE)),
                 a=float(decimal_of(cell.a, None, f"{tag}#{cell.id}.a").scaleb(PYNN_SCALE)),
                 b=float(decimal_of(cell.b, None, f"{tag}#{cell.id}.b").scaleb(PYNN_SCALE)),
                 t_ref=q("tau_refrac", None), V_reset=q("v_reset", None), E_L=q("v_rest", None),
                 V_th=q("v_thresh", None), V_peak=q("v_spike", None), Delta_T=q("delta_T", None),
                 tau_w=q("tau_w", None), tau_syn_ex=q("tau_syn_E", None), tau_syn_in=q("tau_syn_I", None))
        _pynn_leak(p, q, True)
        if q("v_init", None) != p["E_L"]:
            initial["V_m"] = q("v_init", None)
    elif tag == "izhikevich2007Cell":
        p.update(C=q("C", "capacitance"), k=q("k", "conductance_per_voltage"), v_r=q("vr", "voltage"),
                 v_t=q("vt", "voltage"), v_peak=q("vpeak", "voltage"),
                 a=float(decimal_of(cell.a, "per_time", f"{tag}#{cell.id}.a").scaleb(-3)),
                 b=q("b", "conductance"), c=q("c", "voltage"), d=q("d", "current"))
        if q("v0", "voltage") != p["v_r"]:
            initial["V_m"] = q("v0", "voltage")
    elif tag == "adExIaFCell":
        p.update(C_m=q("C", "capacitance"), g_L=q("g_l", "conductance"), E_L=q("EL", "voltage"),
                 V_reset=q("reset", "voltage"), V_th=q("VT", "voltage"), V_peak=q("thresh", "voltage"),
                 Delta_T=q("del_t", "voltage"), tau_w=q("tauw", "time"), t_ref=q("refract", "time"),
                 a=q("a", "conductance"), b=q("b", "current"))
    elif tag in ("iafCell", "iafRefCell"):
        c_m, g_l = q("C", "capacitance"), q("leak_conductance", "conductance")
        p.update(C_m=c_m, E_L=q("leak_reversal", "voltage"), V_reset=q("reset", "voltage"),
                 V_th=q("thresh", "voltage"), t_ref=q("refract", "time") if tag == "iafRefCell" else 0.0)
        if model == "iaf_cond_exp":
            p["g_L"] = g_l
        elif g_l == 0:
            raise ConfigError(f"{tag}#{cell.id}.leakConductance", "a current-based LIF needs tau_m = C / "
                                                                  "leakConductance; allowed: > 0")
        else:
            p["tau_m"] = float(quotient(c_m, g_l))
    elif tag == "spikeGeneratorPoisson":
        return "poisson_generator", {"rate": q("average_rate", "per_time")}, {}
    elif tag == "SpikeSourcePoisson":
        if q("start", "time") != 0 or q("duration", "time") < float(FOREVER_MS):
            raise ConfigError(f"{tag}#{cell.id}.start", "neurobox's poisson_generator runs from 0 for ever; "
                                                        f"allowed: start 0ms, duration >= {FOREVER_MS}ms")
        return "poisson_generator", {"rate": q("rate", "per_time")}, {}
    elif tag == "spikeArray":
        times = sorted(value_of(s.time, "time", f"{tag}#{cell.id}.spike#{s.id}.time") for s in cell.spikes)
        return "spike_generator", {"spike_times": times}, {}
    else:  # spikeGenerator
        period = q("period", "time")
        if period <= 0:
            raise ConfigError(f"{tag}#{cell.id}.period", f"got {cell.period!r}; allowed: a period > 0")
        return "spike_generator", {"spike_times": list(np.arange(1, int(duration // period) + 1) * period)}, {}
    for receptor, syn in receptors.values():
        suffix = "ex" if receptor == "excitatory" else "in"
        p[f"tau_syn_{suffix}"] = syn.tau
        if syn.kind == "conductance":
            p[f"E_{suffix}"] = syn.erev
    return model, p, initial


def _pynn_leak(p: dict, q, conductance: bool) -> None:
    """A PyNN cell's tau_m as neurobox has it: g_L = C_m / tau_m and E_ex, E_in (conductance models), or tau_m."""
    if conductance:
        p.update(g_L=float(quotient(p["C_m"], q("tau_m", None))), E_ex=q("e_rev_E", None), E_in=q("e_rev_I", None))
    else:
        p["tau_m"] = q("tau_m", None)


def _inputs(nw, pops: dict, components: dict) -> tuple[dict[str, float], dict]:
    """(I_e per population from "POP__I_e" pulses, step currents: id -> (pop, times, amplitudes, neurons))."""
    i_e: dict[str, float] = {}
    pulses = []  # (list id, pop, generator id, neurons)
    for lst in nw.input_lists:
        where = f"inputList#{lst.id}"
        if lst.populations not in pops:
            raise ConfigError(f"{where}.population", f"no population {lst.populations!r}")
        if lst.input_ws:
            raise ConfigError(f"{where}.inputW", "weighted inputs are not read; allowed: <input> elements")
        neurons = [_cell_index(i.target, lst.populations, pops, f"{where}.input#{i.id}.target") for i in lst.input]
        pulses.append((lst.id, lst.populations, lst.component, neurons, where))
    grouped: dict[tuple[str, str], list[int]] = {}
    for k, e in enumerate(nw.explicit_inputs):
        match = CELL_REF.fullmatch(str(e.target).strip())
        if not match or match[1] not in pops:
            raise ConfigError(f"explicitInput[{k}].target", f"{e.target!r} is not a cell of the network's "
                                                            "populations, such as \"pop[0]\"")
        grouped.setdefault((e.input, match[1]), []).append(
            _cell_index(e.target, match[1], pops, f"explicitInput[{k}].target"))
    for (gid, pid), neurons in grouped.items():
        pulses.append((f"{gid}_{pid}", pid, gid, neurons, f"explicitInput {gid}"))
    segments: dict[str, list] = {}
    stimuli = {}
    for list_id, pid, gid, neurons, where in pulses:
        tag, gen = components.get(gid, (None, None))
        if tag != "pulseGenerator":
            raise ConfigError(f"{where}.component", f"{gid!r} is not a pulseGenerator of the document; "
                                                    "allowed inputs: pulseGenerator")
        delay = decimal_of(gen.delay, "time", f"pulseGenerator#{gid}.delay")
        duration = decimal_of(gen.duration, "time", f"pulseGenerator#{gid}.duration")
        amplitude = value_of(gen.amplitude, "current", f"pulseGenerator#{gid}.amplitude")
        if delay < 0 or duration < 0:
            raise ConfigError(f"pulseGenerator#{gid}", "delay and duration must be >= 0")
        cells = None if sorted(neurons) == list(range(pops[pid][2])) else sorted(neurons)
        if list_id == f"{pid}__I_e" and delay == 0 and duration >= FOREVER_MS and cells is None:
            i_e[pid] = i_e.get(pid, 0.0) + amplitude
            continue
        match = re.fullmatch(r"(.+)__seg(\d+)", list_id)
        if match:
            segments.setdefault(match[1], []).append((int(match[2]), pid, cells, delay, duration, amplitude))
            continue
        end = [] if duration >= FOREVER_MS else [float(delay + duration)]
        stimuli[list_id] = (pid, [float(delay)] + end, [amplitude] + [0.0] * len(end), cells)
    for sid, parts in segments.items():
        parts.sort(key=lambda s: s[0])
        chained = all(a[1:3] == parts[0][1:3] and a[3] + a[4] == b[3] for a, b in itertools.pairwise(parts))
        if chained and parts[-1][4] >= FOREVER_MS:
            stimuli[sid] = (parts[0][1], [float(s[3]) for s in parts], [s[5] for s in parts], parts[0][2])
            continue
        for k, pid, cells, delay, duration, amplitude in parts:
            end = [] if duration >= FOREVER_MS else [float(delay + duration)]
            stimuli[f"{sid}__seg{k}"] = (pid, [float(delay)] + end, [amplitude] + [0.0] * len(end), cells)
    return i_e, stimuli
