"""A unit's own clock: nominal tick, crystal drift (ppm) and the time it booted. Times are integer ns.

Every unit runs Timer1 from its own 16 MHz crystal, so its tick lasts
`period_ns` nominal nanoseconds divided by (1 + ppm * 1e-6): a crystal
`ppm` parts per million fast ticks that much sooner. Timer1 starts at
boot and its first compare match comes one tick later, so tick k
(k = 0, 1, ...) happens at

    t_k = boot_ns + round((k + 1) * period_ns / (1 + ppm * 1e-6))

An ideal board boots at 0 with ppm = 0: tick k at (k + 1) * dt, the
engine's spike time of step k.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clock:
    """period_ns: nominal tick (ns); ppm: crystal error (parts per million, + is fast); boot_ns: start-up time."""

    period_ns: int
    ppm: float = 0.0
    boot_ns: int = 0

    @property
    def scale(self) -> float:
        """Real tick length / nominal tick length."""
        return 1.0 / (1.0 + self.ppm * 1e-6)

    @property
    def tick_ns(self) -> float:
        """Real tick length, ns."""
        return self.period_ns * self.scale

    def time(self, k: int) -> int:
        """Time (ns) of tick k."""
        if self.ppm == 0:
            return self.boot_ns + (k + 1) * self.period_ns
        return self.boot_ns + int(round((k + 1) * self.period_ns * self.scale))

    def times(self, ks) -> np.ndarray:
        """Times (ns, int64) of the ticks ks (an integer array); the same values as `time`."""
        ks = np.asarray(ks, dtype=np.int64)
        if self.ppm == 0:
            return self.boot_ns + (ks + 1) * self.period_ns
        return self.boot_ns + np.rint((ks + 1) * self.period_ns * self.scale).astype(np.int64)

    def cycles_ns(self, cycles: float, f_cpu: float) -> int:
        """Duration (ns) of `cycles` CPU cycles of this unit's crystal (nominal f_cpu Hz)."""
        return int(round(cycles * 1e9 / f_cpu * self.scale))

    def restarted(self, boot_ns: int) -> "Clock":
        """The same crystal after a start-up at boot_ns: Timer1 counts again from zero."""
        return Clock(self.period_ns, self.ppm, int(boot_ns))


def nominal(dt_ms: float) -> Clock:
    """The ideal clock of a board with tick dt (ms): booted at 0, tick k at (k + 1) * dt."""
    return Clock(int(round(dt_ms * 1e6)), 0.0, 0)
