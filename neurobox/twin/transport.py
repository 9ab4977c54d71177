"""How spikes travel between units: wires (pulses sampled on the receiver's tick) or a shared bus.

Both follow the firmware (neurobox/hardware/avr/firmware/main.c). Sources
are numbered: units 0..n-1, then the stimulus neurons. Every input of every
unit is one entry of the flat input arrays (`inp_src[j]`: its source).

Wire (`WireTransport`): a unit that fires in tick t sets its axon pin half
way through the tick (Timer1 compare B, of its own clock) and holds it high
for AXON_HOLD = 2 ticks (a spike while the pin is still high extends the
pulse and makes no new edge: that spike is lost, cause "wire_gap"). The
pin reaches each dendrite `delay_ns` later; a receiver samples its pins
at the start of its tick and counts a rising edge since its previous
sample as one spike. Stimulus wires carry `wire_pulses` of the stimulus
spikes (the board reference's convention), each a 2-tick pulse driven half
way through the tick. A reset or dead unit's axon goes low (pin tri-stated,
pulled down); at boot a unit takes its current pin levels as the last sample.

Bus (`BusTransport`): one line, `baud` bit/s (by default the speed planned
for the board, neurobox.hardware.avr.bus), `frame_bits` per byte (start, 8
data, stop). A spike is one byte 0x80|address, sent by the unit in its own
slot, SLOT_BASE_CYCLES + address byte times after its tick (access "slots",
the firmware), or as soon as its update is done, `update_cycles` after the
tick (access "csma"). A slot that does not end within the tick is never
reached by Timer1: those spikes are not sent (cause "no_slot"). The line
is arbitrated (a transmitter waits while the line is busy; among waiting
transmitters the lowest address wins, as with wired-AND arbitration),
each transmitter holds at most `tx_depth` bytes (UDR and the shift
register; one more is lost, "tx_overflow"). A byte is received by every
unit when its stop bit ends; a unit keeps up to `rx_size` bytes between
two ticks (the firmware's ring buffer; more are lost, "rx_overflow") and
reads them at its next tick. A byte is lost with probability `drop`
("dropped"), and every byte is lost while the line is stuck ("stuck_bus").
Two bytes from one source read in one tick make one spike ("merged"). A
byte still waiting for the line when its unit resets or dies is not sent
("sender_down"); a unit takes no byte while it is down. Saturation is
reported (`finish`): spikes without a slot, bytes that end after the
sender's next tick ("late"), transmitter or receiver overflows.

The host (the trainer) also broadcasts a reward (+1) or a punishment (-1)
to every unit; a unit sees it in the tick after the host sent it, as a
spike. Wire: two lines, "reward" and "punish", driven like a stimulus wire
(a 2-tick pulse from half way through the tick; a pulse while the line is
still high makes no edge and is lost); each unit samples both on its tick.
Bus: one byte, 0x80|127 (reward) or 0x80|126 (punishment), requested in
the byte time before slot 0, when every unit has read its inputs and the
line is free; it takes part in arbitration, loss and rx_size like any
byte. Broadcasts are counted apart from spikes (`finish`: "broadcasts").
The broadcast sources are numbered after the stimulus neurons.

For units that learn by e-prop (neurobox.plasticity.eprop_fixed) the host
is the readout, on the bus only: the reward byte is the apply pulse, and
each tick it may send the readouts' error bytes (`send_errors`): one data
byte per readout (bit 7 clear, -64 .. 63), in the byte times just before
its broadcast byte, as the firmware expects them (the error bytes of a
tick, then its broadcast). A unit takes the data bytes it received before
its tick as the errors of readouts 0, 1, ... (`collect`: `errors`); they
count in its receive ring like any byte, take part in arbitration ahead of
every address byte (the host's own line driver), are lost like any byte
(counted apart: `finish`: "error_bytes"), and never overflow a
transmitter (the host's queue is its own, not an ATmega's UDR). The host
hears the bus as the units do (`heard`: the sources of the bytes that
reached it, lost bytes excepted), with no receive ring to overflow; the
error-byte source is numbered after the two broadcast sources.

Both transports offer the scheduler the same methods (`Transport`); what
differs between wires and the bus stays inside them. Stimulus spikes and
broadcasts may be added while a run goes on (neurobox.twin.session).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numba import njit

from neurobox.errors import ConfigError
from neurobox.hardware.avr import config
from neurobox.hardware.board import WIRE_GAP, wire_carried

NEVER = np.iinfo(np.int64).max

LOSS_CAUSES = {
    "wire_gap": f"a spike came while its wire was still high from the pulse before (spikes closer than "
                f"{WIRE_GAP} ticks on one wire make no new edge)",
    "dropped": "the pulse or byte was lost on the way (the drop fault's loss rate)",
    "no_slot": "the sender's bus slot lies beyond the end of the tick, so it never sends",
    "tx_overflow": "the sender's transmitter was full (UDR and shift register) while it waited for the bus",
    "rx_overflow": "the receiver's ring buffer was full: more bytes between two of its ticks than it keeps",
    "stuck_bus": "the bus line was stuck (a stuck fault): no byte got through",
    "merged": "two bytes from one sender were read in the same tick and counted as one spike",
    "sender_down": "the sender reset or died while its byte still waited for the bus",
    "undelivered": "no input took the spike in: a receiver dead or resetting, a stuck wire, or an edge a "
                   "drifting receiver missed",
}
"""What each loss cause (Ledger.lost, TwinResult.lost_by_cause) means, in a line a person reads."""
LATE_BYTES = "late bytes arrived after the sender's next tick (the bus is too slow for the traffic)"
"""What the bus's late-byte count means (a sign of saturation, not a loss)."""


