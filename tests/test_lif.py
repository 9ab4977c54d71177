"""LIF neurons against closed forms."""
import math

import numpy as np
import pytest

import neurobox as nb


def closed_form_rate(v_inf, e_reset, v_th, tau, t_ref):
    """Rate (Hz) of a LIF neuron relaxing from V_reset towards v_inf > V_th."""
    period = t_ref + tau * math.log((v_inf - e_reset) / (v_inf - v_th))
    return 1000.0 / period


def simulate_rate(model, params, method=None, dt=0.01, duration=1000.0):
    net = nb.Network(dt=dt, seed=1)
    net.population("n", 1, model, params, method=method)
    res = nb.run(net, duration)
    t = res.spikes["n"].t_ms
    return 1000.0 / np.mean(np.diff(t))


@pytest.mark.parametrize("i_e", [400.0, 700.0, 1500.0])
def test_iaf_psc_exp_fires_at_closed_form_rate(i_e):
    p = {"C_m": 250.0, "tau_m": 10.0, "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0, "t_ref": 2.0, "I_e": i_e}
    v_inf = p["E_L"] + i_e * p["tau_m"] / p["C_m"]
    expected = closed_form_rate(v_inf, p["V_reset"], p["V_th"], p["tau_m"], p["t_ref"])
    assert simulate_rate("iaf_psc_exp", p) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("method", ["exponential_euler", "euler"])
@pytest.mark.parametrize("i_e", [300.0, 900.0])
def test_iaf_cond_exp_fires_at_closed_form_rate(method, i_e):
    p = {"C_m": 200.0, "g_L": 10.0, "E_L": -60.0, "V_reset": -60.0, "V_th": -50.0, "t_ref": 5.0, "I_e": i_e}
    v_inf = p["E_L"] + i_e / p["g_L"]
    expected = closed_form_rate(v_inf, p["V_reset"], p["V_th"], p["C_m"] / p["g_L"], p["t_ref"])
    assert simulate_rate("iaf_cond_exp", p, method) == pytest.approx(expected, rel=0.01)


def test_subthreshold_input_never_fires():
    p = {"E_L": -70.0, "V_th": -55.0, "I_e": 0.9 * 15.0 * 250.0 / 10.0}
    net = nb.Network(dt=0.1)
    net.population("n", 1, "iaf_psc_exp", p)
    assert len(nb.run(net, 500.0).spikes["n"]) == 0


def test_refractory_period_clamps_at_reset():
    net = nb.Network(dt=0.1)
    net.population("n", 1, "iaf_psc_exp", {"I_e": 5000.0, "t_ref": 3.0, "V_reset": -70.0})
    net.record("n", "V_m")
    res = nb.run(net, 30.0)
    spikes = res.spikes["n"].t_ms
    tr = res.trace("n", "V_m")
    first = spikes[0]
    during = (tr.t_ms > first + 1e-9) & (tr.t_ms <= first + 3.0 + 1e-9)
    assert during.sum() == 30
    assert np.all(tr.values[during, 0] == -70.0)
    after = np.flatnonzero(tr.t_ms > first + 3.0 + 1e-9)[0]
    assert tr.values[after, 0] > -70.0


def test_adaptive_threshold_slows_firing_and_decays():
    p = {"C_m": 200.0, "g_L": 10.0, "E_L": -60.0, "V_reset": -60.0, "V_th": -50.0, "t_ref": 2.0, "I_e": 300.0,
         "theta_plus": 3.0, "tau_theta": 50.0}
    net = nb.Network(dt=0.1)
    net.population("n", 1, "iaf_cond_exp", p)
    net.record("n", "theta")
    res = nb.run(net, 400.0)
    isi = np.diff(res.spikes["n"].t_ms)
    fixed_threshold_period = 2.0 + 20.0 * math.log(30.0 / 20.0)
    assert isi[-1] > 1.5 * fixed_threshold_period
    theta = res.trace("n", "theta").values[:, 0]
    # between spikes theta decays exactly with tau_theta
    t = res.spikes["n"].t_ms
    k = np.searchsorted(res.trace("n", "theta").t_ms, [t[-2] - 1e-9, t[-1] - 1e-9]) - [0, 1]
    steps = k[1] - k[0]
    assert theta[k[1]] == pytest.approx(theta[k[0]] * math.exp(-steps * 0.1 / 50.0), rel=1e-9)
    assert theta.max() > 1.0
