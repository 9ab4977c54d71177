"""The Potjans & Diesmann (2014) microcircuit (neurobox.tasks.microcircuit) and `neurobox run microcircuit`."""
import json
import math

import numpy as np
import pytest

import neurobox as nb
from neurobox import cli
from neurobox.engine.compile import compile_network
from neurobox.errors import ConfigError
from neurobox.tasks import microcircuit as mc

# The paper's Table 5 (rows: target, columns: source; L2/3E, L2/3I, L4E, L4I, L5E, L5I, L6E, L6I) and
# population sizes, typed here again so that the builder is checked against the publication, not itself.
PAPER_P = [[0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
           [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
           [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
           [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
           [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
           [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
           [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
           [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]]
PAPER_N = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
NAMES = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
SCALE = 0.05


def paper_synapses(i: int, j: int, scale: float) -> int:
    """Synapses from population j onto population i: the number of independent pair draws that leaves a pair
    unconnected with probability 1 - p, K = ln(1 - p) / ln(1 - 1/(N_i N_j)), times scale^2 (N and K scaled)."""
    k = math.log(1.0 - PAPER_P[i][j]) / math.log(1.0 - 1.0 / (PAPER_N[i] * PAPER_N[j]))
    return int(round(k * scale * scale))


@pytest.fixture(scope="module")
def small_run():
    res = nb.Simulation(mc.microcircuit(SCALE, seed=3), progress=False).run(400.0)
    return res, mc.statistics(res, 100.0)


def test_synapse_numbers_and_in_degrees_match_the_published_table():
    net = mc.microcircuit(SCALE, seed=1)
    compiled = compile_network(net)
    counts = {p.name: p.n_synapses for p in compiled.projections}
    sizes = {name: int(round(n * SCALE)) for name, n in zip(NAMES, PAPER_N)}
    for i, post in enumerate(NAMES):
        assert net.populations[post].n == sizes[post]
        for j, pre in enumerate(NAMES):
            want = paper_synapses(i, j, SCALE)
            assert counts.get(f"{pre}_{post}", 0) == want, (pre, post)
            if want:  # the in-degree is K scaled by the scale (N scaled by it too)
                k_full = math.log(1 - PAPER_P[i][j]) / math.log(1 - 1 / (PAPER_N[i] * PAPER_N[j])) / PAPER_N[i]
                assert want / sizes[post] == pytest.approx(k_full * SCALE, rel=0.02, abs=0.05)
    # full scale: about 299 million synapses among 77,169 neurons (the paper's numbers)
    full = mc.parameters(1.0)
    assert int(full.n.sum()) == 77169
    assert full.synapses.sum() == pytest.approx(2.99e8, rel=0.005)


def test_weights_delays_background_and_scaling():
    p = mc.parameters(1.0, "dc")
    assert mc.psc_over_psp() * 0.15 == pytest.approx(87.81, abs=0.01)       # 0.15 mV PSP
    assert p.weights[0, 2] == pytest.approx(2 * p.weights[0, 0])            # L4E -> L2/3E doubled
    assert p.weights[3, 1] == pytest.approx(-4 * p.weights[3, 0])           # g = -4
    # dc: the background's mean, rate x K_ext x weight x tau_syn
    np.testing.assert_allclose(p.dc, 8.0 * np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
                               * 87.8085 * 0.5e-3, rtol=1e-4)
    assert np.all(mc.parameters(1.0, "poisson").dc == 0)
    dc_net = mc.microcircuit(SCALE, "dc", seed=1)    # no sources: the background is each population's I_e
    assert not any(pop.model.is_source for pop in dc_net.populations.values())
    assert dc_net.populations["L4E"].params["I_e"] == pytest.approx(mc.parameters(SCALE, "dc").dc[2])
    s = mc.parameters(0.25, "poisson")
    assert s.weight_ext == pytest.approx(87.8085 / 0.5, rel=1e-4)         # / sqrt(scale)
    np.testing.assert_array_equal(s.k_ext, [400, 375, 525, 475, 500, 475, 725, 525])
    assert np.all(s.dc[[0, 2, 4, 6]] > 0)   # the compensation of the missing part of the mean input
    net = mc.microcircuit(SCALE, seed=1)
    bg = net.populations["bg_L6E"]
    assert bg.model.name == "poisson_generator" and not bg.record_spikes
    assert bg.params["rate"] == pytest.approx(8.0 * round(2900 * SCALE))
    syn = net.projections["L23I_L4E"].build(net.seed, net.dt, "p")
    assert syn.weight.max() <= 0 and syn.delay_steps.min() >= 1
    assert np.mean(syn.delay_steps) * net.dt == pytest.approx(0.75, abs=0.05)


def test_rates_order_as_published(small_run):
    """Robust at scale 0.05 (K-compensated) over seeds: L2/3E fires least, L6E next; in every layer the
    inhibitory population fires more than the excitatory one; nothing runs away."""
    res, stats = small_run
    rates = {name: stats[name].rate_hz for name in NAMES}
    order = sorted(rates, key=rates.get)
    assert order[:2] == ["L23E", "L6E"], rates
    for layer in ("L23", "L4", "L5", "L6"):
        assert rates[f"{layer}I"] > rates[f"{layer}E"], (layer, rates)
    assert all(0.05 < r < 15.0 for r in rates.values()), rates
    assert "bg_L23E" not in res.spikes            # the background is not recorded
    for name in ("L4E", "L5I", "L6I"):            # asynchronous irregular: CV near 0.5-1, little synchrony
        assert 0.3 < stats[name].cv_isi < 1.2 and 0.5 < stats[name].synchrony < 8.0


def test_statistics_on_known_trains():
    from neurobox.results import Results, SpikeTrains

    t = np.array([10.0, 20.0, 30.0, 40.0, 10.0, 30.0, 35.0])   # neuron 0 regular (CV 0); neuron 1 ISIs 20, 5
    ids = np.array([0, 0, 0, 0, 1, 1, 1])
    order = np.argsort(t, kind="stable")
    res = Results(dt=0.1, seed=0, bio_ms=60.0, spikes={"A": SpikeTrains(t[order], ids[order], 4)}, traces={})
    st = mc.statistics(res, 0.0, populations=["A"])["A"]
    assert st.rate_hz == pytest.approx(7 / 4 / 0.06)
    assert st.cv_isi == pytest.approx((0.0 + 7.5 / 12.5) / 2)
    counts = np.histogram(t, bins=20, range=(0.0, 60.0))[0]
    assert st.synchrony == pytest.approx(counts.var() / counts.mean())
    half = mc.statistics(res, 0.0, populations=["A"], record=0.25)["A"]   # the first neuron only
    assert half.n == 1 and half.spikes == 4


@pytest.mark.parametrize("argv, field, words", [
    (["--scale", "0"], "--scale", "must be in (0, 1]"),
    (["--scale", "2"], "--scale", "must be in (0, 1]"),
    (["--scale", "-0.1"], "--scale", "must be in (0, 1]"),
    (["--scale", "nan"], "--scale", "finite"),
    (["--background", "noise"], "--background", "valid: poisson, dc"),
])
def test_cli_refuses_bad_values_in_one_line(argv, field, words, capsys):
    assert cli.main(["run", "microcircuit", "--duration", "10", *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"neurobox run: error: {field}: ") and words in err


def test_cli_scale_only_for_the_microcircuit(capsys):
    assert cli.main(["run", "coba", "--scale", "0.5"]) == 2
    assert "--scale: applies only to the built-in model microcircuit" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="record"):
        mc.microcircuit(0.02, record=1.5)


def test_cli_smoke_run_prints_the_table_and_the_raster(tmp_path, capsys):
    png = tmp_path / "mc.png"
    assert cli.main(["run", "microcircuit", "--scale", "0.02", "--duration", "200", "--plot", str(png),
                     "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "microcircuit at scale 0.02, poisson background" in out
    assert "rate (Hz)" in out and "CV ISI" in out and "synchrony" in out
    for name in NAMES:
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    assert png.stat().st_size > 10_000
    assert cli.main(["run", "microcircuit", "--scale", "0.02", "--duration", "120", "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["microcircuit"]["background"] == "poisson" and summary["microcircuit"]["scale"] == 0.02
    assert set(summary["microcircuit"]["populations"]) == set(NAMES)
    assert not any(name.startswith("bg_") for name in summary["populations"])


def test_a_recorded_fraction_records_only_that_sample():
    net = mc.microcircuit(0.02, record=0.1)
    for name in mc.POPULATIONS:
        pop = net.populations[name]
        assert pop.record_spikes == mc.recorded_neurons(0.1, pop.n) < pop.n
    res = nb.Simulation(net, progress=False).run(150.0)
    for name in mc.POPULATIONS:
        ids = np.asarray(res.spikes[name].ids)
        assert ids.size == 0 or ids.max() < mc.recorded_neurons(0.1, net.populations[name].n)
    assert mc.statistics(res, 50.0, record=0.1)["L4E"].n == mc.recorded_neurons(0.1, net.populations["L4E"].n)
