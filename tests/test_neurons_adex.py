"""AdEx: Naud et al. (2008) firing patterns, accuracy against solve_ivp, synapses, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neurobox.errors import ConfigError
from neurobox.neurons.adex import AEIF_COND_EXP, AEIF_PSC_EXP, NAUD2008
from neurobox.neurons.patterns import classify
from neurobox.tasks.probe import probe


@pytest.mark.parametrize("preset", sorted(NAUD2008))
def test_naud2008_presets_show_their_patterns(preset):
    pattern, current, onset, duration, _ = NAUD2008[preset]
    res = probe(AEIF_COND_EXP, preset=preset, current_pA=current, duration_ms=duration, dt=0.1, onset_ms=onset)
    got = classify(res.spike_times_ms, onset, duration)
    assert got.name == pattern
    if preset == "delayed_regular_bursting":
        assert got.detail == "delayed bursting"
    if preset == "delayed_accelerating":
        assert got.detail == "delayed accelerating"


def ode_spike_times(p, current, t_end):
    """AdEx by solve_ivp (rtol 1e-10) with the reset at V = V_th + 15 Delta_T.

    Above that V the exponential makes the ODE too stiff for an adaptive solver
    (dV/dt ~ 1e10 mV/ms at V_peak = 0); V then reaches V_peak within
    C_m/g_L exp(-15) < 1e-5 ms, far below the tolerance of the comparison.
    """
    v_cut = p["V_th"] + 15.0 * p["Delta_T"]
    def rhs(t, y):
        v, w = y
        v = min(v, p["V_peak"])
        dv = (-p["g_L"] * (v - p["E_L"]) + p["g_L"] * p["Delta_T"] * math.exp((v - p["V_th"]) / p["Delta_T"])
              - w + current) / p["C_m"]
        return [dv, (p["a"] * (v - p["E_L"]) - w) / p["tau_w"]]

    def peak(t, y):
        return y[0] - v_cut
    peak.terminal = True
    peak.direction = 1
    t, y, spikes = 0.0, [p["E_L"], 0.0], []
    while t < t_end:
        sol = solve_ivp(rhs, (t, t_end), y, method="DOP853", rtol=1e-10, atol=1e-10, events=peak)
        if sol.status != 1:
            break
        t = float(sol.t_events[0][0])
        spikes.append(t)
        y = [p["V_reset"], sol.y_events[0][0][1] + p["b"]]
    return np.array(spikes)


@pytest.mark.parametrize("preset", ["adapting", "initial_burst", "regular_bursting", "delayed_accelerating"])
def test_spike_times_agree_with_solve_ivp(preset):
    # (not "irregular": its spike train is chaotic, any two solvers part after a few spikes)
    _, current, _, _, _ = NAUD2008[preset]
    p = AEIF_COND_EXP.resolve_params(None, "p", preset)
    ref = ode_spike_times(p, current, 300.0)
    ref = ref[ref < 299.0]
    s = probe(AEIF_COND_EXP, preset=preset, current_pA=current, duration_ms=300.0, dt=0.1).spike_times_ms
    s = s[s < 299.0 + 0.1]
    assert len(s) == len(ref) >= 5
    # reported at the end of the step, so s - ref is in [0, dt) up to the integration error
    offset = s - ref
    assert offset.min() > -0.003 and offset.max() < 0.1 + 0.003


def test_psc_and_cond_variants_agree_without_synaptic_input():
    a = probe(AEIF_COND_EXP, preset="adapting", current_pA=500.0, duration_ms=300.0)
    b = probe(AEIF_PSC_EXP, preset="adapting", current_pA=500.0, duration_ms=300.0)
    assert np.array_equal(a.spike_times_ms, b.spike_times_ms)
    assert np.array_equal(a.v, b.v)


def test_synaptic_conductance_and_current_are_exponential():
    t0, w = 2.0, 3.0
    res = probe(AEIF_COND_EXP, current_pA=0.0, duration_ms=20.0, dt=0.1, inputs=[(t0, "excitatory", w),
                                                                                 (t0, "inhibitory", 2 * w)])
    t = res.times
    for name, tau, weight in (("g_ex", 0.2, w), ("g_in", 2.0, 2 * w)):
        expected = np.where(t >= t0 - 1e-9, weight * np.exp(-(t - t0) / tau), 0.0)
        assert np.abs(res.traces[name] - expected).max() < 1e-9
    res = probe(AEIF_PSC_EXP, current_pA=0.0, duration_ms=20.0, dt=0.1, inputs=[(t0, "excitatory", 50.0)])
    expected = np.where(t >= t0 - 1e-9, 50.0 * np.exp(-(t - t0) / 0.2), 0.0)
    assert np.abs(res.traces["I_syn_ex"] - expected).max() < 1e-9
    assert res.v.max() > AEIF_PSC_EXP.defaults()["E_L"] + 0.01  # it depolarises


def test_subthreshold_psp_agrees_with_solve_ivp():
    p = AEIF_PSC_EXP.defaults()
    res = probe(AEIF_PSC_EXP, current_pA=0.0, duration_ms=40.0, dt=0.1, inputs=[(1.0, "excitatory", 200.0)])

    def rhs(t, y):
        v, w = y
        i_syn = 200.0 * math.exp(-(t - 1.0) / p["tau_syn_ex"])
        dv = (-p["g_L"] * (v - p["E_L"]) + p["g_L"] * p["Delta_T"] * math.exp((v - p["V_th"]) / p["Delta_T"])
              - w + i_syn) / p["C_m"]
        return [dv, (p["a"] * (v - p["E_L"]) - w) / p["tau_w"]]
    y0 = [res.v[10], res.traces["w"][10]]  # the state at t = 1 ms (rest)
    sol = solve_ivp(rhs, (1.0, 40.0), y0, method="DOP853", rtol=1e-11, atol=1e-11, t_eval=res.times[10:])
    assert np.abs(sol.y[0] - res.v[10:]).max() < 1e-5
    assert res.v.max() - p["E_L"] > 0.1


def test_refractory_clamp_and_w_jump():
    res = probe(AEIF_COND_EXP, params={"t_ref": 2.0}, current_pA=1000.0, duration_ms=100.0, dt=0.1)
    s = res.spike_times_ms
    assert len(s) >= 2 and np.diff(s).min() >= 2.0
    k = int(round(s[0] / 0.1))
    p = AEIF_COND_EXP.defaults()
    assert np.all(res.v[k:k + 20] == p["V_reset"])  # held at V_reset for t_ref = 20 steps
    assert res.traces["w"][k] - res.traces["w"][k - 1] == pytest.approx(p["b"], rel=0.05)


def test_delta_t_zero_is_an_integrate_and_fire_neuron():
    res = probe(AEIF_COND_EXP, params={"Delta_T": 0.0, "a": 0.0, "b": 0.0}, current_pA=1000.0,
                duration_ms=200.0, dt=0.1)
    p = AEIF_COND_EXP.defaults()
    # LIF: ISI = tau_m ln((I/g_L + E_L - V_reset)/(I/g_L + E_L - V_th)), tau_m = C_m/g_L
    v_inf = p["E_L"] + 1000.0 / p["g_L"]
    isi = p["C_m"] / p["g_L"] * math.log((v_inf - p["V_reset"]) / (v_inf - p["V_th"]))
    assert np.diff(res.spike_times_ms).mean() == pytest.approx(isi, abs=0.1)
    assert res.v.max() < p["V_th"]


def test_bad_parameters():
    with pytest.raises(ConfigError, match=r"p\.C_m: 0 is outside the allowed range \(0, inf\) pF"):
        AEIF_COND_EXP.resolve_params({"C_m": 0}, "p")
    with pytest.raises(ConfigError, match=r"p\.g_L: -1 is outside the allowed range \[0, inf\) nS"):
        AEIF_COND_EXP.resolve_params({"g_L": -1}, "p")
    with pytest.raises(ConfigError, match=r"p\.tau_w"):
        AEIF_PSC_EXP.resolve_params({"tau_w": -5}, "p")
    with pytest.raises(ConfigError, match=r"p\.V_peak.*above V_th"):
        AEIF_COND_EXP.resolve_params({"V_peak": -60.0}, "p")
    with pytest.raises(ConfigError, match=r"p\.V_reset"):
        AEIF_COND_EXP.resolve_params({"V_reset": 10.0}, "p")
    with pytest.raises(ConfigError, match=r"p\.Delta_T"):
        AEIF_COND_EXP.resolve_params({"Delta_T": 0.01, "V_peak": 20.0}, "p")
    with pytest.raises(ConfigError, match="unknown parameter.*valid parameters: C_m"):
        AEIF_COND_EXP.resolve_params({"tau_m": 5.0}, "p")
