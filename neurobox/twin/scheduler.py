"""The event-driven twin: every unit on its own clock, batched when units share a tick.

Events, in time order (ns; at equal times faults before ticks): a *group
tick* (all units whose clocks are identical tick together: one batched,
compiled update for the group), a reset, a boot after a reset, a unit
dying. Before a group ticks at time T the transport is brought up to T
(every pin change or bus byte that reaches a receiver by T is known then,
because every send happens strictly after the tick that caused it), the
group reads its inputs, updates, and hands its spikes to the transport.

The pieces of a run: the board's sources numbered (`Numbering`), the
faults parsed, every unit's clock built (drift, phase), the transport built
(one factory per kind, `TRANSPORT_FACTORIES`) and the event loop (`TwinRun`,
one handler per event kind, run up to a given time); `neurobox.twin.session`
puts them together (`TwinSession`, `run_twin`) and `neurobox.twin.report`
turns a run into figures.

Accounting: a *delivery* is one spike reaching one listening input.
`lost` counts the deliveries of spikes sent at least 3 ticks before the
end that no input took in by the end (later ones may still be in flight);
`lost_by_cause` counts, over the whole run, those with a known cause
(transport docstrings) and puts the rest under "undelivered" (dead or
resetting receivers, stuck wires, edges a drifting receiver missed).
`latency_ms` has one entry per delivery (beyond transport.LATENCY_SAMPLE
deliveries, an even sample): the receiving tick's time minus the sending
tick's time.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace

import numpy as np

from neurobox.errors import ConfigError
from neurobox.hardware.avr import config
from neurobox.hardware.avr.bus import board_bus
from neurobox.hardware.board import Board
from neurobox.hardware.unit import FixedUnit
from neurobox.twin.clocks import Clock, nominal
from neurobox.twin.faults import Dead, Drift, Drop, Phase, Reset, Stuck, parse_faults
from neurobox.twin.transport import (NEVER, BusParams, BusTransport, Ledger, Transport, WireParams,
                                     WireTransport)
from neurobox.twin.units import UnitBank

FAULT_FIRST, TICK_AFTER = 0, 1
"""Event priorities: at equal times resets, boots and deaths come before ticks."""


@dataclass
class Group:
    """Units that tick together (identical clocks) and what their update reads.

    k: the index of its next tick (of its clock); cursor: the first bus byte it has not read yet."""

    clock: Clock
    units: np.ndarray
    inp_idx: np.ndarray
    inp_src: np.ndarray
    listen: np.ndarray
    active: np.ndarray
    scratch: np.ndarray
    k: int = 0
    cursor: int = 0


@dataclass
class TwinResult:
    """One twin run. Times in ms unless named _ns; spikes per unit are tick times of its own clock."""

    transport: str
    duration_ms: float
    dt_ms: float
    unit_names: list[str]
    spike_times_ms: dict[str, np.ndarray]
    spike_ticks: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    """final weights per unit (I_lsb), in input order"""
    eeprom_weights: dict[str, np.ndarray]
    stimulus_spikes: int
    emitted: int
    deliverable: int
    delivered: int
    latency_ms: np.ndarray
    lost: int
    lost_by_cause: dict[str, int]
    spurious: int
    bus: dict
    resets: list[dict]
    faults: list
    clocks: dict[str, Clock]
    led_frames: dict[str, int]
    sim_wall_s: float
    """the whole run: setup (stimulus spikes from the engine, compiled kernels loaded) and the event loop, s"""
    loop_s: float
    """the event loop alone, s"""
    group_ticks: int
    ideal: bool
    """synchronous nominal clocks and no fault: the case the engine must match bit for bit"""
    weight_trace: dict[str, list] = field(default_factory=dict)

    @property
    def spikes(self) -> int:
        return int(sum(s.size for s in self.spike_times_ms.values()))


@dataclass(frozen=True)
class Numbering:
    """The board's sources as the transports number them: units 0..n-1, then the stimulus neurons.

    inp_src[j], inp_unit[j]: the source and the receiving unit of flat input j (every unit's inputs in
    order); fanout[s]: how many inputs listen to source s."""

    units: list[str]
    stimuli: list[str]
    index: dict[str, int]
    inp_src: np.ndarray
    inp_unit: np.ndarray
    fanout: np.ndarray

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_src(self) -> int:
        return len(self.units) + len(self.stimuli)


def _numbering(board: Board, units: list[FixedUnit]) -> Numbering:
    """The sources of `units` numbered; ConfigError if an input comes from a source the board lacks."""
    names = [u.name for u in units]
    stimuli = list(board.sources)
    index = {name: k for k, name in enumerate(names + stimuli)}
    unknown = [s for u in units for s in u.sources if s not in index]
    if unknown:
        raise ConfigError("board", f"input from unknown source {unknown[0]!r}")
    inp_src = np.array([index[s] for u in units for s in u.sources], dtype=np.int64)
    inp_unit = np.repeat(np.arange(len(names)), [u.n_inputs for u in units]).astype(np.int64)
    fanout = np.bincount(inp_src, minlength=len(names) + len(stimuli)).astype(np.int64)
    return Numbering(names, stimuli, index, inp_src, inp_unit, fanout)


def _wires(board: Board) -> dict[str, list[str]]:
    """The target units of every source's wires (to check stuck:SRC->DST faults)."""
    out: dict[str, list[str]] = {}
    for u in board.units:
        for inp in u.inputs:
            targets = out.setdefault(inp.source, [])
            if u.name not in targets:
                targets.append(u.name)
    return out


