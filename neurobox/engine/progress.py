"""A progress bar with named phases (build, compile, run), on stderr.

`enabled=None` (automatic) shows it only on a terminal, and only once the
work has taken more than a second and a half, so short runs stay quiet;
True always shows it, False never (`--quiet`, CI, pipes).
"""
from __future__ import annotations

import sys
import time

SHOW_AFTER_S = 1.5
WIDTH = 30


class Progress:
    def __init__(self, enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.start = time.perf_counter()
        self.phase_name = ""
        self._shown = False
        self._last_draw = 0.0

    def _should_draw(self) -> bool:
        if self.enabled is False:
            return False
        if self.enabled is None:
            if not getattr(self.stream, "isatty", lambda: False)():
                return False
            if time.perf_counter() - self.start < SHOW_AFTER_S:
                return False
        return True

    def phase(self, name: str) -> None:
        """Start a named phase."""
        self.phase_name = name
        self.update(0.0, force=True)

    def update(self, fraction: float, detail: str = "", force: bool = False) -> None:
        """Show the current phase at `fraction` (0..1) done."""
        now = time.perf_counter()
        if not force and now - self._last_draw < 0.1:
            return
        if not self._should_draw():
            return
        self._last_draw = now
        filled = int(WIDTH * min(max(fraction, 0.0), 1.0))
        bar = "#" * filled + "-" * (WIDTH - filled)
        elapsed = now - self.start
        self.stream.write(f"\r{self.phase_name:<8} [{bar}] {100 * fraction:5.1f}% {detail} {elapsed:6.1f}s ")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
