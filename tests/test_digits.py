"""Digits by unsupervised STDP + winner-take-all: the reduced run learns, and a saved network scores identically."""
import argparse
import json

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.tasks import digits


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    trained = digits.train(digits.QUICK, seed=3)
    evaluation = digits.evaluate(trained)
    out = tmp_path_factory.mktemp("digits")
    digits.save(trained, out)
    return trained, evaluation, out


def test_split_is_stratified_and_seeded():
    x_tr, y_tr, x_te, y_te = digits.load_split(5)
    assert len(x_te) == 540 and len(x_tr) == 1257
    assert x_tr.min() >= 0.0 and x_tr.max() <= 1.0
    # every class is represented in the same proportion (within one image)
    assert np.all(np.abs(np.bincount(y_te) / len(y_te) - np.bincount(y_tr) / len(y_tr)) < 0.01)
    assert np.array_equal(digits.load_split(5)[3], y_te)


def test_reduced_run_clearly_beats_chance(quick):
    trained, evaluation, _ = quick
    assert evaluation.test_accuracy > 0.6          # chance is 0.1; the reduced run reaches about 0.87
    assert trained.weights.shape == (64, digits.QUICK.n_exc)
    assert np.all(trained.weights >= 0.0)
    # the normalisation keeps every neuron's incoming weights at w_sum
    assert np.allclose(trained.weights.sum(axis=0), digits.QUICK.w_sum, rtol=0.05)


def test_same_seed_same_network():
    cfg = digits.DigitsConfig(n_exc=10, epochs=1, batch=50)
    a = digits.train(cfg, seed=1)
    b = digits.train(cfg, seed=1)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.theta, b.theta)


def test_save_load_evaluate_is_identical(quick):
    trained, evaluation, out = quick
    loaded = digits.load(out)
    assert np.array_equal(loaded.weights, trained.weights)
    assert np.array_equal(loaded.theta, trained.theta)
    again = digits.evaluate(loaded)
    assert again.test_accuracy == evaluation.test_accuracy
    assert np.array_equal(again.predictions, evaluation.predictions)
    assert np.array_equal(again.neuron_labels, evaluation.neuron_labels)
    # the model file is an ordinary neurobox model file with the learned weights
    from neurobox.network.modelfile import load
    net = load(out / digits.MODEL_FILE)
    assert net.projections["input_exc"].rule == "explicit"
    assert net.populations["exc"].params["theta_plus"] == 0.0                     # thresholds frozen
    assert np.array_equal(net.populations["exc"].initial["theta"], trained.theta)


def test_pictures(quick, tmp_path):
    from neurobox.viz.task_plots import weight_images
    trained, evaluation, _ = quick
    png = weight_images(trained.weights, tmp_path / "w.png", labels=evaluation.neuron_labels)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError, match="weights"):
        weight_images(np.zeros((10, 3)), tmp_path / "bad.png")


def test_label_assignment_and_vote():
    counts = np.array([[5, 0, 0, 0], [0, 3, 1, 0], [4, 1, 0, 0], [0, 2, 0, 0]])
    labels = np.array([0, 1, 0, 1])
    neuron_labels = digits.assign_labels(counts, labels)
    assert list(neuron_labels) == [0, 1, 1, -1]      # class means: neuron 2 answers 0.5 to class 1, 0 to class 0
    assert list(digits.predict(counts, neuron_labels)) == [0, 1, 0, 1]


def test_bad_inputs(tmp_path):
    with pytest.raises(ConfigError, match="digits.n_exc"):
        digits.train(digits.DigitsConfig(n_exc=0))
    with pytest.raises(ConfigError, match="seed"):
        digits.train(digits.QUICK, seed=-1)
    with pytest.raises(ConfigError, match="no saved digits network"):
        digits.load(tmp_path)


def _cli(argv):
    from neurobox.cli import train
    parser = argparse.ArgumentParser(prog="neurobox")
    sub = parser.add_subparsers(dest="command")
    train.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_unknown_task_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown task 'mnist'; valid: digits, xor"):
        _cli(["train", "mnist", "--out", str(tmp_path)])
    with pytest.raises(ConfigError, match="--seed"):
        _cli(["train", "digits", "--seed", "-2", "--out", str(tmp_path)])


def test_cli_quick_digits(tmp_path, capsys):
    assert _cli(["train", "digits", "--quick", "--json", "--seed", "3", "--out", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) >= {"test_accuracy", "train_seconds", "neurons"}
    assert summary["test_accuracy"] > 0.6
    for name in ("digits_model.toml", "digits_meta.json", "weights.png", "test_raster.png"):
        assert (tmp_path / name).stat().st_size > 0


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_accuracy_degrades_with_faults_of_the_board():
    trained = digits.train(digits.QUICK, 0)
    healthy = digits.evaluate(trained).test_accuracy
    sweep = digits.fault_sweep(trained, healthy, p_losses=(0.0, 0.5), dead_fractions=(0.5,))
    assert sweep["loss"][0]["test_accuracy"] == healthy      # a link that drops nothing changes nothing
    assert sweep["loss"][1]["test_accuracy"] < healthy - 0.1
    assert sweep["dead_fraction"][0]["test_accuracy"] < healthy
    with pytest.raises(ConfigError, match="p_transmit"):
        digits.evaluate(trained, faults=digits.TestFaults(p_transmit=1.5))
    with pytest.raises(ConfigError, match="loss_on"):
        digits.evaluate(trained, faults=digits.TestFaults(p_transmit=0.9, loss_on="axons"))


def test_loss_on_the_lateral_inhibition_alone_lets_many_neurons_answer(quick):
    """The winner-take-all is the inhibition: without it (all lateral spikes lost) many more neurons fire per
    image than when the same share of input spikes is lost (benchmarks/digits_plateau.py measures why the
    float network plateaus under loss)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "digits_plateau.py"
    spec = importlib.util.spec_from_file_location("digits_plateau", path)
    plateau = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plateau)
    trained, evaluation, _ = quick
    healthy = plateau.spike_statistics(evaluation)
    no_inhibition = plateau.spike_statistics(digits.evaluate(trained, faults=digits.TestFaults(0.0, loss_on="lateral")))
    inputs_lost = plateau.spike_statistics(digits.evaluate(trained, faults=digits.TestFaults(0.5, loss_on="inputs")))
    assert no_inhibition["neurons_per_image"] > 3 * healthy["neurons_per_image"]
    assert no_inhibition["classes_per_image"] > healthy["classes_per_image"] + 2
    assert inputs_lost["spikes_per_image"] < healthy["spikes_per_image"]


def test_fault_sweep_plot(tmp_path):
    from neurobox.viz.task_plots import fault_sweep

    sweep = {"healthy": 0.9, "target": "twin", "loss": [{"loss": 0.1, "test_accuracy": 0.8}],
             "drift_ppm": [{"drift_ppm": 100.0, "test_accuracy": 0.85}]}
    assert fault_sweep(sweep, tmp_path / "faults.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="sweep"):
        fault_sweep({"healthy": 0.9}, tmp_path / "none.png")
