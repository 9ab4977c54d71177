"""Alpha and exponential PSCs/PSPs against their closed forms (iaf_psc_alpha, iaf_cond_alpha, iaf_psc_exp)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neurobox.errors import ConfigError
from neurobox.neurons.lif import IAF_PSC_EXP
from neurobox.neurons.lif_alpha import IAF_COND_ALPHA, IAF_PSC_ALPHA, _propagator_31
from neurobox.tasks.probe import probe


def alpha_psp(t, w, tau_s, tau_m, c_m):
    """PSP (mV) of an alpha current w (t/tau_s) e^{1 - t/tau_s} (pA) into a leaky membrane."""
    a = 1.0 / tau_s - 1.0 / tau_m
    t = np.clip(t, 0.0, None)
    return w * math.e / (tau_s * c_m) * (np.exp(-t / tau_m) - np.exp(-t / tau_s) * (1 + a * t)) / a ** 2


def exp_psp(t, w, tau_s, tau_m, c_m):
    """PSP (mV) of an exponential current w e^{-t/tau_s} (pA) into a leaky membrane."""
    t = np.clip(t, 0.0, None)
    return w / c_m * (np.exp(-t / tau_m) - np.exp(-t / tau_s)) / (1 / tau_s - 1 / tau_m)


@pytest.mark.parametrize("dt", [0.1, 0.25])
def test_psc_alpha_current_and_psp_match_closed_forms(dt):
    p = IAF_PSC_ALPHA.defaults()
    res = probe(IAF_PSC_ALPHA, current_pA=0.0, duration_ms=60.0, dt=dt,
                inputs=[(5.0, "excitatory", 300.0), (20.0, "inhibitory", -200.0)])
    t = res.times
    s1, s2 = np.clip(t - 5.0, 0, None), np.clip(t - 20.0, 0, None)
    assert np.abs(res.traces["I_syn_ex"] - 300.0 * s1 / 2.0 * np.exp(1 - s1 / 2.0)).max() < 1e-10
    assert np.abs(res.traces["I_syn_in"] + 200.0 * s2 / 2.0 * np.exp(1 - s2 / 2.0)).max() < 1e-10
    expected = p["E_L"] + alpha_psp(t - 5.0, 300.0, 2.0, 10.0, 250.0) + alpha_psp(t - 20.0, -200.0, 2.0, 10.0, 250.0)
    assert np.abs(res.v - expected).max() < 1e-10
    assert res.v.max() - p["E_L"] > 0.5


def test_psc_alpha_equal_time_constants_limit():
    res = probe(IAF_PSC_ALPHA, params={"tau_m": 2.0, "C_m": 100.0}, current_pA=0.0, duration_ms=30.0, dt=0.1,
                inputs=[(1.0, "excitatory", 100.0)])
    s = np.clip(res.times - 1.0, 0, None)
    expected = -70.0 + 100.0 * math.e / (2.0 * 100.0) * s ** 2 / 2 * np.exp(-s / 2.0)  # a -> 0
    assert np.abs(res.v - expected).max() < 1e-10
    assert _propagator_31(2.0, 2.0 + 1e-9, 100.0, 0.1) == pytest.approx(_propagator_31(2.0, 2.0, 100.0, 0.1),
                                                                         rel=1e-7)


def test_psc_exp_psp_matches_closed_form():
    p = IAF_PSC_EXP.defaults()
    res = probe(IAF_PSC_EXP, current_pA=0.0, duration_ms=50.0, dt=0.1, inputs=[(3.0, "excitatory", 400.0)])
    t = res.times
    expected = np.where(t >= 3.0 - 1e-9, 400.0 * np.exp(-(t - 3.0) / 2.0), 0.0)
    assert np.abs(res.traces["I_syn_ex"] - expected).max() < 1e-10
    assert np.abs(res.v - (p["E_L"] + exp_psp(res.times - 3.0, 400.0, 2.0, 10.0, 250.0))).max() < 1e-10


def test_psc_alpha_fires_regularly_at_the_lif_rate():
    p = IAF_PSC_ALPHA.defaults()
    res = probe(IAF_PSC_ALPHA, current_pA=500.0, duration_ms=500.0, dt=0.1)
    # ISI = t_ref + tau_m ln(R I / (R I - (V_th - E_L))) with R = tau_m / C_m, on the 0.1-ms grid
    r_i = p["tau_m"] / p["C_m"] * 500.0
    isi = p["t_ref"] + p["tau_m"] * math.log(r_i / (r_i - (p["V_th"] - p["E_L"])))
    assert np.diff(res.spike_times_ms).mean() == pytest.approx(isi, abs=0.1)


# exponential_euler holds the conductance of the start of the step (a 0.2-ms alpha with dt = 0.1 ms): crude
@pytest.mark.parametrize("method,tol", [("rk4", 1e-6), ("exponential_euler", 0.1)])
def test_cond_alpha_conductance_closed_form_and_psp(method, tol):
    p = IAF_COND_ALPHA.defaults()
    w_ex, w_in = 5.0, 3.0
    res = probe(IAF_COND_ALPHA, current_pA=0.0, duration_ms=40.0, dt=0.1, method=method,
                inputs=[(2.0, "excitatory", w_ex), (10.0, "inhibitory", w_in)])
    t = res.times

    def g(t, t0, w, tau):
        s = np.clip(t - t0, 0, None)
        return w * s / tau * np.exp(1 - s / tau)
    assert np.abs(res.traces["g_ex"] - g(t, 2.0, w_ex, 0.2)).max() < 1e-10
    assert np.abs(res.traces["g_in"] - g(t, 10.0, w_in, 2.0)).max() < 1e-10

    def rhs(tt, y):
        ge, gi = g(tt, 2.0, w_ex, 0.2), g(tt, 10.0, w_in, 2.0)
        return [(p["g_L"] * (p["E_L"] - y[0]) + ge * (p["E_ex"] - y[0]) + gi * (p["E_in"] - y[0])) / p["C_m"]]
    sol = solve_ivp(rhs, (0, 40.0), [p["E_L"]], method="DOP853", rtol=1e-12, atol=1e-12, t_eval=t,
                    max_step=0.01)
    assert np.abs(sol.y[0] - res.v).max() < tol
    assert res.v.max() - p["E_L"] > 0.05


def test_cond_alpha_refractory_and_reset():
    p = IAF_COND_ALPHA.defaults()
    res = probe(IAF_COND_ALPHA, current_pA=400.0, duration_ms=200.0, dt=0.1)
    s = res.spike_times_ms
    assert len(s) > 3
    k = int(round(s[0] / 0.1))
    assert np.all(res.v[k:k + 21] == p["V_reset"])  # t_ref = 2 ms: reset at k, clamped 20 more steps
    assert res.v[k + 21] > p["V_reset"]


def test_bad_parameters():
    with pytest.raises(ConfigError, match=r"p\.tau_m: 0 is outside the allowed range \(0, inf\) ms"):
        IAF_PSC_ALPHA.resolve_params({"tau_m": 0}, "p")
    with pytest.raises(ConfigError, match=r"p\.g_L: -3 is outside the allowed range \[0, inf\) nS"):
        IAF_COND_ALPHA.resolve_params({"g_L": -3}, "p")
    with pytest.raises(ConfigError, match=r"p\.t_ref"):
        IAF_COND_ALPHA.resolve_params({"t_ref": -1}, "p")
