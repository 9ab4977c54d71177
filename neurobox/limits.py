"""Upper bounds on what a call may ask for, and the memory this machine has.

MAX_DURATION_MS: 1e8 ms of biological time (about 28 hours). The longest
built-in task (training the digits network) simulates well under an hour
of biological time; at the engine's speed even one neuron would take
minutes for 1e8 ms at dt = 0.1 ms, and a network of thousands of neurons
days. A longer run is almost certainly a typo (1e12 for 1e2).

MAX_STEPS: 1e9 steps per run (1e8 ms at dt = 0.1 ms), the same bound for
smaller time steps.
"""
from __future__ import annotations

import math
import os

from neurobox.errors import ConfigError

MAX_DURATION_MS = 1e8
MAX_STEPS = 10 ** 9


def check_duration(value, field: str = "--duration", dt: float | None = None) -> float | None:
    """`value` (ms) as a float, None for None; ConfigError unless 0 < value <= MAX_DURATION_MS (and, given
    dt, at most MAX_STEPS steps)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"expected a number of ms, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ConfigError(field, f"must be a finite number of ms > 0, got {value!r}")
    if v > MAX_DURATION_MS:
        raise ConfigError(field, f"must be at most {MAX_DURATION_MS:.0e} ms (about "
                                 f"{MAX_DURATION_MS / 3.6e6:.0f} hours of biological time), got {v:g} ms")
    if dt is not None:
        check_steps(v, dt, field)
    return v


def check_steps(duration_ms: float, dt: float, field: str = "duration") -> int:
    """The whole steps of `duration_ms` at `dt`; ConfigError over MAX_STEPS."""
    steps = int(round(duration_ms / dt))
    if steps > MAX_STEPS:
        raise ConfigError(field, f"{duration_ms:g} ms at dt = {dt:g} ms is {steps:.3g} steps; at most "
                                 f"{MAX_STEPS:.0e} steps per run: use a shorter duration or a larger dt")
    return steps


def check_count(value: int | None, field: str, low: int, high: int, why: str = "") -> int | None:
    """A whole number in [low, high] (None passes); the message says `why` the upper bound is there."""
    if value is None:
        return None
    if value < low:
        raise ConfigError(field, f"must be >= {low}, got {value}")
    if value > high:
        raise ConfigError(field, f"must be at most {high}{f' ({why})' if why else ''}, got {value}")
    return value


def memory_limit_given() -> bool:
    """Whether NEUROBOX_MEMORY_LIMIT_MB sets the memory a network may take."""
    return bool(os.environ.get("NEUROBOX_MEMORY_LIMIT_MB"))


def memory_limit() -> int | None:
    """Bytes a network may take: NEUROBOX_MEMORY_LIMIT_MB (megabytes) when set, else available_memory()."""
    given = os.environ.get("NEUROBOX_MEMORY_LIMIT_MB")
    if given:
        try:
            return int(float(given) * 2 ** 20)
        except ValueError:
            raise ConfigError("NEUROBOX_MEMORY_LIMIT_MB", f"expected a number of megabytes, got {given!r}") from None
    return available_memory()


def available_memory() -> int | None:
    """Bytes of memory this process can still use: MemAvailable of /proc/meminfo, lowered to the room
    left under a cgroup (container) limit; os.sysconf's available pages elsewhere; None if unknown."""
    found = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            found = None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                room = int(limit) - int(f.read().strip())
            found = room if found is None else min(found, room)
    except (OSError, ValueError):
        pass
    return found if found is None or found > 0 else 0


def gigabytes(n: float) -> str:
    """Bytes as GB for a message: '41 GB', '2.4 GB', '0.03 GB'."""
    g = n / 1e9
    if g >= 1000:
        return f"{g / 1000:.0f} TB"
    if g >= 10:
        return f"{g:.0f} GB"
    if g >= 0.1:
        return f"{g:.1f} GB"
    return f"{g:.2g} GB"
