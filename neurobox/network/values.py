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

from neurobox.errors import ConfigError

DISTRIBUTIONS = {
    "normal": ("mean", "std"),
    "uniform": ("low", "high"),
    "lognormal": ("mu", "sigma"),
}
_BOUNDS = ("min", "max")


def check_spec(spec: Any, field: str) -> Any:
    """Validate a value spec without drawing from it; return it normalised."""
    if isinstance(spec, dict):
        kind = spec.get("distribution")
        if kind not in DISTRIBUTIONS:
            raise ConfigError(f"{field}.distribution",
                              f"unknown distribution {kind!r}; valid: {', '.join(DISTRIBUTIONS)}")
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
        if "min" in out and "max" in out and out["max"] < out["min"]:
            raise ConfigError(f"{field}.max", f"must be >= min ({out['min']:g})")
        return out
    if np.ndim(spec) == 0:
        return _finite(spec, field)
    arr = _as_float_array(spec, field)
    return arr


def draw(spec: Any, size: int, rng: np.random.Generator | None, field: str, dtype=np.float64) -> np.ndarray:
    """`size` values of `dtype` from a checked spec (constant, array or distribution)."""
    if isinstance(spec, dict):
        if rng is None:
            raise ConfigError(field, "a distribution needs a random stream")
        return _draw_distribution(spec, size, rng, field).astype(dtype, copy=False)
    if np.ndim(spec) == 0:
        return np.full(size, float(spec), dtype=dtype)
    arr = np.asarray(spec, dtype=np.float64)
    if arr.shape != (size,):
        raise ConfigError(field, f"expected {size} values, got an array of shape {arr.shape}")
    return arr.astype(dtype)


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

    values = sample(size)
    for _ in range(1000):
        bad = (values < lo) | (values > hi)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return values
        values[bad] = sample(n_bad)
    raise ConfigError(field, f"could not draw values inside [min, max] = [{lo:g}, {hi:g}]; "
                             "the bounds exclude almost all of the distribution")


def _finite(value: Any, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"expected a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ConfigError(field, f"must be a finite number, got {v}")
    return v


def _as_float_array(values: Any, field: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(field, "expected a number, a list of numbers or a distribution table") from None
    if arr.ndim != 1:
        raise ConfigError(field, f"expected a flat list of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ConfigError(f"{field}[{bad}]", f"must be a finite number, got {arr[bad]}")
    return arr


def to_plain(spec: Any) -> Any:
    """A spec as TOML-ready plain Python (lists instead of arrays)."""
    if isinstance(spec, np.ndarray):
        return spec.tolist()
    if isinstance(spec, dict):
        return dict(spec)
    return spec
