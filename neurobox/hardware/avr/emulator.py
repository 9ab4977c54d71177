"""Run one unit's firmware in simavr on a recorded input sequence.

A small C runner (runner/unit_runner.c) linked against Debian's libsimavr
is compiled at first use into a cache directory and driven as a
subprocess, always under a timeout and a cycle limit. It drives the
dendrite pins (and the reward lines) before each tick, or sends the
address-event bytes (and reward bytes) to the UART in their senders' bus
slots of the tick before,
reads the unit's state from SRAM at the end of every tick, and records
the LED and axon pin edges and the UART output with cycle stamps.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from neurobox.errors import SimulationError, ToolMissingError
from neurobox.hardware.avr import config
from neurobox.hardware.avr.build import Image
from neurobox.hardware.avr.bus import BusPlan
from neurobox.hardware.avr.pins import PinMap
from neurobox.hardware.unit import FixedUnit

APT_SIMAVR = "apt-get install simavr libsimavr-dev libelf-dev pkg-config gcc"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "neurobox" / "avr"


def runner_path(name: str = "unit_runner") -> Path:
    """The compiled runner runner/NAME.c, built on first use (and again when its source changes)."""
    src = Path(str(resources.files("neurobox.hardware.avr") / "runner" / f"{name}.c"))
    digest = hashlib.sha1(src.read_bytes()).hexdigest()[:12]
    exe = cache_dir() / f"{name}-{digest}"
    if exe.exists():
        return exe
    cc = shutil.which("cc") or shutil.which("gcc")
    pkg = shutil.which("pkg-config")
    if cc is None or pkg is None:
        raise ToolMissingError(f"a C compiler and pkg-config are needed for the simavr runner; install: {APT_SIMAVR}")
    flags = subprocess.run([pkg, "--cflags", "simavr"], capture_output=True, text=True)
    if flags.returncode != 0:
        raise ToolMissingError(f"libsimavr development files not found; install them with: {APT_SIMAVR}")
    exe.parent.mkdir(parents=True, exist_ok=True)
    tmp = exe.with_suffix(f".tmp{os.getpid()}")
    done = subprocess.run([cc, "-O2", *flags.stdout.split(), "-o", str(tmp), str(src), "-lsimavr", "-lelf"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise ToolMissingError(f"cannot build the simavr runner ({done.stderr.strip()[:300]}); install: {APT_SIMAVR}")
    tmp.replace(exe)
    return exe


@dataclass
class EmulatorRun:
    """What the firmware did in the emulator.

    states: one decoded state dict per tick (tick 0 first; see config.decode_state);
    boot_state: the state before the first tick; tick_cycles/busy_cycles: cycle at
    which each tick began and how many cycles it stayed awake;
    edges: {pin name: [(cycle, level), ...]}; uart: [(cycle, byte), ...];
    eeprom: bytes or None; reason: why the run ended; stack_bytes: the most
    the stack held (bytes below the top of SRAM).
    """

    states: list
    boot_state: dict | None
    tick_cycles: np.ndarray
    busy_cycles: np.ndarray
    edges: dict = field(default_factory=dict)
    uart: list = field(default_factory=list)
    eeprom: bytes | None = None
    reason: str = ""
    stack_bytes: int = 0
    register: list = field(default_factory=list)
    """the I/O register asked for (`reg`), one byte per tick (tick 0 first)."""


def input_lines(pre: np.ndarray, pins: PinMap, addresses: list[int] | None = None,
                reward: np.ndarray | None = None, bus: BusPlan | None = None,
                error: np.ndarray | None = None) -> list[str]:
    """The runner's input line for each tick: pin levels (wired) or address-event bytes (bus).

    Wired: a spike on input j in tick t is a pulse, high while tick t polls the
    dendrite, low otherwise; two spikes on one input in consecutive ticks
    cannot be told apart on a wire and are refused. Bus: the byte of a spike
    received in tick t is sent in its source's slot of tick t - 1 (`bus`: the
    board's plan). `reward[t]` (+1, -1)
    is the same pulse on the reward or the punishment pin (wired), or the byte
    0x80|REWARD_ADDRESS or 0x80|PUNISH_ADDRESS (bus, sent at the host's time
    of tick t - 1), seen in tick t. `error[t, k]` (bus only, e-prop's error
    bytes, -64 .. 63) is the data byte error & 0x7f, the K bytes of tick t
    sent in the K byte times before the host's broadcast of tick t - 1.
    """
    pre = np.asarray(pre, dtype=bool)
    steps = pre.shape[0]
    names = [f"input {j}" for j in range(pre.shape[1])]
    if pins.mode == "bus":
        codes = [f"U{0x80 | a:02x}@{bus.slot_cycles(a)}" for a in addresses or ()]
    else:
        codes = list(pins.dendrites)
    if reward is not None:
        reward = np.asarray(reward)
        pre = np.column_stack([pre, reward[:steps] > 0, reward[:steps] < 0])
        names += ["the reward line", "the punishment line"]
        if pins.mode == "bus":
            codes += [f"U{0x80 | a:02x}@{bus.host_cycles}" for a in (config.REWARD_ADDRESS, config.PUNISH_ADDRESS)]
        elif pins.reward is None:
            raise SimulationError(f"unit {pins.unit} has no reward lines: it does not learn by reward")
        else:
            codes += list(pins.reward)
    lines = []
    if error is not None:
        if pins.mode != "bus":
            raise SimulationError(f"unit {pins.unit}: error bytes travel on the bus only")
        error = np.asarray(error, dtype=np.int64)
        k_all = error.shape[1]
        extra = [" ".join(f"U{int(error[t, k]) & 0x7f:02x}@{bus.host_cycles - (k_all - k) * bus.byte_cycles}"
                          for k in range(k_all)) for t in range(steps)]
    if pins.mode == "wired":
        both = pre[1:] & pre[:-1]
        if both.any():
            t, j = np.argwhere(both)[0]
            raise SimulationError(f"{names[j]} has pulses in consecutive ticks {t} and {t + 1}: a wire needs a low "
                                  f"tick between pulses")
        for t in range(steps):
            lines.append(" ".join(f"{p[1]}{p[2]}={int(pre[t, j])}" for j, p in enumerate(codes)))
    else:
        for t in range(steps):
            lines.append(" ".join(([extra[t]] if error is not None else []) + [codes[j] for j in np.flatnonzero(pre[t])]))
    return lines


BOOT_CYCLES = 2_000_000
"""Cycles allowed for start-up (EEPROM check, first writes) before the first tick."""


def run(image: Image, unit: FixedUnit, lines: list[str], steps: int, tick_cycles: int, watch: tuple[str, ...] = (),
        eeprom: bytes | None = None, read_eeprom: bool = False, timeout: float = 60.0,
        reg: int = 0) -> EmulatorRun:
    """Run `steps` ticks of `tick_cycles` each; lines[t] is applied before tick t (see input_lines);
    `reg`: the data-space address of an I/O register read at the end of every tick (0: none).

    The run is stopped after BOOT_CYCLES + (steps + 1) * tick_cycles emulated
    cycles, or `timeout` seconds of wall time, whichever comes first.
    """
    exe = runner_path()
    size = config.state_size(unit)
    limit = BOOT_CYCLES + (steps + 1) * tick_cycles
    args = [str(exe), str(image.elf), f"steps={steps}", f"limit={limit}",
            f"vector={config.TICK_VECTOR * 2}", f"dump={image.state_address}:{size}",
            f"watch={','.join(p[1:] for p in watch)}", f"eeprom_out={int(read_eeprom)}", f"reg={int(reg)}"]
    if eeprom is not None:
        args.append(f"eeprom={eeprom.hex()}")
    feed = "\n".join(list(lines[:steps]) + [""] * max(0, steps - len(lines))) + "\n"
    try:
        done = subprocess.run(args, input=feed, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SimulationError(f"simavr did not finish {steps} ticks within {timeout:g} s") from None
    if done.returncode != 0:
        raise SimulationError(f"simavr runner failed: {done.stderr.strip()[:500]}")
    states, boot, ticks, busy = [], None, [], []
    edges = {p: [] for p in watch}
    uart, ee, reason, stack, register = [], None, "", 0, []
    for line in done.stdout.splitlines():
        kind, *f = line.split()
        if kind == "S":
            st = config.decode_state(bytes.fromhex(f[3]), unit)
            if int(f[0]) < 0:
                boot = st
            else:
                states.append(st)
                ticks.append(int(f[1]))
                busy.append(int(f[2]) - int(f[1]))
        elif kind == "P":
            edges[f"P{f[0]}{f[1]}"].append((int(f[2]), int(f[3])))
        elif kind == "U":
            uart.append((int(f[0]), int(f[1], 16)))
        elif kind == "O" and int(f[0]) >= 0:
            register.append(int(f[1], 16))
        elif kind == "X":
            ee = bytes.fromhex(f[0])
        elif kind == "R":
            reason, stack = f[0], int(f[2])
    if reason != "done":
        raise SimulationError(f"firmware run ended early ({reason}) after {len(states)} of {steps} ticks")
    return EmulatorRun(states=states, boot_state=boot, tick_cycles=np.array(ticks), busy_cycles=np.array(busy),
                       edges=edges, uart=uart, eeprom=ee, reason=reason, stack_bytes=stack, register=register)
