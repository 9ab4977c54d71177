"""Generate, compile and cache the time loop of a kind of network.

The whole loop over steps runs in compiled code. Its source (`run_chunk`
and its helpers) depends only on the *features* of a network: the
set of neuron kernels its populations use, and whether it has gap
junctions, plastic projections, state recorders, and which dtypes of
targets and delays its projections store. It does not depend on how many
populations, projections or recorders there are, nor on how they are
wired: the loop walks tables of objects instead, so a network of 72
projections compiles as fast as one of 2, and every network with the same
features shares one compiled loop. The helpers (a block's update, a
projection's delivery, what happens between the update and the delivery)
are one module that both forms of the loop import, so numba compiles them
once. Each source goes into a file named by its hash (and the hash of
neurobox's own sources), so numba's on-disk cache makes later runs start at
once.

The loop's arguments are described once, in the tables POPULATION_ARGS,
PROJECTION_ARGS, RECORDER_ARGS and GAP_ARGS below (role, dtypes, number of
dimensions, meaning, the condition under which the argument exists). For
each kind of object the loop receives three tables, one row per object:

    <kind>_info   int64[n, ...]     the object's slot (pre, post, receptor, model, ...) and its scalar
                                    arguments (ndim 0: a projection's delay, a recorder's `every`)
    <kind>_addr   int64[n, cols]    the address of each array argument (one column per Arg and dtype;
                                    0 where the object has none)
    <kind>_shape  int64[n, cols, 3] its shape

and `neurobox.engine.kernels.view1/2/3` turn an entry back into an array.
The column layout, the packing of a call (`LoopStructure.arguments`) and
the dtype check (`LoopStructure.check_values`) all come from these tables.
Generated signature::

    run_chunk(step0, step1, counters, p_info, p_addr, p_shape, j_info, j_addr, j_shape,
              j_by_post, j_first, runs, blocks, r_info, r_addr, r_shape, g_info, g_addr, g_shape) -> step

`j_by_post`/`j_first` list the projections into each population in their
order; `blocks` (population, lo, hi, whole, order) are the blocks of neurons
the threads own and `runs` (first, end) each thread's blocks: a thread
updates the neurons of its blocks (a kernel that is not a source's treats
its neurons independently) and adds the weights of every projection and
spike into them, in the order of the serial loop, so the sums are the same
bit for bit whatever the number of threads. The serial form has one block
per population and one run. The parallel form (`generate_source(...,
parallel=True)`) enters one numba `prange` per chunk, one iteration per
thread (neurobox.engine.team): per step the threads update their blocks,
meet, thread 0 gathers the spikes in population and neuron order, records
them and learns, they meet again, and each delivers into its own blocks.
A step's spikes live in the half of each population's spike scratch that
belongs to the step's parity, so a thread that starts the next step never
overwrites spikes another is still delivering.
It returns the step it stopped before: step1, or earlier when a spike
buffer is full (the caller flushes and calls again) or a state became NaN
(the two error slots of counters hold the population and neuron), or -1
when the threads of the parallel form did not all run at once.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

import neurobox
from neurobox.errors import SimulationError


@dataclass(frozen=True)
class PopulationSlot:
    kernel_module: str
    kernel_name: str
    record_spikes: int       # neurons 0..record_spikes-1 are recorded (0: none)
    coupled: bool = False  # its input current changes every step (gap junctions)
    n: int = 0
    blockable: bool = False  # its kernel may run on blocks of neurons (not a source: see neurons.base)


@dataclass(frozen=True)
class ProjectionSlot:
    pre: int
    post: int
    receptor: int
    per_synapse_delays: bool
    plastic: bool = False
    unreliable: bool = False  # transmits with a probability (p_transmit)
    targets: str = "int32"   # dtype of its targets
    delays: str = ""         # dtype of its per-synapse delays ("" when uniform)
    sorted_rows: bool = True  # targets sorted within each row (else its post population is one block)
    monotone_rows: bool = False  # sorted rows whose first and last targets never fall from one non-empty row
    #                              to the next (one_to_one, ...): a block's spikes are then one range of the list
    identity_rows: bool = False  # row i is one synapse, onto post neuron i (one_to_one between populations of
    #                              one size): a spike is its own synapse and target (kernels.deliver)


@dataclass(frozen=True)
class GapSlot:
    pre: int
    post: int
    pre_voltage_row: int
    post_voltage_row: int


@dataclass(frozen=True)
class RecorderSlot:
    population: int


def _delivery(slot: ProjectionSlot) -> tuple[str, str]:
    """The (targets, delays) dtypes of a projection's delivery (a uniform delay: an empty uint8 view)."""
    return slot.targets, slot.delays or "uint8"


