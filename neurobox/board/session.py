"""A Network running in short chunks for the live board, and what it shows.

`LiveBoard(net, task=..., target="engine" | "twin")` runs the network on
the engine (a `neurobox.Simulation`) or on the units of the twin (a
`neurobox.twin.TwinSession`: fixed point, every unit on its own clock,
over the bus or wires), a few milliseconds at a time, and turns every
chunk into a frame: the spikes of the chunk, every shown LED's colour
(the physical LED map against each neuron's effective threshold, violet
where a plastic input changed, dark where a unit is off), each box's
mood for its face, the selected neurons' membrane potentials and
thresholds, the weights when they changed, the task's state when it
changed, and on the twin the lost spikes and the bus load.

What a finger does: an input (a spike source) fires when touched
(`touch`: one spike on a tap, a burst while held; `draw` a pattern over
several; neurobox.board.inputs feeds them through the run handle, so this
works on the engine and on the twin); a neuron gets a short current pulse
(`poke`, the engine only: units take no current). The page can also set
input rates and (engine) constant currents, give a reward (`reward`),
switch learning, switch to the twin and back (`set_target`, from t = 0),
break the units (`fault`: kill, reset, cut a wire or the bus, drop
spikes), and drag the light or an obstacle of the vehicle demo's arena
(`drag`, neurobox.board.vehicle).
"""
from __future__ import annotations

import math
import time

import numpy as np

import neurobox as nb
from neurobox.errors import ConfigError
from neurobox.board.colours import led_range, screen_colours
from neurobox.board.inputs import InputFeed
from neurobox.board.layout import board_layout
from neurobox.board.views import EngineView, TwinView
from neurobox.viz.style import population_colours

POKE_MS = 5.0
"""Length of a poke's current pulse, ms."""
MAX_SPIKES = 20000
"""Spikes sent per frame at most (the rest are counted, not sent)."""
TRACE_SAMPLES = 16
"""Membrane samples per frame of a selected neuron, at most."""
TRACE_BUDGET_S = 0.008
"""Wall time a frame may spend on extra chunks for membrane samples, s."""
MAX_RATE_HZ = 1000.0
"""Highest rate a Poisson source can be set to, Hz."""
MAX_CURRENT_PA = 1.0e5
"""Largest |current| a population can be given, pA."""
TENSE = 0.6
"""A neuron whose membrane has gone this fraction of the way from rest to threshold looks tense."""
RESET_DOWN_MS = 150.0
"""How long a unit reset from the page stays dark before it boots, ms."""
TARGETS = ("engine", "twin")
TRANSPORTS = ("bus", "wire")
FAULTS = ("kill", "reset", "cut", "drop")


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


def twin_problem(net: nb.Network) -> str | None:
    """Why the units cannot run `net` (neurobox.targets.runner("twin").check), or None."""
    from neurobox.targets import runner

    problems = runner("twin").check(net)
    return "; ".join(str(p) for p in problems) or None


