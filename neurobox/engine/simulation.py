"""Run a compiled network in chunks of compiled steps.

Python only acts between chunks: it sets step-current stimuli, hands out
recording buffers, collects what they caught, and updates the progress bar.
"""
from __future__ import annotations

import time

import numpy as np

from neurobox.engine.codegen import (GapSlot, LoopStructure, PopulationSlot, ProjectionSlot, RecorderSlot,
                                     compiled_loop, error_slots)
from neurobox.engine.compile import CompiledNetwork, compile_network, plasticity_constants
from neurobox.engine.precision import engine_model
from neurobox.engine.progress import Progress
from neurobox.engine.results import Results, SpikeTrains, Trace
from neurobox.errors import ConfigError, SimulationError
from neurobox.network.projection import check_probability

CHUNK_STEPS = 2000
"""Steps per compiled chunk between returns to Python (200 ms at dt = 0.1 ms)."""


class Simulation:
    """The running state of one Network: compiled arrays, time reached, recordings."""

    def __init__(self, net, progress: bool | None = None):
        self.net = net
        start = time.perf_counter()
        bar = Progress(progress)
        bar.phase("build")
        self.compiled: CompiledNetwork = compile_network(net)
        self.recorders = list(net.recorders.values())
        self._recorder_indices = [  # (state rows, neuron indices) of each recorder
            (np.array([r.population.model.state_index(v) for v in r.variables], dtype=np.int64),
             r.neuron_indices().astype(np.int64)) for r in self.recorders]
        self.structure = LoopStructure(
            populations=tuple(
                PopulationSlot(p.engine.model.kernel(p.engine.method).__module__,
                               p.engine.model.kernel(p.engine.method).__name__,
                               p.population.record_spikes)
                for p in self.compiled.populations),
            projections=tuple(ProjectionSlot(cp.pre, cp.post, cp.receptor, cp.delays is not None,
                                             cp.plastic is not None, cp.p_transmit is not None)
                              for cp in self.compiled.projections),
            recorders=tuple(RecorderSlot(self.compiled.index[r.population.name]) for r in self.recorders),
            gap_junctions=tuple(GapSlot(g.pre, g.post, g.pre_voltage_row, g.post_voltage_row)
                                for g in self.compiled.gap_junctions),
        )
        self._coupled_currents = {k: np.zeros(self.compiled.populations[k].n)
                                  for k in self.structure.coupled_populations()}
        bar.phase("compile")
        self.loop = compiled_loop(self.structure)
        self.step = 0
        self._spike_capacity = [16 * p.n + 65536 for p in self.compiled.populations]
        self._spike_chunks: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in self.compiled.populations]
        self._trace_chunks: list[list[np.ndarray]] = [[] for _ in self.recorders]
        self._trace_steps: list[list[np.ndarray]] = [[] for _ in self.recorders]
        self._consts_seen = [p.consts.copy() for p in self.compiled.populations]
        self._stimulus_cache: dict[int, tuple[int, np.ndarray]] = {}
        self._counters = np.zeros(len(self.compiled.populations) + len(self.recorders) + 2, dtype=np.int64)
        self._reset_counters()
        self._call(0, 0, self._new_spike_buffers(), self._new_trace_buffers(0, 0))  # compile or load from cache
        bar.close()
        self.setup_s = time.perf_counter() - start
        self.simulate_s = 0.0

    @property
    def time_ms(self) -> float:
        return self.step * self.compiled.dt

    # -- running ----------------------------------------------------------------
    def run(self, duration_ms: float, progress: bool | None = None, collect: bool = True) -> Results | None:
        """Advance `duration_ms`; return everything recorded so far (or None when not `collect`)."""
        dt = self.compiled.dt
        n_steps = int(round(duration_ms / dt))
        if n_steps < 1:
            raise ConfigError("duration", f"must be at least one step (dt = {dt:g} ms), got {duration_ms:g} ms")
        self._refresh_parameters()
        target = self.step + n_steps
        bar = Progress(progress)
        bar.phase("run")
        start = time.perf_counter()
        spike_buffers = self._new_spike_buffers()
        try:
            while self.step < target:
                end = min(target, self.step + CHUNK_STEPS, self._next_stimulus_change(self.step))
                self._apply_stimuli(self.step)
                trace_buffers = self._new_trace_buffers(self.step, end)
                self._reset_counters()
                reached = self._call(self.step, end, spike_buffers, trace_buffers)
                self._collect(spike_buffers, trace_buffers, self.step)
                self._check_error(reached)
                if reached < end:  # a spike buffer filled up: make them bigger
                    self._spike_capacity = [2 * c for c in self._spike_capacity]
                    spike_buffers = self._new_spike_buffers()
                self.step = reached
                done = 1.0 - (target - self.step) / n_steps
                bar.update(done, f"{self.time_ms:.0f} ms")
        finally:
            bar.close()
            self.simulate_s += time.perf_counter() - start
        return self.results() if collect else None

    def _call(self, step0: int, step1: int, spike_buffers, trace_buffers) -> int:
        args = []
        for k, p in enumerate(self.compiled.populations):
            args += [p.state, p.consts, p.ring, p.i_ext, p.rng, p.spikes]
            if p.population.record_spikes:
                args += list(spike_buffers[k])
        for cp in self.compiled.projections:
            args += [cp.indptr, cp.targets, cp.weights]
            args.append(cp.delays if cp.delays is not None else np.int64(cp.uniform_delay))
            if cp.p_transmit is not None:
                args += [cp.p_transmit, cp.transmit_rng]
            if cp.plastic is not None:
                ps = cp.plastic
                args += [ps.history, ps.history_counts, ps.rev_ptr, ps.rev_syn, ps.rev_pre, ps.x, ps.y,
                         ps.consts, ps.eligibility, ps.dopamine]
        for m, rec in enumerate(self.recorders):
            rows, neurons = self._recorder_indices[m]
            args += [rows, neurons, trace_buffers[m], np.int64(rec.every)]
        args += [self._coupled_currents[k] for k in self.structure.coupled_populations()]
        for gap in self.compiled.gap_junctions:
            args += [gap.a, gap.b, gap.g]
        return int(self.loop(np.int64(step0), np.int64(step1), self._counters, *args))

    def _new_spike_buffers(self):
        return [(np.empty(c, dtype=np.int64), np.empty(c, dtype=np.int32)) for c in self._spike_capacity]

    def _new_trace_buffers(self, step0: int, step1: int):
        buffers = []
        for rec, (rows, neurons) in zip(self.recorders, self._recorder_indices):
            samples = (step1 // rec.every) - (step0 // rec.every)
            buffers.append(np.empty((samples, rows.size, neurons.size), dtype=np.float64))
        return buffers

    def _collect(self, spike_buffers, trace_buffers, step0: int) -> None:
        n_pops = len(self.compiled.populations)
        for k, p in enumerate(self.compiled.populations):
            count = int(self._counters[k])
            if p.population.record_spikes and count:
                steps, ids = spike_buffers[k]
                self._spike_chunks[k].append((steps[:count].copy(), ids[:count].copy()))
        for m, rec in enumerate(self.recorders):
            count = int(self._counters[n_pops + m])
            if count:
                self._trace_chunks[m].append(trace_buffers[m][:count].copy())
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

    # -- parameters and stimuli ---------------------------------------------------
    def _refresh_parameters(self) -> None:
        """Re-read population parameters and learning switches (they may change between runs)."""
        for cp in self.compiled.projections:
            proj = self.net.projections[cp.name]
            if cp.p_transmit is not None:
                if proj.p_transmit is None:
                    raise ConfigError(f"projections.{cp.name}.p_transmit",
                                      "cannot be removed after a run; set it to 1.0 instead")
                cp.p_transmit[0] = check_probability(proj.p_transmit, f"projections.{cp.name}.p_transmit")
            elif proj.p_transmit is not None:
                raise ConfigError(f"projections.{cp.name}.p_transmit", "set p_transmit when the projection is "
                                                                       "created (1.0 to start reliable)")
            if cp.plastic is not None:
                post = self.compiled.populations[cp.post].engine
                cp.plastic.consts[:] = plasticity_constants(cp.plastic.rule, self.compiled.dt, post,
                                                            self.net.learning, f"projections.{cp.name}.plasticity")
        for k, p in enumerate(self.compiled.populations):
            pop = p.population
            p.engine = engine_model(pop, self.net.precision)
            consts = np.ascontiguousarray(p.engine.model.constants(p.engine.params, self.compiled.dt, pop.n),
                                          dtype=np.float64)
            if consts.shape != p.consts.shape or not np.array_equal(consts, self._consts_seen[k]):
                p.consts = consts
                self._consts_seen[k] = consts.copy()
                if pop.model.is_source:  # a source's state only points into its parameters
                    p.state[:] = 0.0

    def _stimulus_steps(self, stim) -> np.ndarray:
        """The steps at which `stim` changes (cached until its times or amplitudes change)."""
        cached = self._stimulus_cache.get(id(stim))
        if cached is None or cached[0] != stim.version:
            stim.check(stim.field)
            steps = np.rint(np.asarray(stim.times, dtype=float) / self.compiled.dt).astype(np.int64)
            cached = (stim.version, steps)
            self._stimulus_cache[id(stim)] = cached
        return cached[1]

    def _next_stimulus_change(self, step: int) -> int:
        nxt = np.iinfo(np.int64).max
        for stim in self.net.stimuli.values():
            steps = self._stimulus_steps(stim)
            later = steps[steps > step]
            if later.size:
                nxt = min(nxt, int(later[0]))
        return nxt

    def _apply_stimuli(self, step: int) -> None:
        for p in self.compiled.populations:
            p.i_ext[:] = 0.0
        for stim in self.net.stimuli.values():
            steps = self._stimulus_steps(stim)
            k = int(np.searchsorted(steps, step, side="right")) - 1
            if k >= 0:
                pop = self.compiled.populations[self.compiled.index[stim.target.name]]
                np.add.at(pop.i_ext, stim.neuron_indices(), float(stim.amplitudes[k]))

    def reward(self, amount: float, projections: list[str]) -> None:
        """Add `amount` to the dopamine level of the named reward-modulated projections."""
        for cp in self.compiled.projections:
            if cp.name in projections:
                cp.plastic.dopamine[0] += amount

    def weights(self, projection: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pre, post, weight, delay_steps) of a projection's synapses, as they are now."""
        for cp in self.compiled.projections:
            if cp.name == projection:
                return cp.to_lists()
        raise ConfigError("projection", f"no chemical projection named {projection!r}")

    # -- live access ----------------------------------------------------------------
    def state(self, population: str) -> np.ndarray:
        """The live state array (n_state, N) of `population` (do not keep it across runs)."""
        return self.compiled.populations[self.compiled.index[population]].state

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

    # -- results ----------------------------------------------------------------
    def results(self) -> Results:
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
        for m, rec in enumerate(self.recorders):
            chunks, steps = self._trace_chunks[m], self._trace_steps[m]
            if len(chunks) > 1:
                chunks[:] = [np.concatenate(chunks)]
                steps[:] = [np.concatenate(steps)]
            values = chunks[0] if chunks else np.zeros((0, len(rec.variables), rec.neuron_indices().size))
            t_ms = steps[0] * dt if steps else np.zeros(0)
            traces[rec.name] = {var: Trace(rec.population.name, var, rec.neuron_indices(), t_ms,
                                           values[:, a, :]) for a, var in enumerate(rec.variables)}
        wall = self.setup_s + self.simulate_s
        return Results(dt, self.compiled.seed, self.time_ms, spikes, traces, self.net.to_toml,
                       {"setup_s": self.setup_s, "simulate_s": self.simulate_s, "wall_s": wall},
                       self.compiled.n_synapses)
