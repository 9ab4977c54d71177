"""The memory check of one projection: refused before its pairs are drawn when they would not fit.

The limit is neurobox.limits.memory_limit() (NEUROBOX_MEMORY_LIMIT_MB when set, else the memory this machine
has available); the engine's estimate of a whole network is neurobox.engine.memory.
"""
from __future__ import annotations

from neurobox.errors import ConfigError
from neurobox.limits import gigabytes, memory_limit

BYTES_PER_SYNAPSE_BUILDING = 48
"""Peak bytes per synapse while a projection is drawn (int64 pairs, their int32 copies, sorting, weights,
delays)."""


def check(need_bytes: float, field: str, what: str) -> None:
    """Raise a ConfigError naming `field` when `need_bytes` exceeds the memory limit (unknown limit: no check)."""
    limit = memory_limit()
    if limit is not None and need_bytes > limit:
        raise ConfigError(field, f"{what} need about {gigabytes(need_bytes)} of memory, this machine has "
                                 f"{gigabytes(limit)} available; allowed: a smaller network (fewer or sparser "
                                 f"synapses)")
