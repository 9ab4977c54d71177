"""The firing-pattern classifier on constructed spike trains (each criterion, both sides of it)."""
from __future__ import annotations

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.neurons.patterns import PATTERNS, adaptation_index, burst_split, classify


def train(isis, start):
    return start + np.concatenate([[0.0], np.cumsum(isis)])


def test_silent_and_tonic():
    assert classify([], 0, 500).name == "silent"
    assert classify([600.0], 0, 500).name == "silent"  # outside the step
    tonic = train([10.0] * 48, 5.0)
    assert classify(tonic, 0, 500).name == "tonic"
    jitter = tonic + np.random.default_rng(1).uniform(-0.2, 0.2, tonic.size)
    assert classify(jitter, 0, 500).name == "tonic"


def test_adapting_against_tonic():
    adapting = train(10.0 * 1.15 ** np.minimum(np.arange(20), 9), 5.0)  # ISIs grow 10 -> 35 ms, then steady
    got = classify(adapting[adapting < 500], 0, 500)
    assert got.name == "adapting" and got.features["steady_over_first_isi"] > 2
    short = train([11.0, 14.0, 19.5, 29.5, 47.5, 67.5, 75.0], 15.0)  # still adapting when the step ends
    assert classify(short, 0, 300).name == "adapting"
    mild = train(10.0 * 1.05 ** np.minimum(np.arange(40), 9), 5.0)  # grows by 1.55x only
    assert classify(mild[mild < 500], 0, 500).name == "tonic"


def test_bursting_and_initial_burst():
    bursts = np.concatenate([b + np.array([0.0, 3.0, 6.5, 10.5]) for b in np.arange(10.0, 490.0, 60.0)])
    assert classify(bursts, 0, 500).name == "bursting"
    assert classify(bursts[:7], 0, 80).name == "bursting"  # two bursts are enough
    initial = np.concatenate([[5.0, 8.0, 12.0], np.arange(50.0, 500.0, 30.0)])
    got = classify(initial, 0, 500)
    assert got.name == "initial burst" and got.features["n_bursts"] == 1
    # a short first ISI that is not much shorter than the others is no burst
    assert classify(np.concatenate([[2.0], np.arange(12.0, 500.0, 15.0)]), 0, 500).name == "tonic"


def test_delayed():
    accelerating = train(20.0 * 0.97 ** np.arange(35), 60.0)
    got = classify(accelerating[accelerating < 500], 0, 500)
    assert got.name == "delayed" and got.detail == "delayed accelerating"
    bursts = np.concatenate([b + np.array([0.0, 3.0, 7.0]) for b in np.arange(90.0, 490.0, 50.0)])
    got = classify(bursts, 0, 500)
    assert got.name == "delayed" and got.detail == "delayed bursting"
    # a latency of 1.5 mean ISIs is not a delay
    assert classify(train([10.0] * 40, 15.0), 0, 500).name == "tonic"


def test_transient():
    assert classify([20.0, 30.0, 45.0], 0, 500).name == "transient"
    assert classify([30.0], 0, 500).name == "transient"
    assert classify([30.0, 420.0], 0, 500).name == "tonic"  # two spikes, still firing near the end


def test_irregular():
    rng = np.random.default_rng(7)
    isis = rng.gamma(2.0, 10.0, 60) + 3.0
    s = train(isis, 5.0)
    got = classify(s[s < 500], 0, 500)
    assert got.name == "irregular" and got.features["cv2"] > 0.3 and got.features["turns"] > 0.3


def test_features_and_errors():
    assert adaptation_index([10.0, 20.0]) == pytest.approx(1 / 3)
    assert np.isnan(adaptation_index([10.0]))
    assert burst_split(np.array([3.0, 3.5, 40.0, 3.2, 41.0])) == pytest.approx(np.sqrt(3.5 * 40.0))
    assert burst_split(np.array([10.0, 12.0, 15.0])) is None
    assert set(PATTERNS) >= {"tonic", "adapting", "initial burst", "bursting", "delayed", "transient", "irregular"}
    with pytest.raises(ConfigError, match="t_off"):
        classify([1.0], 10.0, 10.0)
