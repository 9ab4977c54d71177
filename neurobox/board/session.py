"""A Network running in short chunks for the live board, and what it shows.

`LiveBoard` takes a network description, adds to its own copy one poke
stimulus (a short current pulse) and one adjustable current per neuron
population, opens a Simulation (neurobox.engine) and runs it a few
milliseconds at a time, and turns every chunk into a frame: the spikes of
the chunk, every shown LED's colour, the selected neurons' membrane
potentials, and the weights when they changed.
"""
from __future__ import annotations

import math
import time

import numpy as np

import neurobox as nb
from neurobox.errors import ConfigError
from neurobox.board.colours import led_range, screen_colours
from neurobox.board.layout import board_layout
from neurobox.board.learning import set_learning

POKE_MS = 5.0
"""Length of a poke's current pulse, ms."""
MAX_SPIKES = 20000
"""Spikes sent per frame at most (the rest are counted, not sent)."""
TRACE_SAMPLES = 16
"""Membrane samples per frame of a selected neuron, at most."""
TRACE_BUDGET_S = 0.008
"""Wall time a frame may spend on extra chunks for membrane samples, s (each
`Network.run` call also gathers all results so far, so calls get dearer as a
session goes on; fewer samples are taken then)."""
MAX_RATE_HZ = 1000.0
"""Highest rate a Poisson source can be set to, Hz."""
MAX_CURRENT_PA = 1.0e5
"""Largest |current| a population can be given, pA."""


def rheobase(params: dict) -> float:
    """The current (pA) that just brings a neuron at rest to threshold, from its parameters."""
    rest, threshold, _ = led_range(params)
    if "g_L" in params:
        g = params["g_L"]                                     # nS
    elif "C_m" in params and "tau_m" in params:
        g = params["C_m"] / params["tau_m"]                   # pF / ms = nS
    else:
        return 10.0 if "a" in params and "C" not in params else 100.0  # Izhikevich units
    return max(g * (threshold - rest), 1.0)


def poke_amplitude(params: dict, poke_ms: float = POKE_MS) -> float:
    """A pulse (pA) strong enough to make a neuron at rest fire within `poke_ms`."""
    if "C_m" in params and ("tau_m" in params or "g_L" in params):
        tau = params["tau_m"] if "tau_m" in params else params["C_m"] / params["g_L"]
        return 2.0 * rheobase(params) / (1.0 - math.exp(-poke_ms / tau))
    return 8.0 * rheobase(params)


