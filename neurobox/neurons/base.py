"""What every neuron model provides, and how the engine calls it.

A model is a `NeuronModel`: a parameter table (name, default, unit,
meaning, allowed range), its state variables, its synaptic receptors, a
function that turns parameters and the time step into a flat array of
constants, and one compiled step kernel per integration method (the
first is the default; a population may choose another with `method=`).

The kernel contract (all models, all targets of the float engine)::

    n_spikes = kernel(state, consts, syn_in, i_in, rng, step_index, spikes_out)

    state       float64[n_state, N]  state variables, rows in `model.state` order;
                                     updated in place by one time step
    consts      float64[:]           what `model.constants(params, dt, n)` returned
    syn_in      float64[n_receptors, N]  synaptic input arriving this step
                                     (weights summed per receptor: pA for
                                     current receptors, nS for conductance);
                                     the kernel must reset it to 0 after use
    i_in        float64[N]           external current this step, pA
                                     (step-current stimuli, gap junctions)
    rng         uint64[4]            the population's random stream
                                     (xoshiro256**, see neurobox.random);
                                     only stochastic models use it
    step_index  int64                index of this step (t = step_index*dt ms
                                     at its start)
    spikes_out  int32[>= N]          the kernel writes the indices of the
                                     neurons that fired, in increasing order;
                                     it holds N x model.max_spikes(params, dt)
                                     entries, so it may be larger than N: a
                                     kernel takes N from its state or
                                     constants, never from spikes_out's size.
                                     A source may write one index several
                                     times in a row (a poisson_generator's
                                     count): each entry is one spike, so the
                                     targets receive weight x count and the
                                     recorder records count events

It returns the number of spikes written, or -1 - i if neuron i's state
became NaN (the engine stops the run with an error naming the population
and the time).

A model that is not a spike source must treat its neurons independently:
no random stream, no per-neuron constants, nothing read from
spikes_out's length. The engine may then call its kernel on a block of
neurons (views state[:, lo:hi], syn_in[:, lo:hi], i_in[lo:hi],
spikes_out[lo:hi]) on several threads (neurobox.engine.codegen); its
rows, read through neurobox.neurons.integrators.row, then loop as fast as
a whole population's. A
source's kernel always sees its whole population (its random stream is
drawn in one order).

The step follows NEST's order: integrate the membrane with the synaptic
state at the start of the step, then decay the synapses and add the input
that arrived in this step (so input affects the membrane from the next
step on), then test the threshold and reset.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from neurobox.checks import number
from neurobox.checks import given as _given
from neurobox.errors import ConfigError


@dataclass(frozen=True)
class Parameter:
    """One entry of a model's parameter table.

    `low`/`high` bound the allowed values; `low_open`/`high_open` say
    whether the bound itself is excluded (a time constant must be > 0).
    """

    name: str
    default: float
    unit: str
    doc: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def allowed(self) -> str:
        """The allowed range, written for an error message."""
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        hi = ")" if self.high_open or self.high == math.inf else "]"
        lo = "(" if self.low_open or self.low == -math.inf else "["
        return f"{lo}{self.low:g}, {self.high:g}{hi} {self.unit}".strip()

    def check(self, value: float, field_path: str) -> float:
        """Return `value` as float, or raise ConfigError naming `field_path`."""
        v = number(value, field_path, f"a number in {self.allowed()}")
        below = v <= self.low if self.low_open else v < self.low
        above = v >= self.high if self.high_open else v > self.high
        if below or above:
            raise ConfigError(field_path, f"{v:g} is outside the allowed range {self.allowed()}")
        return v


@dataclass(frozen=True)
class StateVariable:
    """A state variable: its name, unit, meaning and initial value.

    `initial` is either a parameter name (the variable starts at that
    parameter's value, e.g. V_m starts at E_L), a number, or a function
    of the parameter dict.
    """

    name: str
    unit: str
    doc: str
    initial: str | float | Callable[[Mapping[str, float]], float] = 0.0

    def initial_value(self, params: Mapping[str, float]) -> float:
        if isinstance(self.initial, str):
            return float(params[self.initial])
        if callable(self.initial):
            return float(self.initial(params))
        return float(self.initial)


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model as the engine and the documentation see it.

    `receptor_kind` is "current" (weights in pA, signed: excitatory >= 0,
    inhibitory <= 0, as NEST's psc models) or "conductance" (weights in nS,
    >= 0; the reversal potential makes a receptor inhibitory), "signed"
    (weights of either sign on either receptor: the e-prop models), or
    "none" for spike sources that receive no synapses.
    `constants(params, dt, n)` returns the float64 array the kernel reads
    (n is the population size; spike sources pack per-neuron data there).
    `methods` maps an integration method's name to its kernel; the first
    entry is the default. `array_params` names parameters that are arrays
    rather than numbers (a spike generator's spike times); `validate`
    checks them and any constraint between parameters.
    `voltage` names the membrane-potential state variable (for plots,
    gap junctions and the LED), or None for spike sources.
    `max_spikes_per_step(params, dt)` gives the most spikes one neuron may
    emit in one step (None: 1, every neuron model); the engine sizes the
    kernel's `spikes_out` as N times it (see `max_spikes`).
    """

    name: str
    summary: str
    equations: str
    integration: str
    parameters: tuple[Parameter, ...]
    state: tuple[StateVariable, ...]
    receptors: tuple[str, ...]
    receptor_kind: str
    constants: Callable[[Mapping[str, object], float, int], np.ndarray]
    methods: Mapping[str, Callable]
    voltage: str | None = "V_m"
    references: tuple[str, ...] = ()
    presets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    validate: Callable[[Mapping[str, object], str], None] | None = None
    is_source: bool = False
    array_params: tuple[str, ...] = ()
    max_spikes_per_step: Callable[[Mapping[str, object], float], int] | None = None

    def max_spikes(self, params: Mapping[str, object], dt: float) -> int:
        """The most spikes one neuron emits in one step with these parameters (>= 1)."""
        if self.max_spikes_per_step is None:
            return 1
        return max(1, int(self.max_spikes_per_step(params, dt)))

    @property
    def default_method(self) -> str:
        return next(iter(self.methods))

    def kernel(self, method: str | None, field_path: str = "method") -> Callable:
        """The compiled step kernel for integration `method` (None: the default)."""
        method = self.default_method if method is None else method
        if not isinstance(method, str) or method not in self.methods:
            raise ConfigError(field_path, f"model {self.name} has no integration method {_given(method)}; "
                                          f"valid: {', '.join(self.methods)}")
        return self.methods[method]

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.state)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.parameters}

    def default_state(self, params: Mapping[str, float], n: int) -> np.ndarray:
        """float64[n_state, n]: n neurons at the initial values of the state variables (see StateVariable)."""
        state = np.empty((len(self.state), n), dtype=np.float64)
        for row, var in enumerate(self.state):
            state[row] = var.initial_value(params)
        return state

    def resolve_params(self, given: Mapping[str, object] | None, field_path: str,
                       preset: str | None = None) -> dict[str, float]:
        """Defaults, overlaid by a preset, overlaid by `given`; every value checked.

        Raises ConfigError naming the field for an unknown name or a value
        out of range.
        """
        params = self.defaults()
        if preset is not None:
            if not isinstance(preset, str) or preset not in self.presets:
                raise ConfigError(f"{field_path}.preset",
                                  f"unknown preset {_given(preset)} for model {self.name}; "
                                  f"valid presets: {', '.join(sorted(self.presets)) or 'none'}")
            params.update(self.presets[preset])
        table = {p.name: p for p in self.parameters}
        for key, value in (given or {}).items():
            if key in self.array_params:
                params[key] = value
                continue
            if key not in table:
                raise ConfigError(f"{field_path}.{key}",
                                  f"unknown parameter for model {self.name}; "
                                  f"valid parameters: {', '.join(self.parameter_names + self.array_params)}")
            params[key] = value
        for key in table:
            params[key] = table[key].check(params[key], f"{field_path}.{key}")
        if self.validate is not None:
            self.validate(params, field_path)
        return params

    def constants_at(self, params: Mapping[str, object], dt: float, n: int, field_path: str) -> np.ndarray:
        """`constants(params, dt, n)` as a contiguous float64 array, or a ConfigError naming the parameter
        (under `field_path`) that makes a constant overflow or not a finite number at this dt."""
        consts = _finite_constants(lambda p: self.constants(p, dt, n), params)
        if consts is not None:
            return consts
        defaults = self.defaults()
        for key in params:  # blame the first parameter whose default would make every constant finite
            if key in defaults and params[key] != defaults[key]:
                if _finite_constants(lambda p: self.constants(p, dt, n), {**params, key: defaults[key]}) is not None:
                    raise ConfigError(f"{field_path}.{key}", f"{_given(params[key])} makes the model's constants "
                                                             f"overflow or not finite at dt = {dt:g} ms; allowed: "
                                                             f"a value giving finite constants (default "
                                                             f"{defaults[key]:g})")
        raise ConfigError(field_path, f"these parameters make the model's constants overflow or not finite at "
                                      f"dt = {dt:g} ms; allowed: values giving finite constants")

    def state_index(self, name: str, field_path: str = "variable") -> int:
        """Row of state variable `name` in the state array."""
        names = self.state_names
        if not isinstance(name, str) or name not in names:
            raise ConfigError(field_path, f"model {self.name} has no state variable {_given(name)}; "
                                          f"valid: {', '.join(names)}")
        return names.index(name)

    def receptor_index(self, name: str, field_path: str = "receptor") -> int:
        if not isinstance(name, str) or name not in self.receptors:
            valid = ", ".join(self.receptors) or "none (this model receives no synapses)"
            raise ConfigError(field_path, f"model {self.name} has no receptor {_given(name)}; valid: {valid}")
        return self.receptors.index(name)

    def parameter_table(self) -> str:
        """The parameter table as Markdown (name, default, unit, meaning)."""
        rows = ["| name | default | unit | meaning |", "|---|---|---|---|"]
        rows += [f"| `{p.name}` | {p.default:g} | {p.unit} | {p.doc} |" for p in self.parameters]
        return "\n".join(rows)


def _finite_constants(make: Callable, params: Mapping[str, object]) -> np.ndarray | None:
    """make(params) as contiguous float64, or None when it overflows or is not finite."""
    try:
        with np.errstate(all="ignore"):
            consts = np.ascontiguousarray(make(params), dtype=np.float64)
    except ConfigError:
        raise
    except (ArithmeticError, ValueError):
        return None
    return consts if np.all(np.isfinite(consts)) else None


def positive(name: str, default: float, unit: str, doc: str) -> Parameter:
    """A parameter that must be > 0 (capacitances, time constants)."""
    return Parameter(name, default, unit, doc, low=0.0, low_open=True)


def non_negative(name: str, default: float, unit: str, doc: str) -> Parameter:
    """A parameter that must be >= 0 (conductances, refractory periods)."""
    return Parameter(name, default, unit, doc, low=0.0)


def any_value(name: str, default: float, unit: str, doc: str) -> Parameter:
    """A parameter with no range restriction beyond being finite (potentials)."""
    return Parameter(name, default, unit, doc)
