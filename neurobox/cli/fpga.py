"""`neurobox fpga build MODEL.toml`: every neuron as an iCE40 cell (Amaranth -> Verilog -> yosys/nextpnr)."""
from __future__ import annotations

import json

from neurobox.cli import add_force, add_quiet

DEVICES = ("up5k", "hx1k", "hx8k")


def register(sub) -> None:
    p = sub.add_parser("fpga", help="turn every neuron into an FPGA cell and report its size and speed",
                       description="Write one Verilog cell per neuron (fixed-point LIF with delay lines and "
                                   "on-cell pair STDP or reward-modulated STDP, bit-exact with the Python "
                                   "specification) and synthesise it for a Lattice iCE40 with yosys and "
                                   "nextpnr-ice40.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    b = actions.add_parser("build", help="write the Verilog and report LUTs, flip-flops, Fmax, cells per device")
    b.add_argument("model", help="model file (TOML), or a built-in model such as board")
    b.add_argument("--device", default="up5k", choices=DEVICES, help="iCE40 part (default up5k)")
    b.add_argument("--out", help="directory for the Verilog and report.json (default: MODEL_fpga/ here)")
    b.add_argument("--check-fit", action="store_true",
                   help="also place and route cells-per-device copies of each cell, and the whole "
                        "network if it fits, on one device (slow: a minute or two per full UP5K)")
    b.add_argument("--json", action="store_true", help="print the report as one JSON object")
    add_quiet(b)
    add_force(b)
    b.set_defaults(func=build)


def build(args) -> int:
    from neurobox.examples import resolve
    from neurobox.network.modelfile import load
    from neurobox.targets import exporter, require

    from neurobox.paths import claim_folder, output_folder

    path = resolve(args.model)
    out = output_folder(args.out or f"{path.stem}_fpga", "--out", "fpga build", force=args.force, claim=False)
    net = load(path)
    cells = exporter("fpga")
    require(cells, net)
    claim_folder(out, "--out", "fpga build")
    from neurobox.engine.progress import for_cli
    from neurobox.text import plural

    with for_cli(args) as bar:
        report = cells.export(net, out, device=args.device, check_fit=args.check_fit, progress=bar)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{plural(len(report['units']), 'cell')} for iCE40 {report['device'].upper()} ({report['package']}), "
          f"Verilog and report.json written to {out}")
    for u in report["units"]:
        fit = {report["device"]: u["cells_per_device"]} | u["cells_per_part"]
        print(f"  {u['unit']:<14} {plural(u['inputs'], 'input ', 'inputs', 3)} ({u['plastic_inputs']} plastic)  "
              f"{u['luts']:>5} LUT4 {u['ffs']:>4} FF {u['carries']:>4} carry {u['brams']:>2} EBR  "
              f"{u['logic_cells']:>5} logic cells  "
              f"Fmax {u['fmax_mhz']:6.1f} MHz  {u['update_cycles']:>4} cycles/update  "
              + ", ".join(f"{n} per {part.upper()}" for part, n in fit.items()))
        if "fit_check" in u:
            fc = u["fit_check"]
            print(f"  {'':<14} checked: {plural(fc['copies'], 'cell')} placed and routed together, "
                  f"{fc['logic_cells']} of "
                  f"{fc['logic_cells_available']} logic cells, Fmax {fc['fmax_mhz']:.1f} MHz")
    fit = "fits" if report["fits"] else "does not fit"
    print(f"  network: {report['logic_cells_total']} of {report['logic_cells_available']} logic cells and "
          f"{report['brams_total']} of {report['brams_available']} EBRs ({fit} one "
          f"device); slowest Fmax {report['fmax_mhz']:.1f} MHz, up to {report['max_tick_hz']:.0f} ticks/s "
          f"(x{report['real_time_factor']:g} real time at dt = {report['dt_ms']:g} ms)")
    if "network_check" in report:
        nc = report["network_check"]
        print(f"  checked: the whole network placed and routed, {nc['logic_cells']} of "
              f"{nc['logic_cells_available']} logic cells, Fmax {nc['fmax_mhz']:.1f} MHz (network.v)")
    return 0
