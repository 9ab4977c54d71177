"""The Network: populations, projections, stimuli and recorders, and a seed.

A Network is only a description; `run` hands it to the engine
(neurobox.engine), which compiles it once and keeps its state, so a second
`run` continues where the first stopped. Stimuli and source rates may be
changed between runs; adding populations or projections after a run needs
`reset()` first.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from neurobox.errors import ConfigError
from neurobox.network.population import Population
from neurobox.network.projection import Projection
from neurobox.network.recorders import StateRecorder
from neurobox.network.stimuli import StepCurrent

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
PRECISIONS = ("float", "fixed")


class Network:
    """A spiking network description.

    dt:       time step, ms (> 0)
    seed:     master seed of every random choice (connectivity, initial
              state, Poisson sources)
    duration: default run length, ms, for `run()` without an argument and
              for `neurobox run`
    precision: "float" (float64 state), or "fixed": the integer arithmetic
              of the chips (neurobox.engine.precision)
    """

    def __init__(self, dt: float = 0.1, seed: int = 0, *, duration: float = 1000.0, precision: str = "float"):
        self.dt = _positive(dt, "network.dt")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError("network.seed", f"must be a whole number >= 0, got {seed!r}")
        self.seed = seed
        self.duration = _positive(duration, "network.duration")
        if precision not in PRECISIONS:
            raise ConfigError("network.precision", f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
        self.precision = precision
        self.learning = True
        """Global learning switch: False freezes every plastic projection in later runs."""
        self.populations: dict[str, Population] = {}
        self.projections: dict[str, Projection] = {}
        self.stimuli: dict[str, StepCurrent] = {}
        self.recorders: dict[str, StateRecorder] = {}
        self._simulation = None

    # -- building -----------------------------------------------------------
    def add(self, *objects: Any):
        """Add populations, projections, stimuli or recorders; returns what was added."""
        for obj in objects:
            if isinstance(obj, Population):
                self._add_population(obj)
            elif isinstance(obj, Projection):
                self._add_projection(obj)
            elif isinstance(obj, StepCurrent):
                self._add_named(self.stimuli, obj, "stimuli", f"stim{len(self.stimuli)}")
                obj.resolve(self.populations, obj.field)
            elif isinstance(obj, StateRecorder):
                self._structure_changes("recorders")
                self._add_named(self.recorders, obj, "recorders", f"rec{len(self.recorders)}")
                obj.resolve(self.populations, obj.field)
            else:
                raise ConfigError("network", f"cannot add {obj!r}: expected a Population, Projection, "
                                             "StepCurrent or StateRecorder")
        return objects[0] if len(objects) == 1 else objects

    def population(self, name: str, n: int, model: str, params: dict | None = None, **options: Any) -> Population:
        """Create and add a population (see Population for the options)."""
        return self.add(Population(n, model, params, name=name, **options))

    def connect(self, pre: Population | str, post: Population | str, rule: str = "all_to_all",
                **options: Any) -> Projection:
        """Create and add a projection (see Projection for the options)."""
        return self.add(Projection(pre, post, rule, **options))

    def include(self, module: "Network", prefix: str) -> None:
        """Add a copy of another network as a module: its names become "prefix.name".

        Connect modules afterwards like any populations, e.g.
        net.connect("ganglion.out", "learner.input", ...). The host's seed
        and dt apply (the module's dt must be the same).
        """
        from neurobox.network.modelfile import include
        self._structure_changes("modules")
        include(self, module, prefix)

    def record(self, population: Population | str, variables, **options: Any) -> StateRecorder:
        """Create and add a state recorder (see StateRecorder for the options)."""
        return self.add(StateRecorder(population, variables, **options))

    def _add_population(self, pop: Population) -> None:
        self._structure_changes("populations")
        self._add_named(self.populations, pop, "populations", f"pop{len(self.populations)}")

    def _add_projection(self, proj: Projection) -> None:
        self._structure_changes("projections")
        pre = getattr(proj.pre, "name", proj.pre)
        post = getattr(proj.post, "name", proj.post)
        default = f"{pre}_{post}"
        k = 1
        while default in self.projections:
            k += 1
            default = f"{pre}_{post}_{k}"
        self._add_named(self.projections, proj, "projections", default)
        try:
            proj.resolve(self.populations, proj.field, self.dt)
        except ConfigError:
            del self.projections[proj.name]
            raise

    def _add_named(self, table: dict, obj: Any, kind: str, default: str) -> None:
        if obj.name is None:
            obj.name = default
        if not isinstance(obj.name, str) or not NAME_PATTERN.match(obj.name):
            raise ConfigError(f"{kind}.{obj.name}", "names start with a letter or _ and contain only "
                                                    "letters, digits, _ . -")
        if obj.name in table:
            raise ConfigError(f"{kind}.{obj.name}", f"the name {obj.name!r} is already used")
        table[obj.name] = obj

    def _structure_changes(self, what: str) -> None:
        if self._simulation is not None:
            raise ConfigError(what, "the network has already run; call reset() before changing its structure")

    # -- running ------------------------------------------------------------
    def run(self, duration: float | None = None, *, progress: bool | None = None):
        """Simulate `duration` ms (default: the network's duration) and return the results so far.

        A second call continues from where the first stopped. `progress`:
        True shows a bar, False hides it, None shows it on a terminal for
        long runs.
        """
        duration = self.duration if duration is None else _positive(duration, "duration")
        return self._simulation_for(progress).run(duration, progress=progress)

    def advance(self, duration: float, *, progress: bool | None = False) -> None:
        """Simulate `duration` ms more without assembling results (for live views; see `run`)."""
        self._simulation_for(progress).run(_positive(duration, "duration"), progress=progress, collect=False)

    def _simulation_for(self, progress: bool | None):
        """The running simulation, compiled at the first call."""
        if self._simulation is None:
            from neurobox.engine.simulation import Simulation  # the description never needs the engine otherwise

            if not self.populations:
                raise ConfigError("populations", "the network has no population")
            self._simulation = Simulation(self, progress=progress)
        return self._simulation

    @property
    def results(self):
        """Everything recorded so far (None before the first run)."""
        return None if self._simulation is None else self._simulation.results()

    @property
    def time(self) -> float:
        """Biological time reached, ms."""
        return 0.0 if self._simulation is None else self._simulation.time_ms

    def spikes_between(self, t0_ms: float, t1_ms: float) -> dict:
        """Spikes with t0_ms < t <= t1_ms per population, as (t_ms, ids) pairs (cheap for live views)."""
        if self._simulation is None:
            return {}
        return self._simulation.spikes_between(t0_ms, t1_ms)

    def state(self, population: str, variable: str):
        """A copy of the current values of `variable` for every neuron of `population`."""
        if population not in self.populations:
            raise ConfigError("population", f"no population named {population!r}")
        pop = self.populations[population]
        row = pop.model.state_index(variable)
        if self._simulation is None:
            from neurobox.engine.compile import initial_state
            return initial_state(pop, self.seed)[row]
        return self._simulation.state(population)[row].copy()

    def set_state(self, population: str, variable: str, values) -> None:
        """Overwrite `variable` of every neuron of `population` in the running network (e.g. a reset)."""
        if self._simulation is None:
            raise ConfigError("set_state", "run the network first (before that, use `initial`)")
        if population not in self.populations:
            raise ConfigError("population", f"no population named {population!r}")
        row = self.populations[population].model.state_index(variable)
        target = self._simulation.state(population)[row]
        new = np.broadcast_to(np.asarray(values, dtype=np.float64), target.shape)
        if not np.all(np.isfinite(new)):
            raise ConfigError(f"{population}.{variable}", "values must be finite")
        target[:] = new

    def reward(self, amount: float, projection: str | None = None) -> None:
        """Broadcast a reward (dopamine) of `amount` to reward-modulated projections.

        projection: one projection's name, or None for every rstdp projection.
        """
        rstdp = [name for name, p in self.projections.items()
                 if getattr(p, "plasticity", None) is not None and p.plasticity.rule == "rstdp"]
        if projection is not None:
            if projection not in rstdp:
                raise ConfigError("reward", f"projection {projection!r} has no reward-modulated plasticity "
                                            f"(rule = \"rstdp\"); reward-modulated: {', '.join(rstdp) or 'none'}")
            rstdp = [projection]
        if not rstdp:
            raise ConfigError("reward", "no projection of this network has reward-modulated plasticity "
                                        "(rule = \"rstdp\")")
        if self._simulation is None:
            raise ConfigError("reward", "run the network before rewarding it")
        self._simulation.reward(float(amount), rstdp)

    def weights(self, projection: str):
        """(pre, post, weight, delay_steps) of a projection as they are now (after learning)."""
        if projection not in self.projections:
            raise ConfigError("projection", f"no projection named {projection!r}")
        if self._simulation is None:
            from neurobox.engine.compile import compile_network
            for cp in compile_network(self).projections:
                if cp.name == projection:
                    return cp.to_lists()
        return self._simulation.weights(projection)

    def reset(self) -> None:
        """Forget the simulation: the next run starts again from t = 0."""
        self._simulation = None

    # -- files ----------------------------------------------------------------
    def to_toml(self) -> str:
        from neurobox.network.modelfile import dumps
        return dumps(self)

    def save(self, path) -> None:
        """Write the description as a TOML model file (atomically)."""
        from neurobox.network.modelfile import save
        save(self, path)

    def __repr__(self) -> str:
        n = sum(p.n for p in self.populations.values())
        return (f"Network({len(self.populations)} populations, {n} neurons, "
                f"{len(self.projections)} projections, dt={self.dt} ms, seed={self.seed})")


def _positive(value: Any, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"expected a number > 0, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(field, f"must be a finite number > 0, got {value!r}")
    return v
