"""The wiring between the boxes of a kit: which connector goes to which, and how long each cable is.

Wired mode: every input j of a neuron box is one cable from its source box's "AXON" connector to the
box's dendrite connector "D{j}" (on the pin the planner gave that input, box.pins.dendrites[j]). A source
that feeds several inputs has its axon split at the source: its AXON connector takes one cable per input
(a row of pin pairs wired in parallel, or a Y cable), all driven by the one axon pin; a CMOS input is a
negligible load, so one pin drives them all. A unit that learns by reward also takes a cable from the
host's "REWARD" connector (reward and punishment lines) to its "REWARD" connector.

Bus mode: the units share one line, a daisy chain from "BUS_OUT" to "BUS_IN" through the units in address
order, starting at the host (which holds the line's pull-up, and sends the rewards and the input boxes'
bytes: an input box has no chip, neurobox.kit.circuit); every input of a unit is an address it listens for
(`bus_pairs`), not a cable. Each input box's "AXON" goes to one of the host's inputs ("D0", "D1", ... in
input order), whose touches the host sends at the input's address.

Lengths come from a `Layout`: boxes on a grid, or in columns by layer (inputs left, then the units'
populations in address order), `spacing_mm` apart centre to centre. A cable runs at right angles along
the table (Manhattan distance between box centres) plus SLACK_MM, rounded up to ROUND_MM.
"""
from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from neurobox.errors import ConfigError
from neurobox.kit.units import BOX_INPUT, Cable, Kit

LAYOUTS = ("grid", "layers")
SPACING_MM = 80.0
MIN_SPACING_MM = 40.0
"""Boxes closer than this (centre to centre) would touch: a neuron box is about this wide."""
MAX_SPACING_MM = 2000.0
SLACK_MM = 100.0
"""Added to every cable: 50 mm at each end to reach the connector inside the box and for strain relief."""
ROUND_MM = 10.0
HOST = "host"
"""The computer (or button board) that sends rewards: not a box of the kit."""
CSV_COLUMNS = ("cable", "from_box", "from_connector", "from_pin", "to_box", "to_connector", "to_pin",
               "signal", "length_mm")