class LiveBoard:
    """The network of the live board, run in chunks; see the module docstring.

    net: the network's description (the board works on its own copy);
    task: a neurobox.board.tasks task (or None); target: "engine" or "twin";
    transport: the twin's, "bus" or "wire".
    """

    def __init__(self, net: nb.Network, *, title: str = "", poke_ms: float = POKE_MS, task=None,
                 target: str = "engine", transport: str = "bus"):
        self.title = title
        self.poke_ms = float(poke_ms)
        self.task = task
        self.feed = InputFeed(net)
        self.net = self.feed.network
        """The description the board runs: the network with every input a spike generator (inputs module)."""
        self.names = list(self.net.populations)
        self._current_pA = {name: 0.0 for name, pop in self.net.populations.items() if not pop.model.is_source}
        self.plastic = [name for name, p in self.net.projections.items()
                        if getattr(p, "plasticity", None) is not None]
        self.rewardable = [name for name in self.plastic if self.net.projections[name].plasticity.rule == "rstdp"]
        self.learning = bool(self.plastic)
        self.twin_problem = twin_problem(self.net)
        self.selected: dict[str, tuple[str, int]] = {}
        self._run_cost = 0.0
        self.target, self.transport = "engine", "bus"
        self._open(target, transport)

    # -- opening a run ------------------------------------------------------------------------
    def _open(self, target: str, transport: str) -> None:
        if target not in TARGETS:
            raise ConfigError("target", f"the board runs on {' or '.join(TARGETS)}, got {target!r}")
        if transport not in TRANSPORTS:
            raise ConfigError("transport", f"the units talk over {' or '.join(TRANSPORTS)}, got {transport!r}")
        if target == "twin":
            if self.twin_problem:
                raise ConfigError("target", f"the units cannot run this network: {self.twin_problem}")
            from neurobox.engine.compile import compile_network
            from neurobox.targets import runner

            session = runner("twin").open(self.net, transport=transport)
            session.learning = self.learning
            compiled = compile_network(self.net)
            self.layout, masks = board_layout(compiled)
            self.view = TwinView(session, compiled, masks)
        else:
            net = self.net.copy()
            self._pokes = {name: net.add(nb.StepCurrent(name, [0.0], [0.0], neurons=[0],
                                                        name=f"board_poke.{name}")).name for name in self._current_pA}
            self._currents = {name: net.add(nb.StepCurrent(name, [0.0], [0.0], name=f"board_current.{name}")).name
                              for name in self._current_pA}
            sim = nb.Simulation(net, progress=False, learning=self.learning)
            for pop, amplitude in self._current_pA.items():
                sim.set_stimulus(self._currents[pop], amplitudes=[amplitude])
            self.layout, masks = board_layout(sim.compiled)
            self.view = EngineView(sim, masks)
        self.target, self.transport = target, transport
        self.handle = self.view.handle
        """The run: a neurobox.Simulation (engine) or a neurobox.twin.TwinSession (twin)."""
        self.feed.reset()
        if self.task is not None:
            self.task.reset()
        self._carry = 0.0
        self._poke_until: dict[str, float] = {}
        self._poked: dict[str, set[int]] = {}
        self._sent_weights: list[np.ndarray] | None = None
        self._task_version = None

    @property
    def sim(self):
        """The engine's Simulation (None while the board runs on the twin)."""
        return self.handle if self.target == "engine" else None

    @property
    def dt(self) -> float:
        return self.handle.dt

    @property
    def time(self) -> float:
        """Biological time reached, ms."""
        return self.handle.time

    # -- running --------------------------------------------------------------------------------
    def advance(self, bio_ms: float) -> dict | None:
        """Run about `bio_ms` ms more (whole steps; the remainder is carried over); the frame, or None."""
        dt = self.dt
        wanted = self._carry + max(float(bio_ms), 0.0)
        steps = int(wanted / dt + 1e-9)
        self._carry = wanted - steps * dt
        if steps < 1:
            return None
        t0 = self.time
        first = int(round(t0 / dt))
        end = first + steps
        self.feed.prepare(t0, end * dt)
        probes = {f"{p}/{i}": (p, i) for p, i in set(self.selected.values())}
        traces: dict[str, list] = {key: [] for key in probes}
        marks: list[int] = []
        if probes:
            affordable = int(TRACE_BUDGET_S / self._run_cost) if self._run_cost > 0 else TRACE_SAMPLES
            parts = min(steps, TRACE_SAMPLES, max(2, affordable))
            marks = sorted(set(np.linspace(first, end, parts + 1).round().astype(int).tolist()[1:]))
        while True:
            step = int(round(self.time / dt))
            if self.task is not None and self.time >= self.task.due() - 1e-9:
                self.task.act(self)
            if step >= end:
                break
            stop = end
            if marks:
                stop = min(stop, next(m for m in marks if m > step))
            if self.task is not None:
                due = int(math.ceil(self.task.due() / dt - 1e-9))
                if due > step:
                    stop = min(stop, due)
            self.feed.push(self.handle)
            started = time.perf_counter()
            self.handle.advance((stop - step) * dt)
            if stop in marks:
                self._run_cost = 0.8 * self._run_cost + 0.2 * (time.perf_counter() - started)
                now = round(self.time, 3)
                for key, (pop, i) in probes.items():
                    traces[key].append([now, round(float(self.view.voltage(pop)[i]), 3)])
        return self._frame(t0, self.time, traces)

    def _frame(self, t0: float, t1: float, traces: dict) -> dict:
        spikes, leds, moods, sent, total = [], [], [], 0, 0
        found = self.handle.spikes_between(t0, t1)
        learned = self.view.learned()
        view = self.view
        for k, block in enumerate(self.layout["populations"]):
            name, shown, stride = block["name"], block["shown"], block["stride"]
            t, ids = found.get(name, (np.zeros(0), np.zeros(0, np.int32)))
            if stride > 1:
                keep = ids % stride == 0
                t, ids = t[keep], ids[keep] // stride
            total += int(ids.size)
            room = max(MAX_SPIKES - sent, 0)
            if ids.size:
                spikes.append({"p": k, "t": np.round(t[:room], 2).tolist(), "i": ids[:room].tolist()})
                sent += min(room, int(ids.size))
            v = view.voltage(name)
            if v is None:
                leds.append(screen_colours(None, None, np.zeros(shown, dtype=bool)))
                moods.append("-" * shown)
                continue
            pick = slice(None, None, stride)
            v, th = v[pick][:shown], view.threshold(name)[pick][:shown]
            down = view.down(name)
            down = None if down is None else down[pick][:shown]
            changed = learned.get(name)
            changed = None if changed is None else changed[pick][:shown]
            params = self.net.populations[name].params
            leds.append(screen_colours(params, v, np.zeros(shown, dtype=bool), threshold=th, learning=changed,
                                       down=down))
            if block["mode"] == "boxes":
                moods.append(self._moods(params, v, th, view.refractory(name)[:shown], changed, down))
        frame = {"type": "frame", "t0": round(t0, 3), "t": round(t1, 3), "spikes": spikes,
                 "dropped": total - sent, "leds": np.concatenate(leds).tobytes().hex(), "traces": traces,
                 "thresholds": {f"{p}/{i}": round(float(view.threshold(p)[i]), 3)
                                for p, i in set(self.selected.values())}}
        if self.layout["populations"] and self.layout["populations"][0]["mode"] == "boxes":
            frame["moods"] = "".join(moods)
        weights = view.edge_weights()
        if self._sent_weights is None or any(not np.array_equal(a, b) for a, b in zip(weights, self._sent_weights)):
            self._sent_weights = [w.copy() for w in weights]
            frame["weights"] = [np.round(w, 4).tolist() for w in weights]
        if self.task is not None and self.task.version != self._task_version:
            self._task_version = self.task.version
            frame["task"] = self.task.state()
        if self.target == "twin":
            frame["twin"] = self.twin_counters(t0)
        return frame

    @staticmethod
    def _moods(params, v, th, refractory, learned, down) -> str:
        """One letter per neuron for its face: c calm, t tense, r tired (refractory), l learning, x off."""
        rest = led_range(params)[0]
        mood = np.full(v.size, "c")
        mood[(v - rest) >= TENSE * np.maximum(th - rest, 1e-9)] = "t"
        mood[np.asarray(refractory, dtype=bool)] = "r"
        if learned is not None:
            mood[learned] = "l"
        if down is not None:
            mood[down] = "x"
        return "".join(mood.tolist())

    def twin_counters(self, since_ms: float | None = None) -> dict:
        """The twin's lost spikes (by cause), deliveries, broadcasts, and bus load since `since_ms`."""
        c = self.handle.counters(since_ms)
        load = c["bus_load"]
        return {"transport": self.transport, "emitted": c["emitted"], "delivered": c["delivered"],
                "lost": c["lost"], "lost_by_cause": c["lost_by_cause"], "broadcasts": c["broadcasts"],
                "bus_load": None if load is None else round(load, 4), "faults": len(self.handle.faults)}

    def weights(self) -> list[np.ndarray]:
        """The drawn weights per edge of the layout (pA or nS): one per wire, the mean |weight| per bundle."""
        return self.view.edge_weights()

    # -- controls -------------------------------------------------------------------------------
    def _neuron(self, pop: str, neuron: int) -> None:
        if pop not in self.net.populations:
            raise ConfigError("pop", f"no population named {pop!r}; populations: {', '.join(self.names)}")
        n = self.net.populations[pop].n
        if not 0 <= neuron < n:
            raise ConfigError("id", f"neuron {neuron} is not in {pop} (0 to {n - 1})")

    def touch(self, pop: str, neuron: int, down: bool | None = None) -> str:
        """A finger on neuron `neuron` of `pop`: down True (pressed), False (released) or None (a tap).

        An input fires (one spike now, a burst while held); a neuron gets a poke (engine only).
        Returns what happened: "spike", "burst", "released" or "poke".
        """
        self._neuron(pop, neuron)
        if pop in self.feed.sources:
            if down is False:
                self.feed.release(pop, neuron)
                return "released"
            if down:
                self.feed.press(pop, neuron, self.time)
                return "burst"
            self.feed.tap(pop, neuron, self.time)
            return "spike"
        if down is False:
            return "released"
        self.poke(pop, neuron)
        return "poke"

    def poke(self, pop: str, neuron: int) -> None:
        """Give neuron `neuron` of `pop` a short current pulse (POKE_MS) from now on; an input: one spike."""
        self._neuron(pop, neuron)
        if pop in self.feed.sources:
            self.feed.tap(pop, neuron, self.time)
            return
        if self.target == "twin":
            raise ConfigError("pop", f"{pop} is a unit: the units take no current, so they cannot be poked; "
                                     "touch an input (a spike source) to drive them")
        now = self.time
        neurons = self._poked.get(pop, set()) if now < self._poke_until.get(pop, -1.0) else set()
        neurons.add(neuron)
        self._poked[pop] = neurons
        self.handle.set_stimulus(self._pokes[pop], times=[now, now + self.poke_ms], neurons=sorted(neurons),
                                 amplitudes=[poke_amplitude(self.net.populations[pop].params, self.poke_ms), 0.0])
        self._poke_until[pop] = now + self.poke_ms

    def draw(self, pop: str, neurons: list[int]) -> str:
        """A pattern drawn over inputs of `pop`: the task answers it (digits), else each drawn input fires."""
        self.feed.check(pop)
        for i in neurons:
            self.feed.check(pop, i)
        if self.task is not None and pop == getattr(self.task, "pixels", None):
            return self.task.draw(self, list(neurons))
        for i in sorted(set(neurons)):
            self.feed.tap(pop, i, self.time)
        return f"{len(set(neurons))} inputs of {pop} fired"

    def drag(self, what: str, index: int | None, x_mm: float, y_mm: float) -> str:
        """Move the light or an obstacle of the task's arena (the vehicle demo) to (x_mm, y_mm); returns a note."""
        if self.task is None or not hasattr(self.task, "drag"):
            raise ConfigError("drag", "nothing here to drag: only the vehicle demo has an arena "
                                      "(neurobox board --demo vehicle)")
        return self.task.drag(what, index, x_mm, y_mm)

    def set_rate(self, pop: str, rate_hz: float) -> None:
        """Set the rate (Hz) of Poisson source `pop`."""
        self._neuron(pop, 0)
        if not 0.0 <= rate_hz <= MAX_RATE_HZ:
            raise ConfigError("value", f"rate must be in [0, {MAX_RATE_HZ:g}] Hz, got {rate_hz:g}")
        self.feed.set_rate(pop, rate_hz)

    def set_current(self, pop: str, current_pA: float) -> None:
        """Set the constant current (pA) into every neuron of `pop` (engine only)."""
        self._neuron(pop, 0)
        if pop not in self._current_pA:
            raise ConfigError("pop", f"{pop} is a spike source and takes no current")
        if self.target == "twin":
            raise ConfigError("pop", "the units take no current; switch back to the engine to set one")
        if not abs(current_pA) <= MAX_CURRENT_PA:
            raise ConfigError("value", f"current must be in [-{MAX_CURRENT_PA:g}, {MAX_CURRENT_PA:g}] pA, "
                                       f"got {current_pA:g}")
        self._current_pA[pop] = float(current_pA)
        self.handle.set_stimulus(self._currents[pop], amplitudes=[float(current_pA)])

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
        """Switch learning of every plastic projection on or off from the next chunk on; returns a note."""
        if on and not self.plastic:
            raise ConfigError("learning", "nothing in this network is plastic: there is nothing to learn")
        self.learning = bool(on)
        self.handle.learning = self.learning
        return f"learning {'on' if on else 'off'} for {', '.join(self.plastic) or 'nothing (no plastic projection)'}"

    def reward(self, amount: float = 1.0) -> str:
        """Broadcast a reward (+1) or punishment (-1) to the reward-modulated synapses, as the board's reward line."""
        if amount not in (1, -1):
            raise ConfigError("value", f"a reward is +1 or a punishment -1, got {amount!r}")
        if not self.rewardable:
            raise ConfigError("reward", "no synapse of this network learns from rewards (rule \"rstdp\")")
        self.handle.reward(amount)
        if self.task is not None and hasattr(self.task, "rewarded"):
            self.task.rewarded(amount)
        return f"{'reward' if amount > 0 else 'punishment'} sent to every synapse at t = {self.time / 1000:.2f} s"

    def set_target(self, target: str, transport: str | None = None) -> str:
        """Run the board on the engine or on the twin's units (over `transport`), from t = 0."""
        self._open(target, transport or self.transport)
        if target == "twin":
            return f"running on the units of the twin over the {self.transport} (fixed point, own clocks)"
        return "running on the engine"

    def fault(self, kind: str, pop: str | None = None, neuron: int | None = None, to_pop: str | None = None,
              to_neuron: int | None = None, value: float | None = None) -> str:
        """Break the twin's units now: kill or reset unit (pop, neuron), cut the wire from (pop, neuron) to
        (to_pop, to_neuron) (on the bus: the bus), drop a fraction `value` of every spike sent."""
        from neurobox.twin.faults import Dead, Drop, Reset, Stuck

        if self.target != "twin":
            raise ConfigError("fault", "faults break the physical units: switch the board to the twin first")
        if kind not in FAULTS:
            raise ConfigError("kind", f"unknown fault {kind!r}; faults: {', '.join(FAULTS)}")
        board = self.handle.board
        names = {where: name for name, where in {**board.neurons, **board.sources}.items()}

        def unit(p, i, what="unit"):
            if p is None or i is None:
                raise ConfigError("pop", f"{kind}: say which {what} (pop and id)")
            self._neuron(p, i)
            if what == "unit" and (p, i) not in board.neurons.values():
                raise ConfigError("pop", f"{p} is an input, not a unit")
            return names[(p, i)]

        if kind == "kill":
            fault, note = Dead(unit(pop, neuron)), f"{names.get((pop, neuron))} is dead"
        elif kind == "reset":
            fault = Reset(unit(pop, neuron), 0, int(RESET_DOWN_MS * 1e6))
            note = f"{names[(pop, neuron)]} resets: dark for {RESET_DOWN_MS:g} ms, then it boots with its EEPROM weights"
        elif kind == "cut":
            if self.transport == "bus":
                fault, note = Stuck("bus", None, False), "the bus is cut: no byte gets through"
            else:
                src, dst = unit(pop, neuron, "source"), unit(to_pop, to_neuron)
                fault, note = Stuck(src, dst, False), f"the wire {src} -> {dst} is cut"
        else:
            if value is None or not 0.0 <= value <= 1.0:
                raise ConfigError("value", f"a drop rate is in [0, 1], got {value!r}")
            fault, note = Drop(float(value)), f"every spike sent is lost with probability {value:g}"
        self.handle.inject(fault)
        return note

    def reset(self) -> None:
        """Start again from t = 0 on the same target, sliders kept."""
        self._open(self.target, self.transport)

    def controls(self) -> list[dict]:
        """The sliders of the page: a rate per Poisson source, a current per neuron population (engine)."""
        out = []
        for name, pop in self.net.populations.items():
            if name in self.feed.rates:
                rate = self.feed.rates[name]
                out.append({"pop": name, "kind": "rate", "unit": "Hz", "value": rate, "min": 0.0,
                            "max": float(min(MAX_RATE_HZ, max(100.0, 4 * rate)))})
            elif name in self._current_pA and self.target == "engine":
                r = rheobase(pop.params)
                out.append({"pop": name, "kind": "current", "unit": "pA", "value": self._current_pA[name],
                            "min": -round(2 * r), "max": round(3 * r)})
        return out

    def hello(self) -> dict:
        """What a new page needs: layout, sliders, time step, weights, targets, the task."""
        return {"type": "hello", "title": self.title, "dt": self.dt, "t": round(self.time, 3),
                "layout": self.layout, "controls": self.controls(), "poke_ms": self.poke_ms,
                "weights": [np.round(w, 4).tolist() for w in self.weights()],
                "voltage_range": [list(led_range(p.params)) if p.model.voltage else None
                                  for p in self.net.populations.values()],
                "colours": list(population_colours(self.net.populations, board=True, sources=[
                    name for name, p in self.net.populations.items() if p.model.is_source]).values()),
                "target": self.target, "transport": self.transport, "transports": list(TRANSPORTS),
                "twin": {"ok": self.twin_problem is None, "why": self.twin_problem},
                "plastic": self.plastic, "rewardable": self.rewardable, "inputs": self.feed.sources,
                "task": None if self.task is None else self.task.name,
                "task_state": None if self.task is None else self.task.state()}
