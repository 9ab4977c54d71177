"""The iCE40 cells as targets (neurobox.targets): Verilog with a synthesis report, and the network in iverilog."""
from __future__ import annotations

import time

import numpy as np

from neurobox.hardware.board import board_results, source_spikes, steps_for, units_from_network


def _check(net) -> list:
    from neurobox.targets import check_by_building

    return check_by_building(units_from_network, net)


class Cells:
    """Every neuron as an Amaranth cell: Verilog per unit and for the network, synthesised for iCE40."""

    name = "fpga"
    summary = "iCE40 cells (Amaranth -> Verilog -> yosys/nextpnr)"
    check = staticmethod(_check)

    def export(self, net, out, *, device: str = "up5k", check_fit: bool = False, progress=None) -> dict:
        from neurobox.hardware.fpga.build import build_board
        from neurobox.hardware.fpga.simulate import amaranth_or_error

        amaranth_or_error()
        return build_board(units_from_network(net), device, out, check=check_fit, progress=progress)


class SimulatedCells:
    """The whole network of cells (network.v) simulated in iverilog, tick by tick."""

    name = "fpga-sim"
    summary = "the network of cells in iverilog"
    check = staticmethod(_check)

    def open(self, net, *, progress: bool | None = None) -> "SimulatedRun":
        return SimulatedRun(net)


class SimulatedRun:
    def __init__(self, net):
        self.board = units_from_network(net)

    def run(self, duration_ms: float | None = None):
        from neurobox.hardware.fpga.network import simulate_network_iverilog, stimulus_names

        start = time.perf_counter()
        steps = steps_for(self.board, duration_ms or self.board.network.duration)
        units = self.board.fixed()
        fired = source_spikes(self.board, steps)
        names = stimulus_names(units)
        stim = np.zeros((steps, len(names)), dtype=bool)
        for i, name in enumerate(names):
            stim[1:, i] = fired[name][:-1]  # a stimulus spike of tick t reaches the cells in tick t + 1
        spikes = simulate_network_iverilog(units, stim)
        return board_results(self.board, {u.name: spikes[:, k] for k, u in enumerate(units)}, steps,
                             timings={"wall_s": time.perf_counter() - start})

    def close(self) -> None:
        pass
