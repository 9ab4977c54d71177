"""Progress on stderr: named phases (build, compile, run, train, synth...), a bar where there is a count.

The one home of progress for every command. `enabled=None` (automatic) shows it only on a terminal, never
in CI (the CI environment variable set, as CI services do), never inside another automatic bar that is
open, and only once the work has taken more than a second and a half, so short runs stay quiet; True
always shows it, False never (`--quiet`, `--json`: `for_cli`).

A phase without a count (`phase("synth")`) shows its name and the time running; `update(fraction)` turns
it into a bar. While a bar is shown a background ticker redraws it every quarter second, so a long step
that reports nothing (yosys, nextpnr, simavr) still shows its phase and the time going by.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import weakref

SHOW_AFTER_S = 1.5
WIDTH = 30
TICK_S = 0.25

_open: list[weakref.ref] = []
"""The automatic bars open now, oldest first (a bar inside an older one stays silent); weak, so that a bar
nobody closed stops counting once it is gone."""


def _open_bars() -> list["Progress"]:
    _open[:] = [r for r in _open if r() is not None and not r()._closed.is_set()]
    return [r() for r in _open]


def in_ci() -> bool:
    """Whether the CI environment variable says this runs under continuous integration."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def for_cli(args) -> "Progress":
    """The progress of a command: off with --quiet or --json (and in CI, on a pipe: see the module)."""
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    return Progress(False if quiet else None)


def quiet_flag(args) -> bool | None:
    """The `progress` argument of library calls (Simulation, run): False with --quiet/--json, else automatic."""
    return False if (getattr(args, "quiet", False) or getattr(args, "json", False)) else None


class Progress:
    def __init__(self, enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.start = time.perf_counter()
        self.phase_name = ""
        self.fraction: float | None = None
        self.detail = ""
        self._shown = False
        self._last_draw = 0.0
        self._width = 0
        self._lock = threading.RLock()
        self._ticker: threading.Thread | None = None
        self._closed = threading.Event()
        self._registered = False

    # -- deciding ---------------------------------------------------------------------
    def may_show(self) -> bool:
        """Whether this bar can ever be drawn (before the show-after delay)."""
        if self.enabled is False:
            return False
        if self.enabled is None:
            if not self._on_terminal():
                return False
            bars = _open_bars()
            if self in bars and bars.index(self) > 0:   # inside an older automatic bar
                return False
        return True

    def _on_terminal(self) -> bool:
        """Whether an automatic bar may draw at all: on a terminal, outside CI."""
        return not in_ci() and getattr(self.stream, "isatty", lambda: False)()

    def _should_draw(self) -> bool:
        if not self.may_show():
            return False
        if self.enabled is None and time.perf_counter() - self.start < SHOW_AFTER_S:
            return False
        return True

    # -- reporting --------------------------------------------------------------------
    def phase(self, name: str, detail: str = "") -> None:
        """Start a named phase, without a count until `update` gives one."""
        with self._lock:
            self._begin()
            self.phase_name, self.fraction, self.detail = name, None, detail
            self._draw(force=True)

    def update(self, fraction: float, detail: str = "", force: bool = False) -> None:
        """Show the current phase at `fraction` (0..1) done."""
        with self._lock:
            self._begin()
            first = self.fraction is None      # the phase's first count: drawn at once
            self.fraction, self.detail = fraction, detail
            self._draw(force or first)

    def count(self, done: int, total: int, detail: str = "") -> None:
        """Show `done` of `total` items of the current phase."""
        self.update(done / total if total else 1.0, f"{done}/{total}" + (f" {detail}" if detail else ""))

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            if self._registered:
                _open[:] = [r for r in _open if r() is not self]
                self._registered = False
            if self._shown:
                self.stream.write("\n")
                self.stream.flush()
                self._shown = False
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=1.0)
            self._ticker = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- drawing ----------------------------------------------------------------------
    def _begin(self) -> None:
        if self._closed.is_set():       # used again after close: a new run of phases
            self._closed.clear()
        if not self._registered and self.enabled is None and self._on_terminal():
            _open.append(weakref.ref(self))
            self._registered = True
        if self._ticker is None and self.may_show():
            self._ticker = threading.Thread(target=self._tick, name="neurobox-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._closed.wait(TICK_S):
            with self._lock:
                if not self._closed.is_set():
                    self._draw(force=True)

    def _draw(self, force: bool) -> None:
        now = time.perf_counter()
        if not force and now - self._last_draw < 0.1:
            return
        if not self._should_draw():
            return
        self._last_draw = now
        elapsed = now - self.start
        if self.fraction is None:
            line = f"{self.phase_name:<8} ... {self.detail} {elapsed:6.1f}s"
        else:
            filled = int(WIDTH * min(max(self.fraction, 0.0), 1.0))
            bar = "#" * filled + "-" * (WIDTH - filled)
            line = f"{self.phase_name:<8} [{bar}] {100 * self.fraction:5.1f}% {self.detail} {elapsed:6.1f}s"
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._shown = True