def _always(slot) -> bool:
    return True


@dataclass(frozen=True)
class Arg:
    """One argument of the generated loop, per object of its kind.

    role:  its name (state, weights, ...); its column is <KIND>_<ROLE>[_<DTYPE>]
    dtypes: accepted numpy dtypes; ndim: number of dimensions (0: a scalar, kept in the info table)
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

    def columns(self) -> list[tuple[str, type]]:
        """(column suffix, dtype) for each dtype: ROLE, or ROLE_DTYPE when several are allowed."""
        if len(self.dtypes) == 1:
            return [(self.role.upper(), self.dtypes[0])]
        return [(f"{self.role}_{np.dtype(d).name}".upper(), d) for d in self.dtypes]


F64, I64, I32, U64 = (np.float64,), (np.int64,), (np.int32,), (np.uint64,)

POPULATION_ARGS = (
    Arg("state", F64, 2, "state variables (n_state, N), the model's units", lambda a: a.state),
    Arg("consts", F64, 1, "the model's constants for this dt", lambda a: a.consts),
    Arg("ring", F64, 3, "synaptic input ring (depth, n_receptors, N): pA or nS per arrival step", lambda a: a.ring),
    Arg("i_ext", F64, 1, "external current of this chunk, pA", lambda a: a.i_ext),
    Arg("rng", U64, 1, "random stream (xoshiro256**)", lambda a: a.rng),
    Arg("spikes", I32, 1, "indices of the neurons that fired this step (may be longer than N)", lambda a: a.spikes),
    Arg("spike_steps", I64, 1, "recorded spikes: steps", lambda a: a.spike_steps, lambda s: s.record_spikes > 0),
    Arg("spike_ids", I32, 1, "recorded spikes: neurons", lambda a: a.spike_ids, lambda s: s.record_spikes > 0),
    Arg("coupled", F64, 1, "i_ext plus this step's gap-junction currents, pA", lambda a: a.coupled,
        lambda s: s.coupled),
)
PROJECTION_ARGS = (
    Arg("indptr", I64, 1, "CSR row pointers by pre neuron", lambda a: a.indptr),
    Arg("targets", (np.int32, np.uint16), 1, "post neuron of each synapse", lambda a: a.targets),
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
INFO = {
    "p": ("model", "record_spikes", "coupled"),
    "j": ("pre", "post", "receptor", "plastic", "unreliable", "delivery", "monotone_rows", "identity_rows"),
    "r": ("population",),
    "g": ("pre", "post", "pre_voltage_row", "post_voltage_row"),
}
"""The slot fields of each kind in its info table (then its scalar Args); "model" is the index of the
population's kernel among the structure's kernels, "delivery" the index of a projection's
(targets, delays) dtypes among the structure's deliveries."""
KINDS = (("p", POPULATION_ARGS), ("j", PROJECTION_ARGS), ("r", RECORDER_ARGS), ("g", GAP_ARGS))
"""Argument prefix and table of each kind of object, in the order of the signature."""


def info_columns(prefix: str, table) -> list[str]:
    return list(INFO[prefix]) + [arg.role for arg in table if arg.ndim == 0]


def array_columns(table) -> list[tuple[str, Arg, type]]:
    """(column name, Arg, dtype) of each array column of a kind's address table."""
    return [(name, arg, dtype) for arg in table if arg.ndim > 0 for name, dtype in arg.columns()]


def column_constants() -> dict[str, int]:
    """Every column index by name: P_STATE, J_TARGETS_INT32, J_INFO_POST, ..."""
    out = {}
    for prefix, table in KINDS:
        for c, name in enumerate(info_columns(prefix, table)):
            out[f"{prefix.upper()}_INFO_{name.upper()}"] = c
        for c, (name, _, _) in enumerate(array_columns(table)):
            out[f"{prefix.upper()}_{name}"] = c
    return out


COLUMNS = column_constants()

PARALLEL_MIN_NEURONS = 4000
"""Below this many neurons in all, a step is too short to share among threads (they meet twice per step,
a fraction of a microsecond each time): the loop runs serially (with the same result)."""


