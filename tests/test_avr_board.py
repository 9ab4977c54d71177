"""The example board run as one: every unit its own emulated ATmega8, connected only by wires or the bus."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require_tool
from neurobox.hardware.avr.board_emulator import emulate_board, verify_board_emulation
from neurobox.hardware.avr.bus import board_bus
from neurobox.hardware.board import board_inputs, load_board
from neurobox.hardware.unit import simulate

BOARD = Path(__file__).resolve().parent.parent / "examples" / "board.toml"


@pytest.fixture(scope="module")
def board():
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")
    return load_board(BOARD)


@pytest.mark.parametrize("mode, phases", [("wired", None), ("bus", None),
                                          ("wired", {"sense.1": 3000, "relay": 5000, "brake": 1234}),
                                          ("bus", {"sense.1": 1500, "relay": 2000, "brake": 1234})])
def test_board_is_bit_exact_with_the_reference_network(board, mode, phases):
    """Units whose ticks start up to 5000 cycles (0.31 ms) apart on wires, or up to the bus's phase window
    (2048 cycles here) apart on the bus, still see every spike one tick later."""
    assert mode == "wired" or board_bus(board).phase_window == 2048
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


def test_a_receiver_lagging_past_the_first_slot_is_caught(board):
    """relay's tick starts 6000 cycles after the sense units': their bytes (slots 0 and 1, from 4096 cycles
    after their tick) reach it before its own tick of the same index, which reads them a tick early."""
    assert not verify_board_emulation(board, 1000, "bus", {"relay": 6000})["bit_exact"]


def test_clocks_more_than_half_a_tick_apart_are_caught(board):
    """A receiver whose tick starts 10000 cycles (more than half the 16000-cycle tick) after its
    sender polls the axon in the same tick: the comparison finds it."""
    result = verify_board_emulation(board, 1000, "wired", {"relay": 10000})
    assert not result["bit_exact"]
    assert result["first_mismatch"]["unit"] == "relay" and result["first_mismatch"]["variable"] == "i_ex"
