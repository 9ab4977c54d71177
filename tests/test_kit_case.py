"""The printable cases of the maker's kit (neurobox.kit.case): closed solids within the bed, sized by the
inputs, with their openings where the connectors go, and a preview of each."""
from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import require_module

require_module("build123d", "kit")
trimesh = require_module("trimesh", "kit")

from neurobox import examples
from neurobox.errors import ConfigError
from neurobox.kit import case
from neurobox.kit.units import BoxKind, kit_for
from neurobox.network import modelfile

BED = (220.0, 220.0, 250.0)
BOARD_KINDS = ["neuron-wired-4in", "neuron-wired-2in", "neuron-wired-1in", "input"]
PARTS = ("base", "lid", "diffuser")
# The case by hand (mm): a 50 x 40 board with 2 mm clearance, 2 mm walls, a 2-pin JST-XH opening 2.5 + 4.9
# + 2 x 0.5 = 8.4 wide and 7 + 2 x 0.5 = 8 high from 0.5 below the board's top (floor 2 + standoff 5 +
# board 1.6 = 8.6), dendrites 10 apart with 4 to each end of their wall.
OPENING_W, OPENING_H, WALL = 8.4, 8.0, 2.0
OPENING_Z = 8.6 - 0.5 + OPENING_H / 2
FRONT_WALL_Y = -(40.0 + 2 * 2.0) / 2 - WALL / 2


def _mesh(path):
    return trimesh.load(path, file_type="stl", force="mesh")


def _inside(mesh, points) -> np.ndarray:
    """Whether each point lies inside the closed mesh: the parity of a ray's crossings (Moller-Trumbore;
    the ray leans off the axes so that it hits no edge of the axis-aligned walls)."""
    ray = np.array([0.0123, 0.0271, 1.0])
    a, b, c = (mesh.triangles[:, i] for i in range(3))
    e1, e2 = b - a, c - a
    p = np.cross(ray, e2)
    det = np.einsum("ij,ij->i", e1, p)
    out = []
    for point in np.asarray(points, dtype=float):
        ok = np.abs(det) > 1e-12
        t_vec = point - a
        u = np.einsum("ij,ij->i", t_vec, p) / np.where(ok, det, 1.0)
        q = np.cross(t_vec, e1)
        v = (q @ ray) / np.where(ok, det, 1.0)
        t = np.einsum("ij,ij->i", e2, q) / np.where(ok, det, 1.0)
        hits = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        out.append(hits.sum() % 2 == 1)
    return np.array(out)


@pytest.fixture(scope="module")
def board_net():
    return modelfile.load(examples.resolve("board"))


