"""The engine in fixed-point precision equals the chips' integer reference bit for bit."""
import numpy as np
import pytest

import neurobox as nb
from neurobox.engine.drift import precision_drift
from neurobox.examples import path
from neurobox.hardware.board import board_inputs, load_board
from neurobox.hardware.unit import simulate

STEPS = 1500


def test_fixed_engine_equals_board_reference():
    board = load_board(path("board"))
    inputs = board_inputs(board, STEPS, mode="bus")  # ideal transport: every spike arrives next tick
    net = nb.load(path("board"))
    net.precision = "fixed"
    for name, pop in net.populations.items():
        if not pop.model.is_source:
            net.record(name, ["V_m", "I_syn_ex", "I_syn_in"])
    sim = nb.Simulation(net)
    res = sim.run(STEPS * board.dt)
    total_spikes = 0
    for unit in board.fixed():
        pop, _, idx = unit.name.partition(".")
        i = int(idx) if idx else 0
        ref = simulate(unit, inputs[unit.name])
        s = res.spikes[pop]
        steps = np.rint(s.t_ms[s.ids == i] / board.dt).astype(int) - 1
        np.testing.assert_array_equal(steps, np.flatnonzero(ref.spikes), err_msg=unit.name)
        for var, ref_values in (("V_m", ref.v), ("I_syn_ex", ref.i_ex), ("I_syn_in", ref.i_in)):
            np.testing.assert_array_equal(res.trace(pop, var).values[:, i], ref_values, err_msg=f"{unit.name}.{var}")
        total_spikes += len(steps)
        if unit.plastic_index:
            pre, post, w, _ = sim.weights("touch_sense")
            learned = ref.weights[-1][list(unit.plastic_index)]
            np.testing.assert_array_equal(np.sort(w[post == i]), np.sort(learned) * unit.lif.I_lsb)   # pA
            assert not np.array_equal(learned, np.array(unit.weights)[list(unit.plastic_index)])
    assert total_spikes > 25


def test_drift_report_between_float_and_fixed():
    report = precision_drift(nb.load(path("board")), 2000.0)
    for name in ("sense", "relay", "brake"):
        pop = report["populations"][name]
        assert pop["float_spikes"] > 0
        assert 0.0 <= pop["matched_fraction"] <= 1.0
    assert report["populations"]["sense"]["matched_fraction"] > 0.8


def test_fixed_precision_refuses_models_without_a_fixed_form():
    net = nb.Network(precision="fixed")
    net.population("a", 2, "iaf_cond_exp")
    with pytest.raises(nb.ConfigError, match="no fixed-point form"):
        nb.run(net, 1.0)


def test_the_example_board_still_learns_after_a_minute():
    """Each sense unit scales its two touch weights back to 2600 pA after its spikes, so the pads compete
    instead of both running into w_max: after 60 s of touching the weights still move, and none is at a
    bound; each unit has come to prefer its own pad."""
    net = nb.load(path("board"))
    net.precision = "fixed"
    sim = nb.Simulation(net, progress=False)
    sim.run(60_000.0)
    pre, post, at_60s, _ = sim.weights("touch_sense")
    sim.run(10_000.0)
    at_70s = sim.weights("touch_sense")[2]
    assert np.abs(at_70s - at_60s).max() > 50.0                      # pA: still learning
    assert np.all((at_70s > 0.0) & (at_70s < 2600.0))                # neither bound
    for unit in range(2):
        own = at_70s[(post == unit) & (pre == unit)]
        other = at_70s[(post == unit) & (pre != unit)]
        assert own > other
