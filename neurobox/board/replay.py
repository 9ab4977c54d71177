"""`neurobox render`: a self-contained HTML replay of a run.

The run is simulated here in frames of FRAME_MS, exactly as the live board
would stream them (LED colours, faces, the task's overlay when a demo's
task runs with it), and written into one HTML file together with the
board's drawing code, overlay and style, so that it opens in any browser
with no server and no network.
"""
from __future__ import annotations

import json
from pathlib import Path

import neurobox as nb
from neurobox.board.session import LiveBoard

STATIC = Path(__file__).parent / "static"
FRAME_MS = 20.0
"""Biological time per recorded frame, ms."""


TASK_MS = 20000.0
"""Default length of a replay of a demo with a task, ms (enough trials for its accuracy curve to move)."""
SCRIPTS = ("board.js", "arena.js", "overlay.js", "replay.js")
"""The page's code, inlined in this order."""


def record(net: nb.Network, duration_ms: float, title: str = "", task=None) -> dict:
    """Run `net` (with `task`, if any) for `duration_ms` (ms) and return the replay data: hello, frames, t_end."""
    board = LiveBoard(net, title=title, task=task)
    selected = next(({"pop": name, "id": 0} for name, pop in board.net.populations.items()
                     if pop.model.voltage is not None), None)
    if selected:
        board.select("replay", selected["pop"], 0)
    hello = board.hello() | {"t": 0.0}
    frames = []
    while board.time < duration_ms - 1e-9:
        frame = board.advance(min(FRAME_MS, duration_ms - board.time))
        if frame is None:
            break
        frames.append(frame)
    return {"hello": hello, "frames": frames, "t_end": round(board.time, 3), "selected": selected}


def render_html(data: dict) -> str:
    """The replay page with `data` (from `record`), the drawing code and the style inlined."""
    page = (STATIC / "replay.html").read_text()
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    code = "\n".join((STATIC / name).read_text() for name in SCRIPTS)
    for marker, text in (("/*BOARD_CSS*/", (STATIC / "board.css").read_text()),
                         ("/*BOARD_JS*/", code),
                         ("/*RUN_DATA*/", payload)):
        page = page.replace(marker, text.replace("</script", "<\\/script"), 1)
    return page


def render(net: nb.Network, out: str | Path, duration_ms: float | None = None, title: str = "",
           task=None) -> Path:
    """Simulate `net` (ms; default: its duration, TASK_MS with a task) and write the replay to `out` (.html)."""
    if duration_ms is None:
        duration_ms = TASK_MS if task is not None else net.duration
    data = record(net, float(duration_ms), title, task)
    from neurobox.files import atomic_write_text

    out = Path(out)
    atomic_write_text(out, render_html(data))   # no .tmp left behind, even when it fails
    return out
