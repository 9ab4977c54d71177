"""The twin as a run handle, like `neurobox.Simulation`: advance, feed the inputs, reward, read back.

`TwinSession(board, transport=..., faults=...)` powers up every unit of a
board (neurobox.hardware.board) and runs them on their own clocks over
wires or the bus (neurobox.twin.scheduler), a chunk at a time. Between
chunks the host may change the stimulus sources (`set_params`, e.g. new
spike times), broadcast a reward or punishment to every unit (`reward`),
freeze learning (`learning`), and read spikes (`spikes_between`), weights
(`weights`) and state.

Units that learn by e-prop have the host as their readout, tick by tick:
`advance(..., each_tick=host)` calls `host(k, heard)` after every tick k
with the units whose spike bytes the host received during it (on the bus,
in their slots: the units' spikes of tick k - 1), and the host answers in
the same call with the readouts' error bytes (`send_errors`) and, at the
end of an iteration, the apply pulse (`apply`), both seen by the units in
tick k + 1 (neurobox.twin.transport). So the error of the readout of tick
t reaches the units in tick t + 2: a spike byte goes out in its slot
during its tick, after the host's bytes of that tick. The stimulus sources run in the engine on the same
seeded streams as any run of the network, one chunk ahead of the units.
So a task written against a Simulation (neurobox.tasks) trains on the
physical units unchanged.

A live view (neurobox.board) may also break the board while it runs:
`inject(fault)` makes a unit die or reset, cuts a wire (or the bus) or
sets the loss rate now, and `counters()` and `down()` say what that did
(spikes lost by cause, bus load, which units are dark).

`run_twin(board, duration_ms, ...)` is one session run from power-up for
a given time, returned as a `TwinResult` (losses, latencies, bus load,
EEPROM: neurobox.twin.report).

As built: a session (and run_twin) first plans the board as the firmware
would be built for its transport (neurobox.hardware.plan.plan_board: wires
are the firmware's wired mode, the bus its bus mode): a unit with more
inputs than dendrite pins on wires, a unit beyond the SRAM or flash of an
ATmega8, a bus whose slots do not end within the tick are refused with the
planner's numbers, so a board that cannot be built is not simulated as if
it were. Two ways to go beyond the board as built, both deliberate:
`explore=True` (`neurobox twin --explore`) runs a board the planner refuses
(what would the spikes do with 60 dendrites on wires?), and transport
parameters given explicitly (`BusParams(baud=..., rx_size=...)`, `neurobox
twin --baud`) are the user's what-if of the link: the units are still
checked as built, the link runs at the given speed, and what it cannot
carry is reported as losses and saturation, not refused.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from neurobox.errors import ConfigError
from neurobox.hardware.avr import config
from neurobox.hardware.board import Board, board_source
from neurobox.hardware.plan import TRANSPORT_MODE, BoardPlan, plan_board
from neurobox.plasticity.eprop_fixed import ERR_MAX, ERR_MIN, MAX_READOUTS
from neurobox.results import Results, SpikeTrains
from neurobox.twin.clocks import nominal
from neurobox.twin.faults import Dead, Drop, Fault, Reset, Stuck, parse_faults
from neurobox.twin.scheduler import (TRANSPORT_FACTORIES, TwinResult, TwinRun, _checked_duration, _clocks,
                                     _deliveries, _numbering, _parsed_faults, _wires)
from neurobox.twin.transport import NEVER, BusParams, Ledger, WireParams
from neurobox.twin.units import EEPROM_WRITE_NS, UnitBank

UNIT_VARIABLES = {"V_m": "v", "I_syn_ex": "i_ex", "I_syn_in": "i_in", "ref_steps": "ref", "theta": "theta"}
"""State variables a session reads from its units (integers: V_lsb, I_lsb, ticks), as the fixed engine's."""


def _source_network(board: Board):
    """The stimulus sources of the board's network alone (None if it has none)."""
    from neurobox.network import Network

    net = board.network
    pops = sorted({pop for pop, _ in board.sources.values()}, key=list(net.populations).index)
    if not pops:
        return None
    stim = Network(dt=board.dt, seed=net.seed, duration=net.duration)
    for name in pops:
        p = net.populations[name]
        stim.add(board_source(p))
    return stim


