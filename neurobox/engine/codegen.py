"""Generate, compile and cache the time loop of one network structure.

The whole loop over steps runs in compiled code: for a network's
populations, projections and recorders we write the source of a
`run_chunk` function that calls each population's model kernel and the
delivery and recording kernels, then let numba compile it. The source goes
into a file named by its hash (and the hash of neurobox's own sources), so
numba's on-disk cache makes later runs of the same structure start at once.

The loop's arguments are described once, in the tables POPULATION_ARGS,
PROJECTION_ARGS, RECORDER_ARGS and GAP_ARGS below (role, dtypes, number of
dimensions, meaning, the condition under which the argument exists). Both
the generated signature (`argument_names`) and the packing of the arrays
for a call (`argument_values`) iterate over these tables, so they cannot
disagree. An argument is named `<prefix><index>_<role>`, e.g. `p0_state`
(population 0), `j2_weights` (projection 2), `r1_buffer` (recorder 1),
`g0_conductance` (gap junction 0). Generated signature::

    run_chunk(step0, step1, counters, <per population>, <per projection>, <per recorder>, <per gap junction>) -> step

It returns the step it stopped before: step1, or earlier when a spike
buffer is full (the caller flushes and calls again) or a state became NaN
(the two error slots of counters hold the population and neuron).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

import neurobox
from neurobox.errors import SimulationError


@dataclass(frozen=True)
class PopulationSlot:
    kernel_module: str
    kernel_name: str
    record_spikes: bool
    coupled: bool = False  # its input current changes every step (gap junctions)


@dataclass(frozen=True)
class ProjectionSlot:
    pre: int
    post: int
    receptor: int
    per_synapse_delays: bool
    plastic: bool = False
    unreliable: bool = False  # transmits with a probability (p_transmit)


@dataclass(frozen=True)
class GapSlot:
    pre: int
    post: int
    pre_voltage_row: int
    post_voltage_row: int


@dataclass(frozen=True)
class RecorderSlot:
    population: int


def _always(slot) -> bool:
    return True


@dataclass(frozen=True)
class Arg:
    """One argument of the generated loop, per object of its kind.

    role:  its name after the object's prefix (p0_state, j1_weights, ...)
    dtypes: accepted numpy dtypes; ndim: number of dimensions (0: a scalar)
    get:   takes the argument's value from the object's arrays (see
           neurobox.engine.simulation: `LoopArrays`)
    when:  whether the object's slot has this argument at all
    """

    role: str
    dtypes: tuple
    ndim: int
    doc: str
    get: Callable[[Any], Any]
    when: Callable[[Any], bool] = _always


F64, I64, I32, U64 = (np.float64,), (np.int64,), (np.int32,), (np.uint64,)

POPULATION_ARGS = (
    Arg("state", F64, 2, "state variables (n_state, N), the model's units", lambda a: a.state),
    Arg("consts", F64, 1, "the model's constants for this dt", lambda a: a.consts),
    Arg("ring", F64, 3, "synaptic input ring (depth, n_receptors, N): pA or nS per arrival step", lambda a: a.ring),
    Arg("i_ext", F64, 1, "external current of this chunk, pA", lambda a: a.i_ext),
    Arg("rng", U64, 1, "random stream (xoshiro256**)", lambda a: a.rng),
    Arg("spikes", I32, 1, "indices of the neurons that fired this step", lambda a: a.spikes),
    Arg("spike_steps", I64, 1, "recorded spikes: steps", lambda a: a.spike_steps, lambda s: s.record_spikes),
    Arg("spike_ids", I32, 1, "recorded spikes: neurons", lambda a: a.spike_ids, lambda s: s.record_spikes),
    Arg("coupled", F64, 1, "i_ext plus this step's gap-junction currents, pA", lambda a: a.coupled,
        lambda s: s.coupled),
)
PROJECTION_ARGS = (
    Arg("indptr", I64, 1, "CSR row pointers by pre neuron", lambda a: a.indptr),
    Arg("targets", (np.uint16, np.int32), 1, "post neuron of each synapse", lambda a: a.targets),
    Arg("weights", (np.float32,), 1, "weight of each synapse, pA or nS", lambda a: a.weights),
    Arg("delays", (np.uint8, np.uint16), 1, "delay of each synapse, steps", lambda a: a.delays,
        lambda s: s.per_synapse_delays),
    Arg("delay", I64, 0, "the common delay of all synapses, steps", lambda a: np.int64(a.uniform_delay),
        lambda s: not s.per_synapse_delays),
    Arg("p_transmit", F64, 1, "probability that a synapse transmits a spike", lambda a: a.p_transmit,
        lambda s: s.unreliable),
    Arg("transmit_rng", U64, 1, "random stream of the transmissions", lambda a: a.transmit_rng,
        lambda s: s.unreliable),
    Arg("history", I32, 2, "pre spikes of the last delay + 1 steps", lambda a: a.plastic.history,
        lambda s: s.plastic),
    Arg("history_counts", I64, 1, "spikes per history row", lambda a: a.plastic.history_counts, lambda s: s.plastic),
    Arg("rev_ptr", I64, 1, "synapses by post neuron: row pointers", lambda a: a.plastic.rev_ptr, lambda s: s.plastic),
    Arg("rev_syn", I32, 1, "synapses by post neuron: synapse index", lambda a: a.plastic.rev_syn, lambda s: s.plastic),
    Arg("rev_pre", I32, 1, "synapses by post neuron: pre neuron", lambda a: a.plastic.rev_pre, lambda s: s.plastic),
    Arg("x", F64, 2, "pre traces", lambda a: a.plastic.x, lambda s: s.plastic),
    Arg("y", F64, 2, "post traces", lambda a: a.plastic.y, lambda s: s.plastic),
    Arg("rule", F64, 1, "the rule's constants", lambda a: a.plastic.consts, lambda s: s.plastic),
    Arg("eligibility", F64, 1, "eligibility of each synapse (rstdp)", lambda a: a.plastic.eligibility,
        lambda s: s.plastic),
    Arg("dopamine", F64, 1, "dopamine level (rstdp)", lambda a: a.plastic.dopamine, lambda s: s.plastic),
)
RECORDER_ARGS = (
    Arg("rows", I64, 1, "state rows recorded", lambda a: a.rows),
    Arg("neurons", I64, 1, "neurons recorded", lambda a: a.neurons),
    Arg("buffer", F64, 3, "samples of this chunk (sample, row, neuron)", lambda a: a.buffer),
    Arg("every", I64, 0, "steps between samples", lambda a: np.int64(a.every)),
)
GAP_ARGS = (
    Arg("a", I32, 1, "neuron of the pre population of each junction", lambda a: a.a),
    Arg("b", I32, 1, "neuron of the post population of each junction", lambda a: a.b),
    Arg("conductance", F64, 1, "conductance of each junction, nS", lambda a: a.g),
)
KINDS = (("p", POPULATION_ARGS), ("j", PROJECTION_ARGS), ("r", RECORDER_ARGS), ("g", GAP_ARGS))
"""Argument prefix and table of each kind of object, in the order of the signature."""


@dataclass(frozen=True)
class LoopStructure:
    """Everything the generated source depends on (and nothing else)."""

    populations: tuple[PopulationSlot, ...]
    projections: tuple[ProjectionSlot, ...]
    recorders: tuple[RecorderSlot, ...]
    gap_junctions: tuple[GapSlot, ...] = ()

    def slots(self):
        """(prefix, table, slots) for each kind of object, in signature order."""
        objects = (self.populations, self.projections, self.recorders, self.gap_junctions)
        return [(prefix, table, slots) for (prefix, table), slots in zip(KINDS, objects)]

    def argument_names(self) -> list[str]:
        return [f"{prefix}{k}_{arg.role}" for prefix, table, slots in self.slots()
                for k, slot in enumerate(slots) for arg in table if arg.when(slot)]

    def argument_values(self, arrays: tuple[list, list, list, list]) -> list:
        """The arrays for a call, in signature order: `arrays` holds one object per slot of each kind."""
        return [arg.get(obj) for (_, table, slots), objs in zip(self.slots(), arrays)
                for slot, obj in zip(slots, objs) for arg in table if arg.when(slot)]

    def check_values(self, values: list) -> None:
        """Every array has an allowed dtype and number of dimensions (a wrong one is a bug in neurobox)."""
        specs = [(f"{prefix}{k}_{arg.role}", arg) for prefix, table, slots in self.slots()
                 for k, slot in enumerate(slots) for arg in table if arg.when(slot)]
        for (name, arg), value in zip(specs, values):
            value = np.asarray(value)
            if value.dtype.type not in arg.dtypes or value.ndim != arg.ndim:
                raise SimulationError(f"loop argument {name} ({arg.doc}) is {value.dtype}[{value.ndim}d]; "
                                      f"expected one of {[d.__name__ for d in arg.dtypes]} with {arg.ndim} dims")


def error_slots(structure: LoopStructure) -> tuple[int, int]:
    """Indices in `counters` of the failing population and neuron."""
    base = len(structure.populations) + len(structure.recorders)
    return base, base + 1


def generate_source(structure: LoopStructure) -> str:
    """The Python source of `run_chunk` for `structure`."""
    n_pops = len(structure.populations)
    err_pop, err_neuron = error_slots(structure)
    lines = [
        "# Generated by neurobox.engine.codegen; do not edit.",
        "import numpy as np",
        "from numba import njit",
        "from neurobox.engine.kernels import (deliver_delays, deliver_uniform_delay, deliver_unreliable,",
        "                                     gap_junction_currents,",
        "                                     record_spikes, record_state)",
    ]
    if any(p.plastic for p in structure.projections):
        lines.append("from neurobox.plasticity.kernel import plasticity_step, store_spikes")
    for k, pop in enumerate(structure.populations):
        lines.append(f"from {pop.kernel_module} import {pop.kernel_name} as kernel_{k}")
    lines += ["", "", "@njit(cache=True, boundscheck=False)",
              f"def run_chunk(step0, step1, counters, {', '.join(structure.argument_names())}):"]
    body = []
    for k, _ in enumerate(structure.populations):
        body.append(f"p{k}_depth = p{k}_ring.shape[0]")
    if any(p.unreliable and not p.per_synapse_delays for p in structure.projections):
        body.append("no_delays = np.zeros(0, np.uint8)")
    body.append("for step in range(step0, step1):")
    loop = []
    for k, pop in enumerate(structure.populations):
        if pop.record_spikes:
            loop.append(f"if counters[{k}] + p{k}_spikes.shape[0] > p{k}_spike_steps.shape[0]:")
            loop.append("    return step")
    for k, pop in enumerate(structure.populations):
        if pop.coupled:
            loop.append(f"p{k}_coupled[:] = p{k}_i_ext")
    for j, gap in enumerate(structure.gap_junctions):
        loop.append(f"gap_junction_currents(p{gap.pre}_state[{gap.pre_voltage_row}], "
                    f"p{gap.post}_state[{gap.post_voltage_row}], g{j}_a, g{j}_b, g{j}_conductance, "
                    f"p{gap.pre}_coupled, p{gap.post}_coupled)")
    for k, pop in enumerate(structure.populations):
        current = f"p{k}_coupled" if pop.coupled else f"p{k}_i_ext"
        loop.append(f"n{k} = kernel_{k}(p{k}_state, p{k}_consts, p{k}_ring[step % p{k}_depth], {current}, "
                    f"p{k}_rng, step, p{k}_spikes)")
        loop.append(f"if n{k} < 0:")
        loop.append(f"    counters[{err_pop}] = {k}")
        loop.append(f"    counters[{err_neuron}] = -1 - n{k}")
        loop.append("    return step")
    for k, pop in enumerate(structure.populations):
        if pop.record_spikes:
            loop.append(f"counters[{k}] = record_spikes(p{k}_spikes, n{k}, step, p{k}_spike_steps, p{k}_spike_ids, "
                        f"counters[{k}])")
    for j, proj in enumerate(structure.projections):
        loop += _delivery(j, proj)
    for m, rec in enumerate(structure.recorders):
        slot = n_pops + m
        loop.append(f"if (step + 1) % r{m}_every == 0:")
        loop.append(f"    record_state(p{rec.population}_state, r{m}_rows, r{m}_neurons, r{m}_buffer, "
                    f"counters[{slot}])")
        loop.append(f"    counters[{slot}] += 1")
    body += ["    " + line for line in loop]
    body.append("return step1")
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


def _delivery(j: int, proj: ProjectionSlot) -> list[str]:
    """The loop lines that deliver (and, for a plastic projection, learn from) projection j's spikes."""
    pre, post, receptor = proj.pre, proj.post, proj.receptor
    spikes = f"p{pre}_spikes, n{pre}"
    csr = f"j{j}_indptr, j{j}_targets, j{j}_weights"
    if proj.plastic:  # learn from this step's arrivals, then deliver what arrives next step
        return [
            f"j{j}_depth = j{j}_history.shape[0]",
            f"store_spikes({spikes}, j{j}_history, j{j}_history_counts, step % j{j}_depth)",
            f"a{j} = (step - j{j}_delay) % j{j}_depth",
            f"plasticity_step(step, j{j}_history[a{j}], j{j}_history_counts[a{j}], p{post}_spikes, n{post}, {csr}, "
            f"j{j}_rev_ptr, j{j}_rev_syn, j{j}_rev_pre, j{j}_x, j{j}_y, j{j}_rule, j{j}_eligibility, j{j}_dopamine)",
            f"a{j} = (step + 1 - j{j}_delay) % j{j}_depth",
            f"deliver_uniform_delay(j{j}_history[a{j}], j{j}_history_counts[a{j}], {csr}, "
            f"p{post}_ring[(step + 1) % p{post}_depth, {receptor}])",
        ]
    if proj.unreliable:
        delays, uniform = (f"j{j}_delays", "0") if proj.per_synapse_delays else ("no_delays", f"j{j}_delay")
        return [f"deliver_unreliable({spikes}, {csr}, {delays}, {uniform}, p{post}_ring, {receptor}, step, "
                f"j{j}_p_transmit, j{j}_transmit_rng)"]
    if proj.per_synapse_delays:
        return [f"deliver_delays({spikes}, {csr}, j{j}_delays, p{post}_ring, {receptor}, step)"]
    return [f"deliver_uniform_delay({spikes}, {csr}, p{post}_ring[(step + j{j}_delay) % p{post}_depth, {receptor}])"]


def cache_dir() -> Path:
    """Where generated loops (and their numba cache) live: $NEUROBOX_CACHE_DIR or ~/.cache/neurobox."""
    root = os.environ.get("NEUROBOX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "neurobox")
    path = Path(root) / "loops"
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """Hash of neurobox's own sources: numba's cache does not notice when a called kernel changes."""
    digest = hashlib.sha256()
    root = Path(neurobox.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_LOADED: dict[str, object] = {}


def compiled_loop(structure: LoopStructure):
    """The numba-compiled `run_chunk` for `structure` (compiled at first call, then cached on disk)."""
    source = generate_source(structure)
    key = hashlib.sha256((package_fingerprint() + source).encode()).hexdigest()[:20]
    if key in _LOADED:
        return _LOADED[key]
    path = cache_dir() / f"loop_{key}.py"
    if not path.exists():
        from neurobox.files import atomic_write_text
        atomic_write_text(path, source)
    module_name = f"neurobox_loop_{key}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _LOADED[key] = module.run_chunk
    return module.run_chunk
