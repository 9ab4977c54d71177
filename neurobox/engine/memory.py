"""How much memory a network needs in the engine, estimated before anything is drawn or allocated.

Counts come from the description alone: neurons from the populations;
synapses from the connection rules (exact for all_to_all, one_to_one,
fixed_indegree, fixed_outdegree, fixed_total_number and explicit; the expected number
p * n_pre * n_post for fixed_probability); recordings from the recorders
(recorded neurons x variables x samples of the run). The bytes per item
were measured with tracemalloc on the engine's build (neurobox.engine.compile), and the whole estimate
is held within 20 % of the peak resident memory of a build and a short run in a fresh process
(tests/test_memory_estimate.py; memory allocated but never written, such as unused spike-buffer slots,
counts here but not in the resident memory):

- a neuron: its state rows, the delay ring (one row per receptor and
  delay step), input and spike flags (8 bytes each), the spike scratch
  (two halves of 4 bytes), and the spike buffer of a recorded population
  (16 slots of 12 bytes);
- a synapse, as built (drawn straight into the engine's rows, see
  neurobox.network.projection.Connections): its target (2 bytes when the
  post population has at most 65536 neurons, else 4), its float32 weight
  (4), its delay when delays differ (1, or 2 past 255 steps), +8 on a
  plastic projection (the reverse index) and +8 under reward-modulated
  STDP (eligibility); each projection's row pointers, 8 bytes per pre
  neuron;
- while one projection is drawn (the others are built already): nothing
  more for fixed_total_number but 1 byte a synapse when delays differ
  (the test for one common delay); the rules drawn as pairs first (all
  others) peak at 24 bytes a synapse (20 for fixed_probability) including
  what stays; in fixed-point precision every projection is drawn before
  any is laid out (about 12 bytes a synapse more, all at once);
- the spike buffers of a simulation: 12 bytes per slot, 16 slots per
  neuron and 65536 more per population whose spikes are recorded (none
  for a population with record_spikes = false, such as a background
  source);
- a recorded sample: 8 bytes, twice (the chunks and the joined result).

Spike times are not estimated (they depend on the activity).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurobox.errors import ConfigError
from neurobox.limits import gigabytes, memory_limit, memory_limit_given

SPIKE_BUFFER_BYTES = 16 * 12   # a recorded neuron's spike buffer (neurobox.engine.simulation)
SPIKE_BUFFER_EXTRA = 65536 * 12  # and the same buffer's fixed part, per recorded population
PAIRS_PEAK_BYTES = {"fixed_probability": 20}  # a synapse of a rule drawn as pairs, at its peak (24 otherwise)
FIXED_DRAWN_BYTES = 12     # each synapse of every projection, drawn first in fixed point
SMALL = 256 * 1024 ** 2    # below this an estimate is not compared with the machine's memory


@dataclass(frozen=True)
class MemoryEstimate:
    neurons: int
    synapses: int
    neuron_bytes: int
    synapse_bytes: int
    recording_bytes: int
    largest: dict[str, str] | None = None
    """Per part (neurons, synapses, recordings): the field of the object that takes the most of it."""

    @property
    def total(self) -> int:
        return self.neuron_bytes + self.synapse_bytes + self.recording_bytes


def expected_synapses(proj) -> int:
    """The number of synapses a resolved projection draws (the expected number for fixed_probability)."""
    from neurobox.network.connectivity import expected_synapses as count

    return int(round(count(proj.rule, proj._checked, proj.pre.n, proj.post.n, upper=False)))


def _longest_delay_steps(delay, dt: float) -> int:
    if delay is None:
        return 1
    if isinstance(delay, dict):
        if "high" in delay:
            longest = float(delay["high"])
        elif "mean" in delay:
            longest = float(delay["mean"]) + 5.0 * float(delay.get("std", 0.0))
        else:
            return 1
    else:
        arr = np.asarray(delay, dtype=float)
        longest = float(arr.max()) if arr.size else dt
    return int(min(max(round(longest / dt), 1), np.iinfo(np.uint16).max))


def estimate(net, steps: int = 0, depths: dict[str, int] | None = None) -> MemoryEstimate:
    """The engine's memory for `net` (populations and projections resolved, as after Network.add), and for
    recording `steps` steps; depths: each population's ring-buffer depth once its delays are drawn
    (default: from the delays the description gives)."""
    from neurobox.network.projection import GapJunction

    depth = {name: 1 for name in net.populations}
    resident = 0
    transient = 0
    drawn = 0
    n_synapses = 0
    biggest: dict[str, tuple[int, str]] = {}

    def note(part: str, nbytes: int, field: str) -> None:
        if nbytes > biggest.get(part, (-1, ""))[0]:
            biggest[part] = (nbytes, field)

    for name, proj in net.projections.items():
        count = expected_synapses(proj)
        n_synapses += count
        if isinstance(proj, GapJunction):
            resident += 16 * count
            transient = max(transient, PAIRS_PEAK_BYTES.get(proj.rule, 24) * count)
            note("synapses", 16 * count, f"projections.{name}.rule")
            continue
        longest = _longest_delay_steps(proj.delay, net.dt)
        per_synapse_delays = isinstance(proj.delay, dict) or np.ndim(proj.delay) > 0
        per = (2 if proj.post.n <= 65536 else 4) + 4
        if per_synapse_delays:
            per += 1 if longest <= 255 else 2
        if proj.plasticity is not None:
            per += 8 + (8 if getattr(proj.plasticity, "rule", "") == "rstdp" else 0)
        rows = 8 * (int(proj.pre.n) + 1)
        resident += per * count + rows
        if proj.rule == "fixed_total_number":
            drawing = (1 if per_synapse_delays else 0) * count + 16 * int(proj.pre.n)
        else:
            drawing = max(PAIRS_PEAK_BYTES.get(proj.rule, 24) - per, 1 if per_synapse_delays else 0) * count
        transient = max(transient, drawing)
        drawn += FIXED_DRAWN_BYTES * count
        note("synapses", per * count + rows, f"projections.{name}.rule")
        post = proj.post.name
        depth[post] = max(depth[post], longest + 1)
    if depths is not None:
        depth = dict(depths)
    synapse_bytes = resident + transient + (drawn if net.precision == "fixed" else 0)
    neuron_bytes = 0
    n_neurons = 0
    for name, pop in net.populations.items():
        model = pop.model
        per = (len(model.state) + depth[name] * len(model.receptors) + 4) * 8 + 2 * 4  # + the spike scratch's halves
        recorded = int(pop.n) if pop.record_spikes is True else int(pop.record_spikes)  # neurons 0..k-1
        spike_buffer = SPIKE_BUFFER_BYTES * recorded + (SPIKE_BUFFER_EXTRA if recorded else 0)
        neuron_bytes += per * int(pop.n) + spike_buffer
        n_neurons += int(pop.n)
        note("neurons", per * int(pop.n) + spike_buffer, f"populations.{name}.n")
    recording_bytes = 0
    for name, rec in net.recorders.items():
        every = max(int(rec.every), 1)
        recorded = int(pop_size(rec))
        part = 2 * 8 * len(rec.variables) * recorded * (int(steps) // every) + 8 * (int(steps) // every)
        recording_bytes += part
        note("recordings", part, f"recorders.{name}.neurons")
    largest = {part: field for part, (_, field) in biggest.items()}
    return MemoryEstimate(n_neurons, n_synapses, neuron_bytes, synapse_bytes, recording_bytes, largest)


def pop_size(rec) -> int:
    """Neurons a recorder samples."""
    if rec.neurons is None:
        return int(rec.population.n)
    return int(np.size(rec.neurons))


def check_memory(net, steps: int = 0, *, network: bool = True, available: int | None = None,
                 depths: dict[str, int] | None = None) -> MemoryEstimate:
    """ConfigError (field "memory") when `net` would not fit in the memory this machine has left.

    network: False counts only the recordings of `steps` more steps (the network is already built).
    available: bytes to compare with (default: neurobox.limits.memory_limit(); unknown: no check);
    depths: as for `estimate`.
    """
    est = estimate(net, steps, depths)
    if not network:
        est = MemoryEstimate(est.neurons, est.synapses, 0, 0, est.recording_bytes, est.largest)
    if available is None and est.total < SMALL and not memory_limit_given():
        return est  # fits any machine neurobox runs on: no need to read /proc/meminfo (run loops call this often)
    room = memory_limit() if available is None else available
    if room is None or est.total <= room:
        return est
    parts = []
    if est.neuron_bytes:
        parts.append(f"neurons {gigabytes(est.neuron_bytes)} for {est.neurons}")
    if est.synapse_bytes:
        parts.append(f"synapses {gigabytes(est.synapse_bytes)} for {est.synapses:.3g}")
    if est.recording_bytes:
        parts.append(f"recordings {gigabytes(est.recording_bytes)} for {steps} steps")
    largest = max((est.synapse_bytes, "synapses"), (est.neuron_bytes, "neurons"),
                  (est.recording_bytes, "recordings"))[1]
    hint = {"synapses": "use smaller populations (their n) or sparser projections (p, indegree)",
            "neurons": "use smaller populations (their n)",
            "recordings": "record fewer neurons or variables, sample less often (the recorder's every), "
                          "or run a shorter --duration"}[largest]
    field = (est.largest or {}).get(largest, "memory")
    raise ConfigError(field, f"needs {gigabytes(est.total)} of memory, this machine has {gigabytes(room)} "
                             f"available ({', '.join(parts)}); {hint}")
