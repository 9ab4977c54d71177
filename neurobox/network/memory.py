"""The memory check: a network (or one projection) is refused before anything is allocated when its
estimated size exceeds the limit.

The limit is NEUROBOX_MEMORY_LIMIT_MB (megabytes) when set, else 80 % of the machine's physical memory.
Estimates are deliberately generous (the peak while drawing, not only what is kept).
"""
from __future__ import annotations

import os

from neurobox.errors import ConfigError

BYTES_PER_SYNAPSE_BUILDING = 48
"""Peak bytes per synapse while a projection is drawn (int64 pairs, their int32 copies, sorting, weights,
delays)."""
BYTES_PER_SYNAPSE = 10
"""Bytes per synapse the engine keeps (int32 target, float32 weight, delay, index)."""


def limit_bytes() -> float:
    """The memory limit in bytes."""
    given = os.environ.get("NEUROBOX_MEMORY_LIMIT_MB")
    if given:
        try:
            return float(given) * 2 ** 20
        except ValueError:
            raise ConfigError("NEUROBOX_MEMORY_LIMIT_MB", f"expected a number of megabytes, got {given!r}") from None
    try:
        return 0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2 ** 30


def check(need_bytes: float, field: str, what: str) -> None:
    """Raise a ConfigError naming `field` when `need_bytes` exceeds the limit."""
    limit = limit_bytes()
    if need_bytes > limit:
        raise ConfigError(field, f"{what} need about {_size(need_bytes)} of memory, more than the limit of "
                                 f"{_size(limit)} (NEUROBOX_MEMORY_LIMIT_MB); allowed: a smaller network")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1024 or unit == "EB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EB"
