"""The working examples trained on the units' rules, then taken, as saved model files, to every physical target."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import neurobox as nb
from conftest import require_tool
from neurobox.hardware.avr.network import verify_board
from neurobox.hardware.board import units_from_network
from neurobox.tasks import xor


@pytest.fixture(scope="module")
def trained_xor(tmp_path_factory):
    """The physical XOR trained in the fixed engine (100 trials), saved and loaded back as a model file."""
    config = replace(xor.PHYSICAL, epochs=25, test_trials=20)
    run = xor.run_seed(config, 0, target="engine")
    path = tmp_path_factory.mktemp("xor") / xor.MODEL_FILE
    xor.trained_network(config, run).save(path)
    return nb.load(path)


def test_the_trained_xor_file_is_bit_exact_on_the_firmware_while_learning(trained_xor):
    """Every unit of the trained XOR in simavr for 2000 ticks, rewards and punishments on: bit for bit."""
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")
    board = units_from_network(trained_xor)
    reward = np.zeros(2000, dtype=np.int64)
    reward[[314, 614, 914, 1514, 1814]] = [1, 1, -1, 1, -1]     # after the demo trials' answers
    summary, runs = verify_board(board, 2000, "bus", reward=reward)
    assert summary["bit_exact"] and summary["led_ok"] and summary["output_ok"], summary.get("first_mismatch")
    assert summary["weight_changes"]["output"] > 0              # learning was on and did something
    assert summary["units"] == 14
