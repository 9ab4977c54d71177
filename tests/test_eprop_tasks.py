"""The e-prop working examples: sine waves and evidence accumulation (neurobox.tasks.sine_waves, .evidence),
their data, their training, `neurobox train sine-waves|evidence` and the comparison with NEST's example."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.tasks import evidence, sine_waves


# ---------------------------------------------------------------- data


def test_evidence_trials_follow_the_examples_layout():
    """Counted from the spikes alone: cues only in their windows and on their side's channels, the recall
    only in the last 150 ms, noise throughout, nothing in step 0, and the rates the example sets."""
    cfg = evidence.EvidenceConfig()
    assert cfg.steps == 2250
    n = 160
    x, cues, answers = evidence.trials(cfg, n, np.random.default_rng(3))
    assert x.shape == (n, 2250, 40) and x.dtype == np.uint8 and cues.shape == (n, 7)
    assert not x[:, 0, :].any()
    left, right, recall, noise = x[..., 0:10], x[..., 10:20], x[..., 20:30], x[..., 30:40]
    on = {0: [], 1: []}
    for k in range(7):
        a = 150 * k + 50                                      # 50 ms pause, then 100 ms of cue
        for side, chans in ((0, left), (1, right)):
            counts = chans[:, a:a + 100].sum(axis=(1, 2))
            is_side = cues[:, k] == side
            assert (counts[~is_side] == 0).all()              # the other side stays silent
            assert (counts[is_side] > 0).all()                # 10 channels x 100 ms x 0.04 = 40 expected
            on[side].append(counts[is_side])
    windows = np.zeros(2250, bool)
    for k in range(7):
        windows[150 * k + 50:150 * k + 150] = True
    assert not left[:, ~windows].any() and not right[:, ~windows].any()
    assert not recall[:, :2100].any()
    # the rates: cue channels 0.04 while on, recall 0.04, noise 0.01 (binomial s.e. well under the tolerance)
    cue_rate = np.concatenate(on[0] + on[1]).mean() / (10 * 100)
    assert abs(cue_rate - 0.04) < 0.003
    assert abs(recall[:, 2100:].mean() - 0.04) < 0.003
    assert abs(noise[:, 1:].mean() - 0.01) < 0.0005
    # the answer is the side with the majority of the cues, read from the spikes
    seen_right = np.array([[right[i, 150 * k + 50:150 * k + 150].any() for k in range(7)] for i in range(n)])
    assert (seen_right == (cues == 1)).all()
    assert (answers == (seen_right.sum(axis=1) >= 4)).all()


def test_evidence_cue_counts_are_the_examples_mixture():
    """The number of right cues in a trial is, as in the example, binomial(7, 0.3) or binomial(7, 0.7) with
    equal odds (one side is the likely one in each trial): its histogram over 20000 trials against that pmf."""
    cfg = replace(evidence.EvidenceConfig(), cue_ms=1, spacing_ms=0, bg_noise_ms=0, recall_ms=1, n_in=4)
    n = 20000
    _, cues, answers = evidence.trials(cfg, n, np.random.default_rng(7))
    counts = np.bincount(cues.sum(axis=1), minlength=8) / n
    pmf = [0.5 * math.comb(7, r) * (0.3 ** r * 0.7 ** (7 - r) + 0.7 ** r * 0.3 ** (7 - r)) for r in range(8)]
    assert np.abs(counts - pmf).max() < 0.015
    assert abs(answers.mean() - 0.5) < 0.02


def test_evidence_targets_mask_and_decisions():
    cfg = evidence.QUICK
    y = evidence.targets(cfg, np.array([0, 1]))
    assert y.shape == (2, cfg.steps, 2) and (y[0, :, 0] == 1).all() and (y[1, :, 1] == 1).all()
    assert y.sum() == 2 * cfg.steps
    mask = evidence.recall_mask(cfg)
    assert mask.sum() == cfg.recall_ms and mask[-1] and not mask[-cfg.recall_ms - 1]
    readout = np.zeros((2, cfg.steps, 2))
    readout[0, -cfg.recall_ms:, 1] = 1.0     # trial 0 says right in the recall
    readout[1, :-cfg.recall_ms, 1] = 5.0     # trial 1 says right only before the recall: it counts as left
    readout[1, -cfg.recall_ms:, 0] = 0.1
    assert evidence.decisions(cfg, readout).tolist() == [1, 0]


def test_evidence_adaptation_prefactor_is_the_examples():
    cfg = evidence.EvidenceConfig()
    expected = 1.7 * (1.0 - math.exp(-1.0 / 2000.0)) / (1.0 - math.exp(-1.0 / 20.0))
    assert cfg.adapt_beta == pytest.approx(expected, rel=1e-12)


def test_sine_target_and_input():
    cfg = sine_waves.SineConfig()
    y = sine_waves.target_signal(cfg, 0)
    assert y.shape == (1000,) and y[0] == 0.0 and np.abs(y).max() == pytest.approx(1.0)
    # four sines with 1, 2, 3 and 5 whole cycles per second: the spectrum of y has its power there
    power = np.abs(np.fft.rfft(y - y.mean())) ** 2
    assert set(np.argsort(power)[-4:]) <= {1, 2, 3, 5, 4, 6}
    assert power[[1, 2, 3, 5]].sum() > 0.8 * power.sum()
    x = sine_waves.frozen_input(cfg, 0)
    assert x.shape == (1000, 100) and x.dtype == np.uint8 and abs(x.mean() - 0.05) < 0.003
    assert (x == sine_waves.frozen_input(cfg, 0)).all() and (x != sine_waves.frozen_input(cfg, 1)).any()


def test_bad_task_settings_name_their_field():
    with pytest.raises(ConfigError, match="n_cues"):
        replace(evidence.EvidenceConfig(), n_cues=4).check()
    with pytest.raises(ConfigError, match="n_in"):
        replace(evidence.EvidenceConfig(), n_in=42).check()
    with pytest.raises(ConfigError, match="input_prob"):
        replace(sine_waves.SineConfig(), input_prob=1.5).check()


# ---------------------------------------------------------------- training


def test_sine_waves_loss_falls_and_is_nests_definition():
    """QUICK (100 inputs, 50 LIF neurons, 500 ms, gradient descent): 20 iterations take the loss from about
    109 to below 30; the final loss is 0.5 sum_t (y - y*)^2 recomputed here from the readout and the target."""
    run = sine_waves.train(sine_waves.QUICK, seed=0, threads=1)
    assert len(run.loss) == 20
    assert run.loss[0] > 90.0
    assert run.loss[-1] < 30.0 and run.final_loss < 30.0
    assert run.final_loss == pytest.approx(0.5 * np.sum((run.readout - run.target) ** 2), rel=1e-4)
    assert np.array_equal(run.target, sine_waves.target_signal(sine_waves.QUICK, 0))


def _main(capsys, *argv):
    from neurobox.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sine_waves_writes_a_model_that_replays_the_trained_readout(tmp_path, capsys):
    """`neurobox train sine-waves --quick --json --iterations 5 --out DIR`: the curve, the pictures and a model
    file that, loaded and run in the ordinary engine, produces the readout whose loss the JSON reports."""
    import json

    import neurobox
    from neurobox.network.modelfile import load

    out = tmp_path / "sw"
    code, text, err = _main(capsys, "train", "sine-waves", "--quick", "--json", "--iterations", "5", "--out",
                            str(out), "--quiet")
    assert code == 0, err
    summary = json.loads(text)
    assert len(summary["loss"]) == 5 and summary["iterations"] == 5
    assert summary["wall_s"] > 0 and summary["per_iteration_s"] > 0
    assert json.loads((out / sine_waves.CURVE_FILE).read_text())["loss"] == summary["loss"]
    for png in (sine_waves.LOSS_PNG, sine_waves.AFTER_PNG):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    net = load(out / sine_waves.MODEL_FILE)
    net.record("out", ["V_m"])
    y = np.asarray(neurobox.run(net, 500.0, progress=False).trace("out", "V_m").values).ravel()
    y_star = sine_waves.target_signal(sine_waves.QUICK, 0)
    assert 0.5 * np.sum((y - y_star) ** 2) == pytest.approx(summary["final_loss"], rel=1e-4)


@pytest.mark.parametrize("argv, flag", [
    (["sine-waves", "--iterations", "0"], "--iterations"),
    (["evidence", "--iterations", "-3"], "--iterations"),
    (["digits", "--iterations", "5"], "--iterations"),
    (["sine-waves", "--target", "fixed"], "--target"),
    (["evidence", "--checkpoint-every", "5"], "--checkpoint-every"),
    (["sine-waves", "--seed", "-1"], "--seed"),
])
def test_cli_bad_options_are_one_line(tmp_path, capsys, argv, flag):
    code, _, err = _main(capsys, "train", *argv, "--out", str(tmp_path / "x"), "--quiet")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert flag in err
    assert not (tmp_path / "x").exists()


def test_evidence_learns_above_chance_at_a_tiny_size():
    """QUICK (3 cues, 20 neurons, 100 iterations of 16 trials): the error on 128 held-out trials is far below
    chance (0.5; its binomial s.e. there is 0.044), and the training batches' error falls."""
    run = evidence.train(evidence.QUICK, seed=0, threads=1)
    assert len(run.loss) == len(run.error) == 100 and run.test_trials == 128
    assert run.test_error <= 0.35
    assert np.mean(run.error[-20:]) < np.mean(run.error[:20]) - 0.1
    x, readout, answer = run.example["inputs"], run.example["readout"], run.example["answer"]
    assert x.shape == (evidence.QUICK.steps, 20) and readout.shape == (evidence.QUICK.steps, 2) and answer in (0, 1)


