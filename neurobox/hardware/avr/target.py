"""The ATmega8 firmware as targets (neurobox.targets): images to flash, and the whole board run in simavr."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from neurobox.hardware.board import board_results, steps_for, units_from_network


def _check(net) -> list:
    """The board (units_from_network) and the planner (neurobox.hardware.plan: it fits in some connection
    mode; the mode a build or run takes is planned again when it starts)."""
    from neurobox.hardware.plan import check_network

    return check_network(net)


class Firmware:
    """Every unit as an ATmega8 image (NAME.hex, NAME.elf, its header and pin map) and a resource report."""

    name = "firmware"
    summary = "ATmega8 firmware, one image per neuron, measured in simavr"
    check = staticmethod(_check)

    def export(self, net, out, *, mode: str = "wired", steps: int | None = None, reward=None,
               progress=None) -> dict:
        """Build into folder `out`; mode "wired" or "bus"; steps: ticks measured in simavr; reward: the pulses
        per tick they are measured under (neurobox.hardware.avr.network.build_board). The report."""
        from neurobox.hardware.avr.network import DEFAULT_STEPS, build_board

        return build_board(units_from_network(net), Path(out), mode, steps or DEFAULT_STEPS, reward, progress)


class EmulatedBoard:
    """The whole board in simavr: every unit its own ATmega8, connected only by its pins (wires or bus)."""

    name = "avr-sim"
    summary = "every unit's firmware in simavr, wired together"
    check = staticmethod(_check)

    def open(self, net, *, progress: bool | None = None, mode: str = "bus") -> "EmulatedRun":
        return EmulatedRun(net, mode)


class EmulatedRun:
    def __init__(self, net, mode: str):
        self.board = units_from_network(net)
        self.mode = mode

    def run(self, duration_ms: float | None = None):
        from neurobox.hardware.avr.board_emulator import emulate_board

        start = time.perf_counter()
        steps = steps_for(self.board, duration_ms or self.board.network.duration)
        states = emulate_board(self.board, steps, self.mode).states
        spikes = {name: np.array([s["spiked"] for s in rows], dtype=bool) for name, rows in states.items()}
        return board_results(self.board, spikes, steps, timings={"wall_s": time.perf_counter() - start},
                             extras={"avr_sim": {"mode": self.mode}})

    def close(self) -> None:
        pass
