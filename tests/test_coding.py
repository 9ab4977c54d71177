"""Encoders, decoders and spike-train metrics of neurobox.coding, against independent references."""
from __future__ import annotations

import itertools
import math
import types

import numpy as np
import pytest

from neurobox.coding import (GaussianPopulation, fano_factor, firing_rate, from_trains, isi_cv,
                             latency_decode, latency_encode, make_spikes, poisson_encode,
                             rank_order_activation, rank_order_decode, rank_order_encode, spike_counts,
                             spike_ranks, to_trains, van_rossum_distance, van_rossum_matrix,
                             van_rossum_multi, victor_purpura_distance, victor_purpura_matrix)
from neurobox.errors import ConfigError


def _sorted_by_time(t, ids):
    return np.all(np.diff(t) >= 0) and np.all((np.diff(t) > 0) | (np.diff(ids) > 0))


# ------------------------------------------------------------------ spike representation

def test_make_spikes_sorts_by_time_then_id_and_types():
    s = make_spikes([3.0, 1.0, 1.0, 2.0], [0, 5, 2, 1])
    assert s.t_ms.dtype == np.float64 and s.neuron_id.dtype == np.int32
    assert s.t_ms.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert s.neuron_id.tolist() == [2, 5, 1, 0]


def test_trains_round_trip():
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 100, 200)
    ids = rng.integers(0, 7, 200)
    trains = to_trains(t, ids, 9)
    assert len(trains) == 9 and trains[7].size == 0 and trains[8].size == 0
    for i in range(7):
        np.testing.assert_array_equal(trains[i], np.sort(t[ids == i]))
    back = from_trains(trains)
    ref = make_spikes(t, ids)
    np.testing.assert_array_equal(back.t_ms, ref.t_ms)
    np.testing.assert_array_equal(back.neuron_id, ref.neuron_id)


def test_spike_counts_bins():
    counts = spike_counts([0.0, 4.9, 5.0, 9.99, 10.0, 12.0], [0, 1, 1, 0, 1, 0], 2, 0.0, 12.0, bin_ms=5.0)
    # bins [0,5), [5,10), [10,12); the spike at 12.0 is outside [0, 12)
    assert counts.tolist() == [[1, 1], [1, 1], [0, 1]]


def test_spike_representation_bad_input():
    with pytest.raises(ConfigError) as e:
        make_spikes([1.0, 2.0], [0])
    assert e.value.field == "neuron_id"
    with pytest.raises(ConfigError) as e:
        to_trains([1.0], [4], 3)
    assert e.value.field == "neuron_id" and "[0, 2]" in e.value.message
    with pytest.raises(ConfigError) as e:
        make_spikes([1.0, float("nan")], [0, 1])
    assert e.value.field == "t_ms[1]"


# ------------------------------------------------------------------ Poisson

def test_poisson_mean_rate_within_statistical_bounds():
    values = np.repeat([0.0, 0.25, 0.5, 1.0], 250)
    window, max_rate = 2000.0, 80.0
    t, ids = poisson_encode(values, window, max_rate, seed=11)
    assert _sorted_by_time(t, ids)
    assert t.min() >= 0.0 and t.max() < window
    counts = np.bincount(ids, minlength=values.size)
    for v in (0.0, 0.25, 0.5, 1.0):
        group = counts[values == v]
        expected = v * max_rate * window / 1000.0 * group.size
        # the group total is Poisson(expected): 5 standard deviations
        assert abs(group.sum() - expected) <= 5 * math.sqrt(expected) + 1e-12
    rates = firing_rate(t, ids, values.size, 0.0, window)
    assert abs(rates[values == 1.0].mean() - max_rate) < 5 * math.sqrt(max_rate * 2 / 250)
    # Poisson statistics: ISI CV and Fano factor near 1
    trains = to_trains(t, ids, values.size)
    cvs = [isi_cv(tr) for tr, v in zip(trains, values) if v == 1.0]
    assert abs(np.mean(cvs) - 1.0) < 0.05
    bins = spike_counts(t, ids, values.size, 0.0, window, bin_ms=100.0)
    assert abs(np.nanmean(fano_factor(bins[:, values == 1.0], axis=0)) - 1.0) < 0.1


