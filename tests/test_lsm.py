"""Liquid-state machine: input code, filters, small-world wiring, readouts, and a small reservoir on NARMA-10."""
from __future__ import annotations

import argparse
import math

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.tasks.lsm import (LSMConfig, SpikingReservoir, default_config, encode_population,
                                filtered_features, lsm_narma10, rls_score, small_world_edges)
from neurobox.tasks.readout import evaluate_readout


def test_linear_code_fires_at_the_coded_rate():
    u = np.array([0.0] * 50 + [0.25] * 50 + [1.0] * 50)
    times = encode_population(u, n_inputs=2, rate_max_hz=800.0, width=0.1, sample_ms=20.0,
                              rng=np.random.default_rng(0), encoding="linear")
    on, off = times
    for lo, hi, level in ((0, 1000, 0.0), (1000, 2000, 0.25), (2000, 3000, 1.0)):
        n_on = np.sum((on > lo) & (on <= hi))
        n_off = np.sum((off > lo) & (off <= hi))
        assert abs(n_on - 800.0 * level) <= 1                 # 1 s at 800 u Hz
        assert abs(n_off - 800.0 * (1 - level)) <= 1
    assert np.all(np.diff(on) > 0) and on.min() > 0


def test_gaussian_code_peaks_at_its_centre():
    u = np.full(100, 0.5)
    times = encode_population(u, n_inputs=11, rate_max_hz=500.0, width=0.1, sample_ms=10.0,
                              rng=np.random.default_rng(1))
    counts = np.array([t.size for t in times])
    assert counts.argmax() == 5
    assert abs(counts[5] - 500.0) <= 1                        # 1 s at the peak rate
    assert abs(counts[4] - 500.0 * math.exp(-0.5)) <= 1


def test_filtered_features_match_the_direct_sum():
    rng = np.random.default_rng(2)
    t = np.sort(rng.uniform(0.0, 200.0, 60))
    ids = rng.integers(0, 3, 60)
    f = filtered_features(t, ids, 3, 10, 20.0, 15.0)
    for k in range(10):
        end = (k + 1) * 20.0
        for i in range(3):
            m = (ids == i) & (t <= end)
            assert f[k, i] == pytest.approx(np.sum(np.exp(-(end - t[m]) / 15.0)), rel=1e-12, abs=1e-12)


def test_small_world_lattice_and_rewiring():
    rng = np.random.default_rng(3)
    pre, post = small_world_edges(100, 6, 0.0, rng)
    assert np.all(np.bincount(post, minlength=100) == 6)
    d = (pre - post) % 100
    assert set(np.unique(d)) == {1, 2, 3, 97, 98, 99}
    pre, post = small_world_edges(100, 6, 0.3, rng)
    assert np.all(pre != post)
    rewired = np.mean(~np.isin((pre - post) % 100, [1, 2, 3, 97, 98, 99]))
    assert 0.2 < rewired < 0.4


def test_reservoir_is_reproducible_and_checks_its_config():
    cfg = LSMConfig(n_neurons=40, indegree=8)
    u = np.random.default_rng(4).uniform(0, 1, 60)
    a = SpikingReservoir(cfg, seed=5).run(u)
    b = SpikingReservoir(cfg, seed=5).run(u)
    assert a.shape == (60, 40 * len(cfg.filter_ms))
    assert np.array_equal(a, b) and a.sum() > 0
    with pytest.raises(ConfigError, match="connectivity"):
        SpikingReservoir(LSMConfig(connectivity="ring"))
    with pytest.raises(ConfigError, match="task"):
        default_config("xor")


def test_rls_readout_agrees_with_ridge_on_reservoir_features():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(900, 20))
    y = x @ rng.normal(size=20) + 0.1 * rng.normal(size=900)
    rls = rls_score(x, y, washout=100, n_train=500)
    ridge, _ = evaluate_readout(x, y, washout=100, n_train=400, n_val=100)
    assert rls == pytest.approx(ridge, abs=0.02)


@pytest.mark.parametrize("connectivity", ["random", "small_world"])
def test_small_reservoir_beats_linear_readout_of_the_raw_input_on_narma10(connectivity):
    cfg = default_config("narma10", 120)
    cfg.connectivity = connectivity
    cfg.indegree = 12
    r = lsm_narma10(cfg, seed=0, n_train=1500, n_val=300, n_test=600, washout=100, esn=False)
    assert r["linear_nrmse"] > 0.8                            # u(t) alone explains little of y(t+1)
    assert r["nrmse"] < r["linear_nrmse"] - 0.2
    assert r["rls_nrmse"] < r["linear_nrmse"] - 0.15


def test_reservoir_cli_registers_and_checks_arguments():
    from neurobox.cli import reservoir
    parser = argparse.ArgumentParser()
    reservoir.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["reservoir", "mackey-glass", "--horizon", "1", "--neurons", "50", "--json"])
    assert args.task == "mackey-glass" and args.horizon == 1 and args.neurons == 50
    args.neurons = 3
    with pytest.raises(ConfigError, match="--neurons"):
        reservoir.run(args)