@dataclass(frozen=True)
class Layout:
    """Where the boxes stand on the table: `kind` "grid" or "layers", `spacing_mm` between box centres."""

    kind: str = "layers"
    spacing_mm: float = SPACING_MM

    def __post_init__(self):
        if self.kind not in LAYOUTS:
            raise ConfigError("--layout", f"unknown layout {self.kind!r}; valid: {', '.join(LAYOUTS)}")
        s = self.spacing_mm
        if not (isinstance(s, (int, float)) and math.isfinite(s) and MIN_SPACING_MM <= s <= MAX_SPACING_MM):
            raise ConfigError("--spacing-mm", f"the spacing between box centres must be {MIN_SPACING_MM:g} to "
                                              f"{MAX_SPACING_MM:g} mm (boxes closer than that touch); got {s}")

    def positions(self, kit: Kit) -> dict[str, tuple[float, float]]:
        """Each box's centre (x, y) in mm; y grows downwards, the first box at (0, 0)."""
        names = [b.name for b in kit.boxes]
        if self.kind == "grid":
            cols = max(1, math.ceil(math.sqrt(len(names))))
            return {n: ((k % cols) * self.spacing_mm, (k // cols) * self.spacing_mm) for k, n in enumerate(names)}
        columns: dict[str, list[str]] = {}
        for b in [b for b in kit.boxes if b.role == BOX_INPUT] + [b for b in kit.boxes if b.role != BOX_INPUT]:
            columns.setdefault(BOX_INPUT if b.role == BOX_INPUT else population(b.name), []).append(b.name)
        tallest = max(len(c) for c in columns.values())
        out = {}
        for x, names_in in enumerate(columns.values()):
            top = (tallest - len(names_in)) / 2          # each column centred on the tallest
            for y, n in enumerate(names_in):
                out[n] = (x * self.spacing_mm, (top + y) * self.spacing_mm)
        return out


def population(box: str) -> str:
    """The population a box's neuron belongs to: "sense.1" -> "sense", "relay" -> "relay"."""
    return re.sub(r"\.\d+$", "", box)


def cable_length(a: tuple[float, float], b: tuple[float, float]) -> float:
    """mm of cable between two box centres: along the table at right angles, plus slack, rounded up."""
    run = abs(a[0] - b[0]) + abs(a[1] - b[1]) + SLACK_MM
    return math.ceil(run / ROUND_MM - 1e-9) * ROUND_MM


def cables(kit: Kit, layout: Layout) -> list[Cable]:
    """Every cable of `kit` for `layout` (module docstring): wired mode, one per input of every neuron box
    (in box and input order) and a reward cable per unit that learns by reward; bus mode, the daisy chain
    from the host and a cable from every input box to the host."""
    at = layout.positions(kit)
    host = (-layout.spacing_mm, 0.0)
    out = []
    if kit.mode == "wired":
        for box in kit.boxes:
            for j, source in enumerate(box.sources):
                out.append(Cable(source, "AXON", box.name, f"D{j}", f"spike {source} -> {box.name}",
                                 cable_length(at[source], at[box.name])))
        for box in (b for b in kit.boxes if b.reward):
            out.append(Cable(HOST, "REWARD", box.name, "REWARD", "reward and punishment",
                             cable_length(host, at[box.name])))
        return out
    units = sorted((b for b in kit.boxes if b.role != BOX_INPUT), key=lambda b: b.address)
    out.append(Cable(HOST, "BUS_OUT", units[0].name, "BUS_IN", "bus", cable_length(host, at[units[0].name])))
    for a, b in itertools.pairwise(units):
        out.append(Cable(a.name, "BUS_OUT", b.name, "BUS_IN", "bus", cable_length(at[a.name], at[b.name])))
    inputs = [b for b in kit.boxes if b.role == BOX_INPUT]
    for k, box in enumerate(inputs):
        out.append(Cable(box.name, "AXON", HOST, f"D{k}", f"touch {box.name} (the host sends address {box.address})",
                         cable_length(at[box.name], host)))
    return out


def bus_pairs(kit: Kit) -> list[tuple[str, int, str, int, int]]:
    """Bus mode's connections: (source box, its address, target box, its address, input j) for every input
    of every neuron box, in box and input order: the addresses each unit listens for."""
    address = {b.name: b.address for b in kit.boxes}
    return [(s, address[s], b.name, b.address, j) for b in kit.boxes for j, s in enumerate(b.sources)]


def pin_of(kit: Kit, box: str, connector: str) -> str:
    """The ATmega8 pin behind a connector ("PB1", "PC3", ...), "button" for an input box's button output,
    "" for the host and an input box's bus connectors; a unit's bus connectors carry the UART's RXD/TXD."""
    if box == HOST:
        return ""
    b = next(x for x in kit.boxes if x.name == box)
    if b.pins is None:                       # an input box: its pad's output is its axon
        return "button" if connector == "AXON" else ""
    if connector == "AXON":
        return b.pins.axon or ""
    if connector.startswith("D"):
        return b.pins.dendrites[int(connector[1:])]
    if connector == "REWARD":
        return "/".join(b.pins.reward or ())
    return "/".join(b.pins.uart or ())


def splits(cable_list: list[Cable]) -> dict[str, int]:
    """Axon lines split at the source: source box -> the number of cables its AXON connector takes (> 1)."""
    count: dict[str, int] = {}
    for c in cable_list:
        if c.source_connector == "AXON":
            count[c.source] = count.get(c.source, 0) + 1
    return {s: n for s, n in count.items() if n > 1}


def wiring_csv(kit: Kit, cable_list: list[Cable]) -> str:
    """The wiring table (CSV_COLUMNS), one row per cable, numbered from 1."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for k, c in enumerate(cable_list, 1):
        w.writerow([k, c.source, c.source_connector, pin_of(kit, c.source, c.source_connector), c.target,
                    c.target_connector, pin_of(kit, c.target, c.target_connector), c.signal, f"{c.length_mm:g}"])
    return buf.getvalue()


def draw(kit: Kit, layout: Layout, cable_list: list[Cable], path: Path) -> Path:
    """The wiring drawing: boxes at their layout positions, every cable as a numbered line between them."""
    from neurobox.viz.figure import save_figure
    from neurobox.viz.style import colour, figure

    at = layout.positions(kit)
    host = (-layout.spacing_mm, 0.0)
    half = 0.22 * layout.spacing_mm
    has_host = any(HOST in (c.source, c.target) for c in cable_list)
    xs = [p[0] for p in at.values()] + ([host[0]] if has_host else [])
    ys = [p[1] for p in at.values()]
    xlim = (min(xs) - 2 * half, max(xs) + 3 * half)
    ylim = (max(ys) + 2 * half, min(ys) - 2 * half)
    span_x, span_y = xlim[1] - xlim[0], ylim[0] - ylim[1]
    scale = min(1.5 / layout.spacing_mm, 10.0 / span_x, 9.0 / span_y)      # inches per mm
    fig, ax = figure(width=max(3.5, span_x * scale + 1.0), height=max(2.5, span_y * scale + 1.0))
    longest = max(len(b.name) for b in kit.boxes)
    box_font = max(3.0, min(7.0, 2 * half * scale * 72 / (0.65 * longest)))   # the name fits its box
    for k, c in enumerate(cable_list, 1):
        a, b = (host if n == HOST else at[n] for n in (c.source, c.target))
        if a == b:                                        # a unit's axon back to itself: a loop
            ax.annotate("", xy=(b[0] + half, b[1] - half / 2), xytext=(a[0] + half, a[1] + half / 2),
                        arrowprops={"arrowstyle": "->", "connectionstyle": "arc3,rad=-1.2", "lw": 0.8}, zorder=2)
            mid = (a[0] + 1.7 * half, a[1])
        else:
            dx, dy = b[0] - a[0], b[1] - a[1]
            t = min(half / abs(dx) if dx else 1.0, half / abs(dy) if dy else 1.0)   # leave at the box's edge
            start, end = (a[0] + t * dx, a[1] + t * dy), (b[0] - t * dx, b[1] - t * dy)
            bend = 0.12 * ((k % 3) - 1)
            arrow = {"arrowstyle": "-|>", "lw": 0.8, "shrinkA": 0, "shrinkB": 0, "connectionstyle": f"arc3,rad={bend}"}
            ax.annotate("", xy=end, xytext=start, arrowprops=arrow, zorder=2)
            mid = ((a[0] + b[0]) / 2 - bend * dy / 2, (a[1] + b[1]) / 2 + bend * dx / 2)   # y points down
        ax.text(*mid, str(k), fontsize=6, ha="center", va="center", zorder=7,
                bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "0.5", "lw": 0.4})
    for box in kit.boxes:
        x, y = at[box.name]
        role = "input" if box.role == BOX_INPUT else population(box.name)
        ax.add_patch(_box_patch(x, y, half, colour(role, source=box.role == BOX_INPUT)))
        label = box.name if kit.mode == "wired" else f"{box.name}\n@{box.address}"
        ax.text(x, y, label, ha="center", va="center", fontsize=box_font, color="white", weight="bold",
                zorder=6)
    if has_host:
        ax.add_patch(_box_patch(*host, half, "0.4"))
        ax.text(*host, HOST, ha="center", va="center", fontsize=box_font, color="white", zorder=6)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xlabel("mm")
    ax.set_ylabel("mm")
    total = sum(c.length_mm for c in cable_list)
    ax.set_title(f"{kit.network}: {len(cable_list)} cables, {total / 1000:.2f} m ({kit.mode} mode, {layout.kind} "
                 f"layout, {layout.spacing_mm:g} mm apart)\nnumbers as in wiring.csv", fontsize=7)
    return save_figure(fig, path, layout=False)


def _box_patch(x: float, y: float, half: float, face: str):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x - half, y - half), 2 * half, 2 * half, boxstyle="round,pad=0,rounding_size=4",
                          fc=face, ec="black", lw=0.6, zorder=5)


def write_wiring(kit: Kit, folder: str | Path, layout: Layout) -> dict:
    """Write `folder`/wiring.csv (the table) and wiring.png (the drawing), and in bus mode
    bus_addresses.csv (which addresses each unit listens for); return the summary: cable count, total and
    longest length (mm), the split axons, the files."""
    from neurobox.files import atomic_write_text

    folder = Path(folder)
    cable_list = cables(kit, layout)
    atomic_write_text(folder / "wiring.csv", wiring_csv(kit, cable_list))
    draw(kit, layout, cable_list, folder / "wiring.png")
    files = ["wiring.csv", "wiring.png"]
    summary = {"mode": kit.mode, "layout": layout.kind, "spacing_mm": layout.spacing_mm,
               "cables": len(cable_list), "total_length_mm": sum(c.length_mm for c in cable_list),
               "longest_mm": max((c.length_mm for c in cable_list), default=0.0), "splits": splits(cable_list)}
    if kit.mode == "bus":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(("from_box", "from_address", "to_box", "to_address", "input"))
        w.writerows(bus_pairs(kit))
        atomic_write_text(folder / "bus_addresses.csv", buf.getvalue())
        files.append("bus_addresses.csv")
        summary["address_pairs"] = len(bus_pairs(kit))
    summary["files"] = files
    return summary
