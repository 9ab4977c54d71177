"""`neurobox fpga build`: every neuron of a model file as an FPGA cell, with its synthesis report.

The board of units comes from `neurobox.hardware.board.units_from_network`
(every `iaf_psc_exp` neuron one unit, spike sources as stimulus inputs,
weights in pA), as for every physical target. `build_board` converts each
unit to integers (`neurobox.hardware.unit.fixed_unit`), writes `<unit>.v`
(the cell with all its ports) per unit and `network.v` (the whole board,
`NetworkTop`), synthesises each distinct cell once for the device and
returns the report (also written to `report.json`).
"""
from __future__ import annotations

import json
from pathlib import Path

from neurobox.files import atomic_write_text
from neurobox.hardware.board import Board
from neurobox.hardware.fpga.cell import max_update_cycles
from neurobox.hardware.fpga.simulate import export_verilog, module_name, tool
from neurobox.hardware.fpga.synth import SynthReport, check_fit, check_network, device, synthesize
from neurobox.hardware.unit import FixedUnit


def _key(u: FixedUnit) -> tuple:
    """What makes two units the same cell: not the initial plastic weights (the contents of the cell's store,
    an EBR, which do not change its logic), nor the initial theta (a register's reset value: a few LUTs at most),
    so the learners of a trained network are synthesised once."""
    fixed = tuple(None if p else w for w, p in zip(u.weights, u.plastic))
    return (u.lif, fixed, u.receptors, u.plastic, u.stdp, u.rstdp, u.input_delays)


def build_board(board: Board, device_name: str = "up5k", out: str | Path | None = None,
                check: bool = False, progress=None) -> dict:
    """Write every unit's Verilog to `out` and synthesise each distinct cell (`_key`) for `device_name`.

    Returns a report: per unit its LUTs, carries, flip-flops, block RAMs (EBRs), logic cells,
    Fmax (MHz), cycles per update, fastest tick (Hz), cells per device and per UP5K and HX8K
    (`cells_per_part`); for the network the sums of logic cells and EBRs, whether they fit
    one device, and the slowest cell's Fmax. With `check`, every
    distinct cell is also placed and routed `cells_per_device` times on one device (`check_fit`;
    a minute or two per cell on a full UP5K) and its row gets "fit_check"; and if the network
    fits, the whole network is placed and routed ("network_check"). progress: a
    neurobox.engine.progress.Progress (phases "verilog", "synth" with a count of cells, "fit"), or None.
    """
    dev = device(device_name)
    tool("yosys"), tool("nextpnr-ice40")  # before anything is written
    units = board.fixed()
    out_dir = Path(out) if out is not None else None
    if progress is not None:
        progress.phase("verilog", "Amaranth, the whole network")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        from neurobox.hardware.fpga.network import export_network
        (out_dir / "network.v").write_text(export_network(units, "nb_network"))
    done: dict[tuple, SynthReport] = {}
    checked: dict[tuple, dict] = {}
    rows = []
    distinct = len({_key(u) for u in units})
    for u in units:
        if out_dir is not None:
            (out_dir / f"{u.name}.v").write_text(export_verilog(u, module_name(u)))
        key = _key(u)
        if key not in done:
            if progress is not None:
                progress.phase("synth", "yosys, nextpnr-ice40")
                progress.count(len(done), distinct, f"distinct cells ({u.name})")
            done[key] = synthesize(u, dev.name, out_dir / f"synth-{u.name}" if out_dir is not None else None)
        rep = done[key]
        if check and key not in checked:
            if progress is not None:
                progress.phase("fit", f"{rep.cells_per_device} copies of {u.name} placed and routed")
            checked[key] = check_fit(u, dev.name, rep.cells_per_device).to_dict()
        rows.append({"unit": u.name, "module": module_name(u), "inputs": u.n_inputs,
                     "plastic_inputs": len(u.plastic_index), "luts": rep.luts, "carries": rep.carries,
                     "ffs": rep.ffs, "brams": rep.brams, "logic_cells": rep.logic_cells, "fmax_mhz": rep.fmax_mhz,
                     "update_cycles": max_update_cycles(u), "max_tick_hz": rep.max_tick_hz,
                     "cells_per_device": rep.cells_per_device, "cells_per_part": rep.cells_per_part})
        if check:
            rows[-1]["fit_check"] = checked[key]
    first = next(iter(done.values()))
    available, brams_available = first.logic_cells_available, first.brams_available
    total = sum(r["logic_cells"] for r in rows)
    brams = sum(r["brams"] for r in rows)
    fmax = min(r["fmax_mhz"] for r in rows)
    slowest = max(r["update_cycles"] for r in rows)
    report = {
        "device": dev.name, "package": dev.package, "dt_ms": board.dt, "units": rows,
        "logic_cells_total": total, "logic_cells_available": available, "brams_total": brams,
        "brams_available": brams_available, "fits": total <= available and brams <= brams_available,
        "fmax_mhz": fmax, "max_tick_hz": round(fmax * 1e6 / slowest, 1),
        "real_time_factor": round(fmax * 1e6 / slowest * board.dt / 1000.0, 1),
        "out": str(out_dir) if out_dir is not None else None,
    }
    if check and report["fits"]:
        if progress is not None:
            progress.phase("fit", "the whole network placed and routed")
        report["network_check"] = check_network(
            units, dev.name, out_dir / "synth-network" if out_dir is not None else None).to_dict()
    if out_dir is not None:
        atomic_write_text(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    return report
