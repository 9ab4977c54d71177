"""The runs of a sweep: the product of every `--set PATH=VALUES` and the seeds, applied to a model document.

A path names one entry of a model file's document (`neurobox.network.modelfile.to_dict`): `network.dt`,
`populations.exc.params.tau_syn_ex`, `projections.exc_exc.weight` (projections, stimuli and recorders are
found by name). Values are `start:stop:step` (stop included, as in the issue's `0.5:2:0.25`: 0.5, 0.75, ...,
2.0) or a comma list (`1,2,5`). Seeds are `A:B` (A, A+1, ..., B-1: `0:16` is 16 seeds) or a comma list.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import Any

from neurobox.checks import given
from neurobox.errors import ConfigError

MAX_RUNS = 100_000
"""The most runs one sweep may hold (each is a row of the table and a task for the scheduler)."""

NAMED_LISTS = ("projections", "stimuli", "recorders")
"""Sections of a model document that are lists of tables found by their `name`."""


@dataclass(frozen=True)
class Setting:
    """One `--set`: the model entry `path` takes each of `values` in turn."""
    path: str
    values: tuple[float, ...]


def parse_setting(text: str, field: str = "--set") -> Setting:
    """`PATH=start:stop:step` or `PATH=a,b,c` (one line naming `field` and the allowed forms otherwise)."""
    path, sep, spec = str(text).partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec:
        raise ConfigError(field, f"expected PATH=start:stop:step or PATH=a,b,c, got {given(text)}")
    return Setting(path, _values(spec, f"{field} {path}"))


def _number(text: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(field, f"{given(text)} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(field, f"must be finite, got {given(text)}")
    return value


def _values(spec: str, field: str) -> tuple[float, ...]:
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise ConfigError(field, f"a range is start:stop:step, got {given(spec)}")
        start, stop, step = (_number(p, field) for p in parts)
        if step <= 0 or stop < start:
            raise ConfigError(field, f"a range needs step > 0 and stop >= start, got {given(spec)}")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > MAX_RUNS:
            raise ConfigError(field, f"{given(spec)} holds {count} values; at most {MAX_RUNS}")
        return tuple(round(start + k * step, 12) for k in range(count))
    return tuple(_number(p, field) for p in spec.split(","))


def parse_seeds(spec: str, field: str = "--seeds") -> tuple[int, ...]:
    """`A:B` (A..B-1) or `a,b,c`: whole numbers >= 0."""
    spec = str(spec).strip()
    try:
        if ":" in spec:
            a, _, b = spec.partition(":")
            seeds = tuple(range(int(a), int(b)))
            if not seeds:
                raise ConfigError(field, f"A:B needs B > A (seeds A..B-1), got {given(spec)}")
        else:
            seeds = tuple(int(p) for p in spec.split(","))
    except ValueError:
        raise ConfigError(field, f"expected A:B (seeds A..B-1) or a comma list of whole numbers, "
                                 f"got {given(spec)}") from None
    if min(seeds) < 0:
        raise ConfigError(field, f"seeds must be >= 0, got {given(spec)}")
    if len(seeds) > MAX_RUNS:
        raise ConfigError(field, f"{len(seeds)} seeds; at most {MAX_RUNS}")
    return seeds


def runs(settings: list[Setting], seeds: tuple[int, ...]) -> list[dict[str, Any]]:
    """Every combination, in a fixed order: [{"run": k, "seed": s, PATH: value, ...}], seeds innermost."""
    paths = [s.path for s in settings]
    if len(set(paths)) != len(paths):
        raise ConfigError("--set", f"a path is set twice: {', '.join(p for p in paths if paths.count(p) > 1)}")
    total = len(seeds) * math.prod(len(s.values) for s in settings)
    if total > MAX_RUNS:
        raise ConfigError("--set", f"the sweep holds {total} runs; at most {MAX_RUNS}")
    out = []
    for values in itertools.product(*(s.values for s in settings)):
        for seed in seeds:
            out.append({"run": len(out), "seed": seed, **dict(zip(paths, values))})
    return out


def apply(doc: dict[str, Any], path: str, value: float) -> dict[str, Any]:
    """A copy of model document `doc` with entry `path` set to `value` (the entry must exist, or be a
    parameter of a population's `params` table; ConfigError naming the path and what is there otherwise)."""
    doc = copy.deepcopy(doc)
    keys = path.split(".")
    node: Any = doc
    for depth, key in enumerate(keys[:-1]):
        where = ".".join(keys[:depth + 1])
        if isinstance(node, list):
            named = [item for item in node if isinstance(item, dict) and item.get("name") == key]
            if not named:
                names = [str(item.get("name")) for item in node if isinstance(item, dict)]
                raise ConfigError(path, f"no {keys[depth - 1] if depth else 'entry'} named {key!r}; "
                                        f"names: {', '.join(names) or 'none'}")
            node = named[0]
        elif isinstance(node, dict):
            if key not in node:
                if key == "params" and depth == 2 and keys[0] == "populations":
                    node[key] = {}
                else:
                    raise ConfigError(path, f"{where} is not in the model; there: {', '.join(map(str, node))}")
            node = node[key]
        else:
            raise ConfigError(path, f"{where} is a value, not a table")
    last = keys[-1]
    if isinstance(node, list) or not isinstance(node, dict):
        raise ConfigError(path, f"{'.'.join(keys[:-1])} is not a table of values")
    if last not in node and not (len(keys) == 4 and keys[0] == "populations" and keys[2] == "params"):
        raise ConfigError(path, f"{last!r} is not in {'.'.join(keys[:-1])}; there: {', '.join(map(str, node))}")
    old = node.get(last)
    if isinstance(old, bool) or (old is not None and not isinstance(old, (int, float))):
        raise ConfigError(path, f"holds {given(old)}, not a number; a sweep sets numbers only")
    node[last] = int(value) if isinstance(old, int) and float(value).is_integer() else value
    return doc
