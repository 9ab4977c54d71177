"""The twin as a run handle: inputs changed while it runs, rewards broadcast over wires and the bus, read back."""
from __future__ import annotations

import numpy as np
import pytest

import neurobox as nb
from neurobox.errors import ConfigError
from neurobox.targets import runner
from tests.test_unit_learners import reward_network

PULSES = {200: 1, 450: -1, 700: 1, 1100: 1, 1500: -1}


def run_with_rewards(handle, end_ms: float = 2000.0):
    t = 0
    for at, pulse in PULSES.items():
        handle.advance(at - t)
        handle.reward(pulse)
        t = at
    handle.advance(end_ms - t)
    return handle


@pytest.mark.parametrize("transport", ["bus", "wire"])
def test_rewarded_twin_equals_the_fixed_engine(transport):
    """Synchronous clocks, no loss: the reward pulses reach the units as the engine's `reward` reaches its rule."""
    net = reward_network()
    engine = run_with_rewards(nb.Simulation(net, progress=False))
    twin = run_with_rewards(runner("twin").open(net, transport=transport))
    for pop in ("out", "src"):
        got, want = twin.spikes_between(0.0, 2000.0)[pop], engine.spikes_between(0.0, 2000.0)[pop]
        np.testing.assert_array_equal(got[0], want[0], err_msg=pop)
        np.testing.assert_array_equal(got[1], want[1], err_msg=pop)
    assert twin.weights("learned")[2][0] == pytest.approx(engine.weights("learned")[2][0])
    assert twin.weights("learned")[2][0] != 2000.0        # it learned
    figures = twin.result().bus
    assert figures["broadcasts"] == {"sent": len(PULSES), "lost": 0}


def test_inputs_change_while_the_twin_runs():
    net = reward_network()
    twin = runner("twin").open(net)
    twin.advance(100.0)
    twin.set_params("src", spike_times=[[150.0, 160.0, 170.0], []])
    twin.advance(100.0)
    src = twin.spikes_between(100.0, 200.0)["src"]
    assert src[0].tolist() == [150.0, 160.0, 170.0] and src[1].tolist() == [0, 0, 0]
    assert twin.spikes_between(100.0, 200.0)["out"][0].size == 3     # 3500 pA: every spike makes one


def test_lost_rewards_are_counted_and_refusals_are_clear():
    twin = runner("twin").open(reward_network(), faults=["drop:100%"])
    run_with_rewards(twin)
    assert twin.result().bus["broadcasts"] == {"sent": len(PULSES), "lost": len(PULSES)}
    assert twin.weights("learned")[2][0] == 2000.0          # no reward reached it: nothing learned
    with pytest.raises(ConfigError, match="pulse"):
        twin.reward(0.5)
    with pytest.raises(ConfigError, match="not a stimulus source"):
        twin.set_params("out", V_th=-50.0)
    plain = runner("twin").open(nb.load(__import__("neurobox.examples", fromlist=["path"]).path("board")))
    with pytest.raises(ConfigError, match="rstdp"):
        plain.reward(1)
