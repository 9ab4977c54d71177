"""Values given as a constant, an array, or a seeded random distribution.

Weights, delays and initial states accept any of::

    6.0                                              a constant
    [1.0, 2.0, 3.0]                                  one value per element
    {"distribution": "normal", "mean": 40.0, "std": 15.0}
    {"distribution": "uniform", "low": -60.0, "high": -50.0}
    {"distribution": "lognormal", "mu": 0.0, "sigma": 1.0}

A distribution may add "min" and/or "max": values outside are redrawn
(as NEST's redraw), so the result keeps the distribution's shape.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from numba import njit

from neurobox.checks import choice, number, numbers
from neurobox.errors import ConfigError
from neurobox.random import next_double

DISTRIBUTIONS = {
    "normal": ("mean", "std"),
    "uniform": ("low", "high"),
    "lognormal": ("mu", "sigma"),
}
_BOUNDS = ("min", "max")


def check_spec(spec: Any, field: str) -> Any:
    """Validate a value spec without drawing from it; return it normalised."""
    if isinstance(spec, dict):
        if "distribution" not in spec:
            raise ConfigError(f"{field}.distribution", f"a table here is a distribution and needs this key; "
                                                       f"valid: {', '.join(DISTRIBUTIONS)}")
        kind = choice(spec["distribution"], DISTRIBUTIONS, f"{field}.distribution", "distribution")
        needed = DISTRIBUTIONS[kind]
        allowed = ("distribution",) + needed + _BOUNDS
        for key in spec:
            if key not in allowed:
                raise ConfigError(f"{field}.{key}", f"unknown key for a {kind} distribution; valid: {', '.join(allowed)}")
        out = {"distribution": kind}
        for key in needed + _BOUNDS:
            if key in spec:
                out[key] = _finite(spec[key], f"{field}.{key}")
            elif key in needed:
                raise ConfigError(f"{field}.{key}", f"a {kind} distribution needs {', '.join(needed)}")
        if kind == "normal" and out["std"] < 0:
            raise ConfigError(f"{field}.std", f"must be >= 0, got {out['std']:g}")
        if kind == "lognormal" and out["sigma"] < 0:
            raise ConfigError(f"{field}.sigma", f"must be >= 0, got {out['sigma']:g}")
        if kind == "uniform" and out["high"] < out["low"]:
            raise ConfigError(f"{field}.high", f"must be >= low ({out['low']:g}), got {out['high']:g}")
        if kind == "uniform" and not math.isfinite(out["high"] - out["low"]):
            raise ConfigError(f"{field}.high", f"high - low must be a finite number, got {out['high']:g} - "
                                               f"({out['low']:g})")
        if "min" in out and "max" in out and out["max"] < out["min"]:
            raise ConfigError(f"{field}.max", f"must be >= min ({out['min']:g})")
        return out
    if isinstance(spec, (list, tuple, np.ndarray)):
        return numbers(spec, field, "a number, a flat array of numbers or a distribution table")
    return number(spec, field, "a number, a flat array of numbers or a distribution table")


def draw(spec: Any, size: int, rng: np.random.Generator | None, field: str, dtype=np.float64) -> np.ndarray:
    """`size` values of `dtype` from a checked spec (constant, array or distribution)."""
    if isinstance(spec, dict):
        if rng is None:
            raise ConfigError(field, "a distribution needs a random stream")
        values = _draw_distribution(spec, size, rng, field)
    elif np.ndim(spec) == 0:
        values = np.full(size, float(spec))
    else:
        values = np.asarray(spec, dtype=np.float64)
        if values.shape != (size,):
            raise ConfigError(field, f"expected {size} values, got an array of shape {values.shape}")
    if values.size:
        largest = float(np.finfo(dtype).max) if np.issubdtype(np.dtype(dtype), np.floating) else math.inf
        if not np.all(np.isfinite(values)) or np.abs(values).max() > largest:
            raise ConfigError(field, f"drew values up to {np.abs(values).max():g}; allowed: finite numbers of "
                                     f"magnitude <= {largest:g}")
    return values.astype(dtype, copy=False)


def _draw_distribution(spec: dict, size: int, rng: np.random.Generator, field: str) -> np.ndarray:
    kind = spec["distribution"]
    lo = spec.get("min", -math.inf)
    hi = spec.get("max", math.inf)

    def sample(k: int) -> np.ndarray:
        if kind == "normal":
            return rng.normal(spec["mean"], spec["std"], k)
        if kind == "uniform":
            return rng.uniform(spec["low"], spec["high"], k)
        return rng.lognormal(spec["mu"], spec["sigma"], k)

    try:
        values = sample(size)
    except (OverflowError, ValueError):
        raise ConfigError(field, f"cannot draw from this {kind} distribution (its parameters overflow); "
                                 "allowed: parameters whose values fit a float") from None
    for _ in range(1000):
        bad = (values < lo) | (values > hi)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return values
        values[bad] = sample(n_bad)
    raise ConfigError(field, f"could not draw values inside [min, max] = [{lo:g}, {hi:g}]; "
                             "the bounds exclude almost all of the distribution")


def _finite(value: Any, field: str) -> float:
    return number(value, field)


def to_plain(spec: Any) -> Any:
    """A spec as TOML-ready plain Python (lists instead of arrays)."""
    if isinstance(spec, np.ndarray):
        return spec.tolist()
    if isinstance(spec, dict):
        return dict(spec)
    return spec


# -- drawing into a given array with compiled code (the synapses of a projection) -------------------------
_KINDS = {"normal": 0, "uniform": 1, "lognormal": 2}
REDRAWS = 1000
"""Draws per value before a distribution whose [min, max] excludes almost everything is refused."""


@njit(cache=True, nogil=True)
def _fill(out, kind, a, b, lo, hi, state, dt, longest):
    """out[i] = one value inside [lo, hi] each (values outside redrawn, as NEST's redraw); dt > 0: whole
    steps max(rint(value / dt), 1) instead, where a step count over `longest` stops the draw. Distribution
    `kind`: 0 normal(a, b), 1 uniform(a, b), 2 lognormal(a, b); normals by Marsaglia's polar method, two at
    a time (the second kept for the next value).

    Returns (smallest, largest value drawn, status): 0 done, 1 a value needed more than REDRAWS draws,
    2 a step count over `longest` (out is then incomplete)."""
    have_spare = False
    spare = 0.0
    smallest = math.inf
    largest = -math.inf
    for i in range(out.shape[0]):
        x = 0.0
        inside = False
        for _ in range(REDRAWS):
            if kind == 1:
                x = a + (b - a) * next_double(state)
            else:
                if have_spare:
                    have_spare = False
                    z = spare
                else:
                    while True:
                        u = 2.0 * next_double(state) - 1.0
                        v = 2.0 * next_double(state) - 1.0
                        q = u * u + v * v
                        if 0.0 < q < 1.0:
                            break
                    f = math.sqrt(-2.0 * math.log(q) / q)
                    z = u * f
                    spare = v * f
                    have_spare = True
                x = a + b * z
                if kind == 2:
                    x = math.exp(x)
            if lo <= x <= hi:
                inside = True
                break
        if not inside:
            return smallest, largest, 1
        smallest = min(smallest, x)
        largest = max(largest, x)
        if dt > 0.0:
            steps = max(np.rint(x / dt), 1.0)
            if steps > longest:
                return smallest, largest, 2
            out[i] = steps
        else:
            out[i] = x
    return smallest, largest, 0


def fill(spec: dict, out: np.ndarray, state: np.ndarray, field: str, dt: float = 0.0) -> tuple[float, float]:
    """Draw a checked distribution `spec` into `out` (any numeric array, in place) from the compiled stream
    `state` (uint64[4], neurobox.random); dt > 0 stores whole steps of dt instead (a delay), capped at the
    largest value of out's integer dtype. Returns the smallest and largest value drawn (ms for a delay).

    The same spec, stream and size give the same values whatever out's dtype; it is the draw of a
    projection's weights and delays, in the order of its synapses."""
    longest = float(np.iinfo(out.dtype).max) if np.issubdtype(out.dtype, np.integer) else math.inf
    a, b = (spec["low"], spec["high"]) if spec["distribution"] == "uniform" else \
        (spec.get("mean", spec.get("mu")), spec.get("std", spec.get("sigma")))
    lo, hi = spec.get("min", -math.inf), spec.get("max", math.inf)
    smallest, largest, status = _fill(out, _KINDS[spec["distribution"]], float(a), float(b), float(lo), float(hi),
                                      state, float(dt), longest)
    if status == 1:
        raise ConfigError(field, f"could not draw values inside [min, max] = [{lo:g}, {hi:g}]; "
                                 "the bounds exclude almost all of the distribution")
    if status == 2:
        raise OverflowError(largest)
    return smallest, largest
