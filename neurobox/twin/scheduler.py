"""The event-driven twin: every unit on its own clock, batched when units share a tick.

Events, in time order (ns; at equal times faults before ticks): a *group
tick* (all units whose clocks are identical tick together: one batched,
compiled update for the group), a reset, a boot after a reset, a unit
dying. Before a group ticks at time T the transport is brought up to T
(every pin change or bus byte that reaches a receiver by T is known then,
because every send happens strictly after the tick that caused it), the
group reads its inputs, updates, and hands its spikes to the transport.

`run_twin(board, duration_ms, transport=..., faults=...)` returns a
TwinResult; `neurobox.twin.report` turns it into figures.

Accounting: a *delivery* is one spike reaching one listening input.
`lost` counts the deliveries of spikes sent at least 3 ticks before the
end that no input took in by the end (later ones may still be in flight);
`lost_by_cause` counts, over the whole run, those with a known cause
(transport docstrings) and puts the rest under "undelivered" (dead or
resetting receivers, stuck wires, edges a drifting receiver missed).
`latency_ms` has one entry per delivery: the receiving tick's time minus
the sending tick's time.
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field, replace

import numpy as np

from neurobox.errors import ConfigError
from neurobox.hardware.avr import config
from neurobox.hardware.board import Board, source_spikes, steps_for
from neurobox.twin.clocks import Clock, nominal
from neurobox.twin.faults import Dead, Drift, Drop, Phase, Reset, Stuck, parse_faults
from neurobox.twin.transport import NEVER, BusParams, BusTransport, Ledger, WireParams, WireTransport
from neurobox.twin.units import EEPROM_WRITE_NS, UnitBank

TRANSPORTS = ("wire", "bus")


@dataclass
class Group:
    """Units that tick together (identical clocks) and what their update reads."""

    clock: Clock
    units: np.ndarray
    inp_idx: np.ndarray
    inp_src: np.ndarray
    listen: np.ndarray
    active: np.ndarray
    scratch: np.ndarray
    k: int = 0
    cursor: int = 0
    gen: int = 0


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


def _wires(board: Board) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u in board.units:
        for inp in u.inputs:
            targets = out.setdefault(inp.source, [])
            if u.name not in targets:
                targets.append(u.name)
    return out


def run_twin(board: Board, duration_ms: float | None = None, transport: str = "bus", faults=(),
             seed: int = 0, wire: WireParams | None = None, bus: BusParams | None = None,
             persist_steps: int = config.PERSIST_STEPS, eeprom_write_ns: int = EEPROM_WRITE_NS,
             record_weights: tuple[str, ...] = ()) -> TwinResult:
    """Run the board's units as independent devices for duration_ms (default: the network's duration).

    faults: Fault objects or spec strings (neurobox.twin.faults); seed: for
    packet/pulse loss; wire/bus: transport parameters (a drop fault sets
    their drop rate); persist_steps: ticks between EEPROM snapshots;
    record_weights: unit names whose weights are kept after every tick
    (as (time_ns, weights) pairs, for tests and plots).
    """
    if transport not in TRANSPORTS:
        raise ConfigError("transport", f"unknown transport {transport!r}; allowed: {', '.join(TRANSPORTS)}")
    if duration_ms is None:
        duration_ms = float(getattr(board.network, "duration", 0) or 0) or 1000.0
    if not (duration_ms > 0 and np.isfinite(duration_ms)):
        raise ConfigError("duration", f"must be a finite number of ms > 0, got {duration_ms!r}")
    if persist_steps < 1:
        raise ConfigError("persist_steps", f"must be >= 1 tick, got {persist_steps}")
    started = time.perf_counter()
    units = board.fixed()
    names = [u.name for u in units]
    index = {n: k for k, n in enumerate(names)}
    stim_names = list(board.sources)
    for k, s in enumerate(stim_names):
        index[s] = len(names) + k
    n, n_src = len(names), len(names) + len(stim_names)
    unknown = [s for u in units for s in u.sources if s not in index]
    if unknown:
        raise ConfigError("board", f"input from unknown source {unknown[0]!r}")
    specs = [f for f in faults if isinstance(f, str)]
    faults = parse_faults(specs, names, stim_names, _wires(board), transport) + \
        [f for f in faults if not isinstance(f, str)]
    bank = UnitBank(units, persist_steps, eeprom_write_ns)
    inp_src = np.array([index[s] for u in units for s in u.sources], dtype=np.int64)
    inp_unit = np.repeat(np.arange(n), [u.n_inputs for u in units]).astype(np.int64)
    fanout = np.bincount(inp_src, minlength=n_src).astype(np.int64)
    ledger = Ledger(fanout)
    rng = np.random.default_rng(seed)
    steps = steps_for(board, duration_ms)
    end_ns = int(round(steps * board.dt * 1e6))
    base = nominal(board.dt)
    tick_cycles = config.tick_timer(board.dt).cycles

    drop = next((f.rate for f in faults if isinstance(f, Drop)), None)
    clocks = {name: base for name in names}
    for f in faults:
        if isinstance(f, Drift):
            for name in (names if f.unit == "*" else [f.unit]):
                clocks[name] = replace(clocks[name], ppm=f.ppm)
    for f in faults:
        if isinstance(f, Phase):
            if f.offset_ns >= base.period_ns:
                raise ConfigError("--fault", f"phase:{f.unit}: the phase must be below one tick "
                                             f"({board.dt:g} ms), got {f.offset_ns / 1e6:g} ms")
            clocks[f.unit] = replace(clocks[f.unit], boot_ns=base.boot_ns + f.offset_ns)

    if transport == "wire":
        wp = wire or WireParams()
        if drop is not None:
            wp = replace(wp, drop=drop)
        tr = WireTransport(wp, inp_src, n, n_src, ledger, rng, inp_unit)
        for f in faults:
            if isinstance(f, Stuck):
                tr.stuck(index[f.source], index[f.target], f.high, f.at_ns)
    else:
        bp = bus or BusParams()
        if drop is not None:
            bp = replace(bp, drop=drop)
        stuck_from = min((f.at_ns for f in faults if isinstance(f, Stuck)), default=NEVER)
        addresses = np.array([board.addresses[x] for x in names + stim_names], dtype=np.int64)
        tr = BusTransport(bp, inp_src, addresses, tick_cycles, base.period_ns, ledger, rng, stuck_from)

    stim = source_spikes(board, steps)
    tr.stimuli({index[s]: v for s, v in stim.items()}, base)
    stimulus_spikes = int(sum(int(v.sum()) for v in stim.values()))

    ptr = bank.ptr
    groups: dict[int, Group] = {}
    member: dict[int, int] = {}
    heap: list = []
    seq = [0]

    def push(t, prio, kind, payload):
        seq[0] += 1
        heapq.heappush(heap, (int(t), prio, seq[0], kind, payload))

    def make_group(clock: Clock, members: list[int], k: int = 0) -> int:
        gid = len(groups)
        g = Group(clock, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                  np.zeros(n_src, dtype=np.int64), np.zeros(n_src, dtype=bool), np.zeros(n_src, dtype=np.int64), k)
        groups[gid] = g
        for u in members:
            member[u] = gid
        rebuild(g, members)
        t = clock.time(k)
        if t <= end_ns:
            push(t, 1, "tick", (gid, g.gen))
        return gid

    def rebuild(g: Group, members: list[int]) -> None:
        g.units = np.array(sorted(members), dtype=np.int64)
        g.inp_idx = np.concatenate([np.arange(ptr[u], ptr[u + 1]) for u in g.units]).astype(np.int64) \
            if g.units.size else np.zeros(0, dtype=np.int64)
        g.inp_src = inp_src[g.inp_idx]
        g.listen = np.bincount(g.inp_src, minlength=n_src).astype(np.int64)

    def leave(u: int) -> None:
        gid = member.pop(u, None)
        if gid is None:
            return
        g = groups[gid]
        rebuild(g, [x for x in g.units.tolist() if x != u])

    by_clock: dict[Clock, list[int]] = {}
    for u, name in enumerate(names):
        by_clock.setdefault(clocks[name], []).append(u)
    for clock, members in by_clock.items():
        make_group(clock, members)
    dead = np.zeros(n, dtype=bool)
    for f in faults:
        if isinstance(f, Reset):
            push(f.at_ns, 0, "reset", (index[f.unit], f.down_ns))
        elif isinstance(f, Dead):
            push(f.at_ns, 0, "dead", index[f.unit])

    arriving = np.zeros(inp_src.size, dtype=bool)
    spike_u: list[np.ndarray] = []
    spike_t: list[tuple[int, int, int]] = []
    resets: list[dict] = []
    trace_ids = {index[x]: x for x in record_weights}
    weight_trace: dict[str, list] = {x: [] for x in record_weights}
    group_ticks = 0
    loop_started = time.perf_counter()
    while heap:
        t, _, _, kind, payload = heapq.heappop(heap)
        if kind == "tick":
            gid, gen = payload
            g = groups[gid]
            if gen != g.gen or g.units.size == 0:
                continue
            tr.advance(t)
            tr.collect(g, t, arriving)
            nfired = bank.step(g.units, arriving, t)
            arriving[g.inp_idx] = False
            if nfired:
                fired = g.units[bank.spiked[g.units]]
                spike_u.append(fired)
                spike_t.append((t, g.k, fired.size))
            tr.emit(g.units, t, bank.spiked, g.clock, nfired)
            if trace_ids:
                for u, name in trace_ids.items():
                    if member.get(u) == gid:
                        weight_trace[name].append((t, bank.weights(u)))
            group_ticks += 1
            g.k += 1
            nt = g.clock.time(g.k)
            if nt <= end_ns:
                push(nt, 1, "tick", (gid, g.gen))
        elif kind == "reset":
            u, down = payload
            if dead[u] or u not in member:
                continue
            tr.advance(t)
            before = {"state": bank.state(u), "weights": bank.weights(u)}
            clock = groups[member[u]].clock
            leave(u)
            tr.unit_down(u, t)
            bank.reset(u)
            resets.append({"unit": names[u], "time_ms": t / 1e6, "boot_ms": (t + down) / 1e6,
                           "state_before": before["state"], "weights_before": before["weights"],
                           "weights_after": bank.weights(u)})
            push(t + down, 0, "boot", (u, clock))
        elif kind == "boot":
            u, clock = payload
            if dead[u]:
                continue
            new = clock.restarted(t)
            gid = make_group(new, [u])
            tr.unit_boot(u, t, groups[gid])
        elif kind == "dead":
            u = payload
            dead[u] = True
            tr.advance(t)
            leave(u)
            tr.unit_down(u, t)
    bus_stats = tr.finish(end_ns)
    loop = time.perf_counter() - loop_started
    wall = time.perf_counter() - started

    su = np.concatenate(spike_u) if spike_u else np.zeros(0, dtype=np.int64)
    counts = [c for _, _, c in spike_t]
    st = np.repeat(np.array([x for x, _, _ in spike_t], dtype=np.int64), counts)
    sk = np.repeat(np.array([k for _, k, _ in spike_t], dtype=np.int64), counts)
    em_src, em_t, dl_emit, dl_at = ledger.arrays()
    cutoff = end_ns - 3 * base.period_ns
    deliverable = int(fanout[em_src[em_t <= cutoff]].sum())
    delivered_early = int((dl_emit <= cutoff).sum())
    lost = max(0, deliverable - delivered_early)
    known = dict(ledger.lost)
    other = lost - sum(known.values())
    if other > 0:
        known["undelivered"] = other
    ideal = (not faults) and all(c == base for c in clocks.values())
    return TwinResult(
        transport=transport, duration_ms=steps * board.dt, dt_ms=board.dt, unit_names=names,
        spike_times_ms={name: st[su == u] / 1e6 for u, name in enumerate(names)},
        spike_ticks={name: sk[su == u] for u, name in enumerate(names)},
        weights={name: bank.weights(u) for u, name in enumerate(names)},
        eeprom_weights={name: bank.eeprom_weights(u) for u, name in enumerate(names)},
        stimulus_spikes=stimulus_spikes, emitted=int(em_src.size), deliverable=deliverable,
        delivered=int(dl_emit.size), latency_ms=(dl_at - dl_emit) / 1e6, lost=lost, lost_by_cause=known,
        spurious=ledger.spurious, bus=bus_stats, resets=resets, faults=faults, clocks=clocks,
        led_frames={name: bank.led_frames(u) for u, name in enumerate(names)}, sim_wall_s=wall, loop_s=loop,
        group_ticks=group_ticks, ideal=ideal, weight_trace=weight_trace)
