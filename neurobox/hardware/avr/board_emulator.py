"""A whole board in one emulator: every unit its own ATmega8, connected only through pins.

`emulate_board` builds every unit, then runs them together in simavr
(runner/board_runner.c): in wired mode each axon pin drives the dendrite
pins it is wired to, in bus mode every UART byte reaches every other unit.
The stimulus wires are driven in the middle of the tick in which their
source fired, as a unit's axon would; so are the host's reward pulses, in
the middle of the tick before the one they are seen in (the reward and
punishment lines of every unit that learns by reward). On the bus the host
sends a stimulus byte in its source's slot of that tick, and the bytes
0x80|127 and 0x80|126 at its broadcast time (neurobox.hardware.avr.bus), on
the board's nominal clock. Units may start with different clock phases, as
separate boards do.

`verify_board_emulation` compares every unit's state, tick by tick, with the
fixed-point reference of the whole board (neurobox.hardware.board): this
checks the wires and the bus themselves, not only each unit on recorded
inputs.
"""
from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurobox.errors import SimulationError
from neurobox.hardware.avr import config, emulator
from neurobox.hardware.avr.build import Image, build
from neurobox.hardware.avr.network import plan_board
from neurobox.hardware.plan import planned_bus
from neurobox.hardware.avr.verify import first_mismatch
from neurobox.hardware.board import Board, board_inputs, reward_schedule, source_spikes, wire_pulses
from neurobox.hardware.unit import simulate


def _in_tick(t: int, tick: int, cycles: int) -> int:
    """Board time of `cycles` after the start of tick t: the first tick interrupt comes one period after start-up."""
    return (t + 1) * tick + cycles


