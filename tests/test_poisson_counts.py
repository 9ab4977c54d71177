"""poisson_generator emits a Poisson COUNT per neuron and step (NEST's poisson_generator), at any rate dt."""
import math

import numpy as np
import pytest

import neurobox as nb
from neurobox.neurons.sources import (_PG_REST_LEN, _PG_TABLES, POISSON_GENERATOR, poisson_cdf, poisson_constants,
                                      poisson_count, poisson_max_count)
from neurobox.random import reference_next_uint64


def counts_per_neuron_step(rate_hz, n=2000, steps=500, dt=0.1, seed=4):
    """int[steps, n]: spikes each source neuron emitted in each step (the recorder records count events)."""
    net = nb.Network(dt=dt, seed=seed)
    net.add(nb.PoissonSource(n, rate_hz, name="p"))
    sp = nb.run(net, steps * dt).spikes["p"]
    step = np.rint(np.asarray(sp.t_ms) / dt).astype(np.int64) - 1
    return np.bincount(step * n + np.asarray(sp.ids, dtype=np.int64), minlength=steps * n).reshape(steps, n)


@pytest.mark.parametrize("lam", [0.01, 0.1, 0.5, 1.0, 2.0, 5.0])
def test_count_mean_variance_and_doubles_are_poisson(lam):
    x = counts_per_neuron_step(lam / 0.1 * 1e3).ravel().astype(np.float64)
    m = x.size  # 10^6 neuron-steps
    # mean and variance of Poisson(lam), each within 5 standard errors
    assert abs(x.mean() - lam) < 5 * math.sqrt(lam / m)
    assert abs(x.var() - lam) < 5 * math.sqrt((lam + 2 * lam * lam) / m)
    # P(count >= 2) = 1 - e^-lam (1 + lam): about 50 doubles in 10^6 steps at lam = 0.01, none from a
    # one-spike-per-step (Bernoulli) source, which the mean alone could not tell apart at small lam
    p2 = 1.0 - math.exp(-lam) * (1.0 + lam)
    frac2 = np.mean(x >= 2)
    assert frac2 > 0
    assert abs(frac2 - p2) < 5 * math.sqrt(p2 * (1 - p2) / m)


def test_one_spike_per_step_is_gone():
    x = counts_per_neuron_step(50e3, n=500, steps=200)  # rate dt = 5
    assert x.max() > 5
    assert x.mean() == pytest.approx(5.0, rel=0.02)  # a Bernoulli source would give at most 1


def test_engine_delivers_weight_times_count():
    """Each post neuron's summed input in each step is weight x its source's count delay earlier."""
    n, dt, w, delay = 20, 0.1, 7.5, 0.3
    net = nb.Network(dt=dt, seed=11)
    net.add(nb.PoissonSource(n, 20e3, name="p"))  # rate dt = 2
    net.population("post", n, "iaf_psc_exp", {"tau_syn_ex": 1e6, "V_th": 1e9})
    net.connect("p", "post", "one_to_one", weight=w, delay=delay)
    net.record("post", "I_syn_ex")
    res = nb.run(net, 50.0)
    tr = res.trace("post", "I_syn_ex")
    decay = math.exp(-dt / 1e6)
    arrived = np.diff(np.vstack([np.zeros((1, n)), tr.values]), axis=0)
    arrived += (1 - decay) * np.vstack([np.zeros((1, n)), tr.values[:-1]])
    sp = res.spikes["p"]
    steps = tr.t_ms.size
    sent = np.zeros((steps, n))
    arrive_step = np.rint((np.asarray(sp.t_ms) + delay) / dt).astype(np.int64) - 1
    keep = arrive_step < steps
    np.add.at(sent, (arrive_step[keep], np.asarray(sp.ids)[keep]), w)
    assert sent.max() >= 3 * w  # counts above one did occur
    np.testing.assert_allclose(arrived, sent, atol=1e-6)


