"""How fast the physical board would run a network, with every unit working in parallel.

The units of a board never wait for one another: each steps its own neuron
and its own rule in its own tick, so the board's tick is as long as its
slowest unit needs, however many units there are (as long as they fit the
board: one AVR bus carries 126 addresses, units and stimuli together). For
`ticks` ticks of dt:

    AVR, as built  the tick timer is set to dt, so the board runs in real time: ticks x dt
    AVR, fastest   the same firmware at the shortest tick in which its slowest unit still
                   finishes and sends on time (neurobox.hardware.avr.network.shortest_tick_cycles):
                   on the bus max(the most cycles one tick stayed awake, measured in simavr;
                   the end of the last address's slot at the board's planned baud); wired,
                   twice the update (the axon is written half way through the tick); / 16 MHz
    FPGA           the iCE40 cells: ticks x the longest update in clock cycles
                   (neurobox.hardware.fpga.cell.max_update_cycles, the sequencer's own count)
                   / the clock: Fmax from nextpnr for the slowest cell (one synthesis per
                   distinct cell, cached), or, unsynthesised, the boards' 12 MHz oscillator
                   (synth.TARGET_MHZ, the clock every cell is placed and routed to meet)

Measured, not guessed: the simavr cycles come from a short run (`STEPS`
ticks) of the network driven as in its task (the caller passes it as
`stimulus`: e.g. a digits image at its highest training rate, XOR trials
one after the other), every unit's inputs recorded from the fixed-point
reference (neurobox.hardware.board.board_inputs), a unit that learns by
reward under a reward or a punishment every other tick; of each distinct
kind of unit (same neuron, receptors, delays and rule: the same code path;
`unit_kind`) the one that received most spikes is run in simavr, held
bit-exact against the reference (neurobox.hardware.avr.verify), with an
EEPROM pass starting within the run, and its busiest tick counts.
Measurements and syntheses are cached on disk, keyed by the firmware
header and the inputs (or by the cell's integers and the synthesis's
source), so a second call costs next to nothing.

Not counted: the host's traffic between images or trials (on the twin the
host waits for each image's answer, as it would on the board), and boards
beyond one bus (more than 126 addresses need several buses and a bridge,
which neither the firmware nor the twin has).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from neurobox.errors import ConfigError, NeuroboxError
from neurobox.hardware.avr.config import F_CPU
from neurobox.hardware.board import Board
from neurobox.hardware.unit import MAX_ADDRESS, FixedUnit

STEPS = 300
"""Ticks of the measuring run (a quarter of a second of simavr per unit measured)."""
OSCILLATOR_MHZ = 12.0
"""The iCE40 boards' oscillator (neurobox.hardware.fpga.synth.TARGET_MHZ): the clock without a synthesis."""


