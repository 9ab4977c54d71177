"""Digits learned by the units themselves: the twin's units learn exactly what the fixed-point engine learns,
the trained board answers well above chance, and its saved model file keeps learning wherever it runs."""
import json

import numpy as np
import pytest

from neurobox.hardware.board import units_from_network
from neurobox.network.modelfile import load as load_model
from neurobox.tasks import digits


@pytest.fixture(scope="module")
def on_twin(tmp_path_factory):
    trained = digits.train(digits.UNITS_QUICK, seed=0, target="twin")
    out = tmp_path_factory.mktemp("digits_units")
    digits.save(trained, out)
    return trained, out


@pytest.mark.slow
def test_the_twin_units_learn_exactly_what_the_fixed_engine_learns(on_twin):
    """1257 images, 25 units each learning on its own clock over the bus: every weight and threshold equal."""
    trained, _ = on_twin
    engine = digits.train(digits.UNITS_QUICK, seed=0)
    assert np.array_equal(trained.weights, engine.weights)
    assert np.array_equal(trained.theta, engine.theta)
    assert np.all(trained.theta > 0)                        # every unit's threshold grew while it learned


@pytest.mark.slow
def test_the_board_trained_on_the_twin_answers_well_above_chance(on_twin):
    trained, _ = on_twin
    evaluation = digits.evaluate(trained, target="twin")
    assert evaluation.test_accuracy > 0.55                  # chance is 0.1; 25 units, 1 epoch reach about 0.65


@pytest.mark.slow
def test_the_saved_board_round_trips_and_keeps_learning(on_twin):
    from neurobox.twin import compare_with_engine, run_twin

    trained, out = on_twin
    loaded = digits.load(out)
    assert np.array_equal(loaded.weights, trained.weights) and np.array_equal(loaded.theta, trained.theta)
    net = load_model(out / digits.MODEL_FILE)
    rule = net.projections["input_exc"].plasticity
    assert rule is not None and net.populations["exc"].params["theta_plus"] > 0      # learning on
    assert net.duration == digits.DEMO_IMAGES * (digits.UNITS_QUICK.present_ms + digits.UNITS_QUICK.rest_ms)
    _, _, _, y_te = digits.load_split(0)
    meta = json.loads((out / digits.META_FILE).read_text())
    assert meta["demo_labels"] == y_te[:digits.DEMO_IMAGES].tolist()
    board = units_from_network(net)
    result = run_twin(board, transport="bus")
    assert result.lost == 0 and compare_with_engine(board, result)["equal"]
    slot = digits.UNITS_QUICK.present_ms + digits.UNITS_QUICK.rest_ms          # ms, one tick each
    answered = {int(t // slot) for name, ticks in result.spike_ticks.items() if name.startswith("exc.")
                for t in ticks}
    assert len(answered) >= digits.DEMO_IMAGES - 4         # most demo images draw an answer


@pytest.mark.slow
def test_the_saved_board_file_is_exact_and_renders_on_the_board(on_twin, tmp_path):
    import argparse

    import neurobox as nb
    from neurobox.cli import board

    _, out = on_twin
    text = (out / digits.MODEL_FILE).read_text()
    assert nb.loads(text).to_toml() == text                           # the saved file round-trips exactly
    parser = argparse.ArgumentParser()
    board.register(parser.add_subparsers())
    args = parser.parse_args(["render", str(out / digits.MODEL_FILE), "--out", str(tmp_path / "r.html")])
    assert args.func(args) == 0
    html = (tmp_path / "r.html").read_text()
    assert '"exc"' in html and '"input"' in html


def test_a_digits_board_beyond_one_bus_is_refused_with_the_units_that_fit():
    from dataclasses import replace

    from neurobox.errors import ConfigError

    net = digits.build_network(replace(digits.UNITS_QUICK, n_exc=100), seed=0)
    with pytest.raises(ConfigError, match="164 bus addresses; a bus has 126: at most 62 units"):
        units_from_network(net)


def test_test_faults_become_the_twins_own_fault_specs():
    """Loss, dead units, resets at seeded times within the test and a seeded drift per unit, as the twin parses
    them (neurobox.twin.faults)."""
    from neurobox.twin.faults import parse_faults

    config = digits.UNITS_QUICK
    specs = digits._twin_faults(digits.TestFaults(p_transmit=0.9, dead_fraction=0.2, reset_fraction=0.4,
                                                  drift_ppm=100.0), config, seed=0, n_images=540)
    assert specs[0] == "drop:0.1"
    assert sum(s.startswith("dead:exc.") for s in specs) == 5          # 20 % of 25
    resets = [s for s in specs if s.startswith("reset:exc.")]
    assert len(resets) == 10                                           # 40 % of 25
    test_ms = 540 * (config.present_ms + config.rest_ms)
    assert all(0 <= float(s.split("@")[1].rstrip("ms")) <= test_ms for s in resets)
    drifts = [s for s in specs if s.startswith("drift:exc.")]
    assert len(drifts) == 25 and all(abs(float(s.split("=")[1].rstrip("ppm"))) <= 100.0 for s in drifts)
    units = [f"exc.{i}" for i in range(config.n_exc)]
    assert len(parse_faults(specs, units, [f"input.{i}" for i in range(digits.N_PIXELS)])) == len(specs)
    assert specs == digits._twin_faults(digits.TestFaults(p_transmit=0.9, dead_fraction=0.2, reset_fraction=0.4,
                                                          drift_ppm=100.0), config, seed=0, n_images=540)
