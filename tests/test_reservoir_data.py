"""Reservoir data (NARMA-10, Mackey-Glass, spike patterns), readouts and the ESN baseline."""
from __future__ import annotations


import numpy as np
import pytest
from sklearn.linear_model import Ridge

from neurobox.coding import van_rossum_multi
from neurobox.errors import ConfigError, SimulationError
from neurobox.tasks.esn import EchoStateNetwork, esn_mackey_glass, esn_narma10
from neurobox.tasks.readout import RidgeReadout, RLSReadout, evaluate_readout, nrmse, select_ridge
from neurobox.tasks.reservoir_data import (fit_normalisation, mackey_glass, narma10, narma10_task,
                                           prediction_task, temporal_patterns)


# ------------------------------------------------------------------ NARMA-10

def _narma_reference(u):
    """The recursion written out literally, one term at a time."""
    y = [0.0] * len(u)
    for t in range(9, len(u) - 1):
        s = 0.0
        for i in range(10):
            s += y[t - i]
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * s + 1.5 * u[t - 9] * u[t] + 0.1
    return np.array(y)


def test_narma10_matches_straightforward_loop():
    u, y = narma10(2000, seed=4)
    assert u.min() >= 0.0 and u.max() <= 0.5 and u.std() > 0.1
    np.testing.assert_allclose(y, _narma_reference(u.tolist()), rtol=1e-12, atol=1e-14)
    u2, y2 = narma10(2000, seed=4)
    np.testing.assert_array_equal(u, u2)
    np.testing.assert_array_equal(y, y2)


def test_narma10_task_alignment_and_divergence():
    inputs, targets = narma10_task(500, seed=2, discard=30)
    u, y = narma10(531, seed=2)
    np.testing.assert_array_equal(inputs, u[30:530])
    np.testing.assert_array_equal(targets, y[31:531])
    # constant u = 0.5 has no fixed point: the series blows up
    with pytest.raises(SimulationError):
        narma10(300, u=np.full(300, 0.5))
    with pytest.raises(ConfigError) as e:
        narma10(5)
    assert e.value.field == "n_steps"


def test_narma10_seeds_that_blow_up_are_redrawn():
    # seeds whose first draw of 10,000 steps diverges still give a stable series
    diverging = [s for s in range(60)
                 if _narma_first_draw_diverges(s)]
    assert diverging, "expected some first draws to diverge"
    for s in diverging[:2]:
        u, y = narma10(10000, seed=s)
        assert np.all(np.isfinite(y)) and np.abs(y).max() < 2.0
        np.testing.assert_allclose(y[:3000], _narma_reference(u[:3000].tolist()), rtol=1e-12)


def _narma_first_draw_diverges(seed):
    from neurobox.tasks.reservoir_data import _narma10_kernel
    u = np.random.default_rng(seed).uniform(0.0, 0.5, 10000)
    y = np.zeros(u.size)
    with np.errstate(all="ignore"):
        _narma10_kernel(u, y)
    return not np.all(np.isfinite(y)) or np.abs(y).max() > 1e3


# ------------------------------------------------------------------ Mackey-Glass

def _mg_euler(n_units_time, dt, x0=1.2, tau=17.0):
    m = round(tau / dt)
    steps = round(n_units_time / dt)
    x = np.empty(steps + 1)
    x[0] = x0
    for k in range(steps):
        xd = x[k - m] if k >= m else x0
        x[k + 1] = x[k] + dt * (0.2 * xd / (1.0 + xd ** 10) - 0.1 * x[k])
    return x[:: round(1.0 / dt)]


def test_mackey_glass_converges_when_step_halved():
    a = mackey_glass(300, dt=0.2, discard=0.0)
    b = mackey_glass(300, dt=0.1, discard=0.0)
    c = mackey_glass(300, dt=0.05, discard=0.0)
    e1 = np.abs(a - b).max()
    e2 = np.abs(b - c).max()
    assert e2 < 1e-7
    # fourth order: halving the step divides the error by about 16
    assert 10.0 < e1 / e2 < 24.0


def test_mackey_glass_agrees_with_fine_euler():
    rk4 = mackey_glass(151, dt=0.1, discard=0.0)
    euler = _mg_euler(150.0, 0.0005)
    assert np.abs(rk4 - euler).max() < 2e-3


def test_mackey_glass_is_chaotic_in_range_and_validates():
    x = mackey_glass(2000)
    assert 0.2 < x.min() < 0.6 and 1.1 < x.max() < 1.5
    # aperiodic: the series does not repeat at any lag up to 500
    lags = [np.abs(x[l:] - x[:-l]).max() for l in range(1, 500)]
    assert min(lags) > 0.05
    with pytest.raises(ConfigError) as e:
        mackey_glass(10, dt=0.3)
    assert e.value.field == "tau" and "whole number" in e.value.message