@dataclass(frozen=True)
class LoopStructure:
    """The objects of a network as the loop sees them; the source depends only on `features()`."""

    populations: tuple[PopulationSlot, ...]
    projections: tuple[ProjectionSlot, ...]
    recorders: tuple[RecorderSlot, ...]
    gap_junctions: tuple[GapSlot, ...] = ()

    def slots(self):
        """(prefix, table, slots) for each kind of object, in signature order."""
        objects = (self.populations, self.projections, self.recorders, self.gap_junctions)
        return [(prefix, table, slots) for (prefix, table), slots in zip(KINDS, objects)]

    def kernels(self) -> tuple[tuple[str, str], ...]:
        """The distinct (module, name) of the populations' kernels, in order of first use."""
        return tuple(dict.fromkeys((p.kernel_module, p.kernel_name) for p in self.populations))

    @cached_property
    def _features(self) -> "LoopFeatures":
        deliveries = tuple(sorted({_delivery(p) for p in self.projections}))
        kernels = self.kernels()
        blockable = tuple(sorted(m for m, kernel in enumerate(kernels)
                                 if all(p.blockable for p in self.populations
                                        if (p.kernel_module, p.kernel_name) == kernel)))
        return LoopFeatures(kernels, deliveries, any(p.plastic for p in self.projections),
                            bool(self.gap_junctions), bool(self.recorders), blockable)

    def features(self) -> "LoopFeatures":
        return self._features

    def _info(self, prefix, table, slot) -> list[int]:
        values = []
        for name in INFO[prefix]:
            if name == "model":
                values.append(self.features().kernels.index((slot.kernel_module, slot.kernel_name)))
            elif name == "delivery":
                values.append(self.features().deliveries.index(_delivery(slot)))
            else:
                values.append(int(getattr(slot, name)))
        return values

    def arguments(self, arrays: tuple[list, list, list, list], parallel: bool = False, threads: int = 1) -> list:
        """The arguments of a call after (step0, step1, counters): `arrays` holds one object per slot of
        each kind (neurobox.engine.compile's CompiledPopulation, CompiledProjection, ...). The caller keeps
        the arrays alive (and in place) while the loop runs."""
        out = []
        cache = self.__dict__.setdefault("_static", {})  # what does not change while it runs: slots, tasks
        for (prefix, table, slots), objs in zip(self.slots(), arrays):
            columns = array_columns(table)
            n = len(slots)
            if prefix not in cache:
                scalars = [arg for arg in table if arg.ndim == 0]
                info = np.zeros((n, len(INFO[prefix]) + len(scalars)), np.int64)
                for k, (slot, obj) in enumerate(zip(slots, objs)):
                    info[k, :len(INFO[prefix])] = self._info(prefix, table, slot)
                    for c, arg in enumerate(scalars):
                        if arg.when(slot):
                            info[k, len(INFO[prefix]) + c] = arg.get(obj)
                cache[prefix] = info
            if (prefix, "get") not in cache:  # the columns each object has: (object, column, getter)
                cache[prefix, "get"] = [(k, c, arg.get) for k, (slot, obj) in enumerate(zip(slots, objs))
                                        for c, (_, arg, dtype) in enumerate(columns)
                                        if arg.when(slot) and arg.get(obj).dtype.type is dtype]
            addr = np.zeros((n, len(columns)), np.int64)
            shape = np.zeros((n, len(columns), 3), np.int64)
            for k, c, get in cache[prefix, "get"]:
                value = get(objs[k])
                if value.size:
                    addr[k, c] = value.ctypes.data
                shape[k, c, :value.ndim] = value.shape
            out += [cache[prefix], addr, shape]
            if prefix == "j":
                if (parallel, threads) not in cache:
                    cache[parallel, threads] = self.task_tables(parallel, threads)
                out += list(cache[parallel, threads])
        return out

    def parallel(self, threads: int) -> bool:
        """Whether the parallel form may run this network on `threads` threads (big enough to pay)."""
        return threads > 1 and sum(p.n for p in self.populations) >= PARALLEL_MIN_NEURONS

    def task_tables(self, parallel: bool, threads: int = 1) -> tuple[np.ndarray, ...]:
        """(by_post, first, runs, blocks): the projections into each population in their order (those into
        population k are by_post[first[k]:first[k + 1]]), each thread's run of blocks (runs[t] = [a, b)) and
        the blocks (population, lo, hi, whole, order): a thread updates the neurons lo..hi-1 of its blocks'
        populations and delivers every spike into them. The serial form has one block per population and one
        run; the parallel one shares the neurons out (`share_neurons`). `order` lists the blocks in
        population and neuron order (the order their spikes are gathered in)."""
        n_pops = len(self.populations)
        by_post = np.array(sorted(range(len(self.projections)), key=lambda j: self.projections[j].post), np.int64)
        counts = np.bincount([p.post for p in self.projections], minlength=n_pops)
        first = np.zeros(n_pops + 1, np.int64)
        np.cumsum(counts, out=first[1:])
        if parallel and threads > 1:
            whole = [not pop.blockable or any(p.unreliable or not p.sorted_rows
                                              for p in self.projections if p.post == k)
                     for k, pop in enumerate(self.populations)]
            runs = share_neurons([pop.n for pop in self.populations], whole, threads)
        else:
            runs = [[(k, 0, pop.n) for k, pop in enumerate(self.populations)]]
        blocks = [(k, lo, hi, int(lo == 0 and hi == self.populations[k].n)) for run in runs for k, lo, hi in run]
        bounds = np.cumsum([0] + [len(run) for run in runs])
        table = np.array([b + (0,) for b in blocks], np.int64).reshape(-1, 5)
        table[:, 4] = sorted(range(len(blocks)), key=lambda b: (blocks[b][0], blocks[b][1]))
        return by_post, first, np.stack([bounds[:-1], bounds[1:]], axis=1).astype(np.int64), table

    def check_values(self, arrays: tuple[list, list, list, list]) -> None:
        """Every array has an allowed dtype, number of dimensions and is C-contiguous (else a bug in neurobox)."""
        for (prefix, table, slots), objs in zip(self.slots(), arrays):
            for k, (slot, obj) in enumerate(zip(slots, objs)):
                for arg in table:
                    if not arg.when(slot):
                        continue
                    value = np.asarray(arg.get(obj))
                    name = f"{prefix}{k}_{arg.role}"
                    if value.dtype.type not in arg.dtypes or value.ndim != arg.ndim or (
                            arg.ndim and not value.flags.c_contiguous):
                        raise SimulationError(
                            f"loop argument {name} ({arg.doc}) is {value.dtype}[{value.ndim}d]; expected one of "
                            f"{[d.__name__ for d in arg.dtypes]} with {arg.ndim} dims, C-contiguous")


