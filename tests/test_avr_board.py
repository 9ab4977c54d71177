"""The example board run as one: every unit its own emulated ATmega8, connected only by wires or the bus."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require_tool
from neurobox.hardware.avr.board_emulator import emulate_board, verify_board_emulation
from neurobox.hardware.board import board_inputs, load_board
from neurobox.hardware.unit import simulate

BOARD = Path(__file__).resolve().parent.parent / "examples" / "board.toml"


@pytest.fixture(scope="module")
def board():
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")
    return load_board(BOARD)


@pytest.mark.parametrize("mode", ["wired", "bus"])
@pytest.mark.parametrize("phases", [None, {"sense.1": 3000, "relay": 5000, "brake": 1234}])
def test_board_is_bit_exact_with_the_reference_network(board, mode, phases):
    """Units whose ticks start up to 5000 cycles (0.31 ms) apart still see every spike one tick later."""
    result = verify_board_emulation(board, 1000, mode, phases)
    assert result["bit_exact"], result["first_mismatch"]
    assert result["ticks"] == {"sense.0": 1000, "sense.1": 1000, "relay": 1000, "brake": 1000}


def test_spikes_really_travel_between_units(board):
    """Every unit fires and relay is driven only by sense.0 and sense.1 through its dendrites."""
    run = emulate_board(board, 1000, "wired")
    inputs = board_inputs(board, 1000, "wired")
    fired = {u.name: sum(s["spiked"] for s in run.states[u.name]) for u in board.fixed()}
    assert all(n > 0 for n in fired.values()), fired
    relay = next(u for u in board.fixed() if u.name == "relay")
    ref = simulate(relay, inputs["relay"])
    assert fired["relay"] == int(ref.spikes.sum())


def test_clocks_more_than_half_a_tick_apart_are_caught(board):
    """A receiver whose tick starts 10000 cycles (more than half the 16000-cycle tick) after its
    sender polls the axon in the same tick: the comparison finds it."""
    result = verify_board_emulation(board, 1000, "wired", {"relay": 10000})
    assert not result["bit_exact"]
    assert result["first_mismatch"]["unit"] == "relay" and result["first_mismatch"]["variable"] == "i_ex"