def test_normalisation_and_prediction_task():
    x = mackey_glass(500)
    norm = fit_normalisation(x)
    z = norm.apply(x)
    assert z.min() == pytest.approx(-1.0) and z.max() == pytest.approx(1.0)
    np.testing.assert_allclose(norm.invert(z), x)
    zs = fit_normalisation(x, method="zscore").apply(x)
    assert zs.mean() == pytest.approx(0.0, abs=1e-12) and zs.std() == pytest.approx(1.0)
    inputs, targets = prediction_task(x, 84)
    np.testing.assert_array_equal(targets[:10], x[84:94])
    assert inputs.size == targets.size == 500 - 84


# ------------------------------------------------------------------ readouts

def test_nrmse_reference_points():
    y = np.sin(np.linspace(0, 10, 200))
    assert nrmse(y, y) == 0.0
    assert nrmse(np.full_like(y, y.mean()), y) == pytest.approx(1.0)
    assert nrmse(y + 0.1, y) == pytest.approx(0.1 / y.std())


def test_ridge_recovers_known_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 12))
    w = rng.normal(size=(12, 3))
    b = np.array([0.5, -1.0, 2.0])
    y = x @ w + b
    r = RidgeReadout(1e-10).fit(x, y)
    np.testing.assert_allclose(r.weights, w, atol=1e-8)
    np.testing.assert_allclose(r.bias, b, atol=1e-8)
    # with regularisation: the same as scikit-learn's Ridge (an independent solver)
    noisy = y + rng.normal(scale=0.3, size=y.shape)
    r = RidgeReadout(25.0).fit(x, noisy)
    sk = Ridge(alpha=25.0).fit(x, noisy)
    np.testing.assert_allclose(r.weights, sk.coef_.T, atol=1e-10)
    np.testing.assert_allclose(r.bias, sk.intercept_, atol=1e-10)


def test_select_ridge_picks_lowest_validation_error():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 60))
    w = rng.normal(size=60) * 0.2
    y = x @ w + rng.normal(scale=1.0, size=120)
    xv = rng.normal(size=(200, 60))
    yv = xv @ w + rng.normal(scale=1.0, size=200)
    alphas = [1e-6, 1e-2, 1.0, 10.0, 100.0, 1e4]
    readout, scores = select_ridge(x, y, xv, yv, alphas=alphas)
    assert set(scores) == set(alphas)
    assert readout.alpha == min(scores, key=scores.get)
    # each score is what a readout fitted with that alpha gets
    for a in alphas:
        assert scores[a] == pytest.approx(nrmse(RidgeReadout(a).fit(x, y).predict(xv), yv), rel=1e-6)
    # noisy, few samples: some regularisation beats almost none
    assert scores[readout.alpha] < scores[1e-6]


def test_evaluate_readout_splits_blocks():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(600, 5))
    y = x @ rng.normal(size=5) + 1.0
    # a corrupted washout block must not matter
    y_bad = y.copy()
    y_bad[:50] = 1e6
    score, readout = evaluate_readout(x, y_bad, washout=50, n_train=300, n_val=100)
    assert score < 1e-6
    np.testing.assert_allclose(readout.predict(x[500:]), y[500:], atol=1e-6)
    with pytest.raises(ConfigError) as e:
        evaluate_readout(x, y, washout=100, n_train=400, n_val=100)
    assert e.value.field == "n_val"


def test_rls_converges_to_ridge_solution():
    rng = np.random.default_rng(2)
    x = np.hstack([rng.normal(size=(300, 7)), np.ones((300, 1))])
    y = x @ rng.normal(size=(8, 2)) + rng.normal(scale=0.1, size=(300, 2))
    rls = RLSReadout(8, 2, alpha=0.5, fit_intercept=False)
    prior = rls.train(x, y)
    ridge = RidgeReadout(0.5, fit_intercept=False).fit(x, y)
    np.testing.assert_allclose(rls.weights, ridge.weights, atol=1e-8)
    # a-priori errors shrink as it learns
    err = np.abs(prior - y).mean(axis=1)
    assert err[-100:].mean() < 0.2 * err[:10].mean()
    # one sample at a time gives the same weights as the batch loop
    single = RLSReadout(7, 2, alpha=0.5)
    for row, target in zip(x[:, :7], y):
        single.update(row, target)
    np.testing.assert_allclose(single.weights, ridge.weights[:7], atol=1e-8)
    np.testing.assert_allclose(single.bias, ridge.weights[7], atol=1e-8)


