"""Gap junctions: symmetric currents that conserve charge and pull potentials together."""
import numpy as np
import pytest

import neurobox as nb


def coupled_pair(g, dt=0.01):
    net = nb.Network(dt=dt, seed=0)
    net.population("a", 1, "iaf_psc_exp", {"E_L": -70.0, "V_th": 0.0}, initial={"V_m": [-50.0]})
    net.population("b", 1, "iaf_psc_exp", {"E_L": -70.0, "V_th": 0.0}, initial={"V_m": [-80.0]})
    net.add(nb.GapJunction("a", "b", "one_to_one", weight=g))
    net.record("a", "V_m")
    net.record("b", "V_m")
    res = nb.run(net, 20.0)
    return res.trace("a", "V_m"), res.trace("b", "V_m")


def test_current_leaving_one_enters_the_other():
    va, vb = coupled_pair(g=10.0)
    t = va.t_ms
    mean_dev = (va.values[:, 0] + vb.values[:, 0]) / 2 + 70.0
    # the junction currents cancel exactly, so the mean relaxes by the leak alone (tau_m = 10 ms)
    np.testing.assert_allclose(mean_dev, 5.0 * np.exp(-t / 10.0), rtol=1e-9)


@pytest.mark.parametrize("g", [5.0, 25.0])
def test_difference_decays_at_leak_plus_twice_coupling_rate(g):
    va, vb = coupled_pair(g)
    diff = va.values[:, 0] - vb.values[:, 0]
    rate = 1 / 10.0 + 2 * g / 250.0  # (g_L + 2 g) / C_m, per ms
    # explicit coupling over a step: first-order error, under 1 % here
    np.testing.assert_allclose(diff, 30.0 * np.exp(-rate * va.t_ms), rtol=1e-2)


def test_stronger_coupling_equalises_faster_and_model_file_round_trip():
    weak, strong = coupled_pair(2.0), coupled_pair(20.0)
    d_weak = abs(weak[0].values[100, 0] - weak[1].values[100, 0])
    d_strong = abs(strong[0].values[100, 0] - strong[1].values[100, 0])
    assert d_strong < d_weak
    net = nb.Network()
    net.population("a", 3, "iaf_psc_exp")
    net.add(nb.GapJunction("a", "a", "all_to_all", weight=1.5, name="gj"))
    back = nb.loads(net.to_toml())
    assert isinstance(back.projections["gj"], nb.GapJunction)
    assert back.to_toml() == net.to_toml()


def test_gap_junction_errors():
    net = nb.Network()
    net.population("a", 2, "iaf_psc_exp")
    net.add(nb.PoissonSource(2, 5.0, name="p"))
    with pytest.raises(nb.ConfigError, match="no membrane potential"):
        net.add(nb.GapJunction("p", "a", weight=1.0))
    with pytest.raises(nb.ConfigError, match="must be >= 0"):
        net.add(nb.GapJunction("a", "a", "all_to_all", weight=-1.0))


def spike_lags(g, current=1500.0):
    """|t_a - t_b| for successive spikes of two identical HH neurons started apart, coupled by g nS."""
    net = nb.Network(dt=0.05, seed=0)
    net.population("a", 1, "hh_psc_alpha", {"I_e": current})
    net.population("b", 1, "hh_psc_alpha", {"I_e": current}, initial={"V_m": [-40.0]})
    net.add(nb.GapJunction("a", "b", "one_to_one", weight=g))
    res = nb.run(net, 400.0)
    ta, tb = res.spikes["a"].t_ms, res.spikes["b"].t_ms
    n = min(ta.size, tb.size)
    assert n > 10
    return np.abs(ta[:n] - tb[:n])


def test_coupled_spiking_neurons_synchronise_faster_for_larger_g():
    uncoupled = spike_lags(0.0)
    assert uncoupled[-1] > 0.5                     # without coupling the phase difference stays
    first_synchronous = {}
    for g in (5.0, 50.0):
        lags = spike_lags(g)
        assert lags[0] > 0.3                        # they start apart
        assert np.all(lags[-5:] < 0.1)              # and end in step
        first_synchronous[g] = int(np.flatnonzero(lags < 0.1)[0])
    assert first_synchronous[50.0] < first_synchronous[5.0]
