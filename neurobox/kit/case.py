"""The printable case of each kind of box: a base with its connector openings and a lid with the LED window.

One case holds one ATmega8 board (`PCB_X` x `PCB_Y` mm, the DIP-28 chip and its crystal on it). Its openings
are the box's connectors (neurobox.kit.units.connectors, JST-XH headers): the front wall carries one 2-pin
opening per dendrite, `DENDRITE_PITCH` apart, so the box grows with its inputs (more than fit along the
board sit on a connector strip along that wall); the back wall the axon and the reward and punishment
connector (a unit that learns by reward), or the bus pair (bus mode); the right wall the power connector.
The lid has a round window over the WS2812 LED with a recess from the top for a thin diffuser disc (the
third part, printed in white or clear), a slot over the ISP header (a 6-pin ISP plug goes down through it),
and on an input box a dish for the finger with the hole of a 12 mm panel-mount push button in its middle.
The lid holds by a friction lip; the board sits on four standoffs (M2.5 self-tapping screws).

Every part is written in its print orientation (the lid plate down) as STL and STEP, loaded back and checked
to be a closed solid (watertight, consistent winding, positive volume) that fits `BED_MM`. Dimensions: mm.

The CAD library is build123d: it is pip-installable with its OCCT kernel (no OpenSCAD binary, which
SolidPython2 would need), it writes STEP as well as STL, its booleans are exact B-rep operations (a case
builds in well under a second), and it is the maintained successor of CadQuery's approach with a plain
Python API (no fluent chains).
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurobox.errors import ConfigError
from neurobox.files import atomic_write
from neurobox.kit.units import BOX_INPUT, BOX_NEURON, BoxKind, Kit, connectors

# The board inside.
PCB_X = 50.0            # assumed board length: the ATmega8 (DIP-28, 35.6 x 7.6 mm) lengthwise, crystal beside it
PCB_Y = 40.0            # assumed board width
PCB_T = 1.6             # board thickness
PCB_CLEARANCE = 2.0     # gap between the board and each inner wall
PCB_HOLE_INSET = 3.5    # mounting hole centres from the board's edges
PARTS_HEIGHT = 9.0      # tallest part above the board: the ATmega8 in its DIP socket (about 8.5 mm)
HEADROOM = 3.0          # space between the tallest part and the lid's lip
ISP_FROM_EDGE = 6.0     # ISP header (2 x 3 pins) centre from the board's left edge
LED_FROM_EDGE = 6.0     # WS2812 (5050) centre from the board's right edge

# The shell.
WALL = 2.0              # side wall thickness
FLOOR = 2.0             # floor thickness
STANDOFF_HEIGHT = 5.0   # standoff height above the floor (room for the board's solder joints)
STANDOFF_D = 5.5        # standoff outer diameter
SCREW_HOLE_D = 2.2      # pilot hole of an M2.5 self-tapping screw in each standoff
CORNER_R = 3.0          # outer vertical edges rounded (no sharp corners to warp or to hurt)

# The connector openings (JST-XH, 2.5 mm pitch; the plug passes through).
XH_PITCH = 2.5          # JST-XH pin pitch
XH_BODY = 4.9           # JST-XH housing width minus the pitch span: width = XH_PITCH * (pins - 1) + XH_BODY
XH_HEIGHT = 7.0         # JST-XH header height above the board
OPENING_CLEARANCE = 0.5  # clearance on every side of a connector in its opening
BACK_WALL = ("AXON", "REWARD", "BUS_IN", "BUS_OUT")   # the connectors on the back wall, in this order
DENDRITE_PITCH = 10.0   # centre-to-centre spacing of the dendrite openings along the front wall
ROW_MARGIN = 4.0        # space between a row of openings and each end of its wall (inside)
CONNECTOR_GAP = 4.0     # space between two openings of the back wall

# The lid.
LID_T = 2.0             # lid plate thickness
LIP_T = 1.2             # friction lip thickness (hangs inside the walls)
LIP_HEIGHT = 4.0        # friction lip height below the plate
LID_FIT = 0.2           # gap between the lip and the inner wall (a press fit on common FDM printers)
LED_WINDOW_D = 10.0     # through window over the LED
DIFFUSER_D = 14.0       # diffuser disc diameter (its recess is DIFFUSER_D + 2 * DIFFUSER_FIT)
DIFFUSER_T = 1.0        # diffuser disc thickness = recess depth (two or three layers of white PLA or PETG)
DIFFUSER_FIT = 0.15     # radial gap of the diffuser in its recess
ISP_SLOT = (9.0, 12.0)  # lid slot over the ISP header (x, y): a 6-pin ISP ribbon plug passes through
TOUCH_PAD_D = 20.0      # the finger's dish around the button (input boxes)
TOUCH_PAD_DEPTH = 1.0   # its depth
BUTTON_HOLE_D = 12.2    # the hole of the 12 mm panel-mount push button in the dish's middle (the circuit's SW1)

# The checks.
BED_MM = (220.0, 220.0, 250.0)  # a common print bed (x, y, z): Prusa MK3/MK4, Ender 3 and their like
STL_TOLERANCE = 0.05    # largest distance between the STL's triangles and the true surface
STL_ANGULAR_TOLERANCE = 0.3  # largest angle between neighbouring triangles of a curved face (radians)

# Derived heights (from the base's bottom).
BOARD_TOP = FLOOR + STANDOFF_HEIGHT + PCB_T
"""Height of the board's top face, where the connectors stand."""
BASE_HEIGHT = BOARD_TOP + PARTS_HEIGHT + HEADROOM + LIP_HEIGHT
"""The base's height: the board, its tallest part, headroom and the lid's lip."""