def test_rls_with_forgetting_tracks_a_changed_map():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1200, 4))
    w1, w2 = rng.normal(size=4), rng.normal(size=4)
    y = np.concatenate([x[:600] @ w1, x[600:] @ w2])
    rls = RLSReadout(4, alpha=1.0, forgetting=0.98, fit_intercept=False)
    rls.train(x, y)
    # the first map's weight in the fit has faded to about 0.98^600 ~ 5e-6
    np.testing.assert_allclose(rls.weights[:, 0], w2, atol=1e-4)
    plain = RLSReadout(4, alpha=1.0, fit_intercept=False)
    plain.train(x, y)
    assert np.abs(plain.weights[:, 0] - w2).max() > 0.1
    with pytest.raises(ConfigError) as e:
        RLSReadout(4, forgetting=1.5)
    assert e.value.field == "forgetting" and "(0, 1]" in e.value.message


# ------------------------------------------------------------------ ESN

def test_esn_spectral_radius_seed_and_echo_state_property():
    esn = EchoStateNetwork(120, spectral_radius=0.8, input_scaling=0.5, seed=5)
    assert np.abs(np.linalg.eigvals(esn.w)).max() == pytest.approx(0.8)
    u = np.random.default_rng(0).uniform(0, 0.5, 400)
    s1 = esn.run(u)
    s2 = EchoStateNetwork(120, spectral_radius=0.8, input_scaling=0.5, seed=5).run(u)
    np.testing.assert_array_equal(s1, s2)
    # the state forgets its start: two initial states converge under the same input
    s3 = esn.run(u, initial_state=np.random.default_rng(1).uniform(-1, 1, 120))
    assert np.abs(s1[-1] - s3[-1]).max() < 1e-6 * max(1.0, np.abs(s1[0] - s3[0]).max())


def test_esn_beats_linear_readout_of_raw_input_on_narma10():
    u, y = narma10_task(3000, seed=1)
    train, test = slice(100, 2000), slice(2000, 3000)
    linear = RidgeReadout(1e-8).fit(u[train, None], y[train])
    base = nrmse(linear.predict(u[test, None]), y[test])
    esn = EchoStateNetwork(100, spectral_radius=0.9, input_scaling=0.2, seed=3)
    feats = np.hstack([esn.run(u), u[:, None]])
    score = nrmse(RidgeReadout(1e-7).fit(feats[train], y[train]).predict(feats[test]), y[test])
    assert base > 0.8
    assert score < 0.45 and score < 0.5 * base


def test_esn_benchmarks_run_end_to_end():
    small = dict(n_units=60, n_train=800, n_val=200, n_test=400, washout=100)
    narma = esn_narma10(seed=1, **small)
    assert narma["n_units"] == 60 and 0.0 < narma["nrmse"] < 0.7
    assert esn_narma10(seed=1, **small) == narma
    mg = esn_mackey_glass(horizon=1, seed=1, **small)
    assert mg["horizon"] == 1 and mg["nrmse"] < 0.01


# ------------------------------------------------------------------ spike patterns

def test_temporal_patterns_are_separable_by_their_templates():
    data = temporal_patterns(4, 30, duration_ms=200.0, rate_hz=8.0, samples_per_class=15,
                             jitter_ms=3.0, deletion_prob=0.1, noise_rate_hz=2.0, seed=6)
    assert len(data) == 60 and np.bincount(data.labels).tolist() == [15] * 4
    for s in data.samples:
        assert s.t_ms.min() >= 0.0 and s.t_ms.max() < 200.0 and s.neuron_id.max() < 30
    counts = [t.t_ms.size for t in data.templates]
    assert len(set(counts)) == 1
    # nearest template by van Rossum distance names the class
    guess = [np.argmin([van_rossum_multi(s, t, 30, 5.0) for t in data.templates]) for s in data.samples]
    assert np.mean(np.array(guess) == data.labels) > 0.95
    # same seed, same data; the sample order mixes the classes
    again = temporal_patterns(4, 30, duration_ms=200.0, rate_hz=8.0, samples_per_class=15,
                              jitter_ms=3.0, deletion_prob=0.1, noise_rate_hz=2.0, seed=6)
    np.testing.assert_array_equal(again.samples[7].t_ms, data.samples[7].t_ms)
    assert not np.all(np.diff(data.labels) >= 0)


def test_temporal_patterns_stream_and_split():
    data = temporal_patterns(3, 10, duration_ms=100.0, samples_per_class=4, seed=1)
    spikes, onsets = data.stream(gap_ms=50.0)
    np.testing.assert_array_equal(onsets, np.arange(12) * 150.0)
    assert spikes.t_ms.size == sum(s.t_ms.size for s in data.samples)
    k = 5
    inside = (spikes.t_ms >= onsets[k]) & (spikes.t_ms < onsets[k] + 100.0)
    np.testing.assert_allclose(spikes.t_ms[inside] - onsets[k], data.samples[k].t_ms)
    first, rest = data.split(8)
    assert len(first) == 8 and len(rest) == 4
    np.testing.assert_array_equal(rest.labels, data.labels[8:])
    with pytest.raises(ConfigError) as e:
        temporal_patterns(1, 10)
    assert e.value.field == "n_classes" and "[2, inf)" in e.value.message