class LiveBoard:
    """The network of the live board, run in chunks; see the module docstring.

    net: the network's description (the board adds its stimuli to its own copy).
    """

    def __init__(self, net: nb.Network, *, title: str = "", poke_ms: float = POKE_MS, driver=None):
        net = net.copy()
        self.driver = driver  # a demo's task: driver(sim, t_ms) before each chunk, driver.reset() on reset
        self.title = title
        self.poke_ms = float(poke_ms)
        self.learning = True
        self.names = list(net.populations)
        self._pokes: dict[str, str] = {}     # population -> its poke stimulus
        self._currents: dict[str, str] = {}  # population -> its constant-current stimulus
        self._current_pA: dict[str, float] = {}
        for name, pop in net.populations.items():
            if pop.model.is_source:
                continue
            self._pokes[name] = net.add(nb.StepCurrent(name, [0.0], [0.0], neurons=[0],
                                                       name=f"board_poke.{name}")).name
            self._currents[name] = net.add(nb.StepCurrent(name, [0.0], [0.0], name=f"board_current.{name}")).name
            self._current_pA[name] = 0.0
        self.net = net
        self._poke_until: dict[str, float] = {}
        self._poked: dict[str, set[int]] = {}
        self.selected: dict[str, tuple[str, int]] = {}
        self._run_cost = 0.0  # wall time of one run call, s (running mean)
        self._start()

    # -- running --------------------------------------------------------------------
    def _start(self) -> None:
        self.sim = nb.Simulation(self.net, progress=False, learning=self.learning)
        for pop, amplitude in self._current_pA.items():
            self.sim.set_stimulus(self._currents[pop], amplitudes=[amplitude])
        self.compiled = self.sim.compiled
        self.layout, self._masks = board_layout(self.compiled)
        self._carry = 0.0
        self._sent_weights: list[np.ndarray] | None = None

    def _drive(self) -> None:
        if self.driver is not None:
            self.driver(self.sim, self.sim.time)

    @property
    def time(self) -> float:
        """Biological time reached, ms."""
        return self.sim.time

    def advance(self, bio_ms: float) -> dict | None:
        """Run about `bio_ms` ms more (whole steps; the remainder is carried over); the frame, or None."""
        dt = self.sim.dt
        wanted = self._carry + max(float(bio_ms), 0.0)
        steps = int(wanted / dt + 1e-9)
        self._carry = wanted - steps * dt
        if steps < 1:
            return None
        t0 = self.sim.time
        probes = {f"{p}/{i}": (p, i, self.net.populations[p].model.voltage) for p, i in set(self.selected.values())}
        traces = {key: [] for key in probes}
        if traces:
            affordable = int(TRACE_BUDGET_S / self._run_cost) if self._run_cost > 0 else TRACE_SAMPLES
            parts = min(steps, TRACE_SAMPLES, max(2, affordable))
            bounds = np.linspace(0, steps, parts + 1).round().astype(int)
            for a, b in zip(bounds[:-1], bounds[1:]):
                if b == a:
                    continue
                started = time.perf_counter()
                self._drive()
                self.sim.advance((b - a) * dt)
                self._run_cost = 0.8 * self._run_cost + 0.2 * (time.perf_counter() - started)
                now = round(self.sim.time, 3)
                for key, (pop, i, voltage) in probes.items():
                    traces[key].append([now, round(float(self.sim.state(pop, voltage)[i]), 3)])
        else:
            self._drive()
            self.sim.advance(steps * dt)
        return self._frame(t0, self.sim.time, traces)

    def _frame(self, t0: float, t1: float, traces: dict) -> dict:
        spikes, leds, sent, total = [], [], 0, 0
        found = self.sim.spikes_between(t0, t1)
        for k, block in enumerate(self.layout["populations"]):
            name, shown = block["name"], block["shown"]
            t, ids = found.get(name, (np.zeros(0), np.zeros(0, np.int32)))
            keep = ids < shown
            t, ids = t[keep], ids[keep]
            total += int(ids.size)
            room = max(MAX_SPIKES - sent, 0)
            if ids.size:
                spikes.append({"p": k, "t": np.round(t[:room], 2).tolist(), "i": ids[:room].tolist()})
                sent += min(room, int(ids.size))
            fired = np.zeros(shown, dtype=bool)
            fired[ids] = True
            pop = self.net.populations[name]
            if pop.model.voltage is None:
                leds.append(screen_colours(None, None, fired))
            else:
                v = self.compiled.population(name).state[pop.model.state_index(pop.model.voltage), :shown]
                leds.append(screen_colours(pop.params, v, fired))
        frame = {"type": "frame", "t0": round(t0, 3), "t": round(t1, 3), "spikes": spikes,
                 "dropped": total - sent, "leds": np.concatenate(leds).tobytes().hex(), "traces": traces}
        weights = self.weights()
        if self._sent_weights is None or any(not np.array_equal(a, b) for a, b in zip(weights, self._sent_weights)):
            self._sent_weights = weights
            frame["weights"] = [np.round(w, 4).tolist() for w in weights]
        return frame

    def weights(self) -> list[np.ndarray]:
        """The drawn weights per edge of the layout, read from the compiled arrays (pA or nS).

        Wires: one weight per drawn synapse; bundles: the mean |weight|.
        """
        out = []
        arrays = [cp.weights for cp in self.compiled.projections] + [g.g for g in self.compiled.gap_junctions]
        for w, mask in zip(arrays, self._masks):
            if mask is None:
                out.append(np.array([float(np.abs(w).mean()) if w.size else 0.0]))
            else:
                out.append(np.asarray(w[mask], dtype=np.float64))
        return out

    # -- controls -------------------------------------------------------------------
    def _neuron(self, pop: str, neuron: int) -> None:
        if pop not in self.net.populations:
            raise ConfigError("pop", f"no population named {pop!r}; populations: {', '.join(self.names)}")
        n = self.net.populations[pop].n
        if not 0 <= neuron < n:
            raise ConfigError("id", f"neuron {neuron} is not in {pop} (0 to {n - 1})")

    def poke(self, pop: str, neuron: int) -> None:
        """Give neuron `neuron` of `pop` a short current pulse (POKE_MS) from now on."""
        self._neuron(pop, neuron)
        if pop not in self._pokes:
            raise ConfigError("pop", f"{pop} is a spike source: it has no membrane to poke")
        now = self.sim.time
        neurons = self._poked.get(pop, set()) if now < self._poke_until.get(pop, -1.0) else set()
        neurons.add(neuron)
        self._poked[pop] = neurons
        self.sim.set_stimulus(self._pokes[pop], times=[now, now + self.poke_ms], neurons=sorted(neurons),
                              amplitudes=[poke_amplitude(self.net.populations[pop].params, self.poke_ms), 0.0])
        self._poke_until[pop] = now + self.poke_ms

    def set_rate(self, pop: str, rate_hz: float) -> None:
        """Set the rate (Hz) of Poisson source `pop`."""
        self._neuron(pop, 0)
        if "rate" not in self.net.populations[pop].params:
            raise ConfigError("pop", f"{pop} is not a Poisson source; it has no rate")
        if not 0.0 <= rate_hz <= MAX_RATE_HZ:
            raise ConfigError("value", f"rate must be in [0, {MAX_RATE_HZ:g}] Hz, got {rate_hz:g}")
        self.sim.set_params(pop, rate=float(rate_hz))
        self.net.populations[pop].set(rate=float(rate_hz))  # kept after a reset

    def set_current(self, pop: str, current_pA: float) -> None:
        """Set the constant current (pA) into every neuron of `pop`."""
        self._neuron(pop, 0)
        if pop not in self._currents:
            raise ConfigError("pop", f"{pop} is a spike source and takes no current")
        if not abs(current_pA) <= MAX_CURRENT_PA:
            raise ConfigError("value", f"current must be in [-{MAX_CURRENT_PA:g}, {MAX_CURRENT_PA:g}] pA, "
                                       f"got {current_pA:g}")
        self._current_pA[pop] = float(current_pA)
        self.sim.set_stimulus(self._currents[pop], amplitudes=[float(current_pA)])

    def select(self, viewer: str, pop: str | None, neuron: int = 0) -> None:
        """Show the membrane of `neuron` of `pop` to `viewer` (pop None: show nothing)."""
        if pop is None:
            self.selected.pop(viewer, None)
            return
        self._neuron(pop, neuron)
        if self.net.populations[pop].model.voltage is None:
            raise ConfigError("pop", f"{pop} is a spike source: it has no membrane potential")
        self.selected[viewer] = (pop, int(neuron))

    def set_learning(self, on: bool) -> str:
        """Switch learning on or off through the learning hook; returns its note."""
        self.learning = bool(on)
        return set_learning(self.sim, self.learning)

    def reset(self) -> None:
        """Start again from t = 0 with the same structure, sliders kept."""
        self._poke_until.clear()
        self._poked.clear()
        if self.driver is not None:
            self.driver.reset()
        self._start()

    def controls(self) -> list[dict]:
        """The sliders of the page: a rate per Poisson source, a current per neuron population."""
        out = []
        for name, pop in self.net.populations.items():
            if "rate" in pop.params:
                rate = float(pop.params["rate"])
                out.append({"pop": name, "kind": "rate", "unit": "Hz", "value": rate, "min": 0.0,
                            "max": float(min(MAX_RATE_HZ, max(100.0, 4 * rate)))})
            elif name in self._currents:
                r = rheobase(pop.params)
                out.append({"pop": name, "kind": "current", "unit": "pA",
                            "value": self._current_pA[name],
                            "min": -round(2 * r), "max": round(3 * r)})
        return out

    def hello(self) -> dict:
        """What a new page needs: layout, sliders, time step, current weights."""
        return {"type": "hello", "title": self.title, "dt": self.sim.dt, "t": round(self.sim.time, 3),
                "layout": self.layout, "controls": self.controls(), "poke_ms": self.poke_ms,
                "weights": [np.round(w, 4).tolist() for w in self.weights()],
                "voltage_range": [list(led_range(p.params)) if p.model.voltage else None
                                  for p in self.net.populations.values()]}
