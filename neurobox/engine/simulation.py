"""The run handle of a network: `Simulation(net)` compiles a snapshot of it and runs it in chunks.

A `Network` is only a description; a `Simulation` owns everything that
running it creates: a snapshot of the description taken when it was
opened (later edits to the network do not reach it; open a new
Simulation), the compiled arrays (neurobox.engine.compile), the generated
loop (neurobox.engine.codegen), the time reached and the recordings. A
second `run` continues where the first stopped.

What may change while it runs is changed through the handle: parameters
of a population (a source's rate or spike times, a threshold), step
currents, the rule of a plastic projection, transmission probabilities,
the global learning switch, rewards, and the state itself.

Python only acts between chunks of compiled steps: it sets step-current
stimuli, hands out recording buffers, collects what they caught, and
updates the progress bar.
"""
from __future__ import annotations

import hashlib
import json
import math
import time

import numpy as np

from neurobox.engine.codegen import (GapSlot, LoopStructure, PopulationSlot, ProjectionSlot, RecorderSlot,
                                     compiled_loop, error_slots, loop_is_cached)
from neurobox.engine.compile import CHUNK_STEPS, CompiledNetwork, compile_network, plasticity_constants, spike_slots
from neurobox.engine.memory import check_memory
from neurobox.engine.precision import engine_model
from neurobox.engine.progress import Progress
from neurobox.errors import ConfigError, SimulationError
from neurobox.limits import check_steps
from neurobox.network.network import Network, check_duration
from neurobox.network.projection import check_probability
from neurobox.plasticity.rules import FIXED_RSTDP, P_RULE, make_plasticity
from neurobox.results import Results, SpikeTrains, Trace



CHECKPOINT_FORMAT = "neurobox-simulation-1"
"""What `Simulation.checkpoint` writes (its "meta" entry says so); `restore` refuses other formats."""
PLASTIC_PARTS = ("consts", "history", "history_counts", "x", "y", "eligibility", "dopamine")
"""The arrays of a plastic projection (neurobox.engine.compile.PlasticState) that change while it runs."""


def _json(value) -> str:
    from neurobox.files import json_text
    return json_text(value)


