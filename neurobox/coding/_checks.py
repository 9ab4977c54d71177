"""Argument checks shared by the coders, metrics and reservoir tasks.

Each check raises `ConfigError(field, message)` naming the argument and the
allowed range, and returns the value converted to the type the caller uses.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from neurobox.errors import ConfigError


def number(value: Any, field: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a finite float inside [low, high] (bounds open where asked)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ConfigError(field, f"expected a number{_range(low, high, low_open, high_open)}, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError(field, f"must be a finite number{_range(low, high, low_open, high_open)}, got {v}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ConfigError(field, f"must be in {_interval(low, high, low_open, high_open)}, got {v:g}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ConfigError(field, f"must be in {_interval(low, high, low_open, high_open)}, got {v:g}")
    return v


def integer(value: Any, field: str, *, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int inside [low, high]."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ConfigError(field, f"expected an integer{_range(low, high, False, False)}, got {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ConfigError(field, f"must be an integer in {_interval(low, high, False, False)}, got {v}")
    return v


def choice(value: Any, field: str, options: tuple[str, ...]) -> str:
    """`value` if it is one of `options`."""
    if value not in options:
        raise ConfigError(field, f"unknown value {value!r}; valid: {', '.join(options)}")
    return value


def float_array(values: Any, field: str, *, ndim: int | tuple[int, ...] | None = None,
                low: float | None = None, high: float | None = None,
                allow_empty: bool = True) -> np.ndarray:
    """`values` as a finite float64 array (a copy), optionally of `ndim` and inside [low, high]."""
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(field, "expected an array of numbers") from None
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in dims:
            raise ConfigError(field, f"expected an array with {' or '.join(map(str, dims))} dimension(s), "
                                     f"got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ConfigError(field, "must not be empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        raise ConfigError(_at(field, i),
                          f"must be a finite number{_range(low, high, False, False)}, got {arr[i]}")
    if low is not None or high is not None:
        out = np.zeros(arr.shape, dtype=bool)
        if low is not None:
            out |= arr < low
        if high is not None:
            out |= arr > high
        if out.any():
            i = np.unravel_index(int(np.flatnonzero(out)[0]), arr.shape)
            raise ConfigError(_at(field, i),
                              f"must be in {_interval(low, high, False, False)}, got {arr[i]:g}")
    return arr


def rng(seed: Any, field: str = "seed") -> np.random.Generator:
    """A numpy Generator from an int seed (>= 0) or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)) or int(seed) < 0:
        raise ConfigError(field, f"expected an integer seed >= 0 or a numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def _at(field: str, index: tuple) -> str:
    return f"{field}[{', '.join(map(str, index))}]" if index else field


def _interval(low, high, low_open, high_open) -> str:
    left = "(" if low is None or low_open else "["
    right = ")" if high is None or high_open else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def _range(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return ""
    return f" in {_interval(low, high, low_open, high_open)}"
