"""The bill of materials: the board example's part counts (counted by hand from the circuit's description),
totals equal per-kind counts times boxes, cable counts and lengths."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from neurobox.errors import ConfigError
from neurobox.kit import bom, circuit
from neurobox.kit.units import Cable, kit_for
from neurobox.network.modelfile import load

BOARD = Path(__file__).resolve().parent.parent / "examples" / "board.toml"
NEURON_BASE = 15
"""Parts of a wired neuron box besides its dendrite connectors: ATmega8, crystal, 2 x 22 pF, 100 nF on VCC,
AVCC, AREF and at the LED, 100 uF bulk, 10k reset pull-up, WS2812B, 330 Ohm, ISP header, PWR and AXON."""
INPUT_PARTS = 6
"""An input box: button, 100 Ohm, 100k, 100 nF, PWR and AXON."""


def circuits_of(kit):
    """The circuit reports write_circuits would return, without SKiDL (parts only)."""
    return [{"kind": kind.name, "boxes": [b.name for b in boxes],
             "parts": circuit.parts_table(circuit.design(kind, boxes))} for kind, boxes in kit.kinds().items()]


CABLES = [Cable("touch.0", "AXON", "sense.0", "D0", "spike", 180.0),
          Cable("touch.0", "AXON", "sense.1", "D0", "spike", 260.0),
          Cable("relay", "AXON", "sense.0", "D2", "spike", 340.5),
          Cable("host", "REWARD", "sense.0", "REWARD", "reward and punishment", 500.0)]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    kit = kit_for(load(BOARD), "wired", "board")
    folder = tmp_path_factory.mktemp("bom")
    return kit, bom.write_bom(kit, circuits_of(kit), CABLES, folder), read_csv(folder / "bom.csv")


def test_board_part_counts(wired):
    _, summary, rows = wired
    kinds = summary["kinds"]
    assert kinds["neuron-wired-4in"] == {"boxes": 2, "parts_per_box": NEURON_BASE + 4, "parts": 38}
    assert kinds["neuron-wired-2in"] == {"boxes": 1, "parts_per_box": NEURON_BASE + 2, "parts": 17}
    assert kinds["neuron-wired-1in"] == {"boxes": 1, "parts_per_box": NEURON_BASE + 1, "parts": 16}
    assert kinds["input"] == {"boxes": 2, "parts_per_box": INPUT_PARTS, "parts": 12}
    assert summary["parts_total"] == 83 and summary["boxes"] == 6 and summary["printed_cases"] == 6
    parts = {(r["part_number"], r["value"]): r for r in rows if r["section"] == "part"}
    assert int(parts[("ATMEGA8A-PU", "ATMEGA8A-PU")]["total"]) == 4
    assert int(parts[("WS2812B", "WS2812B")]["total"]) == 4
    assert int(parts[("FG28X7R1H104KNT06", "100nF")]["total"]) == 4 * 4 + 2
    jst = next(r for (number, _), r in parts.items() if number == "B2B-XH-A")
    assert int(jst["total"]) == 2 * 6 + 4 + 3 + 2 * 2
    assert jst["per neuron-wired-4in"] == "6" and jst["per input"] == "2"
    assert sum(int(r["total"]) for r in rows if r["section"] == "part") == 83


def test_totals_are_per_kind_times_boxes(wired):
    kit, _, rows = wired
    boxes = {kind.name: len(b) for kind, b in kit.kinds().items()}
    for r in rows:
        if r["section"] in ("part", "printed"):
            expected = sum(int(r[f"per {name}"] or 0) * n for name, n in boxes.items())
            assert int(r["total"]) == expected, r
    printed = {r["item"]: int(r["total"]) for r in rows if r["section"] == "printed"}
    assert printed["3D-printed case for neuron-wired-4in"] == 2 and sum(printed.values()) == 6


def test_cable_totals(wired):
    _, summary, rows = wired
    spike = "2-wire JST XH lead (spike, GND)"
    reward = "3-wire JST XH lead (reward, punishment, GND)"
    assert summary["cables"] == {spike: {"count": 3, "length_mm": 780.5}, reward: {"count": 1, "length_mm": 500.0}}
    assert summary["cable_count"] == 4 and summary["cable_length_mm"] == 1280.5
    lines = {r["item"]: r for r in rows if r["section"] == "cable"}
    assert lines[spike]["total"] == "3" and float(lines[spike]["length_mm"]) == 780.5
    # housings: one per connector end (touch.0 AXON, relay AXON, sense.0 D0, sense.1 D0, sense.0 D2) and
    # the reward lead's two; contacts: one per wire end
    assert lines["JST XH housing for the leads (2-pin)"]["total"] == "5"
    assert lines["JST XH housing for the leads (3-pin)"]["total"] == "2"
    assert lines["JST XH crimp contact"]["total"] == str(3 * 2 * 2 + 1 * 3 * 2)


def test_bus_board_and_bad_input(tmp_path):
    kit = kit_for(load(BOARD), "bus", "board")
    chain = [Cable("sense.0", "BUS_OUT", "sense.1", "BUS_IN", "bus", 100.0),
             Cable("sense.1", "BUS_OUT", "relay", "BUS_IN", "bus", 120.0)]
    summary = bom.write_bom(kit, circuits_of(kit), chain, tmp_path)
    assert summary["kinds"]["neuron-bus"] == {"boxes": 4, "parts_per_box": NEURON_BASE - 1 + 3, "parts": 68}
    assert summary["cables"] == {"2-wire JST XH lead (bus line, GND)": {"count": 2, "length_mm": 220.0}}
    rows = read_csv(tmp_path / "bom.csv")
    assert any(r["section"] == "network" and r["part_number"] == "MFR-25FBF52-1K" for r in rows)
    with pytest.raises(ConfigError, match="unknown connector"):
        bom.write_bom(kit, circuits_of(kit), [Cable("a", "AXON", "b", "X9", "?", 1.0)], tmp_path)
    with pytest.raises(ConfigError, match="circuits"):
        bom.write_bom(kit, circuits_of(kit)[:1], chain, tmp_path)