def test_max_count_and_spike_scratch():
    # P(X > k) < 1e-12 <= P(X > k - 1)
    for lam in (1e-4, 0.1, 2.32, 40.0):
        k = poisson_max_count(lam * 1e4, 0.1)
        cdf = poisson_cdf(lam, k + 2)
        assert 1 - cdf[k] < 1e-12 + 1e-15
        assert k == 1 or 1 - cdf[k - 1] >= 1e-12 - 1e-15
    assert POISSON_GENERATOR.max_spikes({"rate": 0.0}, 0.1) == 1
    net = nb.Network(dt=0.1)
    net.add(nb.PoissonSource(100, 20e3, name="p"))
    sim = nb.Simulation(net)
    # (two halves: a step's spikes go in the half of its parity)
    assert sim.compiled.populations[0].spikes.size == 2 * 100 * poisson_max_count(20e3, 0.1)


def test_rate_raised_between_runs_grows_the_scratch():
    net = nb.Network(dt=0.1, seed=2)
    net.add(nb.PoissonSource(300, 10.0, name="p"))
    sim = nb.Simulation(net)
    sim.run(10.0)
    sim.set_params("p", rate=100e3)  # rate dt = 10
    res = sim.run(20.0)
    late = np.asarray(res.spikes["p"].t_ms) > 10.0 + 1e-9
    assert late.sum() == pytest.approx(300 * 10.0 * 200, rel=0.02)  # 20 ms more: 200 steps of mean 10
    assert sim.compiled.populations[0].spikes.size >= 2 * 300 * poisson_max_count(100e3, 0.1)


def test_source_of_a_plastic_projection_keeps_repeated_spikes():
    net = nb.Network(dt=0.1, seed=5)
    net.add(nb.PoissonSource(50, 20e3, name="p"))
    net.population("post", 5, "iaf_psc_exp", {})
    net.connect("p", "post", "all_to_all", weight=5.0, delay=1.0, plasticity={"rule": "stdp", "w_max": 10.0})
    sim = nb.Simulation(net)
    sim.run(5.0)
    sim.set_params("p", rate=60e3)
    sim.run(5.0)
    assert np.all(np.isfinite(sim.compiled.populations[1].state))


@pytest.mark.parametrize("rate_hz, dt_ms, words", [(1.58e16, 0.1, "outside the allowed range [0, 1e+06] Hz"),
                                                     (9e5, 1e4, "at dt = 10000 ms")])
def test_an_absurd_rate_is_one_line_not_a_huge_table(rate_hz, dt_ms, words):
    """The count tables grow with rate dt: a rate above 1 MHz, or rate dt above 10,000 spikes per step, is
    refused with the field's name (the fuzzer once found a rate that asked for 11 PiB)."""
    import neurobox as nb

    net = nb.Network(dt=dt_ms, seed=1, duration=10 * dt_ms)
    with pytest.raises(nb.ConfigError, match=r"populations\.a\.params\.rate") as err:
        net.add(nb.Population(2, "poisson_generator", {"rate": rate_hz}, name="a"))
        nb.run(net, 10 * dt_ms, progress=False)
    assert words in str(err.value)


@pytest.mark.parametrize("lam", [0.5, 1.6, 2.32, 12.0])
def test_count_is_the_inversion_of_the_streams_uniform(lam):
    """poisson_count's integer slice of the guide table picks the count the plain inversion does: the first
    k with 1 - uniform <= CDF[k], the uniform being next_double's (reference xoshiro256** in Python)."""
    c = poisson_constants({"rate": lam / 0.1 * 1e3}, 0.1, 1)
    first, length = _PG_TABLES, int(c[_PG_REST_LEN])  # lam < 30: one table, its guide right after it
    cdf = c[first:first + length]
    seed = [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0x2545F4914F6CDD1D]
    stream, reference = np.array(seed, np.uint64), list(seed)
    for _ in range(4000):
        u = 1.0 - (reference_next_uint64(reference) >> 11) * (1.0 / 9007199254740992.0)
        expected = min(int(np.searchsorted(cdf, u, side="left")), length - 1)
        assert poisson_count(stream, c, first, length, first + length) == expected