def opening_size(pins: int) -> tuple[float, float]:
    """Width and height (mm) of the wall opening a `pins`-pin JST-XH header and its plug pass through."""
    return XH_PITCH * (pins - 1) + XH_BODY + 2 * OPENING_CLEARANCE, XH_HEIGHT + 2 * OPENING_CLEARANCE


@dataclass(frozen=True)
class Opening:
    """One connector opening: its connector name ("D3", "AXON", "BUS_IN", ...), the wall ("front": -y,
    "back": +y, "right": +x), its pin count, and its centre along the wall (x, or y on the right wall)."""

    name: str
    wall: str
    pins: int
    along: float

    @property
    def size(self) -> tuple[float, float]:
        return opening_size(self.pins)

    def as_dict(self) -> dict:
        width, height = self.size
        return {"connector": self.name, "wall": self.wall, "pins": self.pins, "width_mm": width,
                "height_mm": height, "centre_mm": round(self.along, 3)}


@dataclass(frozen=True)
class Layout:
    """Where everything of one case goes (mm; x along the front wall, origin at the base's centre)."""

    inner: tuple[float, float]
    openings: tuple[Opening, ...]
    isp: tuple[float, float]
    led: tuple[float, float]
    touch_pad: tuple[float, float] | None

    @property
    def outer(self) -> tuple[float, float, float]:
        """The assembled case's outer size: length, width, height."""
        return self.inner[0] + 2 * WALL, self.inner[1] + 2 * WALL, BASE_HEIGHT + LID_T


def _row(names_pins: list[tuple[str, int]], wall: str) -> tuple[list[Opening], float]:
    """Openings side by side, centred on their wall, and the inner length they need."""
    widths = [opening_size(p)[0] for _, p in names_pins]
    need = sum(widths) + CONNECTOR_GAP * max(0, len(widths) - 1)
    out, x = [], -need / 2
    for (name, pins), w in zip(names_pins, widths):
        out.append(Opening(name, wall, pins, x + w / 2))
        x += w + CONNECTOR_GAP
    return out, need + 2 * ROW_MARGIN


def layout(kind: BoxKind) -> Layout:
    """The case of `kind`: its connectors (neurobox.kit.units.connectors) as openings, dendrites on the front
    wall, axon, reward or bus on the back, power on the right; the inner size from the board and the rows."""
    if kind.role not in (BOX_NEURON, BOX_INPUT):
        raise ConfigError("kind.role", f"unknown box role {kind.role!r}; valid: {BOX_NEURON}, {BOX_INPUT}")
    if kind.role == BOX_NEURON and kind.mode not in ("wired", "bus"):
        raise ConfigError("kind.mode", f"unknown connection mode {kind.mode!r}; valid: wired, bus")
    if kind.dendrites < 0:
        raise ConfigError("kind.dendrites", f"{kind.dendrites} dendrites; allowed: 0 or more")
    conns = connectors(kind)
    dendrites = [c for c in conns if c.name.startswith("D") and c.name[1:].isdigit()]
    n = len(dendrites)
    front = [Opening(c.name, "front", c.pins, (i - (n - 1) / 2) * DENDRITE_PITCH) for i, c in enumerate(dendrites)]
    front_need = n * DENDRITE_PITCH + 2 * ROW_MARGIN
    back, back_need = _row([(c.name, c.pins) for c in conns if c.name in BACK_WALL], "back")
    right = [Opening(c.name, "right", c.pins, 0.0) for c in conns if c.name == "PWR"]
    inner_x = max(PCB_X + 2 * PCB_CLEARANCE, front_need, back_need)
    inner_y = PCB_Y + 2 * PCB_CLEARANCE
    isp = (-PCB_X / 2 + ISP_FROM_EDGE, 0.0)
    led = (PCB_X / 2 - LED_FROM_EDGE, 0.0)
    pad = (0.0, 0.0) if kind.role == BOX_INPUT else None
    return Layout((inner_x, inner_y), tuple(front + back + right), isp, led, pad)