def share_neurons(sizes: list[int], whole: list[bool], threads: int) -> list[list[tuple[int, int, int]]]:
    """Each thread's blocks (population, lo, hi), about as many neurons each: the populations that must stay
    whole (a source, or one fed by an unreliable projection: their random streams are drawn in one order)
    go first, the biggest to the thread with the fewest neurons so far; then the other populations, in
    order, fill the threads up to an equal share, cut where a thread's share ends."""
    runs = [[] for _ in range(threads)]
    load = [0] * threads
    for k in sorted((k for k in range(len(sizes)) if whole[k]), key=lambda k: -sizes[k]):
        t = min(range(threads), key=lambda t: load[t])
        runs[t].append((k, 0, sizes[k]))
        load[t] += sizes[k]
    share = sum(sizes) / threads
    t = 0
    for k in (k for k in range(len(sizes)) if not whole[k]):
        lo = 0
        while lo < sizes[k]:
            while t < threads - 1 and load[t] >= share:
                t += 1
            hi = sizes[k] if t == threads - 1 else min(sizes[k], lo + max(1, math.ceil(share - load[t])))
            runs[t].append((k, lo, hi))
            load[t] += hi - lo
            lo = hi
    return runs


@dataclass(frozen=True)
class LoopFeatures:
    """Everything the generated source depends on (and nothing else)."""

    kernels: tuple[tuple[str, str], ...]
    deliveries: tuple[tuple[str, str], ...]  # (targets dtype, delays dtype) of the projections
    plastic: bool
    gap_junctions: bool
    recorders: bool
    blockable: tuple[int, ...] = ()  # kernels that may run on blocks of neurons (in the parallel form)


def error_slots(structure: LoopStructure) -> tuple[int, int]:
    """Indices in `counters` of the failing population and neuron."""
    base = len(structure.populations) + len(structure.recorders)
    return base, base + 1


def _features(structure: LoopStructure | LoopFeatures) -> LoopFeatures:
    return structure.features() if isinstance(structure, LoopStructure) else structure


HELPERS = ("GO_ON", "STOP_AFTER", "STOP_NOW", "after_update", "couple", "deliver_projection", "room_for_spikes",
           "update_block", "update_population")
"""What the loop imports from its helpers' module."""


