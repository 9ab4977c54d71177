"""The twin as a run handle: inputs changed while it runs, rewards broadcast over wires and the bus, read back."""
from __future__ import annotations

import numpy as np
import pytest

import neurobox as nb
from neurobox.errors import ConfigError
from neurobox.targets import runner
from neurobox.twin.faults import Stuck
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


def board_network():
    from neurobox.examples import path
    from neurobox.network.modelfile import load

    return load(path("board"))


@pytest.mark.parametrize("transport", ["bus", "wire"])
@pytest.mark.parametrize("spec", ["dead:relay@{t}ms", "reset:sense.0@{t}ms+20ms"])
def test_a_fault_injected_now_equals_the_same_fault_given_at_power_up(transport, spec):
    net = board_network()
    planned = runner("twin").open(net, transport=transport, faults=[spec.format(t=400)])
    planned.advance(900.0)
    live = runner("twin").open(net, transport=transport)
    live.advance(400.0)
    injected = live.inject(spec.format(t=0))
    assert injected.at_ns == 400_000_000                     # its time counts from now
    live.advance(500.0)
    for pop in ("sense", "relay", "brake", "touch"):
        got, want = live.spikes_between(0.0, 900.0)[pop], planned.spikes_between(0.0, 900.0)[pop]
        np.testing.assert_array_equal(got[0], want[0], err_msg=pop)
        np.testing.assert_array_equal(got[1], want[1], err_msg=pop)
    assert live.counters() == planned.counters()
    assert live.result().lost_by_cause == planned.result().lost_by_cause


def test_a_killed_unit_goes_down_at_once_and_what_it_was_sent_is_lost():
    twin = runner("twin").open(board_network(), transport="bus")
    twin.advance(300.0)
    assert twin.counters()["lost"] == 0 and not twin.down("relay").any()
    twin.inject("dead:relay")
    assert twin.down("relay").tolist() == [True]             # before the next tick: the LED is dark now
    twin.advance(300.0)
    assert twin.spikes_between(300.0, 600.0)["relay"][0].size == 0
    counters = twin.counters()
    assert counters["lost"] > 0 and counters["lost_by_cause"] == {"undelivered": counters["lost"]}
    assert 0.0 < counters["bus_load"] < 1.0


def test_reset_is_down_until_it_boots_and_cut_lines_and_loss_are_counted():
    twin = runner("twin").open(board_network(), transport="bus")
    twin.advance(200.0)
    twin.inject(nb_reset("sense.1", 30.0))
    assert twin.down("sense").tolist() == [False, True]
    twin.advance(40.0)
    assert twin.down("sense").tolist() == [False, False]    # booted again
    twin.inject("drop:100%")
    twin.advance(200.0)
    assert twin.counters()["lost_by_cause"]["dropped"] > 0
    twin.inject("drop:0")
    twin.inject("stuck:bus=low")
    twin.advance(200.0)
    assert twin.counters()["lost_by_cause"]["stuck_bus"] > 0
    assert twin.result().ideal is False and len(twin.result().faults) == 4
    wired = runner("twin").open(board_network(), transport="wire")
    wired.advance(100.0)
    assert wired.counters()["lost"] == 0
    wired.inject("stuck:touch.0->sense.0=low")              # a cut wire: what touch.0 sends sense.0 is lost
    wired.advance(400.0)
    assert wired.counters()["lost_by_cause"]["undelivered"] >= 5
    with pytest.raises(ConfigError, match="crystal"):
        wired.inject("drift:relay=200ppm")
    with pytest.raises(ConfigError, match="applies to --transport bus"):
        wired.inject("stuck:bus=low")
    with pytest.raises(ConfigError, match="needs the bus"):
        wired.inject(Stuck("bus", None, False))
    with pytest.raises(ConfigError, match="no wire from"):
        wired.inject("stuck:brake->relay=low")
    with pytest.raises(ConfigError, match="unknown unit"):
        wired.inject("dead:nobody")


def nb_reset(unit, down_ms):
    from neurobox.twin.faults import Reset

    return Reset(unit, 0, int(down_ms * 1e6))


def test_live_counters_agree_with_the_result():
    twin = runner("twin").open(board_network(), transport="wire", faults=["drop:10%"])
    for _ in range(20):                                     # asked every chunk, as the board does
        twin.advance(37.0)
        counters = twin.counters()
    result = twin.result()
    assert counters["lost"] == result.lost > 0
    assert counters["lost_by_cause"] == result.lost_by_cause and counters["emitted"] == result.emitted