def _parts(lay: Layout):
    """The base, the lid and the diffuser as build123d solids, assembled (the lid on the base), each with the
    move that puts it in its print orientation."""
    from build123d import Align, Axis, Box, Cylinder, Pos, Rot, fillet

    low = (Align.CENTER, Align.CENTER, Align.MIN)
    (ix, iy), (ox, oy, _) = lay.inner, lay.outer
    shell = Box(ox, oy, BASE_HEIGHT, align=low)
    shell = fillet(shell.edges().filter_by(Axis.Z), CORNER_R)
    base = shell - Pos(0, 0, FLOOR) * Box(ix, iy, BASE_HEIGHT, align=low)
    hx, hy = PCB_X / 2 - PCB_HOLE_INSET, PCB_Y / 2 - PCB_HOLE_INSET
    for sx in (-1, 1):
        for sy in (-1, 1):
            at = Pos(sx * hx, sy * hy, FLOOR / 2)
            base += at * Cylinder(STANDOFF_D / 2, STANDOFF_HEIGHT + FLOOR / 2, align=low)
            base -= at * Cylinder(SCREW_HOLE_D / 2, STANDOFF_HEIGHT + FLOOR / 2 + 0.01, align=low)
    depth = WALL + 2.0  # the cutter reaches 1 mm beyond each face of its wall
    for o in lay.openings:
        w, h = o.size
        z = BOARD_TOP - OPENING_CLEARANCE + h / 2
        if o.wall == "front":
            base -= Pos(o.along, -(iy + WALL) / 2, z) * Box(w, depth, h)
        elif o.wall == "back":
            base -= Pos(o.along, (iy + WALL) / 2, z) * Box(w, depth, h)
        else:
            base -= Pos((ix + WALL) / 2, o.along, z) * Box(depth, w, h)

    top = BASE_HEIGHT + LID_T
    plate = Pos(0, 0, BASE_HEIGHT) * fillet(Box(ox, oy, LID_T, align=low).edges().filter_by(Axis.Z), CORNER_R)
    lx, ly = ix - 2 * LID_FIT, iy - 2 * LID_FIT
    lip = Box(lx, ly, LIP_HEIGHT, align=low) - Box(lx - 2 * LIP_T, ly - 2 * LIP_T, LIP_HEIGHT, align=low)
    lid = plate + Pos(0, 0, BASE_HEIGHT - LIP_HEIGHT) * lip
    ledx, ledy = lay.led
    lid -= Pos(ledx, ledy, BASE_HEIGHT - 0.01) * Cylinder(LED_WINDOW_D / 2, LID_T + 0.02, align=low)
    lid -= Pos(ledx, ledy, top - DIFFUSER_T) * Cylinder(DIFFUSER_D / 2 + DIFFUSER_FIT, DIFFUSER_T + 0.01,
                                                        align=low)
    lid -= Pos(*lay.isp, BASE_HEIGHT - 0.01) * Box(*ISP_SLOT, LID_T + 0.02, align=low)
    if lay.touch_pad is not None:
        lid -= Pos(*lay.touch_pad, top - TOUCH_PAD_DEPTH) * Cylinder(TOUCH_PAD_D / 2, TOUCH_PAD_DEPTH + 0.01,
                                                                    align=low)
        lid -= Pos(*lay.touch_pad, BASE_HEIGHT - 0.01) * Cylinder(BUTTON_HOLE_D / 2, LID_T + 0.02, align=low)
    diffuser = Pos(ledx, ledy, top - DIFFUSER_T) * Cylinder(DIFFUSER_D / 2, DIFFUSER_T, align=low)
    flip = Pos(0, 0, top) * Rot(180, 0, 0)  # the lid prints plate down: (x, y, z) -> (x, -y, top - z)
    return {"base": (base, Pos(0, 0, 0)), "lid": (lid, flip),
            "diffuser": (diffuser, Pos(-ledx, -ledy, -(top - DIFFUSER_T)))}