def generate_helpers(structure: LoopStructure | LoopFeatures) -> str:
    """The Python source of the loop's helpers for a structure's features (one module that both forms of
    the loop import, so that numba compiles the helpers once): a block's update, a projection's delivery
    into a block, what happens between the update and the delivery."""
    f = _features(structure)
    lines = [
        "# Generated by neurobox.engine.codegen; do not edit.",
        "import numpy as np",
        "from numba import njit",
        "from neurobox.engine.kernels import (deliver, gap_junction_currents, record_spikes, record_state,",
        "                                     spike_range, view1, view2, view3)",
    ]
    if f.plastic:
        lines.append("from neurobox.plasticity.kernel import plasticity_step, store_spikes")
    for m, (module, name) in enumerate(f.kernels):
        lines.append(f"from {module} import {name} as kernel_{m}")
    lines.append("")
    lines += [f"{name} = {value}" for name, value in COLUMNS.items()]
    lines += ["GO_ON, STOP_AFTER, STOP_NOW = 0, 1, 2  # after_update: deliver and go on; stop after the delivery; now"]
    # the spike list of a population in a step (two halves, by the step's parity: see the module docstring)
    lines += ["", "", "@njit(cache=True, inline='always')",
              "def fired(p_addr, p_shape, k, step):",
              "    spikes = view1(p_addr, p_shape, k, P_SPIKES, np.int32)",
              "    half = spikes.shape[0] // 2",
              "    return spikes[(step & 1) * half:((step & 1) + 1) * half]"]
    # a whole population's update (the serial form's blocks), and a block's: neurons lo..hi-1 of a population
    # whose kernel treats neurons independently (compiled, with the kernels on blocks, only for the parallel form)
    views = ["    state = view2(p_addr, p_shape, k, P_STATE, np.float64)",
             "    consts = view1(p_addr, p_shape, k, P_CONSTS, np.float64)",
             "    ring = view3(p_addr, p_shape, k, P_RING, np.float64)",
             "    rng = view1(p_addr, p_shape, k, P_RNG, np.uint64)",
             "    spikes = fired(p_addr, p_shape, k, step)",
             "    i_in = view1(p_addr, p_shape, k, P_COUPLED if p_info[k, P_INFO_COUPLED] else P_I_EXT, np.float64)",
             "    syn_in = ring[step % ring.shape[0]]",
             "    model = p_info[k, P_INFO_MODEL]"]
    lines += ["", "", "@njit(cache=True, boundscheck=False)",
              "def update_population(k, step, p_info, p_addr, p_shape):"] + views
    for m in range(len(f.kernels)):
        lines += [f"    if model == {m}:",
                  f"        return kernel_{m}(state, consts, syn_in, i_in, rng, step, spikes)"]
    lines += ["    return 0", "", "", "@njit(cache=True, boundscheck=False)",
              "def update_block(k, lo, hi, whole, step, p_info, p_addr, p_shape):",
              "    if whole:",
              "        return update_population(k, step, p_info, p_addr, p_shape)"] + views
    for m in f.blockable:
        lines += [f"    if model == {m}:",
                  f"        return kernel_{m}(state[:, lo:hi], consts, syn_in[:, lo:hi], i_in[lo:hi], rng, step, "
                  "spikes[lo:hi])"]
    lines.append("    return 0")
    # one projection's delivery into a block of its post population
    lines += ["", "", "@njit(cache=True, boundscheck=False)",
              "def deliver_projection(j, step, lo, hi, whole, n_spikes, p_addr, p_shape, j_info, j_addr, j_shape):",
              "    post = j_info[j, J_INFO_POST]",
              "    ring = view3(p_addr, p_shape, post, P_RING, np.float64)",
              "    indptr = view1(j_addr, j_shape, j, J_INDPTR, np.int64)",
              "    weights = view1(j_addr, j_shape, j, J_WEIGHTS, np.float32)",
              "    p_transmit = view1(j_addr, j_shape, j, J_P_TRANSMIT, np.float64)",
              "    rng = view1(j_addr, j_shape, j, J_TRANSMIT_RNG, np.uint64)",
              "    receptor = j_info[j, J_INFO_RECEPTOR]",
              "    delay = j_info[j, J_INFO_DELAY]",
              "    spikes = fired(p_addr, p_shape, j_info[j, J_INFO_PRE], step)",
              "    n = n_spikes[j_info[j, J_INFO_PRE]]"]
    if f.plastic:  # deliver the history row that arrives next step
        lines += ["    if j_info[j, J_INFO_PLASTIC]:",
                  "        history = view2(j_addr, j_shape, j, J_HISTORY, np.int32)",
                  "        counts = view1(j_addr, j_shape, j, J_HISTORY_COUNTS, np.int64)",
                  "        a = (step + 1 - delay) % history.shape[0]",
                  "        spikes = history[a]",
                  "        n = counts[a]",
                  "        delay = 1"]
    for code, (targets, delays) in enumerate(f.deliveries):
        t_view = f"view1(j_addr, j_shape, j, J_TARGETS_{targets.upper()}, np.{targets})"
        lines += [f"    if j_info[j, J_INFO_DELIVERY] == {code}:",
                  "        if j_info[j, J_INFO_MONOTONE_ROWS] and not whole:  # only the spikes that may reach the block",
                  f"            s0, s1 = spike_range(spikes, n, indptr, {t_view}, lo, hi)",
                  "            spikes = spikes[s0:s1]",
                  "            n = s1 - s0",
                  f"        deliver(spikes, n, indptr, {t_view}, weights,",
                  f"                view1(j_addr, j_shape, j, J_DELAYS_{delays.upper()}, np.{delays}), delay, ring, "
                  "receptor, step, lo, hi, whole, p_transmit, rng, j_info[j, J_INFO_IDENTITY_ROWS] != 0)"]
    # room in the recording buffers for a step's spikes
    lines += ["", "", "@njit(cache=True, boundscheck=False)",
              "def room_for_spikes(counters, p_info, p_shape):",
              "    for k in range(p_info.shape[0]):",
              "        if p_info[k, P_INFO_RECORD_SPIKES] > 0:",
              "            if counters[k] + p_shape[k, P_SPIKES, 0] // 2 > p_shape[k, P_SPIKE_STEPS, 0]:",
              "                return False",
              "    return True"]
    # this step's gap-junction currents (from the potentials the last update left)
    lines += ["", "", "@njit(cache=True, boundscheck=False)",
              "def couple(p_info, p_addr, p_shape, g_info, g_addr, g_shape):"]
    if f.gap_junctions:
        lines += ["    for k in range(p_info.shape[0]):",
                  "        if p_info[k, P_INFO_COUPLED]:",
                  "            view1(p_addr, p_shape, k, P_COUPLED, np.float64)[:] = view1(p_addr, p_shape, k, P_I_EXT, "
                  "np.float64)",
                  "    for m in range(g_info.shape[0]):",
                  "        pre, post = g_info[m, G_INFO_PRE], g_info[m, G_INFO_POST]",
                  "        gap_junction_currents(view2(p_addr, p_shape, pre, P_STATE, np.float64)[g_info[m, "
                  "G_INFO_PRE_VOLTAGE_ROW]],",
                  "                              view2(p_addr, p_shape, post, P_STATE, np.float64)[g_info[m, "
                  "G_INFO_POST_VOLTAGE_ROW]],",
                  "                              view1(g_addr, g_shape, m, G_A, np.int32), view1(g_addr, g_shape, m, "
                  "G_B, np.int32),",
                  "                              view1(g_addr, g_shape, m, G_CONDUCTANCE, np.float64),",
                  "                              view1(p_addr, p_shape, pre, P_COUPLED, np.float64),",
                  "                              view1(p_addr, p_shape, post, P_COUPLED, np.float64))"]
    else:
        lines.append("    return")
    # what one thread does between the update and the delivery: gather, record, learn, prepare the next step
    lines += ["", "", "@njit(cache=True, boundscheck=False)",
              "def after_update(step, step1, counters, block_spikes, n_spikes, p_info, p_addr, p_shape, j_info, j_addr,",
              "                 j_shape, blocks, r_info, r_addr, r_shape, g_info, g_addr, g_shape):",
              "    n_pops = p_info.shape[0]",
              "    err_pop = n_pops + r_info.shape[0]",
              "    n_spikes[:] = 0",
              "    for o in range(blocks.shape[0]):  # in population and neuron order",
              "        b = blocks[o, 4]",
              "        k, lo, c = blocks[b, 0], blocks[b, 1], block_spikes[b]",
              "        if n_spikes[k] < 0:",
              "            continue",
              "        if c < 0:  # -1 - (lo + i): the first NaN of the population",
              "            n_spikes[k] = c - lo",
              "            continue",
              "        if lo > 0:",
              "            spikes = fired(p_addr, p_shape, k, step)",
              "            for s in range(c):",
              "                spikes[n_spikes[k] + s] = spikes[lo + s] + lo",
              "        n_spikes[k] += c",
              "    for k in range(n_pops):",
              "        if n_spikes[k] < 0:",
              "            counters[err_pop] = k",
              "            counters[err_pop + 1] = -1 - n_spikes[k]",
              "            return STOP_NOW",
              "        if p_info[k, P_INFO_RECORD_SPIKES] > 0:",
              "            counters[k] = record_spikes(fired(p_addr, p_shape, k, step), n_spikes[k], step,",
              "                                        view1(p_addr, p_shape, k, P_SPIKE_STEPS, np.int64),",
              "                                        view1(p_addr, p_shape, k, P_SPIKE_IDS, np.int32), counters[k],",
              "                                        p_info[k, P_INFO_RECORD_SPIKES])"]
    if f.plastic:  # learn from this step's arrivals (the delivery then uses the new weights)
        lines += ["    for j in range(j_info.shape[0]):",
                  "        if j_info[j, J_INFO_PLASTIC]:",
                  "            pre, post = j_info[j, J_INFO_PRE], j_info[j, J_INFO_POST]",
                  "            history = view2(j_addr, j_shape, j, J_HISTORY, np.int32)",
                  "            counts = view1(j_addr, j_shape, j, J_HISTORY_COUNTS, np.int64)",
                  "            store_spikes(fired(p_addr, p_shape, pre, step), n_spikes[pre], history, counts,",
                  "                         step % history.shape[0])",
                  "            a = (step - j_info[j, J_INFO_DELAY]) % history.shape[0]"]
        for code, (targets, _) in enumerate(f.deliveries):
            t_col = f"J_TARGETS_{targets.upper()}"
            lines += [f"            if j_info[j, J_INFO_DELIVERY] == {code}:",
                      "                plasticity_step(step, history[a], counts[a], fired(p_addr, p_shape, post, step),",
                      "                                n_spikes[post], view1(j_addr, j_shape, j, J_INDPTR, np.int64),",
                      f"                                view1(j_addr, j_shape, j, {t_col}, np.{targets}),",
                      "                                view1(j_addr, j_shape, j, J_WEIGHTS, np.float32),",
                      "                                view1(j_addr, j_shape, j, J_REV_PTR, np.int64),",
                      "                                view1(j_addr, j_shape, j, J_REV_SYN, np.int32),",
                      "                                view1(j_addr, j_shape, j, J_REV_PRE, np.int32),",
                      "                                view2(j_addr, j_shape, j, J_X, np.float64),",
                      "                                view2(j_addr, j_shape, j, J_Y, np.float64),",
                      "                                view1(j_addr, j_shape, j, J_RULE, np.float64),",
                      "                                view1(j_addr, j_shape, j, J_ELIGIBILITY, np.float64),",
                      "                                view1(j_addr, j_shape, j, J_DOPAMINE, np.float64))"]
    if f.recorders:  # the state this step ends with (the delivery changes only the rings)
        lines += ["    for m in range(r_info.shape[0]):",
                  "        if (step + 1) % r_info[m, R_INFO_EVERY] == 0:",
                  "            record_state(view2(p_addr, p_shape, r_info[m, R_INFO_POPULATION], P_STATE, np.float64),",
                  "                         view1(r_addr, r_shape, m, R_ROWS, np.int64), view1(r_addr, r_shape, m, "
                  "R_NEURONS, np.int64),",
                  "                         view3(r_addr, r_shape, m, R_BUFFER, np.float64), counters[n_pops + m])",
                  "            counters[n_pops + m] += 1"]
    lines += ["    if step + 1 == step1:",
              "        return GO_ON",
              "    if not room_for_spikes(counters, p_info, p_shape):",
              "        return STOP_AFTER",
              "    couple(p_info, p_addr, p_shape, g_info, g_addr, g_shape)",
              "    return GO_ON"]
    return "\n".join(lines) + "\n"


