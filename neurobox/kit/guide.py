"""The assembly guide: one Markdown page (ASSEMBLY.md) in the kit folder, from what the other parts wrote.

It links the pictures by their path relative to the kit folder (case previews, schematics, the wiring
drawing), and gives the bill of materials' summary, the build steps of each kind of box, the wiring table
(every cable, or the first MAX_ROWS), the fuses and every unit's avrdude command.
"""
from __future__ import annotations

from pathlib import Path

from neurobox.kit.flash import FIRMWARE_DIR, FUSES
from neurobox.kit.units import BOX_INPUT, BoxKind, Kit
from neurobox.kit.wiring import Layout, pin_of

GUIDE = "ASSEMBLY.md"
MAX_ROWS = 40
"""Cables listed in the guide; wiring.csv has them all."""
SHOWN_ELSEWHERE = ("network", "mode", "files", "csv")
"""Entries of the bill of materials' summary the guide does not repeat."""


def _by_kind(reports: list[dict]) -> dict[str, dict]:
    return {r.get("kind"): r for r in reports}


def _link(path, text: str) -> str:
    """A Markdown link to `path`, or to each of a list of paths (named by file), or "" for none."""
    if isinstance(path, (list, tuple)):
        return f"{text}: " + ", ".join(f"[{Path(p).name}]({p})" for p in path) if path else ""
    return f"[{text}]({path})" if path else ""


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _table(rows: dict, first: str) -> list[str]:
    """Rows keyed by name (name -> {column: value}) as a Markdown table."""
    cols = list(dict.fromkeys(c for r in rows.values() for c in r))
    return (["", f"| {first} | " + " | ".join(c.replace("_", " ") for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
            + [f"| {name} | " + " | ".join(_value(r.get(c, "")) for c in cols) + " |" for name, r in rows.items()])


def _summary_lines(summary: dict) -> list[str]:
    """The bill of materials' summary as Markdown: scalars as a list, a table for rows keyed by name."""
    lines, tables = [], []
    for key, value in summary.items():
        if key in SHOWN_ELSEWHERE:
            continue
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            tables += _table(value, key.replace("_", " "))
        elif isinstance(value, dict):
            lines.append(f"- {key.replace('_', ' ')}: " + "; ".join(f"{k} {_value(v)}" for k, v in value.items()))
        else:
            lines.append(f"- {key.replace('_', ' ')}: {_value(value)}")
    return lines + tables


def _dendrites(n: int) -> str:
    return "the dendrite connector D0" if n == 1 else f"the dendrite connectors D0..D{n - 1}"


def kind_steps(kind: BoxKind, kit: Kit) -> list[str]:
    """The build steps of one kind of box, numbered."""
    if kind.role == BOX_INPUT:
        steps = ["Print the input box's case and fit the 12 mm push button in the lid's dish.",
                 "Wire the button's circuit as its schematic shows; its output is the box's AXON connector "
                 + ("(one cable per box it feeds: wiring.csv)." if kit.mode == "wired"
                    else "and goes to the host, which sends its presses on the bus at its address (wiring.csv).")]
    else:
        steps = ["Print the case (every STL of its kind); print the LED window or diffuser in translucent "
                 "filament (white PETG or natural PLA).",
                 "Solder the board as the schematic shows: the ATmega8 in a 28-pin socket, the 16 MHz crystal "
                 "with its two load capacitors, 100 nF at every supply pin, the reset pull-up, the 6-pin ISP "
                 "header, the WS2812 on PB0 with its series resistor and capacitor.",
                 f"Fit the connectors: AXON on PB1 and {_dendrites(kind.dendrites)}, one per input (the pin "
                 "of each is in wiring.csv)."
                 if kind.mode == "wired" else
                 "Fit the two bus connectors BUS_IN and BUS_OUT (the bus line passes through; the chip's UART, "
                 "PD0/PD1, joins it).",
                 "Flash the chip through the ISP header before closing the box (see Firmware and flashing); "
                 "label the box with its unit's name."]
        if kind.reward:
            steps.insert(3, "Fit the REWARD connector (reward PD2, punishment PD3) for the host's line."
                         if kind.mode == "wired" else "Rewards arrive as bytes on the bus: no extra connector.")
    return [f"{k}. {s}" for k, s in enumerate(steps, 1)]


def guide_text(kit: Kit, layout: Layout, cases: list[dict], circuits: list[dict], wiring: dict, cable_list,
               flashing: dict, bom: dict, firmware: dict) -> str:
    """The guide's Markdown (paths in the reports relative to the kit folder)."""
    kinds = kit.kinds()
    case_of, circuit_of = _by_kind(cases), _by_kind(circuits)
    n_units = sum(1 for b in kit.boxes if b.role != BOX_INPUT)
    out = [f"# Building {kit.network}: {len(kit.boxes)} boxes", "",
           f"{n_units} neuron boxes (one ATmega8 each) and {len(kit.boxes) - n_units} input boxes, "
           f"{kit.mode} mode, {len(kinds)} kinds of box. Made by `neurobox kit`; every file named here is in "
           f"this folder.", "", "## What you need", ""]
    out += _summary_lines(bom) or ["- see bom.csv"]
    out += ["", "The full list with part numbers: [bom.csv](bom.csv).", "", "## The boxes", ""]
    for kind, boxes in kinds.items():
        c, s = case_of.get(kind.name, {}), circuit_of.get(kind.name, {})
        out += [f"### {kind.name}: {len(boxes)} box{'es' if len(boxes) != 1 else ''} "
                f"({', '.join(b.name for b in boxes)})", ""]
        pics = []
        if c.get("png"):
            pics.append(f"![case {kind.name}]({c['png']})")
        if s.get("schematic"):
            pics.append(f"![circuit {kind.name}]({s['schematic']})")
        out += [" ".join(pics), ""] if pics else []
        files = [_link(c.get("stl"), "case (STL)"), _link(c.get("step"), "case (STEP)"),
                 _link(s.get("netlist"), "netlist (KiCad)")]
        facts = []
        if c.get("size_mm"):
            facts.append("case " + " x ".join(f"{v:g}" for v in c["size_mm"]) + " mm")
        if "erc_errors" in s:
            facts.append(f"ERC: {s['erc_errors']} errors, {s.get('erc_warnings', 0)} warnings")
        line = ", ".join(f for f in files + facts if f)
        out += [line, ""] if line else []
        out += kind_steps(kind, kit) + [""]
    total = wiring.get("total_length_mm", 0.0)
    out += ["## Wiring", "", "![wiring](wiring.png)", "",
            f"{wiring.get('cables', len(cable_list))} cables, {total / 1000:.2f} m in all (longest "
            f"{wiring.get('longest_mm', 0):g} mm), for boxes {layout.spacing_mm:g} mm apart in a {layout.kind} "
            f"layout; lengths include slack. The table: [wiring.csv](wiring.csv)."]
    if wiring.get("splits"):
        out += ["", "Axons that feed several boxes are split at their source, one cable per input from the "
                    "same AXON connector: " + ", ".join(f"{s} ({n} cables)" for s, n in wiring["splits"].items())
                + "."]
    if kit.mode == "bus":
        out += ["", "On the bus each input is an address the unit listens for, set in its firmware: "
                    "[bus_addresses.csv](bus_addresses.csv)."]
    out += ["", "| # | from | pin | to | pin | mm |", "|---|---|---|---|---|---|"]
    for k, c in enumerate(cable_list[:MAX_ROWS], 1):
        out.append(f"| {k} | {c.source} {c.source_connector} | {pin_of(kit, c.source, c.source_connector)} | "
                   f"{c.target} {c.target_connector} | {pin_of(kit, c.target, c.target_connector)} | "
                   f"{c.length_mm:g} |")
    if len(cable_list) > MAX_ROWS:
        out.append(f"\n... and {len(cable_list) - MAX_ROWS} more in wiring.csv.")
    out += ["", "## Firmware and flashing", "",
            f"One image per unit in [{FIRMWARE_DIR}/]({FIRMWARE_DIR}/) (built and measured in simavr as "
            f"`neurobox firmware build` does), for an ATmega8 on a 16 MHz crystal. Fuses: lfuse "
            f"0x{FUSES['lfuse']:02X}, hfuse 0x{FUSES['hfuse']:02X} (crystal above 8 MHz: CKOPT programmed, "
            f"CKSEL 1111, SUT 11; brown-out at 4.0 V; EEPROM kept across a re-flash, so learned weights "
            f"survive). Put one chip on the programmer's ISP header and run `./flash.sh UNIT` "
            f"(PROGRAMMER=usbasp by default) or `neurobox kit flash UNIT --programmer usbasp --kit .`; a "
            f"fresh chip runs at 1 MHz until its fuses are written: add `-B 32` (BITCLOCK=32) if the "
            f"programmer cannot reach it. Every command: [flash.txt](flash.txt).", "",
            "| unit | flash | SRAM | command |", "|---|---|---|---|"]
    sizes = {u["unit"]: u for u in firmware.get("units", [])}
    for unit, cmd in flashing["commands"].items():
        u = sizes.get(unit, {})
        out.append(f"| {unit} | {u.get('flash_bytes', '?')} B | {u.get('sram_bytes', '?')} B | `{cmd}` |")
    return "\n".join(out) + "\n"


def write_guide(folder: str | Path, *args) -> Path:
    """Write `folder`/ASSEMBLY.md (guide_text's arguments after the folder)."""
    from neurobox.files import atomic_write_text

    return atomic_write_text(Path(folder) / GUIDE, guide_text(*args))
