"""How fast the physical board would run a network (neurobox.hardware.speed), train's and twin's board_speed,
and benchmarks/board_speed.py."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neurobox.errors import ConfigError
from neurobox.examples import resolve
from neurobox.hardware.avr.bus import board_bus
from neurobox.hardware.board import load_board
from neurobox.hardware.fpga.cell import max_update_cycles
from neurobox.hardware.speed import BoardSpeed, board_speed

ROOT = Path(__file__).resolve().parents[1]
HAVE_AVR = shutil.which("avr-gcc") is not None and shutil.which("simavr") is not None


@pytest.fixture(scope="module")
def board():
    return load_board(resolve("board"))


def test_known_cycles_give_known_seconds(board):
    """Given cycles and clock: the AVR tick is the longer of the update and the bus's slots, / 16 MHz; the FPGA's
    the slowest cell's update cycles / the clock; as built the board runs in real time."""
    bus = board_bus(board)
    ticks = 1000
    slow = board_speed(board, ticks, avr_cycles=bus.end_cycles + 800, fmax_mhz=20.0)
    assert slow.avr_real_time_s == pytest.approx(ticks * board.dt / 1000)
    assert slow.avr_fastest_tick_cycles == bus.end_cycles + 800
    assert slow.avr_fastest_s == pytest.approx(ticks * (bus.end_cycles + 800) / 16e6)
    cycles = max(max_update_cycles(u) for u in board.fixed())
    assert slow.fpga_update_cycles == cycles
    assert slow.fpga_s == pytest.approx(ticks * cycles / 20e6)
    assert slow.avr_cycles_source == "given" and slow.fpga_clock_source == "given"
    # an update shorter than the slots: the bus sets the tick
    quick = board_speed(board, ticks, avr_cycles=100, fmax_mhz=20.0)
    assert quick.avr_fastest_tick_cycles == bus.end_cycles
    # the top baud shortens the slots, never lengthens the tick
    assert quick.avr_top_baud_s <= quick.avr_fastest_s
    # wired: the axon is written half way through the tick
    wired = board_speed(board, ticks, mode="wired", avr_cycles=3000, fmax_mhz=None)
    assert wired.avr_fastest_tick_cycles == 6000 and wired.bus_baud is None
    assert wired.fpga_clock_mhz == 12.0 and wired.fpga_fmax_mhz is None
    d = slow.as_dict()
    assert BoardSpeed.from_dict(d).avr_fastest_tick_cycles == slow.avr_fastest_tick_cycles
    assert d["avr_fastest_tick_us"] == pytest.approx((bus.end_cycles + 800) / 16)
    assert "FPGA at 20 MHz Fmax" in slow.line({"twin": 1.0})


def test_bad_arguments(board):
    with pytest.raises(ConfigError):
        board_speed(board, -1, avr_cycles=None)
    with pytest.raises(ConfigError):
        board_speed(board, 10, avr_cycles="guess")
    with pytest.raises(ConfigError):
        board_speed(board, 10, avr_cycles=None, fmax_mhz=0.0)


@pytest.mark.skipif(not HAVE_AVR, reason="avr-gcc and simavr are needed")
def test_measured_cycles(board):
    """The cycles come from simavr: more than nothing, within the tick, cached the second time."""
    first = board_speed(board, 100, fmax_mhz=None, cache=False)
    assert 0 < first.avr_cycles_per_tick < 16_000 and first.avr_slowest_unit
    assert "simavr" in first.avr_cycles_source and "NOT" not in first.avr_cycles_source
    board_speed(board, 100, fmax_mhz=None)
    again = board_speed(board, 100, fmax_mhz=None)
    assert again.avr_cycles_per_tick == first.avr_cycles_per_tick and "cached" in again.avr_cycles_source


def _cli(*args, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "neurobox", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(not HAVE_AVR, reason="avr-gcc and simavr are needed")
def test_train_xor_on_the_twin_carries_board_speed(tmp_path):
    out = _cli("train", "xor", "--target", "twin", "--quick", "--seeds", "1", "--json", "--out", str(tmp_path))
    s = json.loads(out)
    b = s["board_speed"]
    assert b["ticks"] == round(s["model_seconds"] * 1000)
    for key in ("avr_real_time_s", "avr_fastest_s", "fpga_s", "avr_cycles_per_tick", "fpga_update_cycles"):
        assert b[key] > 0, key
    assert b["avr_real_time_s"] == pytest.approx(b["model_s"])
    text = _cli("train", "xor", "--target", "twin", "--quick", "--seeds", "1", "--quiet", "--out", str(tmp_path))
    assert "the physical board would train this in" in text and "this machine: twin" in text


def test_twin_json_carries_board_speed():
    s = json.loads(_cli("twin", "board", "--duration", "200", "--json", "--cycles", "2000", "--no-engine"))
    b = s["board_speed"]
    assert b["ticks"] == 200 and b["avr_cycles_per_tick"] == 2000 and b["fpga_s"] > 0
    assert b["avr_fastest_s"] == pytest.approx(200 * b["avr_fastest_tick_cycles"] / 16e6, rel=1e-3)


@pytest.mark.skipif(not HAVE_AVR, reason="avr-gcc and simavr are needed")
def test_benchmark_quick(tmp_path):
    out = tmp_path / "board_speed.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "board_speed.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [r["task"] for r in result["rows"]] == ["xor", "digits"]
    for r in result["rows"]:
        assert r["fixed_s"] > 0 and r["twin_s"] > 0 and r["board"]["fpga_s"] > 0
    assert [r["units"] for r in result["sweep"]] == [25, 50]
    assert "| task | units |" in done.stdout