@dataclass(frozen=True)
class WireParams:
    """delay_ns: propagation delay of every wire, ns; drop: probability a pulse is missed on a wire."""

    delay_ns: int = 0
    drop: float = 0.0


@dataclass(frozen=True)
class BusParams:
    """baud: bit/s, rx_size: bytes of a unit's receive ring (None: as planned for the board,
    neurobox.hardware.avr.bus); frame_bits: bits per byte; access: "slots" or "csma"; update_cycles: csma
    send offset (CPU cycles after the tick); tx_depth: bytes; drop: probability a byte is lost."""

    baud: int | None = None
    frame_bits: int = config.BYTE_BITS
    access: str = "slots"
    update_cycles: int = config.SLOT_BASE_CYCLES
    tx_depth: int = 2
    rx_size: int | None = None
    drop: float = 0.0

    def check(self) -> None:
        if self.access not in ("slots", "csma"):
            raise ConfigError("bus.access", f"unknown bus access {self.access!r}; allowed: slots, csma")
        for name in ("baud", "frame_bits", "tx_depth", "rx_size"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise ConfigError(f"bus.{name}", f"must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.drop <= 1.0:
            raise ConfigError("bus.drop", f"must be in [0, 1], got {self.drop}")

    @property
    def byte_ns(self) -> int:
        """Time one byte occupies the line, ns."""
        return int(round(self.frame_bits * 1e9 / self.baud))


@njit(cache=True, boundscheck=False)
def _wire_collect(idx, inp_src, t_ns, level, last, stuck_from, stuck_high, last_emit, rnd, drop,
                  arriving, out_emit):
    """Rising edges of the inputs idx sampled at t_ns; returns (delivered, spurious, dropped)."""
    nd = 0
    spurious = 0
    dropped = 0
    for q in range(idx.shape[0]):
        j = idx[q]
        src = inp_src[j]
        forced = stuck_from[j] <= t_ns
        lev = stuck_high[j] if forced else level[src]
        rising = lev and not last[j]
        last[j] = lev
        if not rising:
            continue
        if forced:
            spurious += 1
        elif drop > 0.0 and rnd[q] < drop:
            dropped += 1
            continue
        else:
            out_emit[nd] = last_emit[src]
            nd += 1
        arriving[j] = True
    return nd, spurious, dropped


@njit(cache=True, boundscheck=False)
def _wire_emit(units, spiked, hold, axon, hold_ticks, out_units, out_level):
    """The firmware's axon logic after a tick; returns (changes, spikes while the pin was high)."""
    nc = 0
    gap = 0
    for q in range(units.shape[0]):
        u = units[q]
        h = hold[u]
        was = axon[u]
        if spiked[u]:
            if was:
                gap += 1
            hold[u] = hold_ticks
            new = True
        else:
            nh = h - 1 if h > 0 else 0
            hold[u] = nh
            new = False if (h > 0 and nh == 0) else was
        if new != was:
            axon[u] = new
            out_units[nc] = u
            out_level[nc] = new
            nc += 1
    return nc, gap


@njit(cache=True, boundscheck=False)
def _bus_collect(lo, hi, f_ok, f_src, f_emit, f_val, rx_size, listen, inp_idx, inp_src, active, em, arriving, out_emit,
                 hosts, errors):
    """Bytes lo..hi read by a group (hosts: the reward, punish and error-byte sources; errors: filled with the
    error bytes in order); returns (delivered, rx_overflow losses, merged losses, the broadcast seen)."""
    taken = 0
    over = 0
    merged = 0
    rewarded = 0
    punished = 0
    n_err = 0
    for k in range(lo, hi):
        if not f_ok[k]:
            continue
        s = f_src[k]
        if taken >= rx_size:
            over += listen[s]
            continue
        taken += 1
        if s == hosts[0]:
            rewarded = 1
        elif s == hosts[1]:
            punished = 1
        elif s == hosts[2] and n_err < errors.shape[0]:
            errors[n_err] = f_val[k]
            n_err += 1
        if active[s]:
            merged += listen[s]
        else:
            active[s] = True
            em[s] = f_emit[k]
    nd = 0
    for q in range(inp_idx.shape[0]):
        s = inp_src[q]
        if active[s]:
            arriving[inp_idx[q]] = True
            out_emit[nd] = em[s]
            nd += 1
    for k in range(lo, hi):
        active[f_src[k]] = False
    return nd, over, merged, rewarded - punished


LATENCY_SAMPLE = 1 << 20
"""Deliveries whose latency a Ledger keeps: all of them up to this many, then an even sample of this size."""


class Ledger:
    """What happened to the spikes: emissions and deliveries counted, losses by cause, latencies sampled.

    Memory stays bounded however long a board runs: spikes are counted, not kept. A delivery is counted
    against the spikes sent by a cutoff (`settle`, `tally`) once the cutoff passes its emission; until then
    it waits in a short list. Latencies (ns) are kept for every delivery up to LATENCY_SAMPLE of them, then
    for every k-th delivery, k doubling each time the sample fills again (the same deliveries for the same
    run).
    """

    def __init__(self, fanout: np.ndarray):
        self.fanout = fanout
        self.lost: dict[str, int] = {}
        self.spurious = 0
        self.emitted_total = 0
        self.delivered_total = 0
        self._deliverable = 0                       # fanout of the spikes sent by the last cutoff
        self._delivered = 0                         # deliveries of those spikes
        self._em_t: list[np.ndarray] = []           # spikes sent after the last cutoff: times, fanouts
        self._em_fan: list[np.ndarray] = []
        self._dl_emit: list[np.ndarray] = []        # deliveries of spikes sent after the last cutoff
        self._latency: list[np.ndarray] = []         # the sample in chunks, joined when read or halved
        self._latency_n = 0
        self._stride = 1

    def emitted(self, src: np.ndarray, t_ns) -> None:
        src = np.asarray(src, dtype=np.int64)
        if src.size:
            self.emitted_total += int(src.size)
            self._em_t.append(np.broadcast_to(np.asarray(t_ns, dtype=np.int64), src.shape).copy())
            self._em_fan.append(self.fanout[src])

    def delivered(self, emit_ns: np.ndarray, at_ns: int) -> None:
        if not emit_ns.size:
            return
        emit_ns = emit_ns.astype(np.int64)
        first = self.delivered_total
        self.delivered_total += int(emit_ns.size)
        self._dl_emit.append(emit_ns)
        offset = (-first) % self._stride            # the deliveries numbered 0, stride, 2 stride, ... are kept
        chunk = at_ns - emit_ns[offset::self._stride]
        self._latency.append(chunk)
        self._latency_n += chunk.size
        while self._latency_n > LATENCY_SAMPLE:
            kept = np.concatenate(self._latency)[::2]
            self._latency, self._latency_n = [kept], kept.size
            self._stride *= 2

    def lose(self, cause: str, count: int) -> None:
        if count:
            self.lost[cause] = self.lost.get(cause, 0) + int(count)

    def settle(self, cutoff_ns: int) -> None:
        """Count the spikes sent by cutoff_ns (cutoffs only grow) and the deliveries of those spikes."""
        if self._em_t:
            em_t, em_fan = np.concatenate(self._em_t), np.concatenate(self._em_fan)
            due = em_t <= cutoff_ns
            self._deliverable += int(em_fan[due].sum())
            self._em_t, self._em_fan = [em_t[~due]], [em_fan[~due]]
        if self._dl_emit:
            dl = np.concatenate(self._dl_emit)
            due = dl <= cutoff_ns
            self._delivered += int(due.sum())
            self._dl_emit = [dl[~due]]

    def tally(self, cutoff_ns: int) -> tuple[int, int, int]:
        """(emitted, deliverable, delivered): every spike sent, and the deliveries due to and made of the spikes
        sent by cutoff_ns (cutoffs only grow)."""
        self.settle(cutoff_ns)
        return self.emitted_total, self._deliverable, self._delivered

    def latency_ns(self) -> np.ndarray:
        """The latencies of the sampled deliveries (ns; all of them in a run of up to LATENCY_SAMPLE)."""
        return np.concatenate(self._latency) if self._latency else np.zeros(0, dtype=np.int64)


REWARD_ADDRESS, PUNISH_ADDRESS = 127, 126
"""Bus addresses of the host's broadcasts (units and stimuli use 0..125)."""


class Transport(Protocol):
    """What the scheduler asks of a transport; times in ns, units and sources by number, `group` a scheduler Group."""

    def add_stimuli(self, spikes: dict[int, np.ndarray], clock) -> None:
        """Schedule more stimulus spikes (per source: the ticks of `clock` it fires in, later than any before)."""

    def broadcast(self, pulse: int, t_ns: int, clock) -> None:
        """The host sends a reward (+1) or punishment (-1) in the tick that starts at t_ns."""

    def advance(self, t_ns: int) -> None:
        """Bring the transport up to t_ns: everything that reaches a receiver by then is known."""

    def collect(self, group, t_ns: int, arriving: np.ndarray, pulses: np.ndarray,
                errors: np.ndarray | None = None) -> None:
        """Mark in `arriving` the inputs of the group's units that receive a spike in their tick at t_ns, set
        pulses[u] to the broadcast each of them sees (-1, 0, +1) and `errors` (if given) to the error bytes they
        see, one per readout in the order sent (0 beyond those received)."""

    def emit(self, units: np.ndarray, t_ns: int, spiked: np.ndarray, clock, nfired: int = -1) -> None:
        """Send the spikes of `units` after their tick at t_ns; spiked: per unit; nfired: how many (-1: unknown)."""

    def unit_down(self, u: int, t_ns: int) -> None:
        """Unit u stops (reset or dead) at t_ns."""

    def unit_boot(self, u: int, t_ns: int, group) -> None:
        """Unit u boots at t_ns as the only member of `group`."""

    def set_drop(self, rate: float) -> None:
        """From now on each pulse (wire) or byte (bus) is lost with probability `rate`."""

    def load_between(self, t0_ns: int, t1_ns: int) -> float | None:
        """Fraction of (t0_ns, t1_ns] the bus line was busy with the bytes decided so far (None: wires)."""

    def finish(self, end_ns: int) -> dict:
        """Transport figures for a run that ended at end_ns."""


class WireTransport:
    """Point-to-point wires: one axon per source fans out to the dendrites of its targets."""

    name = "wire"

    def __init__(self, params: WireParams, inp_src: np.ndarray, n_units: int, n_src: int, ledger: Ledger,
                 rng: np.random.Generator, inp_unit: np.ndarray):
        self.p = params
        self.inp_src = inp_src
        self.n_units = n_units
        self.ledger = ledger
        self.rng = rng
        self.lines = (n_src, n_src + 1)    # the host's reward and punish lines
        self.level = np.zeros(n_src + 2, dtype=bool)
        self.last_emit = np.full(n_src + 2, -1, dtype=np.int64)
        self.last_pulse = np.zeros((n_units, 2), dtype=bool)   # each unit's last sample of the two lines
        self.line_free_ns = [0, 0]
        self.st_last: dict[int, int] = {}  # per stimulus source, the last tick whose pulse the wire carried
        self.broadcasts = {"sent": 0, "lost": 0}
        self.last = np.zeros(inp_src.size, dtype=bool)
        self.stuck_from = np.full(inp_src.size, NEVER, dtype=np.int64)
        self.stuck_high = np.zeros(inp_src.size, dtype=bool)
        self.hold = np.zeros(n_units, dtype=np.int64)
        self.axon = np.zeros(n_units, dtype=bool)
        self.events: list = []
        self.seq = 0
        self.inp_unit = inp_unit
        self._buf = np.zeros(inp_src.size, dtype=np.int64)
        self._norand = np.zeros(1)
        self._cu = np.zeros(n_units, dtype=np.int64)
        self._cl = np.zeros(n_units, dtype=np.bool_)
        self.st_t = np.zeros(0, dtype=np.int64)
        self.st_src = np.zeros(0, dtype=np.int64)
        self.st_lvl = np.zeros(0, dtype=bool)
        self.st_emit = np.zeros(0, dtype=np.int64)
        self.st_k = 0

    def _push(self, t: int, src: int, level: bool, emit_t: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (int(t), self.seq, int(src), bool(level), int(emit_t)))

    def stuck(self, src: int, dst_unit: int, high: bool, at_ns: int) -> None:
        m = (self.inp_src == src) & (self.inp_unit == dst_unit)
        self.stuck_from[m] = at_ns
        self.stuck_high[m] = high

    def add_stimuli(self, spikes: dict[int, np.ndarray], clock) -> None:
        """Stimulus wires: 2-tick pulses driven half way through the tick, at least WIRE_GAP ticks apart
        (as `wire_pulses`; a closer spike is lost, "wire_gap")."""
        half = int(round(clock.tick_ns / 2))
        ev_t, ev_src, ev_lvl, ev_emit = [self.st_t[self.st_k:]], [self.st_src[self.st_k:]], \
            [self.st_lvl[self.st_k:]], [self.st_emit[self.st_k:]]
        for src, ticks in spikes.items():
            ticks = np.asarray(ticks, dtype=np.int64)
            if not ticks.size:
                continue
            self.ledger.emitted(np.full(ticks.size, src), clock.times(ticks))
            carried, self.st_last[src] = wire_carried(ticks, self.st_last.get(src, -WIRE_GAP))
            self.ledger.lose("wire_gap", (ticks.size - carried.size) * int(self.ledger.fanout[src]))
            rise = clock.times(carried)
            ev_t += [rise + half, clock.times(carried + config.AXON_HOLD) + half]
            ev_src += [np.full(2 * carried.size, src, dtype=np.int64)]
            ev_lvl += [np.ones(carried.size, dtype=bool), np.zeros(carried.size, dtype=bool)]
            ev_emit += [rise, np.full(carried.size, -1, dtype=np.int64)]
        t = np.concatenate(ev_t)
        order = np.argsort(t, kind="stable")
        self.st_t, self.st_src = t[order], np.concatenate(ev_src)[order]
        self.st_lvl, self.st_emit = np.concatenate(ev_lvl)[order], np.concatenate(ev_emit)[order]
        self.st_k = 0

    def broadcast(self, pulse: int, t_ns: int, clock) -> None:
        """The host's reward or punish line: a 2-tick pulse from half way through the tick at t_ns."""
        line = 0 if pulse > 0 else 1
        rise = t_ns + int(round(clock.tick_ns / 2))
        self.broadcasts["sent"] += 1
        if rise < self.line_free_ns[line]:  # still high from the last pulse: no new edge
            self.broadcasts["lost"] += 1
            return
        fall = rise + int(round(config.AXON_HOLD * clock.tick_ns))
        self.line_free_ns[line] = fall
        self._push(rise, self.lines[line], True, t_ns)
        self._push(fall, self.lines[line], False, -1)

    def advance(self, t_ns: int) -> None:
        """Apply every pin change that reaches the dendrites by t_ns."""
        limit = t_ns - self.p.delay_ns
        ev = self.events
        while ev and ev[0][0] <= limit:
            _, _, src, level, emit_t = heapq.heappop(ev)
            self.level[src] = level
            if level:
                self.last_emit[src] = emit_t
        k = self.st_k
        if k < self.st_t.size and self.st_t[k] <= limit:  # stimulus wires (their own sources, in time order)
            hi = int(np.searchsorted(self.st_t, limit, side="right"))
            for q in range(k, hi):
                src = self.st_src[q]
                self.level[src] = self.st_lvl[q]
                if self.st_lvl[q]:
                    self.last_emit[src] = self.st_emit[q]
            self.st_k = hi

    def _levels(self, idx: np.ndarray, t_ns: int) -> tuple[np.ndarray, np.ndarray]:
        lev = self.level[self.inp_src[idx]]
        forced = self.stuck_from[idx] <= t_ns
        if forced.any():
            lev = np.where(forced, self.stuck_high[idx], lev)
        return lev, forced

    def collect(self, group, t_ns: int, arriving: np.ndarray, pulses: np.ndarray,
                errors: np.ndarray | None = None) -> None:
        """Rising edges since each input's last sample, for the group's units ticking at t_ns (no error bytes on
        wires: `errors` stays 0)."""
        if errors is not None:
            errors[:] = 0
        self._sample_lines(group.units, pulses)
        idx = group.inp_idx
        rnd = self.rng.random(idx.size) if self.p.drop > 0 else self._norand
        nd, spurious, dropped = _wire_collect(idx, self.inp_src, t_ns, self.level, self.last, self.stuck_from,
                                              self.stuck_high, self.last_emit, rnd, self.p.drop, arriving,
                                              self._buf)
        if nd:
            self.ledger.delivered(self._buf[:nd].copy(), t_ns)
        self.ledger.spurious += spurious
        self.ledger.lose("dropped", dropped)

    def _sample_lines(self, units: np.ndarray, pulses: np.ndarray) -> None:
        """Each unit's pulse: +1 on a rising edge of the reward line, -1 of the punish line (0 on both)."""
        levels = self.level[list(self.lines)]
        rising = levels & ~self.last_pulse[units]
        self.last_pulse[units] = levels
        if rising.any() and self.p.drop > 0:
            kept = self.rng.random(rising.shape) >= self.p.drop
            self.broadcasts["lost"] += int((rising & ~kept).sum())
            rising &= kept
        pulses[units] = rising[:, 0].astype(np.int64) - rising[:, 1].astype(np.int64)

    def emit(self, units: np.ndarray, t_ns: int, spiked: np.ndarray, clock, nfired: int = -1) -> None:
        """Axon pins of `units` after their tick at t_ns (the firmware's AXON_HOLD logic); spiked: per unit."""
        nc, gap = _wire_emit(units, spiked, self.hold, self.axon, config.AXON_HOLD, self._cu, self._cl)
        if nc == 0 and gap == 0:
            return
        at = t_ns + int(round(clock.tick_ns / 2))
        fired = []
        for q in range(nc):
            u = int(self._cu[q])
            self._push(at, u, bool(self._cl[q]), t_ns)
            if self._cl[q]:
                fired.append(u)
        if gap:
            gapped = units[spiked[units] & ~np.isin(units, fired)]
            fired.extend(int(x) for x in gapped)
            self.ledger.lose("wire_gap", int(self.ledger.fanout[gapped].sum()))
        self.ledger.emitted(np.array(fired, dtype=np.int64), t_ns)

    def unit_down(self, u: int, t_ns: int) -> None:
        """Its axon goes low (pin tri-stated, pulled down)."""
        if self.axon[u]:
            self._push(t_ns, u, False, -1)
        self.axon[u] = False
        self.hold[u] = 0

    def unit_boot(self, u: int, t_ns: int, group) -> None:
        """It takes its current pin levels as the last sample."""
        self.advance(t_ns)
        idx = group.inp_idx
        self.last[idx] = self._levels(idx, t_ns)[0]
        self.last_pulse[u] = self.level[list(self.lines)]

    def set_drop(self, rate: float) -> None:
        self.p = replace(self.p, drop=float(rate))

    def load_between(self, t0_ns: int, t1_ns: int) -> None:
        return None

    def finish(self, end_ns: int) -> dict:
        return {"broadcasts": dict(self.broadcasts)}


class BusTransport:
    """One shared serial line carrying address-event bytes (see the module docstring)."""

    name = "bus"

    def __init__(self, params: BusParams, inp_src: np.ndarray, addresses: np.ndarray, tick_cycles: int,
                 period_ns: int, ledger: Ledger, rng: np.random.Generator, stuck_from: int = NEVER):
        """addresses: of the units and stimulus neurons; the host's two broadcast sources and its error bytes come
        after them."""
        params.check()
        self.p = params
        self.inp_src = inp_src
        self.hosts = (addresses.size, addresses.size + 1)   # reward, punish
        self.data_src = addresses.size + 2                   # the host's error bytes, ahead of every address byte
        addresses = np.concatenate([addresses, [REWARD_ADDRESS, PUNISH_ADDRESS, -1]]).astype(np.int64)
        self.addr = addresses
        self.ledger = ledger
        self.rng = rng
        self.byte_ns = params.byte_ns
        self.period_ns = period_ns
        self.stuck_from = stuck_from
        byte_cycles = int(round(params.frame_bits * config.F_CPU / params.baud))
        self.byte_cycles = byte_cycles
        if params.access == "slots":
            self.offset_cycles = config.SLOT_BASE_CYCLES + addresses * byte_cycles
            self.sendable = self.offset_cycles + byte_cycles <= tick_cycles
        else:
            self.offset_cycles = np.full(addresses.size, params.update_cycles, dtype=np.int64)
            self.sendable = np.ones(addresses.size, dtype=bool)
        # the host broadcasts in the byte time before slot 0, when every unit has read its inputs
        self.offset_cycles[list(self.hosts)] = config.SLOT_BASE_CYCLES - byte_cycles
        self.sendable[list(self.hosts) + [self.data_src]] = True
        self.broadcasts = {"sent": 0, "lost": 0}
        self.error_bytes = {"sent": 0, "lost": 0}
        self.values: dict[int, int] = {}   # request number -> data byte, for the error bytes waiting for the line
        self.host_cursor = 0
        self._host_src = np.array([*self.hosts, self.data_src], dtype=np.int64)
        self._no_errors = np.zeros(0, dtype=np.int64)
        self._error_offsets: dict[tuple, list[int]] = {}
        self.slots_per_tick = max(0, (tick_cycles - config.SLOT_BASE_CYCLES) // byte_cycles)
        self.pending: list = []      # (request time, address, seq, src, emit time)
        self.contend: list = []      # (address, request time, seq, src, emit time)
        self.queued = np.zeros(addresses.size, dtype=np.int64)
        self.down_at = np.full(addresses.size, -1, dtype=np.int64)
        self.seq = 0
        self.bus_free = 0
        self.cur_src = -1
        cap = 1024
        self.f_start = np.zeros(cap, dtype=np.int64)
        self.f_end = np.zeros(cap, dtype=np.int64)
        self.f_src = np.zeros(cap, dtype=np.int64)
        self.f_emit = np.zeros(cap, dtype=np.int64)
        self.f_ok = np.zeros(cap, dtype=bool)
        self.f_val = np.zeros(cap, dtype=np.int64)
        self.nf = 0
        self._buf = np.zeros(inp_src.size, dtype=np.int64)
        self.st_t = np.zeros(0, dtype=np.int64)
        self.st_src = np.zeros(0, dtype=np.int64)
        self.st_emit = np.zeros(0, dtype=np.int64)
        self.st_k = 0
        self.max_queue = 0
        self.late = 0
        self.first_late_ns = None
        self.no_slot = 0

    def _request(self, src: int, t_req: int, emit_t: int) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (int(t_req), int(self.addr[src]), self.seq, int(src), int(emit_t)))

    def send_errors(self, values, t_ns: int, clock) -> None:
        """The host's error bytes (ints -64 .. 63, readout order) in the tick at t_ns: byte k of K in the K byte
        times before the host's broadcast time."""
        n = len(values)
        offsets = self._error_offsets.get((n, clock))
        if offsets is None:
            host = int(self.offset_cycles[self.hosts[0]])
            offsets = self._error_offsets[(n, clock)] = [clock.cycles_ns(host - (n - k) * self.byte_cycles, config.F_CPU)
                                                         for k in range(n)]
        self.error_bytes["sent"] += n
        for offset, value in zip(offsets, values):
            self._request(self.data_src, t_ns + offset, t_ns)
            self.values[self.seq] = int(value)

    def add_stimuli(self, spikes: dict[int, np.ndarray], clock) -> None:
        """Stimulus bytes, sent like a unit's: in the source's slot (or right after the update) of the tick."""
        req, srcs, emits = [self.st_t[self.st_k:]], [self.st_src[self.st_k:]], [self.st_emit[self.st_k:]]
        for src, ticks in spikes.items():
            ticks = np.asarray(ticks, dtype=np.int64)
            if not ticks.size:
                continue
            times = clock.times(ticks)
            self.ledger.emitted(np.full(ticks.size, src), times)
            if not self.sendable[src]:
                self.no_slot += ticks.size
                self.ledger.lose("no_slot", ticks.size * int(self.ledger.fanout[src]))
                continue
            req.append(times + clock.cycles_ns(self.offset_cycles[src], config.F_CPU))
            srcs.append(np.full(ticks.size, src, dtype=np.int64))
            emits.append(times)
        t = np.concatenate(req)
        order = np.argsort(t, kind="stable")
        self.st_t, self.st_src, self.st_emit = t[order], np.concatenate(srcs)[order], np.concatenate(emits)[order]
        self.st_k = 0

    def broadcast(self, pulse: int, t_ns: int, clock) -> None:
        """The host's byte 0x80|127 (reward) or 0x80|126 (punishment), requested at its time in the tick at t_ns."""
        self.broadcasts["sent"] += 1
        host = self.hosts[0 if pulse > 0 else 1]
        self._request(host, t_ns + clock.cycles_ns(self.offset_cycles[host], config.F_CPU), t_ns)

    def emit(self, units: np.ndarray, t_ns: int, spiked: np.ndarray, clock, nfired: int = -1) -> None:
        """Bytes for the units that fired in their tick at t_ns; spiked: per unit; nfired: how many (-1: unknown)."""
        if nfired == 0:
            return
        fired = units[spiked[units]]
        if not fired.size:
            return
        self.ledger.emitted(fired, t_ns)
        for u in fired:
            u = int(u)
            if not self.sendable[u]:
                self.no_slot += 1
                self.ledger.lose("no_slot", int(self.ledger.fanout[u]))
                continue
            self._request(u, t_ns + clock.cycles_ns(self.offset_cycles[u], config.F_CPU), t_ns)

    def _lose(self, cause: str, src: int) -> None:
        """A byte from src is lost: its spike deliveries, or a broadcast."""
        if src in self.hosts:
            self.broadcasts["lost"] += 1
        elif src == self.data_src:
            self.error_bytes["lost"] += 1
        else:
            self.ledger.lose(cause, int(self.ledger.fanout[src]))

    def _frame(self, start: int, src: int, emit_t: int, value: int = 0) -> None:
        if self.nf == self.f_start.size:
            for name in ("f_start", "f_end", "f_src", "f_emit", "f_ok", "f_val"):
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.zeros_like(a)]))
        end = start + self.byte_ns
        ok = True
        if end > self.stuck_from:
            ok = False
            self._lose("stuck_bus", src)
        elif self.p.drop > 0 and self.rng.random() < self.p.drop:
            ok = False
            self._lose("dropped", src)
        k = self.nf
        self.f_start[k], self.f_end[k], self.f_src[k], self.f_emit[k], self.f_ok[k] = start, end, src, emit_t, ok
        self.f_val[k] = value
        self.nf += 1
        if end > emit_t + self.period_ns:
            self.late += 1
            if self.first_late_ns is None:
                self.first_late_ns = end
        self.bus_free = end
        self.cur_src = src

    def advance(self, t_ns: int) -> None:
        """Decide every byte that starts on the line by t_ns (all requests up to then are known)."""
        pending, contend = self.pending, self.contend
        k = self.st_k
        if k < self.st_t.size and self.st_t[k] <= t_ns:  # stimulus requests join when they are due
            hi = int(np.searchsorted(self.st_t, t_ns, side="right"))
            for q in range(k, hi):
                self._request(int(self.st_src[q]), int(self.st_t[q]), int(self.st_emit[q]))
            self.st_k = hi
        while pending or contend:
            t0 = self.bus_free if contend else max(self.bus_free, pending[0][0])
            if t0 > t_ns:
                break
            while pending and pending[0][0] <= t0:
                t_req, a, seq, src, emit_t = heapq.heappop(pending)
                busy = 1 if (self.cur_src == src and self.bus_free > t_req) else 0
                if self.queued[src] + busy >= self.p.tx_depth and src != self.data_src:
                    self._lose("tx_overflow", src)
                    continue
                self.queued[src] += 1
                heapq.heappush(contend, (a, t_req, seq, src, emit_t))
            waiting = len(contend)
            if waiting > self.max_queue:
                self.max_queue = waiting
            if not contend:
                continue
            a, t_req, seq, src, emit_t = heapq.heappop(contend)
            self.queued[src] -= 1
            if t_req < self.down_at[src] <= t0:
                self._lose("sender_down", src)
                continue
            self._frame(t0, src, emit_t, self.values.pop(seq, 0) if src == self.data_src else 0)

    def collect(self, group, t_ns: int, arriving: np.ndarray, pulses: np.ndarray,
                errors: np.ndarray | None = None) -> None:
        """Bytes received since the group's last tick (at most rx_size), as spikes on the inputs, broadcasts and
        error bytes."""
        pulses[group.units] = 0
        if errors is not None:
            errors[:] = 0
        lo = group.cursor
        if lo >= self.nf or self.f_end[lo] > t_ns:
            return
        hi = int(np.searchsorted(self.f_end[:self.nf], t_ns, side="right"))
        group.cursor = hi
        if hi <= lo:
            return
        nd, over, merged, pulse = _bus_collect(lo, hi, self.f_ok, self.f_src, self.f_emit, self.f_val, self.p.rx_size,
                                               group.listen, group.inp_idx, group.inp_src, group.active,
                                               group.scratch, arriving, self._buf, self._host_src,
                                               self._no_errors if errors is None else errors)
        pulses[group.units] = pulse
        if nd:
            self.ledger.delivered(self._buf[:nd].copy(), t_ns)
        self.ledger.lose("rx_overflow", over)
        self.ledger.lose("merged", merged)

    def heard(self, t_ns: int) -> np.ndarray:
        """The sources of the bytes the host received since it last asked, up to t_ns (lost bytes excepted)."""
        self.advance(t_ns)
        lo = self.host_cursor
        hi = int(np.searchsorted(self.f_end[:self.nf], t_ns, side="right"))
        self.host_cursor = max(lo, hi)
        return self.f_src[lo:hi][self.f_ok[lo:hi]]

    def unit_down(self, u: int, t_ns: int) -> None:
        """Its bytes still waiting for the line are not sent."""
        self.down_at[u] = t_ns

    def unit_boot(self, u: int, t_ns: int, group) -> None:
        """It reads only the bytes that end after t_ns."""
        self.advance(t_ns)
        group.cursor = int(np.searchsorted(self.f_end[:self.nf], t_ns, side="right"))

    def set_drop(self, rate: float) -> None:
        self.p = replace(self.p, drop=float(rate))

    def stick(self, at_ns: int) -> None:
        """The line holds one level from at_ns on: no byte that ends later gets through ("stuck_bus")."""
        self.stuck_from = min(self.stuck_from, int(at_ns))

    def load_between(self, t0_ns: int, t1_ns: int) -> float:
        if t1_ns <= t0_ns:
            return 0.0
        n = self.nf
        lo = int(np.searchsorted(self.f_end[:n], t0_ns, side="right"))   # bytes end in start order
        start = np.maximum(self.f_start[lo:n], t0_ns)
        end = np.minimum(self.f_end[lo:n], t1_ns)
        return float(np.clip(end - start, 0, None).sum()) / (t1_ns - t0_ns)

    def finish(self, end_ns: int) -> dict:
        """Bus figures for a run that ended at end_ns: load, per-tick load series, saturation, broadcasts."""
        self.advance(end_ns)
        n = self.nf
        start, end = self.f_start[:n], np.minimum(self.f_end[:n], end_ns)
        keep = start < end_ns
        start, end = start[keep], end[keep]
        busy = int((end - start).sum())
        windows = max(1, int(np.ceil(end_ns / self.period_ns)))
        series = np.zeros(windows + 1, dtype=np.float64)
        w0 = start // self.period_ns
        w1 = (end - 1) // self.period_ns
        same = w0 == w1
        np.add.at(series, w0[same], (end - start)[same])
        cut = (w0[~same] + 1) * self.period_ns
        np.add.at(series, w0[~same], cut - start[~same])
        np.add.at(series, w1[~same], end[~same] - cut)
        series = series[:windows] / self.period_ns
        saturated_reasons = []
        if self.no_slot:
            saturated_reasons.append(f"{self.no_slot} spikes from addresses whose slot lies beyond the tick "
                                     f"(a tick has {self.slots_per_tick} slots at {self.p.baud} baud)")
        if self.late:
            saturated_reasons.append(f"{self.late} bytes arrived after the sender's next tick")
        for cause in ("tx_overflow", "rx_overflow"):
            if self.ledger.lost.get(cause):
                saturated_reasons.append(f"{self.ledger.lost[cause]} spike deliveries lost to {cause}")
        return {"baud": self.p.baud, "bus_load": busy / end_ns if end_ns > 0 else 0.0,
                "bus_load_series": series, "bus_load_peak": float(series.max()) if series.size else 0.0,
                "bytes": int(keep.sum()), "late_bytes": self.late,
                "first_late_ms": None if self.first_late_ns is None else self.first_late_ns / 1e6,
                "max_waiting": self.max_queue, "slots_per_tick": self.slots_per_tick,
                "saturated": bool(saturated_reasons), "saturation": saturated_reasons,
                "broadcasts": dict(self.broadcasts), "error_bytes": dict(self.error_bytes)}
