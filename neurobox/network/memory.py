"""The memory check of one projection: refused before its pairs are drawn when they would not fit.

The limit is neurobox.limits.memory_limit() (NEUROBOX_MEMORY_LIMIT_MB when set, else the memory this machine
has available); the engine's estimate of a whole network is neurobox.engine.memory.
"""
from __future__ import annotations

from neurobox.errors import ConfigError
from neurobox.limits import gigabytes, memory_limit

BYTES_PER_SYNAPSE_BUILDING = 24
"""Peak bytes per synapse while a projection is drawn as pairs (int64 pairs and their int32 copies; the
rows, weights and delays it keeps are less)."""
BYTES_PER_SYNAPSE_ROWS = 8
"""The same for fixed_total_number, drawn straight into rows (target, weight, delay)."""


def check(need_bytes: float, field: str, what: str) -> None:
    """Raise a ConfigError naming `field` when `need_bytes` exceeds the memory limit (unknown limit: no check)."""
    limit = memory_limit()
    if limit is not None and need_bytes > limit:
        raise ConfigError(field, f"{what} need about {gigabytes(need_bytes)} of memory, this machine has "
                                 f"{gigabytes(limit)} available; allowed: a smaller network (fewer or sparser "
                                 f"synapses)")
