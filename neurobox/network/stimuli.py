"""Current stimuli injected into neurons (NEST's step_current_generator).

Spike sources (Poisson, spike-time arrays) are populations instead: see
`PoissonSource` and `SpikeSource` in neurobox.network.population.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from neurobox.checks import numbers
from neurobox.errors import ConfigError
from neurobox.network.population import Population, check_neuron_indices, lookup


class StepCurrent:
    """A piecewise-constant current (pA) into some or all neurons of `target`.

    From times[k] (ms) on, the current is amplitudes[k], until the next
    time; before times[0] it is 0. Several stimuli on one neuron add up.
    `times` and `amplitudes` may be changed between runs.
    """

    def __init__(self, target: Population | str, times: Sequence[float], amplitudes: Sequence[float], *,
                 neurons: Sequence[int] | None = None, name: str | None = None):
        self.target = target
        self.name = name
        self.neurons = neurons
        self.times = times
        self.amplitudes = amplitudes

    @property
    def times(self) -> tuple[float, ...]:
        """Times (ms) at which the amplitude changes."""
        return self._times

    @times.setter
    def times(self, values) -> None:
        self._times = tuple(numbers(values, f"{self.field}.times", "an array of times (ms)").tolist())
        self.version = getattr(self, "version", 0) + 1

    @property
    def amplitudes(self) -> tuple[float, ...]:
        """The current (pA) from each time on."""
        return self._amplitudes

    @amplitudes.setter
    def amplitudes(self, values) -> None:
        self._amplitudes = tuple(numbers(values, f"{self.field}.amplitudes", "an array of currents (pA)").tolist())
        self.version = getattr(self, "version", 0) + 1

    @property
    def field(self) -> str:
        return f"stimuli.{self.name}" if self.name else "stimulus"

    def resolve(self, populations: dict[str, Population], field: str) -> None:
        self.target = lookup(self.target, populations, f"{field}.target")
        if self.target.model.is_source:
            raise ConfigError(f"{field}.target", f"{self.target.name} is a spike source and takes no current")
        self.check(field)

    def check(self, field: str) -> None:
        times = np.asarray(self.times, dtype=float)
        amps = np.asarray(self.amplitudes, dtype=float)
        if times.ndim != 1 or amps.shape != times.shape:
            raise ConfigError(f"{field}.amplitudes", f"needs one amplitude per time: {times.size} times, "
                                                     f"{amps.size} amplitudes")
        if not (np.all(np.isfinite(times)) and np.all(np.isfinite(amps))):
            raise ConfigError(f"{field}.times", "times (ms) and amplitudes (pA) must be finite numbers")
        if times.size and (times.min() < 0 or np.any(np.diff(times) <= 0)):
            raise ConfigError(f"{field}.times", "times must be >= 0 ms and strictly increasing")
        if self.neurons is not None:
            self.neurons = check_neuron_indices(self.neurons, self.target.n, f"{field}.neurons")

    def neuron_indices(self) -> np.ndarray:
        return np.arange(self.target.n) if self.neurons is None else np.asarray(self.neurons, dtype=np.int64)


def DCCurrent(target: Population | str, amplitude_pA: float, *, start_ms: float = 0.0,
              stop_ms: float | None = None, neurons: Sequence[int] | None = None,
              name: str | None = None) -> StepCurrent:
    """A constant current from start_ms to stop_ms (None: for ever)."""
    times = [start_ms] if stop_ms is None else [start_ms, stop_ms]
    amplitudes = [amplitude_pA] if stop_ms is None else [amplitude_pA, 0.0]
    return StepCurrent(target, times, amplitudes, neurons=neurons, name=name)