@pytest.fixture(scope="module")
def board_cases(board_net, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cases")
    start = time.perf_counter()
    reports = case.write_cases(kit_for(board_net, "wired", name="board"), folder)
    return folder, reports, time.perf_counter() - start


@pytest.fixture(scope="module")
def bus_cases(board_net, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bus")
    return folder, case.write_cases(kit_for(board_net, "bus", name="board"), folder)


def _check_closed_within_bed(report):
    assert report["watertight"] is True and report["fits_bed_mm"] == list(BED)
    assert [p.rsplit("-", 1)[1] for p in report["stl"]] == [f"{p}.stl" for p in PARTS]
    for path in report["stl"]:
        mesh = _mesh(path)
        assert mesh.is_watertight and mesh.is_winding_consistent, path
        assert mesh.volume > 1.0, path
        assert mesh.body_count == 1, path
        assert all(a <= b for a, b in zip(sorted(mesh.extents[:2]), BED[:2])) and mesh.extents[2] <= BED[2]
    for path in report["step"]:
        with open(path, "rb") as f:
            assert f.read(13) == b"ISO-10303-21;", path
    from PIL import Image

    with Image.open(report["png"]) as im:
        assert im.format == "PNG" and im.info.get("Software") == "neurobox"
        assert im.size[0] > 400 and im.size[1] > 200
        pixels = np.asarray(im.convert("L"), dtype=float)
    assert pixels.std() > 10.0  # something is drawn


def test_board_kit_cases_are_closed_solids_within_the_bed(board_cases):
    folder, reports, seconds = board_cases
    assert [r["kind"] for r in reports] == BOARD_KINDS
    assert reports[0]["boxes"] and all(r["boxes"] for r in reports)
    for report in reports:
        _check_closed_within_bed(report)
        base = _mesh(report["stl"][0])
        assert np.allclose(base.extents[:2], report["size_mm"][:2], atol=1e-3)
    # every file written is one of the parts or a preview: no temporary file is left over
    expected = {f"{k}-{p}.{x}" for k in BOARD_KINDS for p in PARTS for x in ("stl", "step")}
    assert {p.name for p in folder.iterdir()} == expected | {f"{k}.png" for k in BOARD_KINDS}
    print(f"board kit: {len(reports)} cases in {seconds:.2f} s")
    assert seconds < 60.0


def test_bus_kit_cases_have_the_bus_pair_and_no_dendrites(bus_cases):
    _, reports = bus_cases
    assert [r["kind"] for r in reports] == ["neuron-bus", "input"]
    for report in reports:
        _check_closed_within_bed(report)
    openings = [[o["connector"] for o in r["openings"]] for r in reports]
    assert openings == [["BUS_IN", "BUS_OUT", "PWR"], ["AXON", "PWR"]]   # an input box is read by the host
    assert all(o["pins"] == 2 for r in reports for o in r["openings"])


def test_the_case_grows_with_its_dendrites(tmp_path):
    one = case.layout(BoxKind("neuron", "wired", 1, False))
    sixteen = case.layout(BoxKind("neuron", "wired", 16, False))
    eighteen = case.layout(BoxKind("neuron", "wired", 18, False))
    assert one.outer[:2] == pytest.approx((50 + 4 + 4, 40 + 4 + 4))   # the board sets the size
    assert sixteen.outer[0] == pytest.approx(16 * 10 + 2 * 4 + 2 * WALL)  # the dendrite row does
    assert eighteen.outer[0] > sixteen.outer[0] > one.outer[0]
    report = case.write_case(BoxKind("neuron", "wired", 16, False), tmp_path)
    base = _mesh(report["stl"][0])
    assert base.extents[0] == pytest.approx(16 * 10 + 2 * 4 + 2 * WALL, abs=1e-3)
    assert base.is_watertight and base.extents[0] <= BED[0]
    assert [o["connector"] for o in report["openings"]][:16] == [f"D{i}" for i in range(16)]


def test_the_dendrite_openings_are_empty_and_the_wall_between_them_is_not(board_cases):
    _, reports, _ = board_cases
    by_kind = {r["kind"]: r for r in reports}
    base4, base1 = (_mesh(by_kind[k]["stl"][0]) for k in ("neuron-wired-4in", "neuron-wired-1in"))
    assert np.allclose(base4.extents, base1.extents)
    # three more openings through the wall: exactly their volume less
    assert base1.volume - base4.volume == pytest.approx(3 * OPENING_W * OPENING_H * WALL, abs=0.5)
    centres = (-15.0, -5.0, 5.0, 15.0)
    holes = [[x, FRONT_WALL_Y, OPENING_Z] for x in centres]
    # just inside and just outside each opening's edges (0.3 mm)
    rims = [[x + s * (OPENING_W / 2 - 0.3), FRONT_WALL_Y, OPENING_Z + t * (OPENING_H / 2 - 0.3)]
            for x in centres for s in (-1, 1) for t in (-1, 1)]
    webs = [[x + s * (OPENING_W / 2 + 0.3), FRONT_WALL_Y, OPENING_Z] for x in centres for s in (-1, 1)]
    above = [[x, FRONT_WALL_Y, OPENING_Z + t * (OPENING_H / 2 + 0.3)] for x in centres for t in (-1, 1)]
    assert not _inside(base4, holes + rims).any()
    assert _inside(base4, webs + above).all()
    assert _inside(base1, holes[:1] + holes[3:]).all() and not _inside(base1, [[0.0, FRONT_WALL_Y, OPENING_Z]])[0]
    opening = next(o for o in by_kind["neuron-wired-4in"]["openings"] if o["connector"] == "D1")
    assert (opening["width_mm"], opening["height_mm"], opening["wall"]) == (OPENING_W, OPENING_H, "front")


def test_the_lids_have_the_led_window_and_the_input_lid_its_touch_pad(board_cases):
    _, reports, _ = board_cases
    by_kind = {r["kind"]: r for r in reports}
    lid_neuron, lid_input = (_mesh(by_kind[k]["stl"][1]) for k in ("neuron-wired-1in", "input"))
    # printed plate down (the lid's top face on the bed, z = 0 to 2); the LED 6 mm in from the board's end
    # (10 mm window through the plate, z 1 to 2; the 14.3 mm recess for the diffuser, z 0 to 1)
    led_x = 25.0 - 6.0
    window = [[led_x + 4.7, 0.0, 1.5], [led_x, -4.7, 1.5], [led_x + 7.0, 0.0, 0.5]]
    rim = [[led_x + 5.3, 0.0, 1.5], [led_x, -5.3, 1.5], [led_x + 7.4, 0.0, 0.5]]
    pad_recess, pad_floor, beside = [[6.0, 6.0, 0.5]], [[6.0, 6.0, 1.5]], [[0.0, 16.0, 0.5]]
    for lid in (lid_neuron, lid_input):
        assert not _inside(lid, window).any()
        assert _inside(lid, rim).all()
        assert _inside(lid, beside)[0] and _inside(lid, pad_floor)[0]
    assert _inside(lid_neuron, pad_recess)[0] and not _inside(lid_input, pad_recess)[0]
    button_hole, dish_floor = [[0.0, 0.0, 1.5], [5.8, 0.0, 1.5]], [[7.0, 0.0, 1.5]]   # the 12 mm button's hole
    assert not _inside(lid_input, button_hole).any() and _inside(lid_input, dish_floor).all()
    assert _inside(lid_neuron, button_hole).all()
    diffuser = _mesh(by_kind["input"]["stl"][2])
    assert diffuser.extents == pytest.approx([14.0, 14.0, 1.0], abs=0.05)


def test_bad_kinds_name_their_field(tmp_path):
    with pytest.raises(ConfigError, match="kind.role"):
        case.layout(BoxKind("lamp", "wired", 1, False))
    with pytest.raises(ConfigError, match="mode"):
        case.layout(BoxKind("neuron", "radio", 1, False))
    with pytest.raises(ConfigError, match=r"cases\.neuron-wired-25in-base.*bed"):
        case.write_case(BoxKind("neuron", "wired", 25, False), tmp_path)
    assert not list(tmp_path.iterdir())


def test_each_kind_has_its_connectors():
    def names(kind):
        return [(o.name, o.wall, o.pins) for o in case.layout(kind).openings]

    assert names(BoxKind("neuron", "wired", 2, True)) == [
        ("D0", "front", 2), ("D1", "front", 2), ("AXON", "back", 2), ("REWARD", "back", 3), ("PWR", "right", 2)]
    assert names(BoxKind("input", "", 0, False)) == [("AXON", "back", 2), ("PWR", "right", 2)]
    assert names(BoxKind("neuron", "bus", 0, True)) == [("BUS_IN", "back", 2), ("BUS_OUT", "back", 2),
                                                        ("PWR", "right", 2)]
    assert case.layout(BoxKind("input", "", 0, False)).touch_pad is not None
    assert case.layout(BoxKind("neuron", "bus", 0, False)).touch_pad is None
    # a 4-pin opening is 2 pitches (5 mm) wider than a 2-pin one
    assert case.opening_size(4)[0] - case.opening_size(2)[0] == pytest.approx(5.0)