def helpers_module(structure: LoopStructure | LoopFeatures) -> tuple[str, str]:
    """(module name, source) of the helpers of a structure's loop; the name holds the hash of the source and
    of neurobox's own sources."""
    source = generate_helpers(structure)
    key = hashlib.sha256((package_fingerprint() + source).encode()).hexdigest()[:20]
    return f"neurobox_loop_helpers_{key}", source


def generate_source(structure: LoopStructure | LoopFeatures, parallel: bool = False) -> str:
    """The Python source of `run_chunk` for a structure's features: serial, or (parallel) a chunk run by a
    team of threads (see the module docstring). It imports its helpers from `helpers_module`."""
    helpers, _ = helpers_module(structure)
    lines = ["# Generated by neurobox.engine.codegen; do not edit.",
             "import numpy as np",
             "from numba import njit, prange",
             f"from {helpers} import ({', '.join(HELPERS)})"]
    lines.append("from neurobox.engine.team import SYNC_SLOTS, barrier, start" if parallel else "SYNC_SLOTS = 1")
    lines += ["", "", f"@njit(cache=True, boundscheck=False, parallel={parallel})",
              "def run_chunk(step0, step1, counters, p_info, p_addr, p_shape, j_info, j_addr, j_shape,",
              "              j_by_post, j_first, runs, blocks, r_info, r_addr, r_shape, g_info, g_addr, g_shape):"]
    body = ["if step0 >= step1:",
            "    return step1",
            "if not room_for_spikes(counters, p_info, p_shape):",
            "    return step0",
            "couple(p_info, p_addr, p_shape, g_info, g_addr, g_shape)",
            "threads = runs.shape[0]",
            "block_spikes = np.zeros(blocks.shape[0], np.int64)",
            "n_spikes = np.zeros(p_info.shape[0], np.int64)",
            "shared = np.zeros(2, np.int64)  # after_update's outcome, the step reached",
            "shared[1] = step1",
            "sync = np.zeros(SYNC_SLOTS, np.int64)"]
    update = ("update_block(blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3] != 0, step, p_info, p_addr, "
              "p_shape)" if parallel else "update_population(blocks[b, 0], step, p_info, p_addr, p_shape)")
    step = ["for b in range(runs[t, 0], runs[t, 1]):  # this thread's neurons",
            f"    block_spikes[b] = {update}"]
    step += ["barrier(sync, threads)"] if parallel else []
    step += ["if t == 0:",
             "    shared[0] = after_update(step, step1, counters, block_spikes, n_spikes, p_info, p_addr, p_shape,",
             "                             j_info, j_addr, j_shape, blocks, r_info, r_addr, r_shape, g_info, g_addr,",
             "                             g_shape)"]
    step += ["barrier(sync, threads)"] if parallel else []
    step += ["if shared[0] == STOP_NOW:",
             "    shared[1] = step",
             "    break",
             "for b in range(runs[t, 0], runs[t, 1]):  # into this thread's neurons, in the serial order",
             "    for q in range(j_first[blocks[b, 0]], j_first[blocks[b, 0] + 1]):",
             "        deliver_projection(j_by_post[q], step, blocks[b, 1], blocks[b, 2], blocks[b, 3] != 0, n_spikes,",
             "                           p_addr, p_shape, j_info, j_addr, j_shape)",
             "if shared[0] == STOP_AFTER:",
             "    shared[1] = step + 1",
             "    break"]
    if parallel:
        body += ["for t in prange(threads):  # one iteration per thread: the threads meet twice per step",
                 "    if not start(sync, threads):",
                 "        shared[1] = -1",
                 "        continue",
                 "    for step in range(step0, step1):"]
        body += ["        " + line for line in step]
    else:
        body += ["t = 0", "for step in range(step0, step1):"]
        body += ["    " + line for line in step]
    body.append("return shared[1]")
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


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