def test_poisson_clocked_grid():
    values = np.full(400, 0.6)
    dt = 0.5
    t, ids = poisson_encode(values, 500.0, 200.0, seed=2, dt_ms=dt, t_start_ms=10.0)
    steps = (t - 10.0) / dt
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert t.min() >= 10.0 and t.max() <= 10.0 + 500.0 - dt
    # at most one spike per neuron per step
    pairs = np.stack([np.round(steps).astype(int), ids])
    assert np.unique(pairs, axis=1).shape[1] == t.size
    p = 0.6 * 200.0 * dt / 1000.0
    n = 400 * 1000
    assert abs(t.size - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_poisson_seeded():
    a = poisson_encode([0.3, 0.9], 1000.0, seed=5)
    b = poisson_encode([0.3, 0.9], 1000.0, seed=5)
    c = poisson_encode([0.3, 0.9], 1000.0, seed=6)
    np.testing.assert_array_equal(a.t_ms, b.t_ms)
    assert a.t_ms.size != c.t_ms.size or not np.array_equal(a.t_ms, c.t_ms)


def test_poisson_bad_input():
    with pytest.raises(ConfigError) as e:
        poisson_encode([0.2, 1.5], 100.0)
    assert e.value.field == "values[1]" and "[0, 1]" in e.value.message
    with pytest.raises(ConfigError) as e:
        poisson_encode([0.2], -1.0)
    assert e.value.field == "window_ms"
    with pytest.raises(ConfigError) as e:
        poisson_encode([0.2], 100.0, 3000.0, dt_ms=1.0)
    assert e.value.field == "max_rate_hz" and "1000" in e.value.message
    with pytest.raises(ConfigError) as e:
        poisson_encode([0.2], 100.0, seed=-1)
    assert e.value.field == "seed"


# ------------------------------------------------------------------ latency

@pytest.mark.parametrize("method", ["linear", "log"])
def test_latency_code_monotone(method):
    x = np.linspace(0.0, 1.0, 201)
    t, ids = latency_encode(x, 50.0, method=method, t_start_ms=5.0)
    first = np.full(x.size, np.inf)
    first[ids] = t
    fired = np.isfinite(first)
    theta = 0.0 if method == "linear" else 0.01
    np.testing.assert_array_equal(fired, x > theta)
    # strictly earlier for every stronger input
    assert np.all(np.diff(first[fired]) < 0)
    assert first[-1] == pytest.approx(5.0)
    assert first[fired][0] <= 55.0 and first[fired][0] > 50.0
    # one spike per neuron at most
    assert np.unique(ids).size == ids.size


@pytest.mark.parametrize("method,threshold", [("linear", 0.0), ("linear", 0.2), ("log", 0.05)])
def test_latency_decode_inverts_encode(method, threshold):
    x = np.random.default_rng(1).uniform(0, 1, 300)
    spikes = latency_encode(x, 20.0, method=method, threshold=threshold)
    back = latency_decode(*spikes, x.size, 20.0, method=method, threshold=threshold)
    expected = np.where(x > threshold, x, 0.0)
    np.testing.assert_allclose(back, expected, atol=1e-12)


def test_latency_log_equal_ratios_equal_steps():
    x = np.array([1.0, 0.5, 0.25, 0.125])
    t, ids = latency_encode(x, 30.0, method="log", threshold=0.01)
    d = np.diff(t[np.argsort(ids)])
    np.testing.assert_allclose(d, d[0])


def test_latency_bad_input():
    with pytest.raises(ConfigError) as e:
        latency_encode([0.5], 10.0, method="cubic")
    assert e.value.field == "method" and "linear" in e.value.message
    with pytest.raises(ConfigError) as e:
        latency_encode([0.5], 10.0, method="log", threshold=0.0)
    assert e.value.field == "threshold" and "(0, 1)" in e.value.message


# ------------------------------------------------------------------ rank order

def test_rank_order_decode_preserves_order():
    rng = np.random.default_rng(7)
    for trial in range(50):
        # rounded values make ties; zeros stay silent
        x = np.round(rng.uniform(-0.2, 1.0, 60), 1)
        d = rank_order_decode(*rank_order_encode(x, step_ms=0.5), x.size, modulation=0.8)
        fired = x > 0
        assert np.all(d[~fired] == 0) and np.all(d[fired] > 0)
        xi, di = x[fired], d[fired]
        gt = xi[:, None] > xi[None, :]
        eq = xi[:, None] == xi[None, :]
        assert np.all((di[:, None] > di[None, :])[gt])
        assert np.all((di[:, None] == di[None, :])[eq])


def test_rank_order_times_and_ranks():
    x = np.array([0.2, 0.9, 0.5, 0.5, 0.0, 0.7])
    t, ids = rank_order_encode(x, step_ms=2.0, t_start_ms=1.0)
    # ranks: 0.9 -> 0, 0.7 -> 1, 0.5 -> 2 (twice), 0.2 -> 4
    assert dict(zip(ids.tolist(), t.tolist())) == {1: 1.0, 5: 3.0, 2: 5.0, 3: 5.0, 0: 9.0}
    assert spike_ranks(t, ids, 6).tolist() == [4, 0, 2, 2, -1, 1]
    t2, ids2 = rank_order_encode(x, max_spikes=2)
    assert sorted(ids2.tolist()) == [1, 5]


def test_rank_order_activation_is_thorpe_sum():
    rng = np.random.default_rng(4)
    x = rng.uniform(0.01, 1, 30)          # distinct values: ranks are the descending order
    w = rng.normal(size=(30, 5))
    m = 0.85
    order = np.argsort(-x)
    rank = np.empty(30, dtype=int)
    rank[order] = np.arange(30)
    expected = np.array([sum(w[i, j] * m ** rank[i] for i in range(30)) for j in range(5)])
    got = rank_order_activation(*rank_order_encode(x), w, modulation=m)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the receiver whose weights follow the input order responds most
    w_match = np.stack([m ** rank, m ** rank[::-1]], axis=1)
    act = rank_order_activation(*rank_order_encode(x), w_match, modulation=m)
    assert act[0] > act[1]


def test_rank_order_bad_modulation():
    with pytest.raises(ConfigError) as e:
        rank_order_decode([0.0], [0], 1, modulation=1.0)
    assert e.value.field == "modulation" and "(0, 1)" in e.value.message


# ------------------------------------------------------------------ population code

@pytest.mark.parametrize("method", ["ml", "centroid"])
def test_population_code_recovers_values(method):
    pop = GaussianPopulation(30, -1.0, 1.0, max_rate_hz=100.0)
    values = np.linspace(-0.8, 0.8, 41)
    window = 500.0
    spikes = pop.encode(values, window, seed=3)
    decoded = pop.decode(*spikes, window, n_windows=values.size, method=method)
    assert np.abs(decoded - values).max() < 0.05
    # each window's spikes lie in that window
    k = (spikes.t_ms // window).astype(int)
    assert k.min() >= 0 and k.max() == values.size - 1


def test_population_rates_and_ml_at_the_edge():
    pop = GaussianPopulation(10, 0.0, 9.0, width=1.0, max_rate_hz=50.0, baseline_hz=5.0)
    r = pop.rates(4.0)
    assert np.argmax(r) == 4 and r[4] == pytest.approx(50.0)
    assert r[0] == pytest.approx(5.0 + 45.0 * math.exp(-8.0))
    # noiseless expected counts decode to the value exactly with ML, also near the range's edge
    for v in (0.3, 4.6, 8.9):
        counts = pop.rates(v) * 1.0
        assert pop.decode_counts(counts, 1000.0, method="ml") == pytest.approx(v, abs=2e-3)
    with pytest.raises(ConfigError) as e:
        pop.rates(10.0)
    assert e.value.field == "values" and "[0, 9]" in e.value.message


# ------------------------------------------------------------------ van Rossum

def _vr_numeric(a, b, tau, dt=1e-3):
    """D from the filtered trains on a fine grid (trapezoid rule)."""
    t_end = max(np.max(a, initial=0), np.max(b, initial=0)) + 30 * tau
    grid = np.arange(0.0, t_end, dt)

    def filt(train):
        f = np.zeros_like(grid)
        for s in train:
            on = grid >= s
            f[on] += np.exp(-(grid[on] - s) / tau)
        return f

    diff = filt(a) - filt(b)
    return math.sqrt(np.trapezoid(diff * diff, grid) / tau)


@pytest.mark.parametrize("tau", [2.0, 10.0])
def test_van_rossum_matches_numerical_integral(tau):
    rng = np.random.default_rng(8)
    a = np.sort(rng.uniform(1, 60, 7))
    b = np.sort(rng.uniform(1, 60, 5))
    exact = van_rossum_distance(a, b, tau)
    assert exact == pytest.approx(_vr_numeric(a, b, tau), rel=2e-3)


def test_van_rossum_matches_pairwise_closed_form():
    rng = np.random.default_rng(9)
    for _ in range(20):
        a = np.round(rng.uniform(0, 100, rng.integers(0, 15)), 0)   # rounding makes coincident spikes
        b = np.round(rng.uniform(0, 100, rng.integers(0, 15)), 0)
        tau = rng.uniform(0.5, 20)
        k = lambda x, y: np.exp(-np.abs(x[:, None] - y[None, :]) / tau).sum()
        d2 = 0.5 * (k(a, a) + k(b, b) - 2 * k(a, b))
        assert van_rossum_distance(rng.permutation(a), b, tau) == pytest.approx(math.sqrt(max(d2, 0)),
                                                                               rel=1e-9, abs=1e-7)


def test_van_rossum_limits_and_population():
    assert van_rossum_distance([5.0], [], 3.0) == pytest.approx(math.sqrt(0.5))
    assert van_rossum_distance([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 4.0) == pytest.approx(0.0, abs=1e-7)
    # far-apart spikes at small tau: D^2 = (unmatched spikes) / 2
    assert van_rossum_distance([0.0, 100.0], [50.0], 0.01) == pytest.approx(math.sqrt(1.5))
    assert van_rossum_distance([-500.0, 300.0], [-400.0, 600.0], 0.1) == pytest.approx(math.sqrt(2.0))
    m = van_rossum_matrix([[1.0], [2.0], []], 5.0)
    assert m[0, 1] == m[1, 0] == pytest.approx(van_rossum_distance([1.0], [2.0], 5.0))
    assert np.all(np.diag(m) == 0)
    a = make_spikes([1.0, 3.0, 7.0], [0, 1, 1])
    b = make_spikes([2.0, 9.0], [0, 2])
    per = [van_rossum_distance([1.0], [2.0], 4.0), van_rossum_distance([3.0, 7.0], [], 4.0),
           van_rossum_distance([], [9.0], 4.0)]
    assert van_rossum_multi(a, b, 3, 4.0) == pytest.approx(math.sqrt(sum(d * d for d in per)))
    # a record with t_ms and ids attributes (the engine's SpikeTrains) is accepted as is
    rec = types.SimpleNamespace(t_ms=b.t_ms, ids=b.neuron_id, n=3)
    assert van_rossum_multi(tuple(a), rec, 3, 4.0) == pytest.approx(van_rossum_multi(a, b, 3, 4.0))
    with pytest.raises(ConfigError) as e:
        van_rossum_distance([1.0], [2.0], 0.0)
    assert e.value.field == "tau_ms"


# ------------------------------------------------------------------ Victor-Purpura

def _vp_brute(a, b, q):
    """Least cost over every partial matching of spikes (crossings allowed)."""
    best = len(a) + len(b)
    for k in range(1, min(len(a), len(b)) + 1):
        for ia in itertools.combinations(range(len(a)), k):
            for ib in itertools.permutations(range(len(b)), k):
                cost = sum(q * abs(a[i] - b[j]) for i, j in zip(ia, ib)) + len(a) + len(b) - 2 * k
                best = min(best, cost)
    return best


def test_victor_purpura_known_cases():
    assert victor_purpura_distance([1.0], [], 1.0) == 1.0
    assert victor_purpura_distance([1.0], [2.0], 0.5) == pytest.approx(0.5)
    assert victor_purpura_distance([1.0], [2.0], 3.0) == pytest.approx(2.0)
    assert victor_purpura_distance([1.0, 5.0], [2.0, 30.0], 0.1) == pytest.approx(2.1)
    assert victor_purpura_distance([0.0, 10.0], [9.0], 0.2) == pytest.approx(1.2)
    assert victor_purpura_distance([], [], 1.0) == 0.0


def test_victor_purpura_against_brute_force():
    rng = np.random.default_rng(12)
    for _ in range(40):
        a = rng.uniform(0, 20, rng.integers(0, 5)).tolist()
        b = rng.uniform(0, 20, rng.integers(0, 5)).tolist()
        q = rng.choice([0.05, 0.3, 1.0])
        assert victor_purpura_distance(a, b, q) == pytest.approx(_vp_brute(a, b, q), abs=1e-12)


def test_victor_purpura_limits():
    rng = np.random.default_rng(13)
    for _ in range(20):
        a = rng.uniform(0, 100, rng.integers(0, 30))
        b = rng.uniform(0, 100, rng.integers(0, 30))
        assert victor_purpura_distance(a, b, 0.0) == abs(a.size - b.size)
        gap = np.abs(a[:, None] - b[None, :]).min(initial=np.inf)
        q_large = 2.0 / gap * 1.01 if np.isfinite(gap) else 1.0
        assert victor_purpura_distance(a, b, q_large) == pytest.approx(a.size + b.size)
    m = victor_purpura_matrix([[1.0], [2.0, 3.0], []], 0.5)
    assert m[0, 1] == m[1, 0] == pytest.approx(1.5)
    assert m[1, 2] == 2.0
    with pytest.raises(ConfigError) as e:
        victor_purpura_distance([1.0], [2.0], -0.1)
    assert e.value.field == "q_per_ms" and "[0, inf)" in e.value.message


# ------------------------------------------------------------------ statistics

def test_statistics_closed_forms():
    assert isi_cv(np.arange(10) * 5.0) == pytest.approx(0.0, abs=1e-12)
    assert isi_cv([0.0, 1.0, 4.0]) == pytest.approx(np.std([1.0, 3.0]) / 2.0)
    assert math.isnan(isi_cv([1.0, 2.0]))
    assert fano_factor([1, 2, 3]) == pytest.approx((2 / 3) / 2)
    f = fano_factor([[1, 0], [3, 0]], axis=0)
    assert f[0] == pytest.approx(1.0 / 2.0) and math.isnan(f[1])
    r = firing_rate([1.0, 2.0, 3.0, 500.0], [0, 0, 1, 0], 3, 0.0, 200.0)
    np.testing.assert_allclose(r, [10.0, 5.0, 0.0])