def as_built(board: Board, transport: str) -> BoardPlan:
    """The plan of the board the twin simulates: the firmware's for the transport's connection mode
    (neurobox.hardware.plan.plan_board); ConfigError with the planner's numbers, and the way to run it anyway."""
    try:
        return plan_board(board, TRANSPORT_MODE[transport])
    except ConfigError as err:
        raise ConfigError(err.field, f"{err.message} (the twin runs the board as it is built on "
                                     f"{'wires' if transport == 'wire' else 'the bus'}; to simulate it anyway, "
                                     f"explore=True or neurobox twin --explore)") from None


class TwinSession:
    """The board's units running, a chunk at a time (see the module docstring).

    transport: "bus" or "wire"; faults: Fault objects or spec strings
    (neurobox.twin.faults); seed: of packet and pulse loss; wire, bus:
    transport parameters (given ones are explored as given: module docstring); persist_steps: ticks
    between EEPROM snapshots; record_weights: unit names whose weights are kept after every tick;
    explore: run a board the planner refuses (default: only a board as it can be built, `as_built`).
    """

    def __init__(self, board: Board, *, transport: str = "bus", faults=(), seed: int = 0,
                 wire: WireParams | None = None, bus: BusParams | None = None,
                 persist_steps: int = config.PERSIST_STEPS, eeprom_write_ns: int = EEPROM_WRITE_NS,
                 record_weights: tuple[str, ...] = (), explore: bool = False):
        from neurobox.engine import Simulation

        _checked_duration(board, 1.0, transport, persist_steps)
        self.explore = bool(explore)
        self.plan = None if self.explore else as_built(board, transport)
        """The board as built (neurobox.hardware.plan.BoardPlan), None when exploring."""
        self.started = time.perf_counter()
        self.board = board
        self.transport = transport
        units = board.fixed()
        self.numbering = _numbering(board, units)
        self.faults = _parsed_faults(faults, board, self.numbering, transport)
        self.bank = UnitBank(units, persist_steps, eeprom_write_ns)
        self.ledger = Ledger(self.numbering.fanout)
        self.clocks = _clocks(self.numbering.units, self.faults, board.dt)
        params = {"wire": wire, "bus": bus}[transport]
        self.link = TRANSPORT_FACTORIES[transport](params, board, self.numbering, self.faults, self.ledger,
                                                   np.random.default_rng(seed))
        self.loop = TwinRun(self.bank, self.link, self.numbering, self.clocks, NEVER, record_weights)
        self.loop.schedule(self.faults)
        stim = _source_network(board)
        self.sources = None if stim is None else Simulation(stim, progress=False)
        self.base = nominal(board.dt)
        self.step = 0
        self.stimulus_spikes = 0
        self.loop_s = 0.0
        self._unit_index = {name: k for k, name in enumerate(self.numbering.units)}
        self._eprop_bus = False           # checked once: e-prop units on the bus (send_errors)

    @property
    def dt(self) -> float:
        return self.board.dt

    @property
    def time(self) -> float:
        """Time reached on the nominal clock, ms (whole ticks)."""
        return self.step * self.board.dt

    # -- running --------------------------------------------------------------------------
    def advance(self, duration_ms: float, *, progress: bool | None = False,
                each_tick: Callable[[int, np.ndarray], None] | None = None) -> None:
        """Run every unit up to the end of the next `duration_ms` (whole ticks), feeding the stimuli on the way;
        each_tick(k, heard): the host after every tick k (module docstring; heard: unit indices, in the order of
        `board.units`; the bus only)."""
        steps = int(round(duration_ms / self.board.dt))
        if not (math.isfinite(duration_ms) and steps >= 1):
            raise ConfigError("duration", f"must be at least one tick ({self.board.dt:g} ms), got {duration_ms!r}")
        if each_tick is not None and self.transport != "bus":
            raise ConfigError("each_tick", "the host hears the units' spikes on the bus; this board runs on wires")
        if self.sources is not None:
            t0 = self.sources.time
            self.sources.advance(steps * self.board.dt)
            self._send_stimuli(self.sources.spikes_between(t0, self.sources.time))
        started = time.perf_counter()
        if each_tick is None:
            self.loop.run(self.base.time(self.step + steps - 1))
            self.step += steps
        else:
            n_units = self.numbering.n_units
            for k in range(self.step, self.step + steps):
                t_ns = self.base.time(k)
                self.loop.run(t_ns)
                self.step = k + 1              # what the host sends now goes out in tick k
                heard = self.link.heard(t_ns)
                each_tick(k, heard[heard < n_units])
        self.loop_s += time.perf_counter() - started
        self.ledger.settle((self.step - 3) * self.base.period_ns)   # counted: no spike list grows with the run

    def run(self, duration_ms: float | None = None, *, progress: bool | None = False) -> Results:
        """Advance `duration_ms` (default: the network's duration) and return everything so far as Results."""
        self.advance(self.board.network.duration if duration_ms is None else duration_ms)
        return self.results()

    def _send_stimuli(self, spikes: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Hand the sources' spikes (t_ms, ids per population) to the transport as ticks per stimulus neuron."""
        board, index = self.board, self.numbering.index
        per_source: dict[int, np.ndarray] = {}
        for name, (pop, i) in board.sources.items():
            t_ms, ids = spikes[pop]
            ticks = np.rint(t_ms[ids == i] / board.dt).astype(np.int64) - 1   # fired in tick (t / dt) - 1
            if ticks.size:
                per_source[index[name]] = ticks
                self.stimulus_spikes += int(ticks.size)
        if per_source:
            self.link.add_stimuli(per_source, self.base)

    def close(self) -> None:
        self.sources = None

    # -- what may change while it runs ------------------------------------------------------
    def set_params(self, population: str, **params) -> None:
        """Change a stimulus source population's parameters (spike times, rate) from now on."""
        if self.sources is None or population not in self.sources.network.populations:
            sources = sorted({pop for pop, _ in self.board.sources.values()})
            raise ConfigError("population", f"{population!r} is not a stimulus source of the board; sources: "
                                            f"{', '.join(sources) or 'none'} (the units' own parameters are "
                                            "burnt into their firmware)")
        self.sources.set_params(population, **params)

    def reward(self, amount: float, projection: str | None = None) -> None:
        """The host broadcasts a reward (+1) or punishment (-1): every unit sees it in the next tick."""
        if amount not in (1, -1):
            raise ConfigError("reward", f"the units take a reward pulse of +1 or a punishment of -1, got {amount!r}")
        if not any(u.rstdp is not None for u in self.bank.units):
            raise ConfigError("reward", "no unit of this board learns from rewards (rule = \"rstdp\")")
        self.link.broadcast(int(amount), self.base.time(self.step - 1), self.base)

    def send_errors(self, errors) -> None:
        """The host sends the readouts' error bytes (ints -64 .. 63, one per readout in the order of
        `board.readouts`) in this tick: every e-prop unit sees them in the next tick (the bus only)."""
        if not self._eprop_bus:
            self._check_eprop("errors")
            if self.transport != "bus":
                raise ConfigError("errors", "the error bytes travel on the bus only; this board runs on wires")
            self._eprop_bus = True
        values = [int(e) for e in errors]
        if not (1 <= len(values) <= MAX_READOUTS and min(values) >= ERR_MIN and max(values) <= ERR_MAX
                and values == list(errors)):
            raise ConfigError("errors", f"one error byte per readout (1 to {MAX_READOUTS}), each an integer in "
                                        f"[{ERR_MIN}, {ERR_MAX}]; got {list(errors)!r}")
        self.link.send_errors(values, self.base.time(self.step - 1), self.base)

    def apply(self) -> None:
        """The host's apply pulse (the reward byte): every e-prop unit turns its gradients into weight steps in
        the next tick."""
        self._check_eprop("apply")
        self.link.broadcast(1, self.base.time(self.step - 1), self.base)

    def _check_eprop(self, field: str) -> None:
        if not any(u.eprop is not None for u in self.bank.units):
            raise ConfigError(field, "no unit of this board learns by e-prop (rule = \"eprop\")")

    @property
    def learning(self) -> bool:
        """Whether the units' learning rules run (False: every unit frozen, as by a host command)."""
        return self.bank.learning

    @learning.setter
    def learning(self, on: bool) -> None:
        self.bank.learning = bool(on)

    # -- breaking it while it runs ------------------------------------------------------------
    def inject(self, fault: Fault | str) -> Fault:
        """Make `fault` happen now (a time in it counts from now); returns it with its absolute time.

        dead:UNIT (it stops for good), reset:UNIT@0[+DOWN] (state lost, weights from EEPROM, boots DOWN
        later), drop:RATE (the loss rate of every pulse or byte from now on), stuck:SRC->DST=low (a cut
        wire, wire transport) or stuck:bus=low (bus transport). Drift and phase belong to a crystal from
        power-up: give them to the session when it opens.
        """
        if isinstance(fault, str):
            fault = parse_faults([fault], self.numbering.units, self.numbering.stimuli, _wires(self.board),
                                 self.transport)[0]
        now = int(self.step * self.base.period_ns)
        index = self.numbering.index
        if isinstance(fault, (Dead, Reset)):
            if fault.unit not in self.numbering.units:
                raise ConfigError("fault", f"unknown unit {fault.unit!r}; units: {', '.join(self.numbering.units)}")
            fault = replace(fault, at_ns=now + fault.at_ns)
            self.loop.schedule([fault])
            self.loop.run(now)          # one that happens now takes effect before anything reads the units
        elif isinstance(fault, Drop):
            if not 0.0 <= fault.rate <= 1.0:
                raise ConfigError("fault", f"a drop rate is in [0, 1], got {fault.rate!r}")
            self.link.set_drop(fault.rate)
        elif isinstance(fault, Stuck):
            fault = replace(fault, at_ns=now + fault.at_ns)
            if (fault.source == "bus") != (self.transport == "bus"):
                raise ConfigError("fault", "a stuck bus needs the bus transport, a stuck wire the wire transport; "
                                           f"this board runs on {self.transport}")
            if fault.source == "bus":
                self.link.stick(fault.at_ns)
            else:
                if fault.source not in index or fault.target not in self.numbering.units or \
                        fault.target not in _wires(self.board).get(fault.source, []):
                    raise ConfigError("fault", f"there is no wire from {fault.source} to {fault.target}")
                self.link.stuck(index[fault.source], index[fault.target], fault.high, fault.at_ns)
        else:
            raise ConfigError("fault", f"{type(fault).__name__.lower()} cannot be injected while the board runs "
                                       "(a crystal's drift and phase are set at power-up: open the session with it)")
        self.faults.append(fault)
        return fault

    def _members(self, population: str, kind: str) -> list[int]:
        """Indices of `population`'s units (neuron order) that are all of `kind` ("sensor", "motor")."""
        members = [self._unit_index[name] for name, (pop, _) in self.board.neurons.items() if pop == population]
        if not members or any(getattr(self.bank.units[u], kind) is None for u in members):
            raise ConfigError("population", f"{population!r} is not a population of {kind} units on this board")
        return members

    def set_adc(self, population: str, values) -> None:
        """The ADC value (0 .. 1023; one, or one per neuron) the sensor units of `population` read from the next
        tick on: what the world puts on their analog pins."""
        from neurobox.hardware.analog import ADC_MAX
        from neurobox.hardware.unit import S_ADC

        members = self._members(population, "sensor")
        v = np.broadcast_to(np.asarray(values, dtype=np.int64), (len(members),))
        if np.any(v < 0) or np.any(v > ADC_MAX):
            raise ConfigError("adc", f"an ADC value is an integer in [0, {ADC_MAX}], got {values!r}")
        self.bank.st[members, S_ADC] = v

    def duty(self, population: str) -> np.ndarray:
        """The PWM duty (0 .. 255) of each motor unit of `population` now."""
        from neurobox.hardware.unit import S_DUTY

        return self.bank.st[self._members(population, "motor"), S_DUTY].copy()

    def down(self, population: str) -> np.ndarray:
        """Per neuron of `population`: True while its unit is not running (dead, or resetting until it boots)."""
        loop = self.loop
        members = [(i, self._unit_index[name]) for name, (pop, i) in self.board.neurons.items() if pop == population]
        if not members:
            raise ConfigError("population", f"{population!r} has no unit on this board")
        out = np.zeros(len(members), dtype=bool)
        for i, u in members:
            out[i] = bool(loop.dead[u]) or u not in loop.member
        return out

    def counters(self, since_ms: float | None = None) -> dict:
        """The run so far, cheaply (for a live view): spikes emitted, delivered and lost (by cause; as in
        TwinResult, over the spikes sent at least 3 ticks ago), broadcasts sent and lost, and the bus load
        (fraction of time busy) since `since_ms` (default: the start; None on wires)."""
        period = self.base.period_ns
        end_ns = self.step * period
        emitted, deliverable, delivered = self.ledger.tally(end_ns - 3 * period)
        lost = max(0, deliverable - delivered)
        by_cause = dict(self.ledger.lost)
        if lost > sum(by_cause.values()):
            by_cause["undelivered"] = lost - sum(by_cause.values())
        t0 = 0 if since_ms is None else int(round(since_ms * 1e6))
        return {"emitted": emitted, "delivered": delivered, "lost": lost, "lost_by_cause": by_cause,
                "broadcasts": dict(self.link.broadcasts), "bus_load": self.link.load_between(t0, end_ns)}

    # -- reading back ------------------------------------------------------------------------
    def spikes_between(self, t0_ms: float, t1_ms: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Spikes with t0_ms < t <= t1_ms per population, units and sources: (t_ms, ids), time-sorted."""
        dt, period = self.board.dt, self.base.period_ns
        first, last = int(np.floor(t0_ms / dt + 1e-9)), int(np.floor(t1_ms / dt + 1e-9)) - 1   # ticks
        found: dict[str, list] = {}
        loop = self.loop
        for batch in range(len(loop.spike_batches) - 1, -1, -1):
            t_ns, _, _ = loop.spike_batches[batch]
            k = int(t_ns // period) - 1      # the nominal tick (the unit's own, for synchronous clocks)
            if k < first:
                break
            if k <= last:
                for u in loop.spike_units[batch].tolist():
                    pop, i = self.board.neurons[self.numbering.units[u]]
                    found.setdefault(pop, []).append(((k + 1) * dt, i))
        out = {}
        for pop in self.board.network.populations:
            if pop in {p for p, _ in self.board.neurons.values()}:
                pairs = sorted(found.get(pop, []))
                out[pop] = (np.array([t for t, _ in pairs], dtype=np.float64),
                            np.array([i for _, i in pairs], dtype=np.int32))
        if self.sources is not None:
            out.update(self.sources.spikes_between(t0_ms, t1_ms))
        return out

    def weights(self, projection: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pre, post, weight pA, delay ticks) of a projection's synapses, as the units hold them now."""
        net = self.board.network
        if projection not in net.projections:
            raise ConfigError("projection", f"no projection named {projection!r}; projections: "
                                            f"{', '.join(net.projections) or 'none'}")
        owners = {**self.board.neurons, **self.board.sources}
        rows = []
        for k, desc in enumerate(self.board.units):
            w = self.bank.weights(k)
            lsb = self.bank.units[k].lif.I_lsb
            post = self.board.neurons[desc.name][1]
            for j, inp in enumerate(desc.inputs):
                if inp.projection == projection:
                    rows.append((owners[inp.source][1], post, w[j] * lsb, inp.delay))
        rows.sort()
        cols = list(zip(*rows)) if rows else [(), (), (), ()]
        return (np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.int64),
                np.array(cols[2], dtype=np.float64), np.array(cols[3], dtype=np.int64))

    def state(self, population: str, variable: str) -> np.ndarray:
        """The current integer `variable` (V_m in V_lsb, I_syn_ex/in in I_lsb, ref_steps) of every unit of a population."""
        if variable not in UNIT_VARIABLES:
            raise ConfigError("variable", f"a unit reports {', '.join(UNIT_VARIABLES)}; got {variable!r}")
        members = [(i, self._unit_index[name]) for name, (pop, i) in self.board.neurons.items() if pop == population]
        if not members:
            raise ConfigError("population", f"{population!r} has no unit on this board")
        out = np.zeros(len(members), dtype=np.int64)
        for i, u in members:
            out[i] = self.bank.state(u)[UNIT_VARIABLES[variable]]
        return out

    def results(self) -> Results:
        """Everything so far as neurobox Results (the twin's figures under extras["twin"])."""
        from neurobox.twin.report import summary

        dt = self.board.dt
        found = self.spikes_between(-dt, self.time)
        spikes = {pop: SpikeTrains(t, ids, self.board.network.populations[pop].n) for pop, (t, ids) in found.items()}
        wall = time.perf_counter() - self.started
        return Results(dt, self.board.network.seed, self.time, spikes, {}, self.board.network.to_toml,
                       {"setup_s": wall - self.loop_s, "simulate_s": self.loop_s, "wall_s": wall},
                       sum(len(u.inputs) for u in self.board.units), {"twin": summary(self.result())})

    def result(self) -> TwinResult:
        """The run so far as a TwinResult: spikes per unit, losses, latencies, bus figures, resets, EEPROM."""
        end_ns = int(round(self.step * self.base.period_ns))
        figures = self.link.finish(end_ns)
        return TwinResult(
            transport=self.transport, duration_ms=self.time, dt_ms=self.board.dt, unit_names=self.numbering.units,
            stimulus_spikes=self.stimulus_spikes, bus=figures, resets=self.loop.resets, faults=self.faults,
            clocks=self.clocks, sim_wall_s=time.perf_counter() - self.started, loop_s=self.loop_s,
            group_ticks=self.loop.group_ticks, weight_trace=self.loop.weight_trace,
            ideal=not self.faults and all(c == self.base for c in self.clocks.values()),
            **self.loop.per_unit(), **_deliveries(self.ledger, end_ns - 3 * self.base.period_ns))


def run_twin(board: Board, duration_ms: float | None = None, transport: str = "bus", faults=(),
             seed: int = 0, wire: WireParams | None = None, bus: BusParams | None = None,
             persist_steps: int = config.PERSIST_STEPS, eeprom_write_ns: int = EEPROM_WRITE_NS,
             record_weights: tuple[str, ...] = (), explore: bool = False,
             progress: Callable[[float, str], None] | None = None) -> TwinResult:
    """Run the board's units as independent devices for duration_ms (default: the network's duration).

    faults: Fault objects or spec strings (neurobox.twin.faults); seed: for
    packet/pulse loss; wire/bus: transport parameters (a drop fault sets
    their drop rate); persist_steps: ticks between EEPROM snapshots;
    record_weights: unit names whose weights are kept after every tick
    (as (time_ns, weights) pairs, for tests and plots); explore: run a board the planner refuses
    (module docstring; default: the board as built, refused with the planner's numbers otherwise);
    progress: called with (fraction of the model time done, detail) after each of PROGRESS_CHUNKS parts
    of the run (the same run as in one part).
    """
    duration_ms = _checked_duration(board, duration_ms, transport, persist_steps)
    session = TwinSession(board, transport=transport, faults=faults, seed=seed, wire=wire, bus=bus,
                          persist_steps=persist_steps, eeprom_write_ns=eeprom_write_ns,
                          record_weights=record_weights, explore=explore)
    if progress is None:
        session.advance(duration_ms)
        return session.result()
    steps = int(round(duration_ms / board.dt))
    edges = sorted({int(round(k * steps / PROGRESS_CHUNKS)) for k in range(PROGRESS_CHUNKS + 1)})
    for a, b in zip(edges, edges[1:]):
        session.advance((b - a) * board.dt)
        progress(b / steps, f"{b * board.dt:g} ms")
    return session.result()


PROGRESS_CHUNKS = 50
"""Parts of a run_twin run with a progress callback."""
