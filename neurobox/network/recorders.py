"""State recorders: a state variable of chosen neurons, every k steps."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from neurobox.errors import ConfigError
from neurobox.network.population import Population, check_neuron_indices, lookup


class StateRecorder:
    """Record `variables` of `neurons` (None: all) of `population` every `every` steps.

    A sample is taken at the end of each step whose end time is a multiple
    of every*dt, so the sample times are every*dt, 2*every*dt, ... (ms).
    """

    def __init__(self, population: Population | str, variables: Sequence[str] | str, *,
                 neurons: Sequence[int] | None = None, every: int = 1, name: str | None = None):
        self.population = population
        self.variables = [variables] if isinstance(variables, str) else list(variables)
        self.neurons = None if neurons is None else list(neurons)
        self.every = every
        self.name = name

    @property
    def field(self) -> str:
        return f"recorders.{self.name}" if self.name else "recorder"

    def resolve(self, populations: dict[str, Population], field: str) -> None:
        self.population = lookup(self.population, populations, f"{field}.population")
        if not self.variables:
            raise ConfigError(f"{field}.variables", "name at least one state variable")
        for var in self.variables:
            self.population.model.state_index(var, f"{field}.variables")
        if isinstance(self.every, bool) or not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise ConfigError(f"{field}.every", f"must be a whole number of steps >= 1, got {self.every!r}")
        if self.neurons is not None:
            check_neuron_indices(self.neurons, self.population.n, f"{field}.neurons")

    def neuron_indices(self) -> np.ndarray:
        return np.arange(self.population.n) if self.neurons is None else np.asarray(self.neurons, np.int64)
