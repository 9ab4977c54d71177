"""The board's inputs: every spike source is a spike generator that the board feeds.

`InputFeed(net)` keeps a copy of the network in which every
`poisson_generator` population has become a `spike_generator` of the same
name and size; the feed draws its Poisson spikes itself, chunk by chunk,
at the population's rate (the rate slider), from a seeded stream. So any
input neuron can take extra spikes from a finger:

- `tap(pop, i, now)`: it fires in the next step;
- `press(pop, i, now)` ... `release(pop, i)`: it fires now and, held for
  longer than HOLD_MS, a burst of BURST_HZ until released (at most
  MAX_HOLD_MS of biological time, in case the release never comes);
- `add(pop, times)`: a task's own input spikes (a trial's pattern, an
  image), later than now.

Before the run handle advances, `prepare(t0, t1)` draws the Poisson and
burst spikes of (t0, t1] and `push(handle)` hands every changed
population's future spikes to the handle with `set_params(spike_times=...)`,
which the engine's Simulation and the twin's TwinSession both take: a
touch works the same on the engine and on the units.
"""
from __future__ import annotations

import numpy as np

from neurobox.errors import ConfigError

BURST_HZ = 100.0
"""Rate of the burst an input fires while it is held, Hz (10 ms apart: also above a wire's 3-tick gap)."""
HOLD_MS = 150.0
"""Biological time a press must last before the burst starts, ms (a shorter one is a tap: one spike)."""
MAX_HOLD_MS = 10000.0
"""A held input stops bursting after this much biological time, ms."""


def as_spike_generator(pop) -> None:
    """Turn population `pop` (a copy the feed owns) into a spike generator with no spikes yet."""
    pop.__init__(pop.n, "spike_generator", {"spike_times": [[] for _ in range(pop.n)]}, name=pop.name,
                 record_spikes=pop.record_spikes)


class InputFeed:
    """The spike sources of a network, fed by the board (see the module docstring)."""

    def __init__(self, net):
        self.network = net.copy()
        self.dt = float(net.dt)
        self.rates: dict[str, float] = {}        # former Poisson sources: rate, Hz
        self.given: dict[str, list[np.ndarray]] = {}
        for k, (name, pop) in enumerate(self.network.populations.items()):
            if not pop.model.is_source:
                continue
            if "rate" in pop.params:
                self.rates[name] = float(pop.params["rate"])
                as_spike_generator(pop)
                self.given[name] = [np.zeros(0)] * pop.n
            else:
                from neurobox.neurons.sources import per_neuron_times
                self.given[name] = per_neuron_times(pop.params.get("spike_times"), pop.n, pop.field)
        self.sources = list(self.given)
        self.seed = int(net.seed)
        self.reset()

    def reset(self) -> None:
        """Back to t = 0: the given spike times only, nothing held, the Poisson streams from their start."""
        self.pending = {name: [t.copy() for t in times] for name, times in self.given.items()}
        self.held: dict[tuple[str, int], list[float]] = {}    # (pop, i) -> [pressed at, next burst spike]
        self.rngs = {name: np.random.default_rng([self.seed, 7031, k]) for k, name in enumerate(self.sources)}
        self.dirty = set(self.sources)

    # -- what changes the inputs -------------------------------------------------------------
    def check(self, pop: str, neuron: int | None = None) -> None:
        if pop not in self.given:
            raise ConfigError("pop", f"{pop!r} is not an input (a spike source); inputs: "
                                     f"{', '.join(self.sources) or 'none'}")
        n = len(self.given[pop])
        if neuron is not None and not 0 <= neuron < n:
            raise ConfigError("id", f"input {neuron} is not in {pop} (0 to {n - 1})")

    def set_rate(self, pop: str, rate_hz: float) -> None:
        """The Poisson rate (Hz) of former Poisson source `pop`, from the next chunk on."""
        if pop not in self.rates:
            raise ConfigError("pop", f"{pop} is not a Poisson source; it has no rate")
        self.rates[pop] = float(rate_hz)

    def add(self, pop: str, times) -> None:
        """More input spikes: `times` one array (ms) per neuron of `pop`, or {neuron: array}."""
        self.check(pop)
        items = times.items() if isinstance(times, dict) else enumerate(times)
        lists = self.pending[pop]
        for i, t in items:
            t = np.asarray(t, dtype=np.float64).ravel()
            if t.size:
                self.check(pop, int(i))
                lists[int(i)] = np.union1d(lists[int(i)], self._on_grid(t))
        self.dirty.add(pop)

    def tap(self, pop: str, neuron: int, now: float) -> None:
        """Input `neuron` of `pop` fires in the next step."""
        self.add(pop, {neuron: [now + self.dt]})

    def press(self, pop: str, neuron: int, now: float) -> None:
        """A finger goes down on input `neuron`: one spike now, a burst if it stays (HOLD_MS)."""
        self.tap(pop, neuron, now)
        self.held[(pop, neuron)] = [now, now + HOLD_MS]

    def release(self, pop: str, neuron: int | None = None) -> None:
        """The finger comes up (neuron None: every held input of `pop`)."""
        for key in [k for k in self.held if k[0] == pop and (neuron is None or k[1] == neuron)]:
            del self.held[key]

    def release_all(self) -> None:
        self.held.clear()

    # -- feeding the run ------------------------------------------------------------------
    def _on_grid(self, t: np.ndarray) -> np.ndarray:
        """Times moved to the step grid (a spike of step k is at (k + 1) dt), at least one step."""
        return np.maximum(np.rint(t / self.dt), 1.0) * self.dt

    def prepare(self, t0: float, t1: float) -> None:
        """Draw the Poisson and burst spikes of (t0, t1] (ms)."""
        dt = self.dt
        s0, s1 = int(round(t0 / dt)), int(round(t1 / dt))
        steps = s1 - s0
        if steps <= 0:
            return
        for pop, rate in self.rates.items():
            if rate <= 0:
                continue
            n = len(self.pending[pop])
            rng = self.rngs[pop]
            counts = rng.binomial(steps, -np.expm1(-rate * dt * 1e-3), n)
            if not counts.any():
                continue
            who = np.repeat(np.arange(n), counts)
            when = (s0 + 1 + rng.integers(0, steps, who.size)) * dt
            self.add(pop, {i: when[who == i] for i in np.flatnonzero(counts)})
        period = 1000.0 / BURST_HZ
        for (pop, i), hold in list(self.held.items()):
            pressed, nxt = hold
            stop = min(t1, pressed + MAX_HOLD_MS)
            if nxt <= stop:
                burst = np.arange(nxt, stop + 1e-9, period)
                self.add(pop, {i: burst})
                hold[1] = burst[-1] + period
            if t1 >= pressed + MAX_HOLD_MS:
                del self.held[(pop, i)]

    def push(self, handle) -> None:
        """Hand every changed population's future spikes (later than the handle's time) to the run handle."""
        if not self.dirty:
            return
        now = handle.time + 1e-9
        for pop in sorted(self.dirty):
            lists = self.pending[pop]
            for i, t in enumerate(lists):
                if t.size and t[0] <= now:
                    lists[i] = t[t > now]
            handle.set_params(pop, spike_times=[t.tolist() for t in lists])
        self.dirty.clear()