def _mid_tick(t: int, tick: int) -> int:
    """Board time (cycles) in the middle of tick t."""
    return _in_tick(t, tick, tick // 2)


@dataclass
class BoardEmulation:
    """Per unit, its decoded state after every tick; and why the run ended."""

    states: dict
    reason: str


def _reward_lines(pulses: np.ndarray, units, maps, index: dict, mode: str, tick: int, bus) -> list[str]:
    """The host's reward pulses as the runner's events: pulse t is sent in tick t - 1 (in its middle on the
    lines, at the broadcast time on the bus)."""
    lines = []
    for t in np.flatnonzero(pulses):
        sign = int(pulses[t])
        if mode == "bus":
            address = config.REWARD_ADDRESS if sign > 0 else config.PUNISH_ADDRESS
            lines.append(f"byte {_in_tick(int(t) - 1, tick, bus.host_cycles)} {0x80 | address:02x}")
            continue
        for u in units:
            if u.rstdp is not None:
                pin = maps[u.name].reward[0 if sign > 0 else 1][1:]
                lines.append(f"pin {_mid_tick(int(t) - 1, tick)} {index[u.name]} {pin} 1")
                lines.append(f"pin {_mid_tick(int(t) - 1 + config.AXON_HOLD, tick)} {index[u.name]} {pin} 0")
    return lines


def emulate_board(board: Board, steps: int, mode: str = "wired", phases: dict[str, int] | None = None,
                  work_dir: Path | None = None, timeout: float = 120.0,
                  images: dict[str, Image] | None = None, reward=None) -> BoardEmulation:
    """Run every unit of `board` together for `steps` ticks; `phases`: start delay (cycles) per unit;
    `reward`: the host's pulses, one per tick (neurobox.hardware.board.reward_schedule).

    `images`: firmware already built per unit name (as `config.header(u, pins, addresses=board.addresses,
    bus=planned_bus(board))` on the bus); the others are built here."""
    pulses = reward_schedule(reward, steps, mode)
    units = board.fixed()
    maps = plan_board(board, units, mode)
    bus = planned_bus(board) if mode == "bus" else None
    tick = config.tick_timer(board.dt).cycles
    phases = phases or {}
    index = {u.name: k for k, u in enumerate(units)}
    stim = source_spikes(board, steps)
    if mode == "wired":
        stim = {name: wire_pulses(s) for name, s in stim.items()}
    lines = []
    with tempfile.TemporaryDirectory(prefix="neurobox-board-") as tmp:
        out = Path(work_dir or tmp)
        for u in units:
            image = (images or {}).get(u.name) or build(config.header(u, maps[u.name], addresses=board.addresses,
                                                                      bus=bus), out, u.name)
            lines.append(f"unit {image.elf} {image.state_address} {config.state_size(u)} "
                         f"{int(phases.get(u.name, 0))}")
        if mode == "bus":
            lines.append("bus")
        for u in units:
            for j, src in enumerate(u.sources):
                dendrite = maps[u.name].dendrites[j][1:] if mode == "wired" else None
                if src in index and mode == "wired":
                    lines.append(f"wire {index[src]} {maps[src].axon[1:]} {index[u.name]} {dendrite}")
                elif src in stim and mode == "wired":
                    for t in np.flatnonzero(stim[src]):
                        # high from the middle of the tick the stimulus fired in, for AXON_HOLD ticks
                        lines.append(f"pin {_mid_tick(int(t), tick)} {index[u.name]} {dendrite} 1")
                        lines.append(f"pin {_mid_tick(int(t) + config.AXON_HOLD, tick)} {index[u.name]} "
                                     f"{dendrite} 0")
        if mode == "bus":
            for src, s in stim.items():
                slot = bus.slot_cycles(board.addresses[src])
                for t in np.flatnonzero(s):
                    lines.append(f"byte {_in_tick(int(t), tick, slot)} {0x80 | board.addresses[src]:02x}")
        lines += _reward_lines(pulses, units, maps, index, mode, tick, bus)
        exe = emulator.runner_path("board_runner")
        limit = emulator.BOOT_CYCLES + (steps + 1) * tick + max(phases.values(), default=0)
        try:
            done = subprocess.run([str(exe), f"steps={steps}", f"limit={limit}", f"vector={config.TICK_VECTOR * 2}"],
                                  input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SimulationError(f"the board emulation did not finish {steps} ticks within {timeout:g} s") from None
    if done.returncode != 0:
        raise SimulationError(f"board runner failed: {done.stderr.strip()[:500]}")
    states = {u.name: [] for u in units}
    reason = ""
    for line in done.stdout.splitlines():
        kind, *f = line.split()
        if kind == "S":
            u = units[int(f[0])]
            states[u.name].append(config.decode_state(bytes.fromhex(f[3]), u))
        elif kind == "R":
            reason = f[0]
    if reason != "done":
        raise SimulationError(f"board emulation ended early ({reason})")
    return BoardEmulation(states, reason)


def verify_board_emulation(board: Board, steps: int, mode: str = "wired",
                           phases: dict[str, int] | None = None, images: dict[str, Image] | None = None,
                           reward=None) -> dict:
    """{"bit_exact": bool, "first_mismatch": {...} or None, "ticks": {unit: n}} for the board run as one,
    under the host's reward pulses `reward` (one per tick) if given."""
    pulses = reward_schedule(reward, steps, mode)
    result = emulate_board(board, steps, mode, phases, images=images, reward=pulses)
    inputs = board_inputs(board, steps, mode, pulses)
    summary = {"bit_exact": True, "first_mismatch": None,
               "ticks": {name: len(s) for name, s in result.states.items()}}
    for u in board.fixed():
        ref = simulate(u, inputs[u.name], reward=pulses)
        run = emulator.EmulatorRun(states=result.states[u.name], boot_state=None, tick_cycles=np.zeros(0),
                                   busy_cycles=np.zeros(0))
        m = first_mismatch(run, ref, u.n_inputs, inputs[u.name], pulses)
        if m is not None or len(result.states[u.name]) != steps:
            summary["bit_exact"] = False
            if m is not None and summary["first_mismatch"] is None:
                summary["first_mismatch"] = {"unit": u.name, "step": m[0], "variable": m[1],
                                             "firmware": m[2], "reference": m[3]}
    return summary