def _checked_duration(board: Board, duration_ms: float | None, transport: str, persist_steps: int) -> float:
    """The run's duration (ms; default: the network's, else 1000 ms); ConfigError for an argument out of range."""
    if transport not in TRANSPORTS:
        raise ConfigError("transport", f"unknown transport {transport!r}; allowed: {', '.join(TRANSPORTS)}")
    if duration_ms is None:
        duration_ms = float(getattr(board.network, "duration", 0) or 0) or 1000.0
    if not (duration_ms > 0 and np.isfinite(duration_ms)):
        raise ConfigError("duration", f"must be a finite number of ms > 0, got {duration_ms!r}")
    if persist_steps < 1:
        raise ConfigError("persist_steps", f"must be >= 1 tick, got {persist_steps}")
    return duration_ms


def _parsed_faults(faults, board: Board, numbering: Numbering, transport: str) -> list:
    """The spec strings parsed and checked against the board and transport, then the Fault objects given as such."""
    specs = [f for f in faults if isinstance(f, str)]
    return parse_faults(specs, numbering.units, numbering.stimuli, _wires(board), transport) + \
        [f for f in faults if not isinstance(f, str)]


def _clocks(names: list[str], faults: list, dt_ms: float) -> dict[str, Clock]:
    """Every unit's clock: nominal for a tick of dt_ms, then its drift faults (ppm), then its phase faults
    (later power-up, ns). ConfigError if Timer1 cannot count the tick exactly or a phase is not below one tick."""
    config.tick_timer(dt_ms)
    base = nominal(dt_ms)
    clocks = {name: base for name in names}
    for f in faults:
        if isinstance(f, Drift):
            for name in (names if f.unit == "*" else [f.unit]):
                clocks[name] = replace(clocks[name], ppm=f.ppm)
    for f in faults:
        if isinstance(f, Phase):
            if f.offset_ns >= base.period_ns:
                raise ConfigError("--fault", f"phase:{f.unit}: the phase must be below one tick "
                                             f"({dt_ms:g} ms), got {f.offset_ns / 1e6:g} ms")
            clocks[f.unit] = replace(clocks[f.unit], boot_ns=base.boot_ns + f.offset_ns)
    return clocks


def _with_drop(params, faults: list):
    """The transport parameters with the drop fault's rate, if the run has one."""
    drop = next((f.rate for f in faults if isinstance(f, Drop)), None)
    return params if drop is None else replace(params, drop=drop)


def _wire_transport(params: WireParams | None, board: Board, numbering: Numbering, faults: list, ledger: Ledger,
                    rng: np.random.Generator) -> WireTransport:
    """Point-to-point wires, each stuck-wire fault applied to its wire."""
    link = WireTransport(_with_drop(params or WireParams(), faults), numbering.inp_src, numbering.n_units,
                         numbering.n_src, ledger, rng, numbering.inp_unit)
    for f in faults:
        if isinstance(f, Stuck):
            link.stuck(numbering.index[f.source], numbering.index[f.target], f.high, f.at_ns)
    return link