def _load(module_name: str, source: str):
    """The generated module `module_name` (written to the cache folder once, then imported from there)."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = cache_dir() / f"{module_name.removeprefix('neurobox_')}.py"
    if not path.exists():
        from neurobox.files import atomic_write_text
        atomic_write_text(path, source)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def loop_module(structure: LoopStructure | LoopFeatures, parallel: bool = False) -> tuple[str, str]:
    """(module name, source) of a structure's loop in one form."""
    source = generate_source(structure, parallel)
    key = hashlib.sha256((package_fingerprint() + source).encode()).hexdigest()[:20]
    return f"neurobox_loop_{key}", source


def compiled_loop(structure: LoopStructure, parallel: bool = False):
    """The numba-compiled `run_chunk` for `structure` (compiled at first call, then cached on disk)."""
    _load(*helpers_module(structure))
    return _load(*loop_module(structure, parallel)).run_chunk


def loop_is_cached(structure: LoopStructure, parallel: bool = False) -> bool:
    """Whether numba's disk cache holds the structure's loop in this form (so that loading it is quick):
    its index file, next to the source or under $NUMBA_CACHE_DIR."""
    stem = loop_module(structure, parallel)[0].removeprefix("neurobox_")
    pattern = f"{stem}.run_chunk-*.nbi"
    numba_cache = os.environ.get("NUMBA_CACHE_DIR")
    if numba_cache:
        return any(Path(numba_cache).rglob(pattern))
    return any((cache_dir() / "__pycache__").glob(pattern))
