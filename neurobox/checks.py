"""Type checks of user input: one home for each kind of value a model file holds.

Every check returns the value normalised or raises a one-line ConfigError
naming the field path, what was given and what is allowed, e.g.

    projections[2].rule: expected a connection rule (a string), got an array ["a"]; valid: all_to_all, ...

`given(value)` writes a value for such a message: short, on one line,
with its kind for tables and arrays.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np

from neurobox.errors import ConfigError

_MAX_SHOWN = 60


def given(value: Any) -> str:
    """`value` for an error message: its kind and a short, one-line repr."""
    if isinstance(value, dict):
        kind = "a table"
    elif isinstance(value, (list, tuple, np.ndarray)):
        kind = "an array"
    elif isinstance(value, bool) or value is None:
        return repr(value).lower() if isinstance(value, bool) else "nothing"
    elif isinstance(value, str):
        return repr(value) if len(repr(value)) <= _MAX_SHOWN else repr(value)[:_MAX_SHOWN - 4] + "...'"
    elif is_number(value):
        return f"{value!r}" if len(repr(value)) <= _MAX_SHOWN else f"a {len(str(value))}-digit number"
    else:
        kind = f"a {type(value).__name__}"
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value).replace("\n", " ")
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN - 3] + "..."
    return f"{kind} {text}"


def is_number(value: Any) -> bool:
    """An int or float (numpy's included), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def choice(value: Any, valid: Iterable[str], field: str, what: str, label: str = "valid") -> str:
    """One of the names `valid` (a string), e.g. a model, a rule, a distribution; `label` introduces the list."""
    valid = list(valid)
    if not isinstance(value, str):
        raise ConfigError(field, f"expected {what} (a string), got {given(value)}; {label}: {', '.join(valid)}")
    if value not in valid:
        raise ConfigError(field, f"unknown {what} {given(value)}; {label}: {', '.join(valid)}")
    return value


def text(value: Any, field: str, what: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(field, f"expected {what} (a non-empty string), got {given(value)}")
    return value


def flag(value: Any, field: str) -> bool:
    """true or false."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(field, f"expected true or false, got {given(value)}")
    return bool(value)


def number(value: Any, field: str, allowed: str = "a finite number") -> float:
    """A finite number (int or float, not a bool) as a float; `allowed` describes the range for messages."""
    if not is_number(value):
        raise ConfigError(field, f"expected {allowed}, got {given(value)}")
    try:
        v = float(value)
    except OverflowError:
        raise ConfigError(field, f"expected {allowed}, got {given(value)}") from None
    if not math.isfinite(v):
        raise ConfigError(field, f"must be finite, allowed {allowed}, got {v}")
    return v


def entry(params: Mapping[str, Any], name: str, field_path: str, default: float | None = None) -> float:
    """params[name] as a finite number (`number`, field `field_path.name`); `default` when it is absent, which
    makes the entry required when there is none."""
    if name not in params:
        if default is None:
            raise ConfigError(f"{field_path}.{name}", "required")
        return default
    return number(params[name], f"{field_path}.{name}")


def whole(value: Any, field: str, low: int = 0, high: int | None = None, what: str = "a whole number") -> int:
    """An integer in [low, high]."""
    allowed = f"{what} >= {low}" if high is None else f"{what} in [{low}, {high}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, f"expected {allowed}, got {given(value)}")
    v = int(value)
    if v < low or (high is not None and v > high):
        raise ConfigError(field, f"must be {allowed}, got {given(value)}")
    return v


def numbers(value: Any, field: str, allowed: str = "a flat array of finite numbers") -> np.ndarray:
    """A flat array of finite numbers (float64)."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise ConfigError(field, f"expected {allowed}, got {given(value)}")
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or not (value.size == 0 or np.issubdtype(value.dtype, np.number)) \
                or np.issubdtype(value.dtype, np.bool_):
            raise ConfigError(field, f"expected {allowed}, got {given(value)}")
        arr = value.astype(np.float64)
    else:
        for k, x in enumerate(value):
            if not is_number(x):
                raise ConfigError(f"{field}[{k}]", f"expected a number ({allowed}), got {given(x)}")
        try:
            arr = np.array([float(x) for x in value], dtype=np.float64)
        except OverflowError:
            raise ConfigError(field, f"expected {allowed}, got a number too large for a float") from None
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ConfigError(f"{field}[{bad}]", f"must be a finite number, got {arr[bad]}")
    return arr


def indices(value: Any, n: int, field: str, allow_empty: bool = True) -> np.ndarray:
    """A flat array of whole indices in [0, n - 1] (int64)."""
    allowed = f"a flat array of whole indices in [0, {n - 1}]"
    if isinstance(value, np.ndarray):
        ok = value.ndim == 1 and (value.size == 0 or np.issubdtype(value.dtype, np.integer))
        items = value.tolist() if ok else None
    else:
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) for x in value)
        items = list(value) if ok else None
    if not ok or (not allow_empty and not items):
        raise ConfigError(field, f"expected {'a non-empty' if not allow_empty else 'a'} "
                                 f"{allowed.removeprefix('a ')}, got {given(value)}")
    bad = [x for x in items if not 0 <= x < n]
    if bad:
        raise ConfigError(field, f"indices must be in [0, {n - 1}], got {given(bad[0])}")
    return np.asarray(items, dtype=np.int64)
