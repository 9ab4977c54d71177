"""The Network: populations, projections, stimuli and recorders, and a seed.

A Network is only a description: plain data that can be edited, saved
and loaded, and that knows nothing of how it is run. Running it is the
business of a target: `neurobox.run(net, 1000.0)` for one run, or
`neurobox.Simulation(net)` for a run handle that continues, is rewarded
and changed while it runs (neurobox.engine); `neurobox.targets` for the
twin, the firmware and the FPGA.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from neurobox.checks import choice, given, number, whole
from neurobox.errors import ConfigError
from neurobox.limits import MAX_STEPS
from neurobox.network.population import Population
from neurobox.network.projection import Projection
from neurobox.network.recorders import StateRecorder
from neurobox.network.stimuli import StepCurrent

DT_RANGE = (1e-6, 1e4)
"""Allowed time steps, ms."""
MAX_SEED = 2 ** 64 - 1
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
        self.dt = positive_number(dt, "network.dt")
        if not DT_RANGE[0] <= self.dt <= DT_RANGE[1]:
            raise ConfigError("network.dt", f"must be in [{DT_RANGE[0]:g}, {DT_RANGE[1]:g}] ms, got {given(dt)}")
        self.seed = whole(seed, "network.seed", 0, MAX_SEED, "a whole number")
        self.duration = check_duration(duration, self.dt, "network.duration")
        self.precision = choice(precision, PRECISIONS, "network.precision", "precision")
        self.populations: dict[str, Population] = {}
        self.projections: dict[str, Projection] = {}
        self.stimuli: dict[str, StepCurrent] = {}
        self.recorders: dict[str, StateRecorder] = {}

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
        include(self, module, prefix)

    def record(self, population: Population | str, variables, **options: Any) -> StateRecorder:
        """Create and add a state recorder (see StateRecorder for the options)."""
        return self.add(StateRecorder(population, variables, **options))

    def _add_population(self, pop: Population) -> None:
        self._add_named(self.populations, pop, "populations", f"pop{len(self.populations)}")

    def _add_projection(self, proj: Projection) -> None:
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
        if not isinstance(obj.name, str) or not NAME_PATTERN.fullmatch(obj.name):
            raise ConfigError(f"{kind}.{obj.name}", f"got {given(obj.name)}; names start with a letter or _ and contain only "
                                                    "letters, digits, _ . -")
        if obj.name in table:
            raise ConfigError(f"{kind}.{obj.name}", f"the name {obj.name!r} is already used")
        table[obj.name] = obj

    def copy(self) -> "Network":
        """An independent deep copy of the description (the immutable neuron models are shared)."""
        return copy.deepcopy(self, {id(p.model): p.model for p in self.populations.values()})

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


def positive_number(value: Any, field: str) -> float:
    """`value` as a float, or a ConfigError naming `field` unless it is a finite number > 0."""
    v = number(value, field, "a finite number > 0")
    if v <= 0:
        raise ConfigError(field, f"must be a finite number > 0, got {given(value)}")
    return v


def check_duration(value: Any, dt: float, field: str) -> float:
    """A run length in ms: > 0 and at most MAX_STEPS steps of dt."""
    v = positive_number(value, field)
    if v / dt > MAX_STEPS:
        raise ConfigError(field, f"must be at most {MAX_STEPS:.0e} steps ({MAX_STEPS * dt:g} ms at dt = {dt:g} ms), "
                                 f"got {given(value)}")
    return v
