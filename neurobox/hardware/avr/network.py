"""Every unit of a board as ATmega8 firmware: plan, build, measure, verify.

Both start with the planner (neurobox.hardware.plan.plan_board): every
unit's pins, SRAM and flash and the board's bus checked from the numbers,
before avr-gcc or simavr runs. `build_board` writes, per unit, NAME.hex (to flash), NAME.elf, NAME.h (its
configuration header) and NAME.pins.json (its pin map), and returns the
resource report (also written as report.json): flash and SRAM of 8 KB /
1 KB, cycles per update measured in simavr on the unit's recorded inputs
(the most cycles a tick stayed awake: inputs, LED frame, neuron, learning
rule, EEPROM, and on the bus the receive interrupts of the bytes that
arrive meanwhile; units that learn by reward are measured under a reward or
punishment pulse every other tick unless a schedule is given), the fastest
tick rate at 16 MHz at which the unit still sends its
spike in its slot (`shortest_tick_cycles`), the real-time factor (that rate
times dt: how much faster than biological time the board could run), and
in bus mode the board's bus (neurobox.hardware.avr.bus: its speed, chosen
per board, its slots, its load). `verify_board` holds every unit bit-exact against the Python
reference (neurobox.hardware.avr.verify), under a reward schedule if one is given.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurobox.errors import ConfigError, SimulationError
from neurobox.files import atomic_write_text
from neurobox.hardware.avr import config, pins
from neurobox.hardware.avr.build import FLASH_BYTES, SRAM_BYTES, build
from neurobox.hardware.avr.bus import RX_INTERRUPT_CYCLES, BusPlan
from neurobox.hardware.avr.verify import LATE, UnitVerification, verify_unit
from neurobox.hardware.board import Board, board_inputs, reward_schedule
from neurobox.hardware.plan import plan_board as plan_physical
from neurobox.hardware.unit import FixedUnit

DEFAULT_STEPS = 1000


def plan_board(board: Board, units: list[FixedUnit], mode: str) -> dict[str, pins.PinMap]:
    """Pin map of every unit of `units` (neurobox.hardware.plan.plan_board: the tick, the bus, every unit's
    pins, SRAM and flash, checked from the numbers); ConfigError naming the first unit (or the bus) that does
    not fit."""
    return plan_physical(board, mode, units).pins


def wiring(unit: FixedUnit, pin_map: pins.PinMap) -> dict:
    """The pin map with what each input is connected to (source unit, receptor, weight in I_lsb)."""
    out = pin_map.as_dict()
    out["inputs"] = [{"from": s, "pin": pin_map.dendrites[j] if pin_map.dendrites else None,
                      "receptor": ("excitatory", "inhibitory")[unit.receptors[j]], "weight_lsb": unit.weights[j],
                      "plastic": unit.plastic[j]} for j, s in enumerate(unit.sources)]
    out["address"] = unit.address
    return out


def shortest_tick_cycles(cycles_per_update: int, mode: str, bus: BusPlan | None = None) -> int:
    """The shortest tick (cycles) in which a unit that needs `cycles_per_update` still sends on time.

    wired: the axon is written half way through the tick, after the update;
    bus: the spike byte is armed before the unit's slot and the update goes
    on, so the tick must hold the update and every slot of `bus` (at its speed).
    """
    if mode == "wired":
        return 2 * cycles_per_update
    return max(cycles_per_update, bus.end_cycles)


@dataclass
class UnitReport:
    """Resources of one unit (bytes, cycles, Hz)."""

    unit: str
    inputs: int
    pins: dict
    flash: int
    sram: int
    cycles_per_update: int
    cycles_median: float
    fastest_update_hz: float
    real_time_factor: float

    def as_dict(self) -> dict:
        return {"unit": self.unit, "inputs": self.inputs, "pins": self.pins,
                "flash_bytes": self.flash, "flash_of": FLASH_BYTES, "sram_bytes": self.sram, "sram_of": SRAM_BYTES,
                "cycles_per_update": self.cycles_per_update, "cycles_median": self.cycles_median,
                "fastest_update_hz": round(self.fastest_update_hz, 1),
                "real_time_factor": round(self.real_time_factor, 3)}


def bus_report(bus: BusPlan, board: Board, spikes_per_tick: float, cycles_per_update: int) -> dict:
    """The bus of the report: its plan (speed, slots), its load for a mean of `spikes_per_tick` address-event
    bytes a tick (all units and stimuli), and the worst tick: the longest update measured with the receive
    interrupts of a byte from every address on top (`worst_case_cycles`, against the tick: every source
    firing in the same tick)."""
    bytes_per_s = spikes_per_tick / (board.dt * 1e-3)
    worst = cycles_per_update + bus.addresses * RX_INTERRUPT_CYCLES
    return {**bus.as_dict(), "bytes_per_s": round(bytes_per_s, 1),
            "load": round(bytes_per_s * config.BYTE_BITS / bus.baud, 5), "addresses_used": len(board.addresses),
            "worst_case_cycles": worst, "worst_case_fits": worst <= bus.tick_cycles}


def measuring_reward(steps: int) -> np.ndarray:
    """Pulses for measuring cycles: a reward or a punishment every other tick, alternating (a reward tick
    is the costliest of a unit that learns by reward)."""
    pulses = np.zeros(steps, dtype=np.int64)
    pulses[1::4] = 1
    pulses[3::4] = -1
    return pulses


def _run_units(board: Board, units, maps, steps, mode, work: Path, images=None, reward=None, bus=None,
               progress=None):
    pulses = reward_schedule(reward, steps, mode)
    inputs = board_inputs(board, steps, mode, pulses)
    out = {}
    if progress is not None:
        progress.phase("simavr", f"{steps} ticks of each unit's firmware")
    for k, u in enumerate(units):
        if progress is not None:
            progress.count(k, len(units), u.name)
        try:
            out[u.name] = verify_unit(u, maps[u.name], inputs[u.name], work, addresses=board.addresses,
                                      image=(images or {}).get(u.name), reward=pulses, bus=bus)
        except SimulationError as err:
            if "overrun" not in str(err):
                raise
            cycles = config.tick_timer(board.dt).cycles
            raise ConfigError(f"units.{u.name}", f"unit {u.name} does not finish its update within one "
                                                 f"{board.dt:g} ms tick ({cycles} cycles at 16 MHz); "
                                                 f"use a longer dt") from None
        if mode == "wired" and out[u.name].cycles_per_update > config.axon_cycles(board.dt):
            raise ConfigError(f"units.{u.name}",
                              f"unit {u.name} needs up to {out[u.name].cycles_per_update} cycles for an update; "
                              f"the axon is written half way through the tick {config.axon_cycles(board.dt)} "
                              f"cycles after the tick ({board.dt:g} ms): use a longer dt")
    return out, inputs


def build_board(board: Board, out_dir: Path, mode: str = "wired", steps: int = DEFAULT_STEPS,
                reward=None, progress=None) -> dict:
    """Build every unit into out_dir, measure it in the emulator, write report.json; return the report.

    `reward`: the pulses per tick the units are measured under (default: `measuring_reward` when a
    unit learns by reward); progress: a neurobox.engine.progress.Progress (phases "compile", "simavr",
    a count of units in each), or None."""
    out_dir = Path(out_dir)
    units = board.fixed()
    plan = plan_physical(board, mode, units)          # every unit and the bus, before any tool runs
    maps, bus = plan.pins, plan.bus
    if reward is None and any(u.rstdp is not None for u in units):
        reward = measuring_reward(steps)
    reports = []
    if progress is not None:
        progress.phase("compile", "avr-gcc, one firmware per unit")
    for k, u in enumerate(units):
        if progress is not None:
            progress.count(k, len(units), u.name)
        header = config.header(u, maps[u.name], addresses=board.addresses, bus=bus)
        image = build(header, out_dir, u.name)
        image.check_fits(u.name)
        (out_dir / f"{u.name}.h").write_text(header)
        (out_dir / f"{u.name}.pins.json").write_text(json.dumps(wiring(u, maps[u.name]), indent=2) + "\n")
        reports.append((u, image))
    runs, inputs = _run_units(board, units, maps, steps, mode, out_dir, {u.name: image for u, image in reports},
                              reward, bus, progress)
    unit_reports = []
    for u, image in reports:
        late = [f for f in runs[u.name].output_faults if LATE in f]
        if late:
            raise ConfigError(f"units.{u.name}", f"unit {u.name}, {late[0]}: a spike must be armed before the "
                                                 f"unit's slot begins, {config.SLOT_BASE_CYCLES} cycles after the "
                                                 f"tick at the earliest")
        cycles = runs[u.name].cycles_per_update
        fastest = config.F_CPU / shortest_tick_cycles(cycles, mode, bus)
        unit_reports.append(UnitReport(u.name, u.n_inputs, maps[u.name].as_dict(), image.flash, image.sram, cycles,
                                       runs[u.name].cycles_median, fastest, fastest * board.dt * 1e-3))
    report = {"target": "atmega8", "f_cpu_hz": config.F_CPU, "mode": mode, "dt_ms": board.dt, "steps": steps,
              "tick_cycles": config.tick_timer(board.dt).cycles,
              "units": [r.as_dict() for r in unit_reports],
              "cycles_per_update": max(r.cycles_per_update for r in unit_reports),
              "fastest_update_hz": round(min(r.fastest_update_hz for r in unit_reports), 1),
              "real_time_factor": round(min(r.real_time_factor for r in unit_reports), 3)}
    if mode == "bus":
        fired = sum(int(runs[u.name].spikes) for u in units)
        fired += sum(int(s.sum()) for s in _stimulus_counts(board, inputs, units))
        report["bus"] = bus_report(bus, board, fired / steps, report["cycles_per_update"])
    over = [r for r in unit_reports if r.cycles_per_update > report["tick_cycles"]]
    if over:
        raise ConfigError(f"units.{over[0].unit}", f"unit {over[0].unit} needs {over[0].cycles_per_update} cycles "
                                                   f"a tick; a {board.dt:g} ms tick has {report['tick_cycles']}")
    atomic_write_text(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    return report


def _stimulus_counts(board: Board, inputs: dict, units) -> list[np.ndarray]:
    """Spikes each stimulus neuron puts on the bus (counted once, from the first unit it reaches)."""
    seen = {}
    for u in units:
        for j, s in enumerate(u.sources):
            if s in board.sources and s not in seen:
                seen[s] = np.concatenate([inputs[u.name][1:, j], [False]])
    return list(seen.values())


def clock_phases(board: Board, names: list[str], bus: BusPlan | None = None) -> dict[str, int]:
    """Start delays (cycles) spreading the units' ticks as separate boards would be: over a quarter tick on
    wires; on the bus over what it tolerates (`bus.phase_window`)."""
    window = config.tick_timer(board.dt).cycles // 4 if bus is None else bus.phase_window
    return {name: (k * 2654435761) % window for k, name in enumerate(names)}


def verify_board(board: Board, steps: int = DEFAULT_STEPS, mode: str = "wired",
                 work_dir: Path | None = None, reward=None, progress=None
                 ) -> tuple[dict, dict[str, UnitVerification]]:
    """Verify every unit for `steps` ticks; returns the summary dict and the per-unit results.

    `reward`: the host's pulses, one per tick (-1, 0, +1; see neurobox.hardware.board.reward_schedule).
    Two checks: every unit alone on its recorded inputs (units_bit_exact,
    led_ok, output_ok: axon pulses or bus bytes match the spikes), and the
    whole board in one emulator, units connected only by their wires or the
    bus, with clock phases spread over a quarter tick, or as far as the bus
    tolerates (board_bit_exact).
    The summary has units, steps, bit_exact (both), led_ok, output_ok,
    cycles_per_update and, on a mismatch, `first_mismatch` = {unit, step,
    variable, firmware, reference}. progress: a neurobox.engine.progress.Progress (phases "compile",
    "simavr", "board"), or None.
    """
    import tempfile

    units = board.fixed()
    plan = plan_physical(board, mode, units)          # every unit and the bus, before any tool runs
    maps, bus = plan.pins, plan.bus
    from neurobox.hardware.avr.board_emulator import verify_board_emulation

    phases = clock_phases(board, [u.name for u in units], bus)
    with tempfile.TemporaryDirectory(prefix="neurobox-verify-") as tmp:
        work = Path(work_dir or tmp)
        # one build per unit, used by both checks
        if progress is not None:
            progress.phase("compile", "avr-gcc, one firmware per unit")
        images = {}
        for k, u in enumerate(units):
            if progress is not None:
                progress.count(k, len(units), u.name)
            images[u.name] = build(config.header(u, maps[u.name], addresses=board.addresses, bus=bus), work, u.name)
        runs, _ = _run_units(board, units, maps, steps, mode, work, images, reward, bus, progress)
        if progress is not None:
            progress.phase("board", "the whole board in one emulator")
        whole = verify_board_emulation(board, steps, mode, phases, images, reward)
    summary = {"units": len(units), "steps": steps, "mode": mode,
               "bit_exact": all(r.bit_exact for r in runs.values()) and whole["bit_exact"],
               "units_bit_exact": all(r.bit_exact for r in runs.values()),
               "board_bit_exact": whole["bit_exact"], "clock_phases_cycles": phases,
               "led_ok": all(r.led_ok for r in runs.values()),
               "output_ok": all(r.output_ok for r in runs.values()),
               "cycles_per_update": max(r.cycles_per_update for r in runs.values()),
               "spikes": {name: r.spikes for name, r in runs.items()},
               "weight_changes": {name: r.weight_changes for name, r in runs.items()}}
    for name, r in runs.items():
        if r.mismatch is not None:
            t, var, fw, ref = r.mismatch
            summary["first_mismatch"] = {"unit": name, "step": t, "variable": var, "firmware": fw, "reference": ref}
            break
    if "first_mismatch" not in summary and whole["first_mismatch"] is not None:
        summary["first_mismatch"] = {**whole["first_mismatch"], "where": "whole board in one emulator"}
    for name, r in runs.items():
        if r.output_faults:
            summary["output_faults"] = {"unit": name, "faults": r.output_faults[:5]}
            break
    for name, r in runs.items():
        if r.led_faults:
            summary["led_faults"] = {"unit": name, "faults": r.led_faults[:5]}
            break
    return summary, runs
