"""The twin as a target (neurobox.targets): every neuron a unit on its own clock, over wires or a bus."""
from __future__ import annotations

import time

from neurobox.hardware.board import Board, board_results, units_from_network
from neurobox.twin.report import summary
from neurobox.twin.scheduler import run_twin


class Twin:
    """The physical board as independent fixed-point units (neurobox.twin)."""

    name = "twin"
    summary = "the board of physical units: own clocks, wires or a bus, faults"

    def check(self, net) -> list:
        from neurobox.targets import check_by_building

        return check_by_building(units_from_network, net)

    def open(self, net, *, progress: bool | None = None, **options) -> "TwinHandle":
        """options: those of `run_twin` (transport, faults, seed, wire, bus, ...)."""
        return TwinHandle(units_from_network(net), options)


class TwinHandle:
    """Runs the board from power-up for a given time; each `run` starts afresh."""

    def __init__(self, board: Board, options: dict):
        self.board = board
        self.options = options
        self.last = None
        """The TwinResult of the last run (latencies, losses, bus load, EEPROM)."""

    def run(self, duration_ms: float | None = None):
        start = time.perf_counter()
        self.last = run_twin(self.board, duration_ms, **self.options)
        steps = int(round(self.last.duration_ms / self.board.dt))
        return board_results(self.board, self.last.spike_ticks, steps,
                             timings={"simulate_s": self.last.loop_s, "setup_s": self.last.sim_wall_s - self.last.loop_s,
                                      "wall_s": time.perf_counter() - start},
                             extras={"twin": summary(self.last)})

    def close(self) -> None:
        self.last = None