@dataclass(frozen=True)
class BoardSpeed:
    """How long the physical board takes for `ticks` ticks, every unit in parallel (seconds; None: not known).

    avr_real_time_s: the AVR board as built (tick timer at dt); avr_fastest_s: at `avr_fastest_tick_cycles`,
    the larger of the slowest unit's `avr_cycles_per_tick` (simavr) and the bus's `bus_slots_cycles`;
    fpga_s: `fpga_update_cycles` of the slowest cell at `fpga_clock_mhz` (Fmax when `fpga_clock_source`
    says synthesised; fpga_device, fpga_cells_per_device from that synthesis). avr_fits: every address's
    slot ends within the tick on the board's bus (when not, `notes` says so: the board as built could not
    carry its spikes). A board never has more than 126 addresses (units_from_network refuses it).
    """

    ticks: int
    dt_ms: float
    units: int
    addresses: int
    mode: str
    avr_real_time_s: float
    avr_cycles_per_tick: int | None
    avr_slowest_unit: str | None
    avr_cycles_source: str
    bus_baud: int | None
    bus_slots_cycles: int | None
    avr_fastest_tick_cycles: int | None
    avr_fastest_s: float | None
    avr_fits: bool
    top_baud_tick_cycles: int | None
    """The fastest tick with the bus at its top speed (2 Mbaud) instead of the planned one (bus mode)."""
    avr_top_baud_s: float | None
    fpga_update_cycles: int
    fpga_slowest_unit: str
    fpga_clock_mhz: float
    fpga_clock_source: str
    fpga_fmax_mhz: float | None
    fpga_s: float
    fpga_device: str | None = None
    fpga_cells_per_device: int | None = None
    """How many of the slowest-clocked kind of cell one device holds (from its synthesis): the board needs
    about units / this many devices."""
    notes: tuple[str, ...] = ()

    @property
    def model_s(self) -> float:
        return self.ticks * self.dt_ms / 1000.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["notes"] = list(self.notes)
        out["model_s"] = round(self.model_s, 6)
        for key in ("avr_real_time_s", "avr_fastest_s", "avr_top_baud_s", "fpga_s"):
            if out[key] is not None:
                out[key] = round(out[key], 6)
        out["avr_fastest_tick_us"] = (None if self.avr_fastest_tick_cycles is None
                                      else round(self.avr_fastest_tick_cycles / F_CPU * 1e6, 3))
        out["fpga_tick_us"] = round(self.fpga_update_cycles / self.fpga_clock_mhz, 3)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "BoardSpeed":
        """Back from `as_dict` (figures as rounded there)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: (tuple(v) if k == "notes" else v) for k, v in d.items() if k in names})

    def line(self, machine: dict[str, float] | None = None, what: str = "train this") -> str:
        """One sentence: the board's three figures, then this machine's wall times (`machine`: name -> s)."""
        avr_fast = (f"{self.avr_fastest_s:.3g} s (fastest tick the slowest unit allows, "
                    f"{self.avr_fastest_tick_cycles / F_CPU * 1e6:.0f} us)" if self.avr_fastest_s is not None
                    else f"? s (fastest tick: {self.avr_cycles_source})")
        clock = (f"{self.fpga_clock_mhz:.3g} MHz Fmax" if self.fpga_fmax_mhz is not None
                 else f"its {self.fpga_clock_mhz:g} MHz oscillator; Fmax not synthesised")
        text = (f"the physical board would {what} in {self.avr_real_time_s:.3g} s (AVR, real time at "
                f"{self.dt_ms:g} ms) / {avr_fast} / {self.fpga_s:.3g} s (FPGA at {clock})")
        if machine:
            text += "; this machine: " + ", ".join(f"{k} {v:.3g} s" for k, v in machine.items())
        if not self.avr_fits:
            text += " [" + "; ".join(self.notes) + "]"
        return text


# -- the units' kinds ---------------------------------------------------------------------------
def unit_kind(unit: FixedUnit) -> tuple:
    """What makes two units take the same code path: neuron, receptors, plasticity, delays, rule (not the
    weights, the address or the names of the sources)."""
    return (unit.lif, unit.receptors, unit.plastic, unit.input_delays, unit.stdp, unit.rstdp, unit.led)


def kinds(units: list[FixedUnit]) -> dict[tuple, FixedUnit]:
    """The first unit of each kind, in address order."""
    out: dict[tuple, FixedUnit] = {}
    for u in units:
        out.setdefault(unit_kind(u), u)
    return out


# -- measuring: simavr -------------------------------------------------------------------------------
def _cache_root() -> Path:
    from neurobox.hardware.avr.emulator import cache_dir

    return cache_dir().parent / "speed"


def _digest(*parts: str) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def _firmware_digest() -> str:
    from neurobox.hardware.avr.build import CFLAGS, firmware_dir

    h = hashlib.sha1(" ".join(CFLAGS).encode())
    for f in sorted(firmware_dir().iterdir()):
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _cached(kind: str, key: str, compute, cache: bool) -> dict:
    path = _cache_root() / kind / f"{key}.json"
    if cache and path.exists():
        try:
            return {**json.loads(path.read_text()), "cached": True}
        except ValueError:
            pass
    value = compute()
    if cache:
        from neurobox.files import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(value) + "\n")
    return {**value, "cached": False}


def avr_tools() -> str | None:
    """Why the AVR cycles cannot be measured here, or None when avr-gcc and simavr are installed."""
    if shutil.which("avr-gcc") is None or shutil.which("simavr") is None:
        return "avr-gcc or simavr is not installed (see neurobox firmware build)"
    return None


def recorded_inputs(stimulus: Board, mode: str = "bus", steps: int = STEPS) -> tuple[dict, np.ndarray]:
    """Every unit's received spikes for `steps` ticks of `stimulus` (neurobox.hardware.board.board_inputs: its
    stimulus sources, the units' own spikes from the reference) and the reward pulses they are measured under
    (`measuring_reward`, a reward or punishment every other tick, when a unit learns by reward; else none)."""
    from neurobox.hardware.avr.network import measuring_reward
    from neurobox.hardware.board import board_inputs

    units = stimulus.fixed()
    reward = measuring_reward(steps) if any(u.rstdp is not None for u in units) else np.zeros(steps, np.int64)
    return board_inputs(stimulus, steps, mode, reward), reward


def busiest(units: list[FixedUnit], inputs: dict) -> dict[tuple, FixedUnit]:
    """Of each kind (`unit_kind`), the unit with the most received spikes in `inputs` (the first on a tie)."""
    out: dict[tuple, FixedUnit] = {}
    for u in units:
        k = unit_kind(u)
        if k not in out or inputs[u.name].sum() > inputs[out[k].name].sum():
            out[k] = u
    return out


def measure_unit_cycles(board: Board, unit: FixedUnit, pre: np.ndarray, reward: np.ndarray, mode: str = "bus",
                        cache: bool = True) -> dict:
    """The most cycles `unit` (on `board`'s bus or wires) stays awake in one tick in simavr, receiving `pre`
    (bool[steps, n_inputs]) under the pulses `reward`; an EEPROM pass starts within the run.

    Returns {"cycles", "median", "spikes", "bit_exact", "steps", "cached"}; ConfigError when the unit cannot
    be built (memory, pins); SimulationError from the emulator (e.g. an update longer than the tick).
    """
    from neurobox.hardware.avr import config
    from neurobox.hardware.avr.emulator import runner_path
    from neurobox.hardware.plan import plan_unit, planned_bus
    from neurobox.hardware.avr.verify import verify_unit

    steps = len(pre)
    bus = planned_bus(board) if mode == "bus" else None
    pin_map = plan_unit(unit, mode, bus)
    persist = max(2, steps // 3)
    header = config.header(unit, pin_map, persist, addresses=board.addresses, bus=bus)
    key = _digest(header, _firmware_digest(), runner_path().name, mode, str(bus),
                  hashlib.sha1(np.packbits(pre).tobytes() + np.asarray(reward, np.int64).tobytes()).hexdigest())

    def compute() -> dict:
        with tempfile.TemporaryDirectory(prefix="neurobox-speed-") as tmp:
            got = verify_unit(unit, pin_map, pre, Path(tmp), addresses=board.addresses, persist_steps=persist,
                              reward=reward if (unit.rstdp is not None or mode == "bus") else None, bus=bus)
        # a spike in the run's last tick would be sent after the run ends
        faults = [f for f in got.output_faults if not f.startswith(f"tick {steps - 1}:")]
        return {"cycles": int(got.cycles_per_update), "median": float(got.cycles_median), "spikes": got.spikes,
                "bit_exact": bool(got.bit_exact and not faults), "steps": steps}

    return _cached("avr", key, compute, cache)


def measure_avr(board: Board, mode: str = "bus", steps: int = STEPS, cache: bool = True,
                stimulus: Board | None = None) -> dict:
    """The slowest unit of the board in simavr: {"cycles", "unit", "source", "per_kind"} or {"error"} (a
    board the planner refuses, neurobox.hardware.plan.plan_board, is not measured: the error says why).

    `stimulus`: the same network driven as in its task (default `board` itself, with its own stimulus);
    the busiest unit of each kind is run on what it receives in `steps` ticks of it (`recorded_inputs`).
    """
    why = avr_tools()
    if why:
        return {"error": why}
    from neurobox.hardware.plan import plan_board

    stimulus = board if stimulus is None else stimulus
    per_kind = []
    try:
        plan_board(board, mode)         # every unit and the bus from the numbers, before simavr runs
        inputs, reward = recorded_inputs(stimulus, mode, steps)
        units = {u.name: u for u in board.fixed()}
        for u in busiest(stimulus.fixed(), inputs).values():
            per_kind.append({"unit": u.name, "inputs": u.n_inputs, "received": int(inputs[u.name].sum()),
                             **measure_unit_cycles(board, units.get(u.name, u), inputs[u.name], reward, mode,
                                                   cache)})
    except NeuroboxError as err:
        return {"error": f"the firmware could not be built and measured: {err}"}
    worst = max(per_kind, key=lambda r: r["cycles"])
    cached = all(r["cached"] for r in per_kind)
    exact = all(r["bit_exact"] for r in per_kind)
    source = (f"simavr, {steps} ticks of the busiest unit of each of {len(per_kind)} kind(s), {mode}"
              f"{', cached' if cached else ''}{'' if exact else ', NOT bit-exact'}")
    return {"cycles": worst["cycles"], "unit": worst["unit"], "source": source, "per_kind": per_kind}


# -- measuring: synthesis ------------------------------------------------------------------------
def fpga_device(unit: FixedUnit) -> str:
    """The part a cell is synthesised for: the UP5K when its pins fit the sg48 package, else the HX8K (ct256)."""
    return "up5k" if unit.n_inputs + 6 <= 39 else "hx8k"


def synth_key(unit: FixedUnit, device: str) -> str:
    """The cache key of a cell's synthesis: the unit's integers (not its name, address or sources), the cell's
    and the synthesis's source, the part."""
    from neurobox.hardware.fpga import cell, synth

    sources = "".join(Path(m.__file__).read_text() for m in (cell, synth))
    return _digest(repr(replace(unit, name="cell", address=0, sources=())), sources, device)


def fpga_fmax(board: Board, synthesise: bool = False, cache: bool = True) -> dict:
    """Fmax (MHz) of the slowest cell: one cell of each kind (`unit_kind`) synthesised, or read from the
    cache. synthesise=False: only what the cache holds ({"error"} if a kind was never synthesised).
    Returns {"fmax_mhz", "unit", "device", "source", "per_kind"} or {"error"}."""
    from neurobox.hardware.fpga.synth import synthesize

    per_kind = []
    for u in kinds(board.fixed()).values():
        device = fpga_device(u)
        key = synth_key(u, device)
        path = _cache_root() / "fpga" / f"{key}.json"
        if not synthesise and not (cache and path.exists()):
            return {"error": "not synthesised (neurobox train ... --fpga-synth, or benchmarks/board_speed.py)"}

        def compute(u=u, device=device) -> dict:
            rep = synthesize(replace(u, name="cell"), device)
            return {"fmax_mhz": rep.fmax_mhz, "logic_cells": rep.logic_cells, "device": device,
                    "cells_per_device": rep.cells_per_device, "seconds": rep.seconds}
        try:
            per_kind.append({"unit": u.name, **_cached("fpga", key, compute, cache)})
        except NeuroboxError as err:
            return {"error": f"synthesis failed: {err}"}
    worst = min(per_kind, key=lambda r: r["fmax_mhz"])
    cached = all(r["cached"] for r in per_kind)
    return {"fmax_mhz": worst["fmax_mhz"], "unit": worst["unit"], "device": worst["device"],
            "cells_per_device": worst["cells_per_device"],
            "source": f"nextpnr Fmax of {len(per_kind)} distinct cell(s){', cached' if cached else ''}",
            "per_kind": per_kind}


# -- the figures --------------------------------------------------------------------------------------
def board_speed(board: Board, ticks: int, *, mode: str = "bus", avr_cycles: int | str | None = "measure",
                fmax_mhz: float | str | None = "cached", steps: int = STEPS, cache: bool = True,
                stimulus: Board | None = None) -> BoardSpeed:
    """How long `board` takes for `ticks` ticks (see the module docstring).

    avr_cycles: "measure" (simavr, `steps` ticks of `stimulus`, the network driven as in its task, by default
    `board` itself; the busiest unit of each kind; cached), a number of cycles (given), or None (no
    fastest-tick figure); fmax_mhz: "synth" (synthesise each distinct cell, cached), "cached"
    (what the cache holds, else the 12 MHz oscillator), a number of MHz (given), or None (the oscillator).
    """
    from neurobox.hardware.avr.bus import BAUDS, board_bus, plan_bus
    from neurobox.hardware.avr.network import shortest_tick_cycles
    from neurobox.hardware.fpga.cell import max_update_cycles

    if isinstance(ticks, bool) or not isinstance(ticks, (int, np.integer)) or ticks < 0:
        raise ConfigError("ticks", f"must be a whole number >= 0, got {ticks!r}")
    if mode not in ("bus", "wired"):
        raise ConfigError("mode", f"must be bus or wired, got {mode!r}")
    units = board.fixed()
    n_addr = len(board.addresses)
    notes = []
    fits = n_addr <= MAX_ADDRESS + 1
    bus = board_bus(board) if mode == "bus" else None
    if bus is not None and not bus.fits:
        fits = False
        notes.append(f"{bus.addresses} addresses do not fit one bus's slots in a {board.dt:g} ms tick")
    cycles, slowest, source = None, None, "not measured"
    if isinstance(avr_cycles, str):
        if avr_cycles != "measure":
            raise ConfigError("avr_cycles", f"expected 'measure', a number of cycles or None, got {avr_cycles!r}")
        got = measure_avr(board, mode, steps, cache, stimulus)
        if "error" in got:
            source = got["error"]
        else:
            cycles, slowest, source = got["cycles"], got["unit"], got["source"]
    elif avr_cycles is not None:
        if int(avr_cycles) < 1:
            raise ConfigError("avr_cycles", f"must be >= 1, got {avr_cycles!r}")
        cycles, source = int(avr_cycles), "given"
    fastest_tick = fastest_s = top_tick = top_s = None
    if cycles is not None:
        fastest_tick = shortest_tick_cycles(cycles, mode, bus)
        fastest_s = ticks * fastest_tick / F_CPU
        if bus is not None:
            top_tick = shortest_tick_cycles(cycles, mode, plan_bus(bus.addresses, board.dt, BAUDS[-1]))
            top_s = ticks * top_tick / F_CPU
    fmax, clock_source = None, f"the boards' {OSCILLATOR_MHZ:g} MHz oscillator"
    device = per_device = None
    if isinstance(fmax_mhz, str):
        if fmax_mhz not in ("synth", "cached"):
            raise ConfigError("fmax_mhz", f"expected 'synth', 'cached', a number of MHz or None, got {fmax_mhz!r}")
        got = fpga_fmax(board, synthesise=fmax_mhz == "synth", cache=cache)
        if "error" in got:
            clock_source += f" (Fmax: {got['error']})"
        else:
            fmax, clock_source = got["fmax_mhz"], f"{got['source']}, {got['device']}"
            device, per_device = got["device"], got["cells_per_device"]
    elif fmax_mhz is not None:
        if not float(fmax_mhz) > 0:
            raise ConfigError("fmax_mhz", f"must be > 0, got {fmax_mhz!r}")
        fmax, clock_source = float(fmax_mhz), "given"
    clock = fmax if fmax is not None else OSCILLATOR_MHZ
    cell_cycles = [max_update_cycles(u) for u in units]
    k = int(np.argmax(cell_cycles))
    return BoardSpeed(
        ticks=int(ticks), dt_ms=board.dt, units=len(units), addresses=n_addr, mode=mode,
        avr_real_time_s=ticks * board.dt / 1000.0, avr_cycles_per_tick=cycles, avr_slowest_unit=slowest,
        avr_cycles_source=source, bus_baud=None if bus is None else bus.baud,
        bus_slots_cycles=None if bus is None else bus.end_cycles, avr_fastest_tick_cycles=fastest_tick,
        avr_fastest_s=fastest_s, avr_fits=fits, top_baud_tick_cycles=top_tick, avr_top_baud_s=top_s,
        fpga_update_cycles=cell_cycles[k], fpga_slowest_unit=units[k].name,
        fpga_clock_mhz=clock, fpga_clock_source=clock_source, fpga_fmax_mhz=fmax,
        fpga_s=ticks * cell_cycles[k] / (clock * 1e6), fpga_device=device, fpga_cells_per_device=per_device,
        notes=tuple(notes))

