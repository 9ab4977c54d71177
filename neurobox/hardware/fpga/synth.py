"""Synthesis of one cell for a Lattice iCE40 with yosys and nextpnr-ice40, and the figures it reports.

    yosys -p 'read_verilog top.v; synth_ice40 -abc9 -top TOP -json top.json'
    nextpnr-ice40 --up5k --package sg48 --json top.json --pcf-allow-unconstrained
                  --freq 12 --seed 1 --report report.json

The parts are the UP5K (sg48), the HX1K (vq100) and the HX8K (ct256). The
design synthesised is `SynthTop`: the cell with only clk, rst, tick, pre,
reward, spike and busy on pins (in a network the membrane, weights, lines
and traces stay inside the device; they all feed the spike, so nothing of
the cell is removed; a cell with many inputs takes them from fewer pins,
see SynthTop). The figures come from the tools' own outputs: LUT4,
SB_CARRY, flip-flop and block RAM (SB_RAM40_4K, the EBRs: a learning cell
keeps its plastic inputs' words in one) counts from yosys's netlist, placed
logic cells (an iCE40 logic cell holds one LUT4, one flip-flop and one
carry), the device's logic cells and EBRs and Fmax from nextpnr's report.
`cells_per_device` is how many cells the device's logic cells and EBRs hold
(each divided by one cell's, rounded down, the smaller), and
`cells_per_part` the same for the UP5K and the HX8K (yosys's netlist and
nextpnr's packing do not depend on the part); `check_fit` places and routes
that many copies of a cell together (`ChainTop`, each cell's spike feeding
the next) to confirm it, and refuses with SimulationError when they do not
fit.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from neurobox.errors import ConfigError, SimulationError
from neurobox.hardware.fpga.cell import max_update_cycles
from neurobox.hardware.fpga.simulate import export_verilog, module_name, tool
from neurobox.hardware.unit import FixedUnit


@dataclass(frozen=True)
class Device:
    """An iCE40 part as nextpnr-ice40 names it: its flag, a package with enough pins, its logic cells and its
    block RAMs (EBRs of 4 kbit)."""

    name: str
    flag: str
    package: str
    logic_cells: int
    brams: int


DEVICES = {
    "up5k": Device("up5k", "--up5k", "sg48", 5280, 30),
    "hx1k": Device("hx1k", "--hx1k", "vq100", 1280, 16),
    "hx8k": Device("hx8k", "--hx8k", "ct256", 7680, 32),
}
PARTS = ("up5k", "hx8k")
"""The parts every report counts cells for: the low-power UP5K and the largest HX part."""
TARGET_MHZ = 12.0
"""Clock constraint given to nextpnr, MHz (the iCE40 boards' usual 12 MHz oscillator)."""
SEED = 1
"""nextpnr placement seed: the same seed gives the same figures."""


@dataclass(frozen=True)
class SynthReport:
    """One cell on one device.

    luts, carries, ffs, brams, dsps: SB_LUT4, SB_CARRY, SB_DFF*, SB_RAM40_4K and SB_MAC16 cells in yosys's
    netlist; logic_cells / logic_cells_available: ICESTORM_LC placed by nextpnr / on the device;
    brams_available: the device's EBRs (ICESTORM_RAM);
    fmax_mhz: nextpnr's achieved clock frequency, MHz; update_cycles: clock cycles of the
    longest update; max_tick_hz: updates per second at fmax (fmax / update_cycles);
    cells_per_device: how many such cells the device holds (`cells_per`); cells_per_part: the same for each
    of PARTS; seconds: yosys + nextpnr wall time, s.
    """

    device: str
    package: str
    luts: int
    carries: int
    ffs: int
    brams: int
    dsps: int
    logic_cells: int
    logic_cells_available: int
    brams_available: int
    fmax_mhz: float
    update_cycles: int
    max_tick_hz: float
    cells_per_device: int
    cells_per_part: dict[str, int]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def device(name: str) -> Device:
    """The Device called `name` (one of DEVICES); ConfigError otherwise."""
    try:
        return DEVICES[name]
    except KeyError:
        raise ConfigError("--device", f"unknown device {name!r}; valid: {', '.join(DEVICES)}") from None


def cells_per(logic_cells: int, brams: int, logic_cells_available: int, brams_available: int) -> int:
    """How many cells of logic_cells logic cells and brams EBRs a device holds: the smaller of its logic cells
    and its EBRs divided by one cell's, rounded down."""
    fit = logic_cells_available // logic_cells if logic_cells else 0
    return min(fit, brams_available // brams) if brams else fit


def count_cells(netlist: dict, top: str) -> dict[str, int]:
    """Cells of module `top` in a yosys JSON netlist, by type."""
    try:
        cells = netlist["modules"][top]["cells"]
    except KeyError:
        raise SimulationError(f"yosys netlist has no module {top!r}") from None
    counts: dict[str, int] = {}
    for cell in cells.values():
        counts[cell["type"]] = counts.get(cell["type"], 0) + 1
    return counts


def parse_nextpnr_report(report: dict) -> tuple[int, int, int, float]:
    """(logic cells used, logic cells available, EBRs available, Fmax in MHz) from nextpnr's --report JSON."""
    try:
        use = report["utilization"]
        used, available = int(use["ICESTORM_LC"]["used"]), int(use["ICESTORM_LC"]["available"])
        rams = int(use["ICESTORM_RAM"]["available"])
    except (KeyError, TypeError, ValueError):
        raise SimulationError("nextpnr report has no ICESTORM_LC or ICESTORM_RAM utilisation") from None
    clocks = report.get("fmax") or {}
    if not clocks:
        raise SimulationError("nextpnr report has no clock (fmax)")
    fmax = min(float(c["achieved"]) for c in clocks.values())
    return used, available, rams, fmax


def _run(cmd: list[str], cwd: Path, what: str, timeout: float = 600) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise SimulationError(f"{what} failed ({' '.join(cmd[:2])} ...): {tail}")


def _yosys_nextpnr(top: str, dev: Device, work: Path) -> tuple[dict, dict, float]:
    yosys, nextpnr = tool("yosys"), tool("nextpnr-ice40")
    start = time.perf_counter()
    _run([yosys, "-q", "-l", "yosys.log", "-p",
          f"read_verilog top.v; synth_ice40 -abc9 -top {top} -json top.json"], work, "yosys")
    _run([nextpnr, dev.flag, "--package", dev.package, "--json", "top.json", "--pcf-allow-unconstrained",
          "--freq", f"{TARGET_MHZ:g}", "--seed", str(SEED), "--report", "report.json", "-q",
          "-l", "nextpnr.log"], work, "nextpnr-ice40")
    seconds = time.perf_counter() - start
    return json.loads((work / "top.json").read_text()), json.loads((work / "report.json").read_text()), seconds


def synthesize(unit: FixedUnit, device_name: str = "up5k", workdir: str | Path | None = None,
               verilog_text: str | None = None) -> SynthReport:
    """Synthesise, place and route `unit`'s cell for `device_name` and read back the figures.

    `workdir` keeps top.v, top.json, yosys.log and report.json (a temporary directory by default);
    `verilog_text` replaces the exported SynthTop (a module named <module_name(unit)>_top).
    """
    dev = device(device_name)
    tool("yosys"), tool("nextpnr-ice40")
    top = module_name(unit) + "_top"
    text = verilog_text if verilog_text is not None else export_verilog(unit, top, top="synth")
    with tempfile.TemporaryDirectory(prefix="nb-synth-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "top.v").write_text(text)
        netlist, report, seconds = _yosys_nextpnr(top, dev, work)
        counts = count_cells(netlist, top)
        used, available, rams, fmax = parse_nextpnr_report(report)
    cycles = max_update_cycles(unit)
    brams = counts.get("SB_RAM40_4K", 0)
    return SynthReport(
        device=dev.name, package=dev.package,
        luts=counts.get("SB_LUT4", 0), carries=counts.get("SB_CARRY", 0),
        ffs=sum(v for k, v in counts.items() if k.startswith("SB_DFF")),
        brams=brams, dsps=counts.get("SB_MAC16", 0),
        logic_cells=used, logic_cells_available=available, brams_available=rams, fmax_mhz=round(fmax, 3),
        update_cycles=cycles, max_tick_hz=round(fmax * 1e6 / cycles, 1),
        cells_per_device=cells_per(used, brams, available, rams),
        cells_per_part={name: cells_per(used, brams, DEVICES[name].logic_cells, DEVICES[name].brams)
                        for name in PARTS},
        seconds=round(seconds, 3))


@dataclass(frozen=True)
class FitCheck:
    """`copies` cells placed and routed together on one device (ChainTop).

    logic_cells / logic_cells_available: ICESTORM_LC used / on the device; fmax_mhz: MHz;
    seconds: yosys + nextpnr wall time, s.
    """

    device: str
    copies: int
    logic_cells: int
    logic_cells_available: int
    fmax_mhz: float
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def check_fit(unit: FixedUnit, device_name: str, copies: int, workdir: str | Path | None = None) -> FitCheck:
    """Place and route `copies` cells of `unit` chained on one device; SimulationError if they do not fit.

    This checks `cells_per_device` for real (at full devices nextpnr needs a minute or two).
    """
    from amaranth.back import verilog

    from neurobox.hardware.fpga.cell import ChainTop

    dev = device(device_name)
    tool("yosys"), tool("nextpnr-ice40")
    top = module_name(unit) + "_chain"
    text = verilog.convert(ChainTop(unit, copies), name=top, emit_src=False)
    with tempfile.TemporaryDirectory(prefix="nb-fit-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "top.v").write_text(text)
        _, report, seconds = _yosys_nextpnr(top, dev, work)
    used, available, _, fmax = parse_nextpnr_report(report)
    return FitCheck(dev.name, copies, used, available, round(fmax, 3), round(seconds, 3))


def check_network(units: list[FixedUnit], device_name: str, workdir: str | Path | None = None) -> FitCheck:
    """Place and route a whole board (`NetworkTop`, every unit a cell) on one device.

    SimulationError (from nextpnr) if it does not fit; `copies` in the result is the number of cells.
    """
    from neurobox.hardware.fpga.network import export_network

    dev = device(device_name)
    tool("yosys"), tool("nextpnr-ice40")
    text = export_network(units, "nb_network")
    with tempfile.TemporaryDirectory(prefix="nb-net-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        (work / "top.v").write_text(text)
        _, report, seconds = _yosys_nextpnr("nb_network", dev, work)
    used, available, _, fmax = parse_nextpnr_report(report)
    return FitCheck(dev.name, len(units), used, available, round(fmax, 3), round(seconds, 3))
