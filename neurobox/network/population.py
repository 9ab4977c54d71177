"""A population: n neurons of one model sharing their parameters."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from neurobox.checks import given, indices, number
from neurobox.errors import ConfigError
from neurobox.network import values
from neurobox.neurons import get_model
from neurobox.neurons.base import NeuronModel

MAX_NEURONS = 50_000_000


class Population:
    """`n` neurons of `model` (a name such as "iaf_cond_exp" or a NeuronModel).

    params:  parameter overrides, NEST names and units (see the model's table)
    initial: initial values of state variables: constants, arrays or
             distributions (see neurobox.network.values); the rest start
             where the model says (V_m at E_L, ...)
    method:  integration method (None: the model's default)
    preset:  a named parameter set of the model (applied before `params`)
    record_spikes: keep every spike of this population in the results (true),
             none (false), or those of neurons 0..k-1 only (a whole number k,
             1 <= k <= n: a sample of a big population)
    fixed_point: the integer scales of this population when the network runs
             in the chips' arithmetic: {"I_lsb": pA per current and weight
             step, "V_lsb": mV per membrane step}; what is not given is
             chosen from the population's incoming weights (see
             neurobox.engine.precision)
    """

    def __init__(self, n: int, model: str | NeuronModel, params: Mapping[str, Any] | None = None, *,
                 name: str | None = None, initial: Mapping[str, Any] | None = None,
                 method: str | None = None, preset: str | None = None, record_spikes: bool | int = True,
                 fixed_point: Mapping[str, Any] | None = None):
        self.name = name
        field = self.field
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ConfigError(f"{field}.n", f"must be a whole number of neurons between 1 and {MAX_NEURONS}, "
                                            f"got {given(n)}")
        if not 1 <= int(n) <= MAX_NEURONS:
            raise ConfigError(f"{field}.n", f"must be between 1 and {MAX_NEURONS}, got {given(n)}")
        self.n = int(n)
        self.model = get_model(model, f"{field}.model")
        self.preset = preset
        self.params = self.model.resolve_params(params, f"{field}.params", preset)
        self._given_params = dict(params or {})
        self.model.kernel(method, f"{field}.method")
        self.method = method or self.model.default_method
        self.initial = {}
        for var, spec in (initial or {}).items():
            self.model.state_index(var, f"{field}.initial.{var}")
            self.initial[var] = values.check_spec(spec, f"{field}.initial.{var}")
            if isinstance(self.initial[var], dict):  # a trial draw (bounded in size) finds bounds that exclude all
                values.draw(self.initial[var], min(self.n, 1000), np.random.default_rng(0), f"{field}.initial.{var}")
            elif np.ndim(self.initial[var]) and np.size(self.initial[var]) != self.n:
                raise ConfigError(f"{field}.initial.{var}", f"expected {self.n} values (one per neuron), got an "
                                                            f"array of {np.size(self.initial[var])}")
        self.record_spikes = _record_spikes(record_spikes, self.n, f"{field}.record_spikes")
        self.fixed_point = _fixed_point(fixed_point, f"{field}.fixed_point")
        if "spike_times" in self.params:
            from neurobox.neurons.sources import per_neuron_times
            per_neuron_times(self.params["spike_times"], self.n, f"{field}.params.spike_times")

    @property
    def field(self) -> str:
        return f"populations.{self.name}" if self.name else "population"

    def set(self, **params: Any) -> None:
        """Change parameters (e.g. a Poisson source's rate) before the next run."""
        given = {**self._given_params, **params}
        self.params = self.model.resolve_params(given, f"{self.field}.params", self.preset)
        self._given_params = given

    @property
    def given_params(self) -> dict[str, Any]:
        """The parameters set explicitly (what a model file stores)."""
        return dict(self._given_params)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Population({self.n}, {self.model.name!r}, name={self.name!r})"


FIXED_POINT_KEYS = ("I_lsb", "V_lsb")


def _fixed_point(spec: Mapping[str, Any] | None, field: str) -> dict[str, float]:
    """Checked integer scales: positive finite numbers under the keys I_lsb and V_lsb."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ConfigError(field, "expected a table such as { I_lsb = 1.0, V_lsb = 0.00390625 }")
    out = {}
    for key, value in spec.items():
        if key not in FIXED_POINT_KEYS:
            raise ConfigError(f"{field}.{key}", f"unknown key; valid: {', '.join(FIXED_POINT_KEYS)}")
        v = number(value, f"{field}.{key}", "a finite number > 0")
        if v <= 0:
            raise ConfigError(f"{field}.{key}", f"must be a finite number > 0, got {given(value)}")
        out[key] = v
    return out


def lookup(ref: "Population | str", populations: dict[str, Population], field: str) -> Population:
    """The population `ref` names (or is) among `populations`, or a ConfigError naming `field`."""
    if isinstance(ref, str):
        if ref not in populations:
            raise ConfigError(field, f"no population named {given(ref)}; populations: "
                                     f"{', '.join(populations) or 'none'}")
        return populations[ref]
    if isinstance(ref, Population) and populations.get(ref.name) is ref:
        return ref
    raise ConfigError(field, f"expected a population of this network or its name, got {given(ref)}")


def check_neuron_indices(neurons, n: int, field: str) -> list[int]:
    """`neurons` must be a non-empty flat list of indices into a population of n neurons; returned as a list."""
    return indices(neurons, n, field, allow_empty=False).tolist()


def PoissonSource(n: int, rate_hz: float, *, name: str | None = None) -> Population:
    """`n` independent Poisson spike trains at `rate_hz` (NEST poisson_generator)."""
    return Population(n, "poisson_generator", {"rate": rate_hz}, name=name)


def SpikeSource(spike_times: Any, n: int | None = None, *, name: str | None = None) -> Population:
    """Neurons firing at given times (ms): one list per neuron, or one list for `n` neurons."""
    items = list(spike_times)
    nested = len(items) > 0 and all(isinstance(x, (list, tuple, np.ndarray)) for x in items)
    if n is None:
        n = len(items) if nested else 1
    return Population(n, "spike_generator", {"spike_times": items}, name=name)


def _record_spikes(value: Any, n: int, field: str) -> bool | int:
    """true, false, or k: the spikes of neurons 0..k-1 (1 <= k <= n)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and 1 <= int(value) <= n:
        return int(value)
    raise ConfigError(field, f"expected true, false or a whole number of neurons from 1 to {n} (record neurons "
                             f"0..k-1), got {given(value)}")
