"""The messages a page may send to the board server, checked before use.

Each message is one JSON object of at most MAX_MESSAGE bytes with a
"type" and that type's fields:

    {"type": "touch", "pop": "touch", "id": 1, "down": true}   a finger on a neuron: down true (pressed),
                                                           false (released), absent (a tap); an input
                                                           fires (a burst while held), a neuron is poked
    {"type": "poke", "pop": "exc", "id": 3}                a tap (as touch without "down")
    {"type": "draw", "pop": "input", "ids": [3, 4, 11]}    a pattern drawn over inputs: the task answers it
    {"type": "rate", "pop": "touch", "value": 20.0}        Hz, Poisson sources
    {"type": "current", "pop": "exc", "value": 150.0}      pA, neuron populations (engine)
    {"type": "speed", "value": 1.0}                        x real time, 0.1 to 10, or "max"
    {"type": "pause", "paused": true}
    {"type": "step", "ms": 1.0}                            pause, then advance ms (default: one dt)
    {"type": "reset"}
    {"type": "learning", "on": true}
    {"type": "reward", "value": 1}                         the broadcast reward (+1) or punishment (-1)
    {"type": "select", "pop": "exc", "id": 3}              or "pop": null to show no trace
    {"type": "target", "name": "twin", "transport": "bus"} run on the twin's units ("engine": back)
    {"type": "fault", "kind": "kill", "pop": "hidden", "id": 3}            twin: kill or reset a unit,
    {"type": "fault", "kind": "cut", "pop": "input", "id": 0, "to_pop": "hidden", "to_id": 3}
    {"type": "fault", "kind": "drop", "value": 0.2}        cut a wire (on the bus: the bus), drop spikes
    {"type": "drag", "what": "light", "x_mm": 400, "y_mm": 620}   the vehicle demo: move the light, or
    {"type": "drag", "what": "obstacle", "index": 1, "x_mm": 300, "y_mm": 250}    obstacle 1, there (mm;
                                                           the task refuses a place outside its arena)

Anything else raises ProtocolError with a message for the page (also a
message nested too deeply to parse).
"""
from __future__ import annotations

import json
import math
from typing import Any

from neurobox.board.session import FAULTS, TARGETS, TRANSPORTS
from neurobox.board.vehicle import DRAGGABLE

MAX_MESSAGE = 4096
"""Largest message accepted, bytes."""
SPEED_RANGE = (0.1, 10.0)
"""Allowed simulation speeds, x real time ("max" runs as fast as it can)."""
MAX_STEP_MS = 1000.0
"""Longest single step, ms (and the most a page may have waiting)."""
MAX_IDS = 256
"""Neurons a drawn pattern may name."""
MAX_MM = 1.0e6
"""Largest |coordinate| a drag may give, mm (the task then checks its arena)."""
CHOICES = {"target": TARGETS, "transport": TRANSPORTS, "fault": FAULTS, "draggable": DRAGGABLE}

FIELDS: dict[str, dict[str, str]] = {
    "touch": {"pop": "name", "id": "index", "down": "optional_bool"},
    "poke": {"pop": "name", "id": "index"},
    "draw": {"pop": "name", "ids": "index_list"},
    "rate": {"pop": "name", "value": "number"},
    "current": {"pop": "name", "value": "number"},
    "speed": {"value": "speed"},
    "pause": {"paused": "bool"},
    "step": {"ms": "optional_ms"},
    "reset": {},
    "learning": {"on": "bool"},
    "reward": {"value": "optional_pulse"},
    "select": {"pop": "optional_name", "id": "optional_index"},
    "target": {"name": "target", "transport": "optional_transport"},
    "fault": {"kind": "fault", "pop": "optional_name", "id": "optional_index", "to_pop": "optional_name",
              "to_id": "optional_index", "value": "optional_number"},
    "drag": {"what": "draggable", "index": "optional_item", "x_mm": "mm", "y_mm": "mm"},
}
"""Each message type's fields and what they must be."""


class ProtocolError(ValueError):
    """A message the server cannot act on; its text goes back to the page."""


def parse(raw: str | bytes) -> dict[str, Any]:
    """The checked message in `raw` (a WebSocket text frame), or ProtocolError."""
    if isinstance(raw, bytes):
        raise ProtocolError("binary messages are not understood; send JSON text")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE:
        raise ProtocolError(f"message too large: {len(raw)} characters, at most {MAX_MESSAGE} bytes")
    try:
        msg = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ProtocolError(f"malformed message, not JSON: {err.msg} at character {err.pos}") from None
    except RecursionError:
        raise ProtocolError("malformed message: nested too deeply") from None
    except ValueError as err:
        raise ProtocolError(f"malformed message: {err}") from None
    if not isinstance(msg, dict):
        raise ProtocolError("a message must be a JSON object with a \"type\"")
    kind = msg.get("type")
    if kind not in FIELDS:
        raise ProtocolError(f"unknown message type {kind!r}; types: {', '.join(FIELDS)}")
    out: dict[str, Any] = {"type": kind}
    for name, what in FIELDS[kind].items():
        out[name] = _check(kind, name, what, msg.get(name))
    extra = set(msg) - set(FIELDS[kind]) - {"type"}
    if extra:
        raise ProtocolError(f"{kind}: unknown field(s) {', '.join(sorted(extra))}")
    return out


def _check(kind: str, name: str, what: str, value: Any) -> Any:
    where = f"{kind}.{name}"
    optional = what.startswith("optional_")
    if optional and value is None:
        return None
    what = what.removeprefix("optional_")
    if what == "name":
        if not isinstance(value, str) or not value or len(value) > 200:
            raise ProtocolError(f"{where}: expected a population name")
        return value
    if what in ("index", "item"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ProtocolError(f"{where}: expected {'a neuron' if what == 'index' else 'an'} index >= 0, "
                                f"got {value!r}")
        return value
    if what in CHOICES:
        if value not in CHOICES[what]:
            raise ProtocolError(f"{where}: expected one of {', '.join(CHOICES[what])}, got {value!r}")
        return value
    if what == "pulse":
        if isinstance(value, bool) or value not in (1, -1):
            raise ProtocolError(f"{where}: expected 1 (reward) or -1 (punishment), got {value!r}")
        return int(value)
    if what == "index_list":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IDS or \
                any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
            raise ProtocolError(f"{where}: expected a list of 1 to {MAX_IDS} neuron indices >= 0")
        return value
    if what == "bool":
        if not isinstance(value, bool):
            raise ProtocolError(f"{where}: expected true or false, got {value!r}")
        return value
    if what == "speed":
        if value == "max":
            return "max"
        number = _number(where, value)
        if not SPEED_RANGE[0] <= number <= SPEED_RANGE[1]:
            raise ProtocolError(f"{where}: speed must be in [{SPEED_RANGE[0]:g}, {SPEED_RANGE[1]:g}] "
                                f"x real time or \"max\", got {value!r}")
        return number
    if what == "mm":
        number = _number(where, value)
        if not abs(number) <= MAX_MM:
            raise ProtocolError(f"{where}: a place in the arena, mm, got {value!r}")
        return number
    if what == "ms":
        number = _number(where, value)
        if not 0 < number <= MAX_STEP_MS:
            raise ProtocolError(f"{where}: must be in (0, {MAX_STEP_MS:g}] ms, got {value!r}")
        return number
    return _number(where, value)


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"{where}: expected a finite number, got {value!r}")
    return float(value)