def _bus_transport(params: BusParams | None, board: Board, numbering: Numbering, faults: list, ledger: Ledger,
                   rng: np.random.Generator) -> BusTransport:
    """The shared bus at the board's addresses and, unless `params` gives them, its planned speed and receive
    ring; a stuck-bus fault holds the line from its time on."""
    stuck_from = min((f.at_ns for f in faults if isinstance(f, Stuck)), default=NEVER)
    addresses = np.array([board.addresses[x] for x in numbering.units + numbering.stimuli], dtype=np.int64)
    params = params or BusParams()
    planned = board_bus(board)
    params = replace(params, baud=params.baud or planned.baud, rx_size=params.rx_size or planned.rx_size)
    return BusTransport(_with_drop(params, faults), numbering.inp_src, addresses,
                        config.tick_timer(board.dt).cycles, nominal(board.dt).period_ns, ledger, rng, stuck_from)


TRANSPORT_FACTORIES = {"wire": _wire_transport, "bus": _bus_transport}
"""Transport kind -> factory(params, board, numbering, faults, ledger, rng); params: WireParams, BusParams or None."""
TRANSPORTS = tuple(TRANSPORT_FACTORIES)


class TwinRun:
    """The event loop of one run: the unit groups, the event heap, and the spikes, resets and weights it records.

    Events are (time ns, priority, sequence number, kind, payload); each kind has its handler."""

    def __init__(self, bank: UnitBank, transport: Transport, numbering: Numbering, clocks: dict[str, Clock],
                 end_ns: int, record_weights: tuple[str, ...]):
        self.bank = bank
        self.transport = transport
        self.numbering = numbering
        self.end_ns = end_ns
        self.groups: list[Group] = []
        self.member: dict[int, int] = {}
        self.heap: list = []
        self.seq = 0
        self.handlers = {"tick": self._tick, "reset": self._reset, "boot": self._boot, "dead": self._dead}
        by_clock: dict[Clock, list[int]] = {}
        for u, name in enumerate(numbering.units):
            by_clock.setdefault(clocks[name], []).append(u)
        for clock, members in by_clock.items():
            self._start_group(clock, members)
        self.dead = np.zeros(numbering.n_units, dtype=bool)
        self.arriving = np.zeros(numbering.inp_src.size, dtype=bool)
        self.spike_units: list[np.ndarray] = []
        self.spike_batches: list[tuple[int, int, int]] = []
        """(time ns, tick, how many units fired) per group tick with spikes"""
        self.resets: list[dict] = []
        self.trace_ids = {numbering.index[x]: x for x in record_weights}
        self.weight_trace: dict[str, list] = {x: [] for x in record_weights}
        self.group_ticks = 0

    def schedule(self, faults: list) -> None:
        """Put the reset and dead faults on the heap."""
        index = self.numbering.index
        for f in faults:
            if isinstance(f, Reset):
                self._push(f.at_ns, FAULT_FIRST, "reset", (index[f.unit], f.down_ns))
            elif isinstance(f, Dead):
                self._push(f.at_ns, FAULT_FIRST, "dead", index[f.unit])

    def run(self, until_ns: int = NEVER) -> None:
        """Handle every event up to until_ns (all of them by default), in time order."""
        heap, handlers = self.heap, self.handlers
        while heap and heap[0][0] <= until_ns:
            t, _, _, kind, payload = heapq.heappop(heap)
            handlers[kind](t, payload)

    def _push(self, t: int, priority: int, kind: str, payload) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (int(t), priority, self.seq, kind, payload))

    def _start_group(self, clock: Clock, members: list[int]) -> int:
        """A new group of `members` on `clock`, its first tick on the heap; returns its id."""
        n_src = self.numbering.n_src + 3   # the host's two broadcast sources and its error bytes come last
        gid = len(self.groups)
        g = Group(clock, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                  np.zeros(n_src, dtype=np.int64), np.zeros(n_src, dtype=bool), np.zeros(n_src, dtype=np.int64))
        self.groups.append(g)
        for u in members:
            self.member[u] = gid
        self._regroup(g, members)
        self._next_tick(gid)
        return gid

    def _regroup(self, g: Group, members: list[int]) -> None:
        """Give g these members and the inputs they read."""
        ptr = self.bank.ptr
        g.units = np.array(sorted(members), dtype=np.int64)
        g.inp_idx = np.concatenate([np.arange(ptr[u], ptr[u + 1]) for u in g.units]).astype(np.int64) \
            if g.units.size else np.zeros(0, dtype=np.int64)
        g.inp_src = self.numbering.inp_src[g.inp_idx]
        g.listen = np.bincount(g.inp_src, minlength=self.numbering.n_src + 3).astype(np.int64)

    def _leave(self, u: int) -> None:
        """Unit u leaves its group (if it is in one)."""
        gid = self.member.pop(u, None)
        if gid is None:
            return
        g = self.groups[gid]
        self._regroup(g, [x for x in g.units.tolist() if x != u])

    def _next_tick(self, gid: int) -> None:
        """Put the group's tick k on the heap, if it comes by the end of the run."""
        g = self.groups[gid]
        t = g.clock.time(g.k)
        if t <= self.end_ns:
            self._push(t, TICK_AFTER, "tick", gid)

    def _tick(self, t: int, gid: int) -> None:
        """A group ticks: its inputs read, one batched update, its spikes sent, its next tick scheduled."""
        g = self.groups[gid]
        if g.units.size == 0:
            return
        link, bank = self.transport, self.bank
        link.advance(t)
        link.collect(g, t, self.arriving, bank.reward, bank.error)
        nfired = bank.step(g.units, self.arriving, t)
        self.arriving[g.inp_idx] = False
        if nfired:
            fired = g.units[bank.spiked[g.units]]
            self.spike_units.append(fired)
            self.spike_batches.append((t, g.k, fired.size))
        link.emit(g.units, t, bank.spiked, g.clock, nfired)
        for u, name in self.trace_ids.items():
            if self.member.get(u) == gid:
                self.weight_trace[name].append((t, bank.weights(u)))
        self.group_ticks += 1
        g.k += 1
        self._next_tick(gid)

    def _reset(self, t: int, payload: tuple[int, int]) -> None:
        """Unit u resets: out of its group, state lost, weights from EEPROM; it boots `down` ns later."""
        u, down = payload
        if self.dead[u] or u not in self.member:
            return
        self.transport.advance(t)
        bank = self.bank
        before = {"state": bank.state(u), "weights": bank.weights(u)}
        clock = self.groups[self.member[u]].clock
        self._leave(u)
        self.transport.unit_down(u, t)
        bank.reset(u)
        self.resets.append({"unit": self.numbering.units[u], "time_ms": t / 1e6, "boot_ms": (t + down) / 1e6,
                            "state_before": before["state"], "weights_before": before["weights"],
                            "weights_after": bank.weights(u), "I_lsb_pA": float(bank.units[u].lif.I_lsb)})
        self._push(t + down, FAULT_FIRST, "boot", (u, clock))

    def _boot(self, t: int, payload: tuple[int, Clock]) -> None:
        """Unit u boots: a group of its own, on its crystal restarted at t."""
        u, clock = payload
        if self.dead[u]:
            return
        gid = self._start_group(clock.restarted(t), [u])
        self.transport.unit_boot(u, t, self.groups[gid])

    def _dead(self, t: int, u: int) -> None:
        """Unit u stops for good."""
        self.dead[u] = True
        self.transport.advance(t)
        self._leave(u)
        self.transport.unit_down(u, t)

    def per_unit(self) -> dict:
        """TwinResult's per-unit fields: spike times (ms) and ticks, final and EEPROM weights, LED frames."""
        su = np.concatenate(self.spike_units) if self.spike_units else np.zeros(0, dtype=np.int64)
        counts = [c for _, _, c in self.spike_batches]
        st = np.repeat(np.array([t for t, _, _ in self.spike_batches], dtype=np.int64), counts)
        sk = np.repeat(np.array([k for _, k, _ in self.spike_batches], dtype=np.int64), counts)
        units = list(enumerate(self.numbering.units))
        return {"spike_times_ms": {name: st[su == u] / 1e6 for u, name in units},
                "spike_ticks": {name: sk[su == u] for u, name in units},
                "weights": {name: self.bank.weights(u) for u, name in units},
                "eeprom_weights": {name: self.bank.eeprom_weights(u) for u, name in units},
                "led_frames": {name: self.bank.led_frames(u) for u, name in units}}


def _deliveries(ledger: Ledger, cutoff_ns: int) -> dict:
    """TwinResult's delivery fields; deliverable and lost count the spikes sent by cutoff_ns (module docstring)."""
    emitted, deliverable, delivered_by_cutoff = ledger.tally(cutoff_ns)
    lost = max(0, deliverable - delivered_by_cutoff)
    by_cause = dict(ledger.lost)
    undelivered = lost - sum(by_cause.values())
    if undelivered > 0:
        by_cause["undelivered"] = undelivered
    return {"emitted": emitted, "deliverable": deliverable, "delivered": ledger.delivered_total,
            "latency_ms": ledger.latency_ns() / 1e6, "lost": lost, "lost_by_cause": by_cause,
            "spurious": ledger.spurious}
