"""`neurobox kit MODEL.toml --out kit/`: everything needed to build a network as physical boxes;
`neurobox kit flash UNIT --programmer usbasp`: write one unit's firmware and fuses with avrdude."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

from neurobox.cli import add_force, add_quiet

MODES = ("wired", "bus")
FLASH = "flash"


def register(sub) -> None:
    p = sub.add_parser("kit", help="the maker's kit: cases, circuits, wiring, firmware, BOM, assembly guide",
                       description="Write everything needed to build a network as physical neuron boxes "
                                   "(`neurobox kit MODEL.toml --out kit/`): 3D-printable cases, each kind's "
                                   "circuit (KiCad netlist, schematic), the wiring plan, every unit's firmware "
                                   "with its fuses and avrdude commands, the bill of materials and a one-page "
                                   "assembly guide. `neurobox kit flash UNIT --programmer usbasp [--kit DIR]` "
                                   "writes one unit's chip with avrdude (a model file named 'flash': ./flash).")
    p.add_argument("model", metavar="MODEL|flash", help="model file (TOML) or a built-in model such as board; "
                                                         "or 'flash' to flash a unit")
    p.add_argument("unit", nargs="?", help="the unit to flash (with 'flash'), e.g. sense.0")
    p.add_argument("--out", help="folder for the kit (required to make a kit)")
    p.add_argument("--mode", choices=MODES, help="wired: a cable per synapse; bus: one daisy-chained bus "
                                                 "(default: wired when every unit has pins for its inputs)")
    p.add_argument("--layout", default="layers", choices=("grid", "layers"),
                   help="how the boxes stand, for the cable lengths: a grid, or columns by layer (default)")
    p.add_argument("--spacing-mm", type=float, default=80.0, help="between box centres (default 80)")
    p.add_argument("--json", action="store_true", help="print the kit's summary (kit.json) as JSON")
    p.add_argument("--programmer", default="usbasp", help="avrdude programmer id (default usbasp)")
    p.add_argument("--kit", default=".", help="flash: the kit folder (default: the current folder)")
    p.add_argument("--port", help="flash: the programmer's port (avrdude -P), e.g. /dev/ttyACM0 or usb")
    p.add_argument("--bitclock", help="flash: avrdude -B, the ISP clock period in us (32 for a fresh chip)")
    p.add_argument("--dry-run", action="store_true", help="flash: print the avrdude command, run nothing")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from neurobox.errors import ConfigError

    if args.model == FLASH:
        return flash(args)
    if args.unit is not None:
        raise ConfigError("unit", f"{args.unit!r}: a unit is given only to `neurobox kit flash UNIT`")
    if args.out is None:
        raise ConfigError("--out", "needs a folder for the kit, e.g. --out kit")
    return build(args)


def flash(args) -> int:
    from neurobox.errors import ConfigError
    from neurobox.kit.flash import flash as run_flash

    if args.unit is None:
        raise ConfigError("unit", "which unit? neurobox kit flash UNIT --programmer usbasp [--kit DIR]")
    if args.out is not None:
        raise ConfigError("--out", "makes a kit; to flash from a kit folder give --kit DIR")
    cmd = run_flash(args.unit, args.kit, args.programmer, args.port, args.bitclock, dry_run=args.dry_run)
    where = Path(args.kit) / "firmware"
    if args.dry_run:
        print(f"(cd {shlex.quote(str(where))} && {shlex.join(cmd)})")
    elif not args.quiet:
        print(f"unit {args.unit} flashed through {args.programmer}")
    return 0


def build(args) -> int:
    from neurobox.examples import resolve
    from neurobox.hardware.avr.build import tool
    from neurobox.kit.build import build_kit, describe
    from neurobox.kit.flash import avrdude_command
    from neurobox.kit.units import kit_for
    from neurobox.kit.wiring import Layout
    from neurobox.network.modelfile import load
    from neurobox.paths import claim_folder, output_folder

    layout = Layout(args.layout, args.spacing_mm)
    out = output_folder(args.out, "--out", "kit", force=args.force, claim=False)
    path = resolve(args.model)
    net = load(path)
    kit_for(net, args.mode)                      # the pin planner's refusal before anything is written
    avrdude_command("UNIT.hex", args.programmer)  # a programmer id avrdude can take
    for name in ("avr-gcc", "avr-objcopy"):
        tool(name)
    claim_folder(out, "--out", "kit")
    from neurobox.engine.progress import for_cli

    with for_cli(args) as bar:
        summary = build_kit(net, out, name=Path(path).stem, mode=args.mode, layout=layout,
                            programmer=args.programmer, progress=bar.phase)
    print(json.dumps(summary) if args.json else describe(summary, args.out))
    return 0
