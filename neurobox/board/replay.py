"""`neurobox render`: a self-contained HTML replay of a run.

The run is simulated here in frames of FRAME_MS, exactly as the live board
would stream them, and written into one HTML file together with the
board's drawing code and style, so that it opens in any browser with no
server and no network.
"""
from __future__ import annotations

import json
from pathlib import Path

import neurobox as nb
from neurobox.board.session import LiveBoard

STATIC = Path(__file__).parent / "static"
FRAME_MS = 20.0
"""Biological time per recorded frame, ms."""


def record(net: nb.Network, duration_ms: float, title: str = "") -> dict:
    """Run `net` for `duration_ms` (ms) and return the replay data: hello, frames, t_end."""
    board = LiveBoard(net, title=title)
    selected = next(({"pop": name, "id": 0} for name, pop in net.populations.items()
                     if pop.model.voltage is not None), None)
    if selected:
        board.select("replay", selected["pop"], 0)
    frames = []
    while board.time < duration_ms - 1e-9:
        frame = board.advance(min(FRAME_MS, duration_ms - board.time))
        if frame is None:
            break
        frames.append(frame)
    return {"hello": board.hello() | {"t": 0.0}, "frames": frames, "t_end": round(board.time, 3),
            "selected": selected}


def render_html(data: dict) -> str:
    """The replay page with `data` (from `record`), the drawing code and the style inlined."""
    page = (STATIC / "replay.html").read_text()
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    for marker, text in (("/*BOARD_CSS*/", (STATIC / "board.css").read_text()),
                         ("/*BOARD_JS*/", (STATIC / "board.js").read_text()),
                         ("/*REPLAY_JS*/", (STATIC / "replay.js").read_text()),
                         ("/*RUN_DATA*/", payload)):
        page = page.replace(marker, text.replace("</script", "<\\/script"), 1)
    return page


def render(net: nb.Network, out: str | Path, duration_ms: float | None = None, title: str = "") -> Path:
    """Simulate `net` (ms; default: its duration) and write the replay to `out` (.html)."""
    data = record(net, net.duration if duration_ms is None else float(duration_ms), title)
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(out)
    return out