def check_solid(data: bytes, name: str) -> dict:
    """Load an STL back (trimesh) and check it is one closed, consistently wound solid of positive volume
    that fits BED_MM (its footprint turned as needed); ConfigError naming the part otherwise."""
    import trimesh

    mesh = trimesh.load(io.BytesIO(data), file_type="stl", force="mesh")
    watertight, winding = bool(mesh.is_watertight), bool(mesh.is_winding_consistent)
    volume = float(mesh.volume)
    size = [float(v) for v in mesh.extents]
    if not (watertight and winding and volume > 0):
        raise ConfigError(f"cases.{name}", f"the mesh is not a closed solid (watertight {watertight}, "
                                           f"consistent winding {winding}, volume {volume:.1f} mm3)")
    if not (all(a <= b for a, b in zip(sorted(size[:2]), sorted(BED_MM[:2]))) and size[2] <= BED_MM[2]):
        raise ConfigError(f"cases.{name}", f"the part is {size[0]:.0f} x {size[1]:.0f} x {size[2]:.0f} mm; "
                                           f"a {BED_MM[0]:.0f} x {BED_MM[1]:.0f} x {BED_MM[2]:.0f} mm bed "
                                           f"holds it not")
    return {"mesh": mesh, "size_mm": [round(v, 3) for v in size], "volume_cm3": round(volume / 1000, 4),
            "watertight": watertight, "winding_consistent": winding}


def _exported(shape, suffix: str) -> bytes:
    """The bytes build123d writes for `shape` as STL or STEP (its exporters take a file name)."""
    from build123d import export_step, export_stl

    with tempfile.TemporaryDirectory(prefix="neurobox-case-") as tmp:
        path = os.path.join(tmp, "part" + suffix)
        ok = (export_stl(shape, path, tolerance=STL_TOLERANCE, angular_tolerance=STL_ANGULAR_TOLERANCE)
              if suffix == ".stl" else export_step(shape, path))
        if ok is False:
            raise ConfigError(f"cases{suffix}", f"build123d could not write the {suffix[1:].upper()} file")
        return Path(path).read_bytes()


def write_case(kind: BoxKind, folder: Path, boxes: list[str] = ()) -> dict:
    """Write the parts of `kind`'s case (`<kind>-base.stl`, `-lid`, `-diffuser`, each also .step) and its
    preview `<kind>.png` into `folder`; the report of the case."""
    from neurobox.kit.preview import draw_case

    folder = Path(folder)
    lay = layout(kind)
    parts, meshes = [], {}
    for part, (assembled, to_print) in _parts(lay).items():
        stem = f"{kind.name}-{part}"
        printed = to_print * assembled
        stl = _exported(printed, ".stl")
        check = check_solid(stl, stem)
        atomic_write(folder / f"{stem}.stl", lambda f, data=stl: f.write(data))
        step = _exported(printed, ".step")
        atomic_write(folder / f"{stem}.step", lambda f, data=step: f.write(data))
        meshes[part] = check.pop("mesh").apply_transform(np.linalg.inv(_matrix(to_print)))
        parts.append({"part": part, "stl": str(folder / f"{stem}.stl"), "step": str(folder / f"{stem}.step"),
                      **check})
    png = draw_case(kind.name, lay.outer, meshes, folder / f"{kind.name}.png")
    return {"kind": kind.name, "boxes": list(boxes), "stl": [p["stl"] for p in parts],
            "step": [p["step"] for p in parts], "png": str(png),
            "size_mm": [round(v, 3) for v in lay.outer],
            "volume_cm3": round(sum(p["volume_cm3"] for p in parts), 4),
            "watertight": all(p["watertight"] and p["winding_consistent"] for p in parts),
            "fits_bed_mm": list(BED_MM), "pcb_mm": [PCB_X, PCB_Y],
            "openings": [o.as_dict() for o in lay.openings], "parts": parts}


def _matrix(location) -> np.ndarray:
    """A build123d Location as a 4 x 4 matrix."""
    m = location.wrapped.Transformation()
    return np.array([[m.Value(r, c) for c in range(1, 5)] for r in range(1, 4)] + [[0, 0, 0, 1]], dtype=float)


def write_cases(kit: Kit, folder: Path) -> list[dict]:
    """Write the case of every kind of box of `kit` into `folder` (see write_case); one report per kind, in
    the order of kit.kinds()."""
    return [write_case(kind, Path(folder), [b.name for b in boxes])
            for kind, boxes in kit.kinds().items()]