def _structure_digest(cp) -> str:
    """SHA-256 of a projection's synapses (who reaches whom, with which delay), not its weights."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(cp.indptr).tobytes())
    for start in range(0, cp.targets.size, 1 << 22):  # as int32 whatever the stored type, a piece at a time
        digest.update(cp.targets[start:start + (1 << 22)].astype(np.int32).tobytes())
    part = cp.delays if cp.delays is not None else np.array([cp.uniform_delay])
    digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()[:32]


def run(net: Network, duration_ms: float | None = None, *, progress: bool | None = None,
        threads: int | None = None, backend: str = "engine") -> Results:
    """Simulate `net` for `duration_ms` (default: its duration) from t = 0 and return the results.

    backend: "engine" (this compiled engine), or any runner of neurobox.targets ("nest": NEST through
    PyNEST, "fixed", "twin", ...), which gets the same description."""
    if backend == "engine":
        return Simulation(net, progress=progress, threads=threads).run(duration_ms, progress=progress)
    from neurobox.targets import require, runner

    target = runner(backend)
    require(target, net)
    handle = target.open(net, progress=progress, **({} if threads is None else {"threads": threads}))
    try:
        return handle.run(duration_ms)
    finally:
        handle.close()


def loop_structure(compiled: CompiledNetwork) -> LoopStructure:
    """The objects of a compiled network as the generated loop sees them."""
    return LoopStructure(
        populations=tuple(PopulationSlot(p.engine.model.kernel(p.engine.method).__module__,
                                         p.engine.model.kernel(p.engine.method).__name__,
                                         recorded_neurons(p.population), p.coupled is not None, p.n,
                                         not p.engine.model.is_source)
                          for p in compiled.populations),
        projections=tuple(ProjectionSlot(cp.pre, cp.post, cp.receptor, cp.delays is not None,
                                         cp.plastic is not None, cp.p_transmit is not None,
                                         cp.targets.dtype.name, "" if cp.delays is None else cp.delays.dtype.name,
                                         sorted_rows := _sorted_rows(cp),
                                         sorted_rows and _monotone_rows(cp), _identity_rows(cp))
                          for cp in compiled.projections),
        recorders=tuple(RecorderSlot(r.population) for r in compiled.recorders),
        gap_junctions=tuple(GapSlot(g.pre, g.post, g.pre_voltage_row, g.post_voltage_row)
                            for g in compiled.gap_junctions),
    )


def check_threads(threads) -> int:
    """The number of threads of a Simulation: None means every core numba may use."""
    import numba
    most = int(numba.config.NUMBA_NUM_THREADS)
    if threads is None:
        return most
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= most:
        raise ConfigError("threads", f"a whole number from 1 to {most} (the cores numba may use), got {threads!r}")
    return int(threads)


def recorded_neurons(pop) -> int:
    """How many neurons of a population have their spikes recorded (0..k-1; 0: none)."""
    record = pop.record_spikes
    if record is True:
        return pop.n
    if record is False:
        return 0
    return min(int(record), pop.n)


def _sorted_rows(cp) -> bool:
    """Whether the targets of each row of a projection are sorted (then a block of them is a range)."""
    targets, step = cp.targets, 1 << 24  # in pieces: no temporary as big as the projection
    for lo in range(0, max(targets.size - 1, 0), step):
        hi = min(lo + step, targets.size - 1)
        falls = np.flatnonzero(targets[lo + 1:hi + 1] < targets[lo:hi]) + lo + 1
        if falls.size and not np.all(np.isin(falls, cp.indptr)):
            return False
    return True


def _identity_rows(cp) -> bool:
    """Whether row i of a projection is one synapse onto post neuron i, for every pre neuron i."""
    n = cp.indptr.size - 1
    return (cp.targets.size == n and np.array_equal(cp.indptr, np.arange(n + 1))
            and np.array_equal(cp.targets, np.arange(n)))


def _monotone_rows(cp) -> bool:
    """Whether the first and the last targets of a projection's non-empty rows never fall from one row to the
    next (with sorted rows: one_to_one and the like), so the rows that reach a block of post neurons are
    those of one range of pre neurons (see neurobox.engine.kernels.deliver)."""
    starts, ends = cp.indptr[:-1], cp.indptr[1:]
    full = ends > starts
    if not full.any():
        return False
    first, last = cp.targets[starts[full]], cp.targets[ends[full] - 1]
    return bool(np.all(first[1:] >= first[:-1]) and np.all(last[1:] >= last[:-1]))


def _snapshot(net: Network) -> Network:
    if not isinstance(net, Network):
        raise ConfigError("network", f"expected a neurobox Network, got {type(net).__name__}")
    if not net.populations:
        raise ConfigError("populations", "the network has no population")
    return net.copy()


class Simulation:
    """A running network (see the module docstring).

    net:      the description (a snapshot is taken now)
    progress: True shows a bar while compiling, False hides it, None shows it on a terminal
    learning: False starts with every plastic projection frozen (see `learning`)
    threads:  how many threads run the neuron updates and the spike delivery (None: every core numba
              may use). The spikes are the same bit for bit whatever the number. Networks below
              neurobox.engine.codegen.PARALLEL_MIN_NEURONS run on one thread anyway (a step is too
              short to share). Above it, the threads meet twice per step, which pays on idle cores
              but can cost more than it gains when other processes keep the cores busy: the
              simulation compares the two forms of the loop (serial and parallel; same results) on
              neighbouring windows of WINDOW_STEPS steps, runs the faster, and compares again every
              COMPARE_AGAIN chunks (less often while the same form keeps winning). The parallel form
              is loaded at once when numba's disk cache holds it; else the first chunk runs serially
              and the form is compiled for the first comparison (a short run never needs it). numba's
              thread count is process-wide: each call of the parallel loop sets it to this
              simulation's number.
    """

    def __init__(self, net: Network, *, progress: bool | None = None, learning: bool = True,
                 threads: int | None = None):
        start = time.perf_counter()
        self.threads = check_threads(threads)
        """Threads of the loop (see the class docstring)."""
        self.network = _snapshot(net)
        """The description as it was when the simulation was opened (plus changes made through the handle)."""
        self._learning = bool(learning)
        bar = Progress(progress)
        bar.phase("build")
        self.compiled: CompiledNetwork = compile_network(self.network, self._learning)
        """The flat arrays the loop reads and writes (read them, do not resize them)."""
        self.structure = loop_structure(self.compiled)
        self.build_s = time.perf_counter() - start
        """Seconds spent drawing the network into flat arrays."""
        bar.phase("compile")
        self._may_share = self.structure.parallel(self.threads)
        self._loops: dict[bool, object] = {}
        self._windows: list[tuple[bool, int]] = []  # the comparison's windows still to run: (parallel, steps)
        self._timing = {False: [0.0, 0], True: [0.0, 0]}  # the comparison's seconds and steps by form
        self._parallel_faster = False
        self._chunks_since_comparison = 0
        self._threads_warm = False
        self.steps_by_form = {"serial": 0, "parallel": 0}
        """Steps run by each form of the loop (see `threads`)."""
        self.step = 0
        self._spike_capacity = [max(16 * recorded_neurons(p.population) + 65536, 2 * p.spikes.shape[0])
                                for p in self.compiled.populations]
        self._spike_chunks: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in self.compiled.populations]
        self._trace_chunks: list[list[np.ndarray]] = [[] for _ in self.compiled.recorders]
        self._trace_steps: list[list[np.ndarray]] = [[] for _ in self.compiled.recorders]
        self._stimulus_steps: dict[str, np.ndarray] = {}
        self._counters = np.zeros(len(self.compiled.populations) + len(self.compiled.recorders) + 2, dtype=np.int64)
        self._new_spike_buffers()
        self._new_trace_buffers(0, 0)
        self.structure.check_values(self._objects())
        self._reset_counters()
        self._call(0, 0, False)  # compile or load from cache
        # the parallel form: loaded now from the cache; else compiled when a run first compares the forms,
        # after its first chunk (a short run never needs it)
        parallel_cached = self._may_share and loop_is_cached(self.structure, True)
        if parallel_cached:
            self._call(0, 0, True)
        self._compare_every = 0 if parallel_cached else 1  # chunks before the next comparison of the forms
        bar.close()
        self.setup_s = time.perf_counter() - start
        self.simulate_s = 0.0

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the compiled arrays and recordings."""
        self._spike_chunks = [[] for _ in self._spike_chunks]
        self._trace_chunks = [[] for _ in self._trace_chunks]

    @property
    def dt(self) -> float:
        """Time step, ms."""
        return self.compiled.dt

    @property
    def time(self) -> float:
        """Biological time reached, ms."""
        return self.step * self.compiled.dt

    # -- running ----------------------------------------------------------------
    def run(self, duration_ms: float | None = None, *, progress: bool | None = None) -> Results:
        """Advance `duration_ms` (default: the network's duration); return everything recorded so far."""
        duration = self.network.duration if duration_ms is None else check_duration(duration_ms, self.dt, "duration")
        self._advance(duration, progress)
        return self.results()

    def advance(self, duration_ms: float, *, progress: bool | None = False) -> None:
        """Advance `duration_ms` without assembling results (cheap: for live views and task loops)."""
        self._advance(check_duration(duration_ms, self.dt, "duration"), progress)

    def _advance(self, duration_ms: float, progress: bool | None) -> None:
        dt = self.compiled.dt
        n_steps = check_steps(duration_ms, dt)
        if n_steps < 1:
            raise ConfigError("duration", f"must be at least one step (dt = {dt:g} ms), got {duration_ms:g} ms")
        if self.compiled.recorders:
            check_memory(self.network, n_steps, network=False)  # the recordings of this run
        target = self.step + n_steps
        bar = Progress(progress)
        bar.phase("run")
        start = time.perf_counter()
        try:
            while self.step < target:
                parallel, most = self._choose_form()
                end = min(target, self.step + most, self._next_stimulus_change(self.step))
                self._apply_stimuli(self.step)
                self._new_trace_buffers(self.step, end)
                self._reset_counters()
                reached = self._call(self.step, end, parallel)
                self._collect(self.step)
                self._check_error(reached)
                if reached < end:  # a spike buffer filled up: make them bigger
                    self._spike_capacity = [2 * c for c in self._spike_capacity]
                    self._new_spike_buffers()
                self.step = reached
                bar.update(1.0 - (target - self.step) / n_steps, f"{self.time:.0f} ms")
        finally:
            bar.close()
            self.simulate_s += time.perf_counter() - start

    def _objects(self) -> tuple[list, list, list, list]:
        c = self.compiled
        return c.populations, c.projections, c.recorders, c.gap_junctions

    @property
    def threads_used(self) -> int:
        """Threads the loop ran on for most of the steps so far (1 for a network below the size where
        threads pay, or when the serial form was the faster)."""
        if not self._may_share or self.steps_by_form["parallel"] < max(self.steps_by_form["serial"], 1):
            return 1
        return self.threads

    def _loop(self, parallel: bool):
        if parallel not in self._loops:
            self._loops[parallel] = compiled_loop(self.structure, parallel)
        return self._loops[parallel]

    WINDOW_STEPS = 200
    """Steps of each window of a comparison of the two forms: a serial window, then a parallel one, twice
    (neighbouring windows see about the same activity, which changes the cost of a step far more than the
    form does)."""
    COMPARE_AGAIN = 8
    """Chunks between two comparisons (doubled each time the same form wins again, up to 128): the cores
    may get busy or free while a simulation runs."""

    def _choose_form(self) -> tuple[bool, int]:
        """Parallel or serial for the next chunk, and at most how many steps (see `threads`)."""
        if not self._may_share:
            return False, CHUNK_STEPS
        if not self._windows and self._chunks_since_comparison >= self._compare_every:
            self._chunks_since_comparison = 0
            self._timing = {False: [0.0, 0], True: [0.0, 0]}
            warm_up = [] if self._threads_warm else [(True, self.WINDOW_STEPS)]  # starts the threads: not timed
            self._windows = warm_up + [(False, self.WINDOW_STEPS), (True, self.WINDOW_STEPS)] * 2
        if self._windows:
            return self._windows[0]
        self._chunks_since_comparison += 1
        return self._parallel_faster, CHUNK_STEPS

    def _timed(self, parallel: bool, seconds: float, steps: int) -> None:
        """What a chunk of `steps` steps that took `seconds` says about the forms."""
        if not self._windows or self._windows[0][0] != parallel:
            return
        self._windows.pop(0)
        if parallel and not self._threads_warm:
            self._threads_warm = True
            return
        self._timing[parallel][0] += seconds
        self._timing[parallel][1] += steps
        if self._windows:
            return
        (serial_s, serial_steps), (parallel_s, parallel_steps) = self._timing[False], self._timing[True]
        faster = parallel_s * serial_steps < serial_s * parallel_steps
        same = faster == self._parallel_faster and self._compare_every > 0
        self._compare_every = min(2 * self._compare_every, 128) if same else self.COMPARE_AGAIN
        self._parallel_faster = faster

    def _call(self, step0: int, step1: int, parallel: bool | None = None) -> int:
        parallel = self._may_share if parallel is None else parallel
        loop = self._loop(parallel)
        if parallel:
            import numba
            numba.set_num_threads(self.threads)
        objects = self._objects()  # the loop reads the arrays by address: they stay referenced during the call
        arguments = self.structure.arguments(objects, parallel, self.threads)
        start = time.perf_counter()
        reached = int(loop(np.int64(step0), np.int64(step1), self._counters, *arguments))
        if reached < 0:  # the threads did not all run at once (see neurobox.engine.team): serial from now on
            self._may_share = False
            return self._call(step0, step1, False)
        done = reached - step0
        self.steps_by_form["parallel" if parallel else "serial"] += done
        if done > 0 and self._may_share:
            self._timed(parallel, time.perf_counter() - start, done)
        del objects
        return reached

    def _new_spike_buffers(self) -> None:
        for p, capacity in zip(self.compiled.populations, self._spike_capacity):
            if p.population.record_spikes:
                p.spike_steps = np.empty(capacity, dtype=np.int64)
                p.spike_ids = np.empty(capacity, dtype=np.int32)

    def _new_trace_buffers(self, step0: int, step1: int) -> None:
        for rec in self.compiled.recorders:
            samples = (step1 // rec.every) - (step0 // rec.every)
            rec.buffer = np.empty((samples, rec.rows.size, rec.neurons.size), dtype=np.float64)

    def _collect(self, step0: int) -> None:
        n_pops = len(self.compiled.populations)
        for k, p in enumerate(self.compiled.populations):
            count = int(self._counters[k])
            if p.population.record_spikes and count:
                self._spike_chunks[k].append((p.spike_steps[:count].copy(), p.spike_ids[:count].copy()))
        for m, rec in enumerate(self.compiled.recorders):
            count = int(self._counters[n_pops + m])
            if count:
                self._trace_chunks[m].append(rec.buffer[:count].copy())
                first = (step0 // rec.every + 1) * rec.every
                self._trace_steps[m].append(first + rec.every * np.arange(count, dtype=np.int64))

    def _reset_counters(self) -> None:
        self._counters[:] = 0
        self._counters[error_slots(self.structure)[0]] = -1

    def _check_error(self, reached: int) -> None:
        err_pop, err_neuron = error_slots(self.structure)
        pop_index = int(self._counters[err_pop])
        if pop_index < 0:
            return
        name = self.compiled.populations[pop_index].name
        neuron = int(self._counters[err_neuron])
        raise SimulationError(f"the state of population {name!r} (neuron {neuron}) became NaN at "
                              f"t = {(reached + 1) * self.compiled.dt:g} ms; check parameters, weights and dt")

    # -- what may change while it runs ------------------------------------------------
    def set_params(self, population: str, **params) -> None:
        """Change parameters of `population` from now on (e.g. a Poisson source's rate, spike times, theta_plus)."""
        pop = self._population(population)
        pop.set(**params)
        cp = self.compiled.population(population)
        cp.engine = engine_model(pop, self.network.precision)
        consts = cp.engine.model.constants_at(cp.engine.params, self.compiled.dt, pop.n, f"{pop.field}.params")
        if consts.shape != cp.consts.shape or not np.array_equal(consts, cp.consts):
            cp.consts = consts
            if pop.model.is_source:  # a source's state only points into its parameters
                cp.state[:] = 0.0
        self._grow_spike_slots(population, spike_slots(pop, self.compiled.dt, cp.engine.params))

    def _grow_spike_slots(self, population: str, slots: int) -> None:
        """Make the spike scratch of `population` (and the spike history of plastic projections from it)
        hold `slots` entries when it holds fewer (a source's rate went up: more spikes per step)."""
        k = next(i for i, p in enumerate(self.compiled.populations) if p.name == population)
        cp = self.compiled.populations[k]
        if 2 * slots <= cp.spikes.shape[0]:
            return
        cp.spikes = np.zeros(2 * slots, dtype=np.int32)
        for proj in self.compiled.projections:
            if proj.pre == k and proj.plastic is not None and proj.plastic.history.shape[1] < slots:
                history = np.zeros((proj.plastic.history.shape[0], slots), dtype=np.int32)
                history[:, :proj.plastic.history.shape[1]] = proj.plastic.history
                proj.plastic.history = history
        if self._spike_capacity[k] < 2 * slots:
            self._spike_capacity[k] = 2 * slots
            self._new_spike_buffers()

    def set_stimulus(self, name: str, *, times=None, amplitudes=None, neurons=None) -> None:
        """Change a step-current stimulus: its times (ms), amplitudes (pA) and/or the neurons it reaches."""
        if name not in self.network.stimuli:
            raise ConfigError("stimulus", f"no stimulus named {name!r}; stimuli: "
                                          f"{', '.join(self.network.stimuli) or 'none'}")
        stim = self.network.stimuli[name]
        old = (stim.times, stim.amplitudes, stim.neurons)
        if times is not None:
            stim.times = times
        if amplitudes is not None:
            stim.amplitudes = amplitudes
        if neurons is not None:
            stim.neurons = list(neurons)
        try:
            stim.check(stim.field)
        except ConfigError:
            stim.times, stim.amplitudes, stim.neurons = old
            raise
        self._stimulus_steps.pop(name, None)

    def set_plasticity(self, projection: str, **params) -> None:
        """Change the rule of plastic `projection` from now on (e.g. A_plus, A_minus, learning)."""
        proj = self._projection(projection)
        if proj.plasticity is None:
            raise ConfigError(f"projections.{projection}.plasticity", "this projection is not plastic")
        rule = make_plasticity({**proj.plasticity.to_dict(), **params}, f"projections.{projection}.plasticity")
        if rule.rule != proj.plasticity.rule:
            raise ConfigError(f"projections.{projection}.plasticity.rule", "the rule cannot change while running")
        proj.plasticity = rule
        cp = self.compiled.projection(projection)
        cp.plastic.rule = rule
        self._refresh_rule(cp)

    def set_p_transmit(self, projection: str, p: float) -> None:
        """The probability (0..1) that a synapse of `projection` transmits a spike, from now on."""
        proj = self._projection(projection)
        cp = self.compiled.projection(projection)
        if cp.p_transmit is None:
            raise ConfigError(f"projections.{projection}.p_transmit",
                              "set p_transmit when the projection is created (1.0 to start reliable)")
        cp.p_transmit[0] = check_probability(p, f"projections.{projection}.p_transmit")
        proj.p_transmit = float(cp.p_transmit[0])

    @property
    def learning(self) -> bool:
        """The global learning switch: False freezes every plastic projection from now on."""
        return self._learning

    @learning.setter
    def learning(self, on: bool) -> None:
        self._learning = bool(on)
        for cp in self.compiled.projections:
            if cp.plastic is not None:
                self._refresh_rule(cp)

    def _refresh_rule(self, cp) -> None:
        post = self.compiled.populations[cp.post].engine
        cp.plastic.consts[:] = plasticity_constants(cp.plastic.rule, self.compiled.dt, post, self._learning,
                                                    f"projections.{cp.name}.plasticity")

    def reward(self, amount: float, projection: str | None = None) -> None:
        """Broadcast a reward (dopamine) of `amount` to the reward-modulated (rule "rstdp") projections.

        projection: one projection's name, or None for every rstdp projection. In
        fixed point (the units' rule, neurobox.plasticity.rstdp_fixed) a reward is
        one pulse seen in the next step: +1 or -1.
        """
        rstdp = [cp for cp in self.compiled.projections if cp.plastic is not None and cp.plastic.rule.rule == "rstdp"]
        names = [cp.name for cp in rstdp]
        if projection is not None:
            if projection not in names:
                raise ConfigError("reward", f"projection {projection!r} has no reward-modulated plasticity "
                                            f"(rule = \"rstdp\"); reward-modulated: {', '.join(names) or 'none'}")
            rstdp = [cp for cp in rstdp if cp.name == projection]
        if not rstdp:
            raise ConfigError("reward", "no projection of this network has reward-modulated plasticity "
                                        "(rule = \"rstdp\")")
        amount = float(amount)
        if not math.isfinite(amount):
            raise ConfigError("reward", f"must be a finite number, got {amount!r}")
        for cp in rstdp:
            if cp.plastic.consts[P_RULE] == FIXED_RSTDP:  # the units' rule: one pulse in the next step
                if amount not in (1.0, -1.0):
                    raise ConfigError("reward", "in fixed point a reward is one pulse: +1 (reward) or -1 "
                                                f"(punishment), got {amount:g}")
                cp.plastic.dopamine[0] = amount
            else:
                cp.plastic.dopamine[0] += amount

    def state(self, population: str, variable: str) -> np.ndarray:
        """A copy of the current values of `variable` for every neuron of `population`."""
        pop = self._population(population)
        return self.compiled.population(population).state[pop.model.state_index(variable)].copy()

    def set_state(self, population: str, variable: str, values) -> None:
        """Overwrite `variable` of every neuron of `population` (e.g. a reset, or a dead unit's threshold)."""
        pop = self._population(population)
        target = self.compiled.population(population).state[pop.model.state_index(variable)]
        try:
            new = np.broadcast_to(np.asarray(values, dtype=np.float64), target.shape)
        except (TypeError, ValueError):
            raise ConfigError(f"{population}.{variable}", f"expected a number or {target.size} numbers") from None
        if not np.all(np.isfinite(new)):
            raise ConfigError(f"{population}.{variable}", "values must be finite")
        target[:] = new

    def weights(self, projection: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pre, post, weight, delay_steps) of a projection's synapses, as they are now (after learning).

        Weights in pA or nS, also in fixed point (where the arrays hold integers of I_lsb)."""
        self._projection(projection)
        cp = self.compiled.projection(projection)
        pre, post, w, d = cp.to_lists()
        return pre, post, w * self.compiled.populations[cp.post].engine.i_lsb, d

    # -- checkpoints -------------------------------------------------------------------
    def checkpoint(self) -> dict[str, np.ndarray]:
        """Everything the run depends on from now on, as named arrays (write them with
        neurobox.files.write_arrays): the time reached, every population's state rows (thresholds
        included), constants (what set_params changed: a source's spike times), synaptic input rings and
        random stream; every projection's weights, transmission probability and stream; a plastic one's
        traces, spike history, eligibility, dopamine and rule constants (the learning-rate schedule); the
        global learning switch, step-current stimuli, and the description's parameters and rules as
        changed through the handle. `restore` on a fresh Simulation of the same network continues
        bit for bit. Not in it: what was recorded before (spikes, traces) and the wall-clock timings."""
        from neurobox.files import json_text

        c = self.compiled
        arrays: dict[str, np.ndarray] = {}
        pops, projs = {}, {}
        for cp in c.populations:
            key = f"population/{cp.name}/"
            for part in ("state", "consts", "ring", "rng"):
                arrays[key + part] = getattr(cp, part).copy()
            pops[cp.name] = {"n": cp.n, "model": cp.population.model.name,
                             "params": json.loads(json_text(cp.population.given_params))}
        for cp in c.projections:
            key = f"projection/{cp.name}/"
            arrays[key + "weights"] = cp.weights.copy()
            if cp.p_transmit is not None:
                arrays[key + "p_transmit"] = cp.p_transmit.copy()
                arrays[key + "transmit_rng"] = cp.transmit_rng.copy()
            entry = {"synapses": cp.n_synapses, "structure": _structure_digest(cp)}
            if cp.plastic is not None:
                for part in PLASTIC_PARTS:
                    arrays[key + part] = getattr(cp.plastic, part).copy()
                entry["rule"] = json.loads(json_text(cp.plastic.rule.to_dict()))
            projs[cp.name] = entry
        stimuli = {name: {"times": stim.times, "amplitudes": stim.amplitudes, "neurons": stim.neurons}
                   for name, stim in self.network.stimuli.items()}
        meta = {"format": CHECKPOINT_FORMAT, "step": self.step, "dt": c.dt, "seed": c.seed,
                "precision": self.network.precision, "learning": self._learning,
                "populations": pops, "projections": projs, "stimuli": json.loads(json_text(stimuli))}
        arrays["meta"] = np.array(json_text(meta))
        return arrays

    def restore(self, checkpoint: dict[str, np.ndarray]) -> None:
        """Continue from `checkpoint` (made by `checkpoint` on a Simulation of the same network): from now
        on this simulation runs exactly as that one did after the checkpoint. Recordings start again
        (empty) at the checkpoint's time. ConfigError when it belongs to another network."""
        try:
            meta = json.loads(str(np.asarray(checkpoint["meta"])[()]))
        except (KeyError, ValueError, TypeError):
            raise ConfigError("checkpoint", "not a simulation checkpoint (no meta entry)") from None
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ConfigError("checkpoint", f"format {meta.get('format')!r}; this neurobox reads "
                                            f"{CHECKPOINT_FORMAT!r}")
        c = self.compiled
        mine = {"dt": c.dt, "seed": c.seed, "precision": self.network.precision,
                "populations": {cp.name: (cp.n, cp.population.model.name) for cp in c.populations},
                "projections": {cp.name: (cp.n_synapses, _structure_digest(cp), cp.plastic is not None)
                                for cp in c.projections}}
        theirs = {"dt": meta["dt"], "seed": meta["seed"], "precision": meta["precision"],
                  "populations": {k: (v["n"], v["model"]) for k, v in meta["populations"].items()},
                  "projections": {k: (v["synapses"], v["structure"], "rule" in v)
                                  for k, v in meta["projections"].items()}}
        for what in mine:
            if mine[what] != theirs[what]:
                raise ConfigError("checkpoint", f"made from another network: its {what} differ "
                                                f"({theirs[what]} here {mine[what]})")

        def array(key, like):
            value = np.asarray(checkpoint.get(key, None))
            if key not in checkpoint or value.dtype != like.dtype or (value.shape != like.shape
                                                                       and not key.endswith("/consts")):
                raise ConfigError("checkpoint", f"{key}: missing or of the wrong type or shape")
            return value

        for cp in c.populations:
            key = f"population/{cp.name}/"
            saved = meta["populations"][cp.name]["params"]
            if saved != json.loads(_json(cp.population.given_params)):
                cp.population.set(**saved)
                cp.engine = engine_model(cp.population, self.network.precision)
                self._grow_spike_slots(cp.name, spike_slots(cp.population, c.dt, cp.engine.params))
            cp.consts = np.ascontiguousarray(array(key + "consts", cp.consts), dtype=np.float64).copy()
            for part in ("state", "ring", "rng"):
                getattr(cp, part)[...] = array(key + part, getattr(cp, part))
        for cp in c.projections:
            key = f"projection/{cp.name}/"
            cp.weights[:] = array(key + "weights", cp.weights)
            if cp.p_transmit is not None:
                cp.p_transmit[:] = array(key + "p_transmit", cp.p_transmit)
                cp.transmit_rng[:] = array(key + "transmit_rng", cp.transmit_rng)
                self.network.projections[cp.name].p_transmit = float(cp.p_transmit[0])
            if cp.plastic is not None:
                rule = meta["projections"][cp.name]["rule"]
                if rule != json.loads(_json(cp.plastic.rule.to_dict())):
                    made = make_plasticity(rule, f"projections.{cp.name}.plasticity")
                    self.network.projections[cp.name].plasticity = made
                    cp.plastic.rule = made
                saved_history = np.asarray(checkpoint.get(key + "history", np.zeros((0, 0))))
                if saved_history.ndim == 2:  # its source's rate went up and down again before the checkpoint
                    self._grow_spike_slots(c.populations[cp.pre].name, saved_history.shape[1])
                for part in PLASTIC_PARTS:
                    getattr(cp.plastic, part)[...] = array(key + part, getattr(cp.plastic, part))
        for name, stim in meta["stimuli"].items():
            if name in self.network.stimuli:
                target = self.network.stimuli[name]
                target.times, target.amplitudes = stim["times"], stim["amplitudes"]
                target.neurons = stim["neurons"]
        self._stimulus_steps.clear()
        self._learning = bool(meta["learning"])
        self.step = int(meta["step"])
        self._spike_chunks = [[] for _ in self.compiled.populations]
        self._trace_chunks = [[] for _ in self.compiled.recorders]
        self._trace_steps = [[] for _ in self.compiled.recorders]
        self.structure.check_values(self._objects())

    def _population(self, name: str):
        if name not in self.network.populations:
            raise ConfigError("population", f"no population named {name!r}; populations: "
                                            f"{', '.join(self.network.populations)}")
        return self.network.populations[name]

    def _projection(self, name: str):
        if name not in self.network.projections:
            raise ConfigError("projection", f"no projection named {name!r}; projections: "
                                            f"{', '.join(self.network.projections) or 'none'}")
        return self.network.projections[name]

    # -- step currents ------------------------------------------------------------------
    def _steps_of(self, name: str, stim) -> np.ndarray:
        """The steps at which stimulus `name` changes (cached until it is changed)."""
        steps = self._stimulus_steps.get(name)
        if steps is None:
            steps = np.rint(np.asarray(stim.times, dtype=float) / self.compiled.dt).astype(np.int64)
            self._stimulus_steps[name] = steps
        return steps

    def _next_stimulus_change(self, step: int) -> int:
        nxt = np.iinfo(np.int64).max
        for name, stim in self.network.stimuli.items():
            steps = self._steps_of(name, stim)
            later = steps[steps > step]
            if later.size:
                nxt = min(nxt, int(later[0]))
        return nxt

    def _apply_stimuli(self, step: int) -> None:
        for p in self.compiled.populations:
            p.i_ext[:] = 0.0
        for name, stim in self.network.stimuli.items():
            steps = self._steps_of(name, stim)
            k = int(np.searchsorted(steps, step, side="right")) - 1
            if k >= 0:
                pop = self.compiled.population(stim.target.name)
                np.add.at(pop.i_ext, stim.neuron_indices(), float(stim.amplitudes[k]))

    # -- what it recorded ---------------------------------------------------------------
    def spikes_between(self, t0_ms: float, t1_ms: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Spikes with t0_ms < t <= t1_ms per recorded population: (t_ms, ids), time-sorted."""
        dt = self.compiled.dt
        first = int(np.floor(t0_ms / dt + 1e-9))       # spike of step s is at (s + 1) dt
        last = int(np.floor(t1_ms / dt + 1e-9)) - 1
        out = {}
        for k, p in enumerate(self.compiled.populations):
            if not p.population.record_spikes:
                continue
            ts, ids = [], []
            for steps, who in reversed(self._spike_chunks[k]):
                if steps.size == 0 or steps[-1] < first:
                    if steps.size:
                        break
                    continue
                lo, hi = np.searchsorted(steps, [first, last + 1])
                ts.append((steps[lo:hi] + 1) * dt)
                ids.append(who[lo:hi])
                if steps[0] < first:
                    break
            out[p.name] = (np.concatenate(ts[::-1]) if ts else np.zeros(0),
                           np.concatenate(ids[::-1]) if ids else np.zeros(0, np.int32))
        return out

    def results(self) -> Results:
        """Everything recorded so far."""
        dt = self.compiled.dt
        spikes = {}
        for k, p in enumerate(self.compiled.populations):
            chunks = self._spike_chunks[k]
            if len(chunks) > 1:  # merge once, so later calls are cheap
                chunks[:] = [(np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]))]
            steps, ids = chunks[0] if chunks else (np.zeros(0, np.int64), np.zeros(0, np.int32))
            if p.population.record_spikes:
                spikes[p.name] = SpikeTrains((steps + 1) * dt, ids, p.n)
        traces: dict[str, dict[str, Trace]] = {}
        for m, rec in enumerate(self.compiled.recorders):
            chunks, steps = self._trace_chunks[m], self._trace_steps[m]
            if len(chunks) > 1:
                chunks[:] = [np.concatenate(chunks)]
                steps[:] = [np.concatenate(steps)]
            values = chunks[0] if chunks else np.zeros((0, rec.rows.size, rec.neurons.size))
            t_ms = steps[0] * dt if steps else np.zeros(0)
            population = self.compiled.populations[rec.population].name
            traces[rec.name] = {var: Trace(population, var, rec.neurons.copy(), t_ms, values[:, a, :])
                                for a, var in enumerate(rec.variables)}
        wall = self.setup_s + self.simulate_s
        return Results(dt, self.compiled.seed, self.time, spikes, traces, self.network.to_toml,
                       {"setup_s": self.setup_s, "build_s": self.build_s, "compile_s": self.setup_s - self.build_s,
                        "simulate_s": self.simulate_s, "wall_s": wall,
                        "threads": self.threads_used},
                       self.compiled.n_synapses)
