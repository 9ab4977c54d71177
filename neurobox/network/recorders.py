"""State recorders: a state variable of chosen neurons, every k steps."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from neurobox.checks import given, whole
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
        self.variables = [variables] if isinstance(variables, str) else variables
        self.neurons = neurons
        self.every = every
        self.name = name

    @property
    def field(self) -> str:
        return f"recorders.{self.name}" if self.name else "recorder"

    def resolve(self, populations: dict[str, Population], field: str) -> None:
        self.population = lookup(self.population, populations, f"{field}.population")
        names = self.population.model.state_names
        if not isinstance(self.variables, (list, tuple)) or not self.variables:
            raise ConfigError(f"{field}.variables", f"expected a state variable or an array of them, got "
                                                    f"{given(self.variables)}; valid: {', '.join(names)}")
        self.variables = list(self.variables)
        for k, var in enumerate(self.variables):
            self.population.model.state_index(var, f"{field}.variables[{k}]")
        self.every = whole(self.every, f"{field}.every", 1, what="a whole number of steps")
        if self.neurons is not None:
            self.neurons = check_neuron_indices(self.neurons, self.population.n, f"{field}.neurons")

    def neuron_indices(self) -> np.ndarray:
        return np.arange(self.population.n) if self.neurons is None else np.asarray(self.neurons, np.int64)