def test_from_nests_own_start_the_sine_loss_follows_nests():
    """NEST's example script itself (run by benchmarks/eprop.py, 3 iterations, 1 thread) and neurobox's trainer
    from the initial weights, input and target that script drew: the losses agree within 2 % per iteration;
    NEST's first is the 107.7 issue 21 quotes."""
    import sys
    from pathlib import Path

    from conftest import require_module

    require_module("nest", "nest")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.eprop import nest_start, run_nest_example

    g = run_nest_example("sine-waves", 3, 1)
    nest = [float(v) for v in g["loss"]]
    assert nest[0] == pytest.approx(107.74, abs=0.01)
    run = sine_waves.train(replace(sine_waves.SineConfig(), iterations=3), start=nest_start("sine-waves", g),
                           threads=1)
    assert np.allclose(run.loss, nest, rtol=0.02), (run.loss, nest)


class _Oracle:
    """A stand-in trainer whose readout is the target itself (right = True) or the other side."""

    def __init__(self, right: bool):
        self.right = right

    def run(self, x, y, **kwargs):
        from types import SimpleNamespace

        return SimpleNamespace(loss=0.0, readout=y if self.right else y[..., ::-1])


def test_early_stopping_is_the_examples_criterion():
    from neurobox.random import generator
    from neurobox.tasks.evidence import _validate

    cfg = replace(evidence.QUICK, early_stop_batches=8)
    assert _validate(_Oracle(True), cfg, generator(0, "t", "v")) == (0.0, True)
    assert _validate(_Oracle(False), cfg, generator(0, "t", "v")) == (1.0, False)
    assert _validate(_Oracle(True), evidence.QUICK, generator(0, "t", "v")) == (0.0, False)   # never stops
