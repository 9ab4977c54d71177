"""The whole kit in one folder: `build_kit(net, out)` (`neurobox kit MODEL.toml --out kit/`).

    cases/          one case per kind of box: STL, STEP, preview PNG (neurobox.kit.case)
    circuits/       one circuit per kind: KiCad netlist, schematic PNG, ERC (neurobox.kit.circuit)
    wiring.csv      every cable, wiring.png the drawing (bus mode: bus_addresses.csv) (neurobox.kit.wiring)
    firmware/       UNIT.hex (and .elf, .h, .pins.json, report.json) as `neurobox firmware build` makes them
    flash.sh        flash one unit's chip; flash.txt every avrdude command and the fuses (neurobox.kit.flash)
    bom.csv         the bill of materials (neurobox.kit.bom)
    ASSEMBLY.md     the one-page guide (neurobox.kit.guide)
    kit.json        the summary this function returns

The folder is written as one set (neurobox.files.atomic_folder): a failure leaves the earlier kit as it
was; the user's own files in it are kept.
"""
from __future__ import annotations

from pathlib import Path

from neurobox.kit.flash import FIRMWARE_DIR, build_firmware, write_flashing
from neurobox.kit.guide import GUIDE, write_guide
from neurobox.kit.units import kit_for
from neurobox.kit.wiring import Layout, cables, write_wiring

SUMMARY = "kit.json"
KIT_FILES = ("cases", "circuits", FIRMWARE_DIR, "wiring.csv", "wiring.png", "bus_addresses.csv", "flash.sh",
             "flash.txt", "bom.csv", GUIDE, SUMMARY)
"""What a kit folder holds (a new kit replaces these; bom.write_bom's own extra files are added as found)."""


def _relative(value, root: Path):
    """`value` with every path inside `root` made relative to it (the reports name files in the temporary
    folder the set is written in)."""
    if isinstance(value, dict):
        return {k: _relative(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_relative(v, root) for v in value]
    if isinstance(value, (str, Path)) and str(value).startswith(str(root)):
        return Path(value).relative_to(root).as_posix()
    return value


def build_kit(net, out: str | Path, *, name: str = "network", mode: str | None = None,
              layout: Layout | None = None, programmer: str = "usbasp", progress=None) -> dict:
    """Write the kit of `net` into folder `out` (module docstring): mode "wired", "bus" or None (wired when
    every unit fits its pins); the cables' lengths for `layout` (None: Layout(), layers 80 mm apart); the flashing commands for `programmer`;
    progress: a callable taking a phase name, or None. Returns the summary (also kit.json)."""
    from neurobox.files import atomic_folder, json_text
    from neurobox.kit import bom, case, circuit

    kit = kit_for(net, mode, name)
    layout = layout or Layout()
    step = progress or (lambda phase: None)
    replaces = list(KIT_FILES)
    with atomic_folder(out, replaces=replaces) as tmp:
        tmp = Path(tmp)
        for sub in ("cases", "circuits", FIRMWARE_DIR):
            (tmp / sub).mkdir()
        step("cases")
        cases = _relative(case.write_cases(kit, tmp / "cases"), tmp)
        step("circuits")
        circuits = _relative(circuit.write_circuits(kit, tmp / "circuits"), tmp)
        step("wiring")
        wiring = write_wiring(kit, tmp, layout)
        cable_list = cables(kit, layout)
        step("firmware")
        firmware = build_firmware(net, tmp / FIRMWARE_DIR, kit.mode)
        flashing = write_flashing([u["unit"] for u in firmware["units"]], tmp, programmer)
        step("bill of materials")
        bill = _relative(bom.write_bom(kit, circuits, cable_list, tmp), tmp)
        write_guide(tmp, kit, layout, cases, circuits, wiring, cable_list, flashing, bill, firmware)
        summary = {"network": kit.network, "mode": kit.mode, "boxes": len(kit.boxes),
                   "units": len(firmware["units"]), "kinds": [k.name for k in kit.kinds()],
                   "cases": cases, "circuits": circuits, "wiring": wiring, "bom": bill,
                   "firmware": {"units": [{k: u[k] for k in ("unit", "inputs", "flash_bytes", "sram_bytes")}
                                          for u in firmware["units"]], "dt_ms": firmware["dt_ms"]},
                   "flashing": flashing, "guide": GUIDE}
        (tmp / SUMMARY).write_text(json_text(summary) + "\n")
        replaces += [p.name for p in tmp.iterdir() if p.name not in replaces]
    return summary


def describe(summary: dict, out: str | Path) -> str:
    """The command's report: what the kit holds, a line each."""
    w = summary["wiring"]
    cables_line = (f"{w['cables']} cables, {w['total_length_mm'] / 1000:.2f} m ({w['layout']} layout, "
                   f"{w['spacing_mm']:g} mm apart)")
    lines = [f"kit for {summary['network']}: {summary['boxes']} boxes ({summary['units']} units), "
             f"{summary['mode']} mode, written to {out}",
             f"  cases     {len(summary['cases'])} kinds: {', '.join(str(c.get('kind')) for c in summary['cases'])}",
             f"  circuits  {len(summary['circuits'])} netlists, ERC errors "
             f"{sum(int(c.get('erc_errors', 0)) for c in summary['circuits'])}",
             f"  wiring    {cables_line}",
             f"  firmware  {summary['units']} images; fuses lfuse {summary['flashing']['fuses']['lfuse']} "
             f"hfuse {summary['flashing']['fuses']['hfuse']}; ./flash.sh UNIT",
             f"  guide     {Path(out) / GUIDE}"]
    return "\n".join(lines)

