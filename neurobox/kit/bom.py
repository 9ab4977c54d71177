"""The bill of materials of a kit: every part per kind of box and for the whole network, the cables, and the
printed cases, as a CSV (`bom.csv`) and a summary.

Parts come from the circuits (neurobox.kit.circuit.write_circuits reports), cables from the wiring
(neurobox.kit.units.Cable, lengths in mm), one printed case per box. A cable is a JST XH lead: one housing
per connector it plugs into, one crimp contact per wire end (a source whose axon feeds several dendrites
takes several leads into one housing, as neurobox.kit.wiring describes). The network adds its 5 V supply and,
on the bus, the line's one pull-up at the host end.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from neurobox.errors import ConfigError
from neurobox.files import atomic_write_text
from neurobox.kit.units import Cable, Kit

NEURON_MA = 80.0
"""The most a neuron box draws (mA): the WS2812B at full white (60 mA) and the ATmega8 at 16 MHz, 5 V."""
CABLE_KINDS = {"REWARD": ("3-wire JST XH lead (reward, punishment, GND)", 3, "XHP-3"),
               "BUS": ("2-wire JST XH lead (bus line, GND)", 2, "XHP-2"),
               "D": ("2-wire JST XH lead (spike, GND)", 2, "XHP-2")}
CONTACT = "SXH-001T-P0.6"
"""JST XH crimp contact."""
COLUMNS_HEAD = ("section", "item", "value", "footprint", "part_number")


def cable_kind(cable: Cable) -> str:
    """The kind of lead a cable is, from the connector it plugs into at its target."""
    target = cable.target_connector
    key = "REWARD" if target == "REWARD" else "BUS" if target.startswith("BUS") else "D" if (
        target[:1] == "D" and target[1:].isdigit()) else None
    if key is None:
        raise ConfigError(f"cables.{cable.source}->{cable.target}.target_connector",
                          f"unknown connector {target!r}; valid: D<j>, BUS_IN, BUS_OUT, REWARD")
    return CABLE_KINDS[key][0]


def _part_key(row: dict) -> tuple:
    connector = all(ref.startswith("J") for ref in row["ref"].split())
    return (row["part_number"], row["footprint"], row["description"] if connector else row["value"])


def bom_rows(kit: Kit, circuits: list[dict], cables: list[Cable]) -> tuple[list[str], list[list], dict]:
    """The BOM's columns, rows and summary (see the module's docstring)."""
    kinds = {kind.name: boxes for kind, boxes in kit.kinds().items()}
    by_kind = {c["kind"]: c for c in circuits}
    if sorted(by_kind) != sorted(kinds):
        raise ConfigError("circuits", f"circuits for kinds {sorted(by_kind)}, but the kit has {sorted(kinds)}")
    names = list(kinds)
    columns = [*COLUMNS_HEAD, *[f"per {name}" for name in names], "total", "length_mm"]

    parts: dict[tuple, dict] = {}
    for name in names:
        for row in by_kind[name]["parts"]:
            line = parts.setdefault(_part_key(row), {"row": row, "per": {}})
            line["per"][name] = line["per"].get(name, 0) + int(row["quantity"])
    rows = []
    for key, line in parts.items():
        row = line["row"]
        total = sum(q * len(kinds[n]) for n, q in line["per"].items())
        rows.append(["part", row["description"], key[2], row["footprint"], row["part_number"],
                     *[line["per"].get(n, "") for n in names], total, ""])
    extras = [("5 V supply, at least {:.1f} A (e.g. a USB power adapter), with a power lead to every box's PWR",
               "5V", "", "")]
    if kit.mode == "bus":
        extras.append(("bus pull-up resistor 1 kOhm from the bus line to 5 V, one per network at the host end",
                       "1k", "Resistor_THT:R_Axial_DIN0207_L6.3mm_D2.5mm_P7.62mm_Horizontal",
                       "MFR-25FBF52-1K"))
    n_neurons = sum(len(boxes) for kind, boxes in kit.kinds().items() if kind.role == "neuron")
    supply_a = max(0.5, n_neurons * NEURON_MA / 1000.0)
    for item, value, footprint, number in extras:
        rows.append(["network", item.format(supply_a), value, footprint, number, *[""] * len(names), 1, ""])

    cable_lines: dict[str, dict] = {}
    housings: dict[str, set] = {}
    contacts = 0
    for cable in cables:
        kind = cable_kind(cable)
        line = cable_lines.setdefault(kind, {"count": 0, "length_mm": 0.0})
        line["count"] += 1
        line["length_mm"] += float(cable.length_mm)
        pins, housing = next((p, h) for k, p, h in CABLE_KINDS.values() if k == kind)
        housings.setdefault(housing, set()).update({(cable.source, cable.source_connector),
                                                    (cable.target, cable.target_connector)})
        contacts += 2 * pins
    for kind, line in cable_lines.items():
        rows.append(["cable", kind, "", "", "", *[""] * len(names), line["count"], round(line["length_mm"], 1)])
    for housing, ends in sorted(housings.items()):
        rows.append(["cable", f"JST XH housing for the leads ({housing[-1]}-pin)", "", "", housing,
                     *[""] * len(names), len(ends), ""])
    if contacts:
        rows.append(["cable", "JST XH crimp contact", "", "", CONTACT, *[""] * len(names), contacts, ""])
    for name in names:
        rows.append(["printed", f"3D-printed case for {name}", "", "", "",
                     *[1 if n == name else "" for n in names], len(kinds[name]), ""])

    per_kind = {}
    for name in names:
        per_box = sum(int(row["quantity"]) for row in by_kind[name]["parts"])
        per_kind[name] = {"boxes": len(kinds[name]), "parts_per_box": per_box, "parts": per_box * len(kinds[name])}
    summary = {"network": kit.network, "mode": kit.mode, "boxes": len(kit.boxes), "kinds": per_kind,
               "parts_total": sum(k["parts"] for k in per_kind.values()),
               "cables": {k: {"count": v["count"], "length_mm": round(v["length_mm"], 1)}
                          for k, v in cable_lines.items()},
               "cable_count": sum(v["count"] for v in cable_lines.values()),
               "cable_length_mm": round(sum(v["length_mm"] for v in cable_lines.values()), 1),
               "printed_cases": len(kit.boxes), "supply_a": supply_a}
    return columns, rows, summary


def write_bom(kit: Kit, circuits: list[dict], cables: list[Cable], folder) -> dict:
    """Write `folder/bom.csv` and return the summary (with the CSV's path under "csv")."""
    columns, rows, summary = bom_rows(kit, circuits, cables)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary["csv"] = str(atomic_write_text(folder / "bom.csv", text.getvalue()))
    return summary


__all__ = ["NEURON_MA", "bom_rows", "cable_kind", "write_bom"]
