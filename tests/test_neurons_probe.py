"""The single-neuron probe and f-I tools: timing conventions, results, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.neurons.lif import IAF_PSC_EXP
from neurobox.tasks.probe import all_models, fi_curve, parse_range, probe, resolve_model


def test_probe_result_shapes_and_lif_timing():
    res = probe("iaf_psc_exp", current_pA=500.0, duration_ms=100.0, dt=0.1)
    assert res.times.shape == (1001,) and res.times[-1] == pytest.approx(100.0)
    assert set(res.traces) == {"V_m", "I_syn_ex", "I_syn_in", "ref_steps", "theta"}
    assert res.v.shape == (1001,)
    p = IAF_PSC_EXP.defaults()
    # first spike: V(t) = E_L + R I (1 - e^{-t/tau_m}) reaches V_th; reported at the end of that step
    r_i = p["tau_m"] / p["C_m"] * 500.0
    t_cross = -p["tau_m"] * math.log(1 - (p["V_th"] - p["E_L"]) / r_i)
    assert res.spike_times_ms[0] == pytest.approx(math.ceil(t_cross / 0.1) * 0.1)
    k = int(round(res.spike_times_ms[0] / 0.1))
    assert res.v[k] == p["V_reset"]
    d = res.to_dict()
    assert d["spike_times_ms"] == res.spike_times_ms.tolist() and d["n_spikes"] == len(res.spike_times_ms)


def test_onset_delays_the_current():
    res = probe("iaf_psc_exp", current_pA=500.0, duration_ms=100.0, dt=0.1, onset_ms=30.0)
    assert np.all(res.v[res.times <= 30.0] == -70.0)
    late = probe("iaf_psc_exp", current_pA=500.0, duration_ms=100.0, dt=0.1)
    assert res.spike_times_ms[0] == pytest.approx(late.spike_times_ms[0] + 30.0)


def test_several_currents_at_once_match_single_runs():
    multi = probe("aeif_cond_exp", preset="adapting", current_pA=[300.0, 500.0], duration_ms=200.0)
    for k, current in enumerate((300.0, 500.0)):
        single = probe("aeif_cond_exp", preset="adapting", current_pA=current, duration_ms=200.0)
        assert np.array_equal(multi.spike_times_ms[k], single.spike_times_ms)
        assert np.array_equal(multi.v[:, k], single.v)


def test_fi_curve_lif_closed_form():
    p = IAF_PSC_EXP.defaults()
    currents = np.array([0.0, 300.0, 400.0, 800.0])
    fi = fi_curve("iaf_psc_exp", currents, duration_ms=1000.0, dt=0.01)
    r = p["tau_m"] / p["C_m"]
    for current, rate in zip(currents, fi.steady_rate_hz):
        if r * current <= p["V_th"] - p["E_L"]:
            assert math.isnan(rate)
            continue
        isi = p["t_ref"] + p["tau_m"] * math.log(r * current / (r * current - (p["V_th"] - p["E_L"])))
        assert rate == pytest.approx(1000.0 / isi, rel=0.01)
    assert fi.rate_hz[0] == 0.0
    assert fi.to_dict()["steady_rate_hz"][0] is None


def test_parse_range():
    assert parse_range("0:100:25").tolist() == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert parse_range("100,200").tolist() == [100.0, 200.0]
    for bad in ("1:2", "5:1:1", "0:10:0", "a:b:c", "1,,2"):
        with pytest.raises(ConfigError, match="currents"):
            parse_range(bad)


def test_bad_input():
    with pytest.raises(ConfigError, match="unknown model 'lif'.*valid models: .*aeif_cond_exp.*izhikevich"):
        probe("lif", current_pA=1.0)
    with pytest.raises(ConfigError, match="spike source"):
        probe("poisson_generator", current_pA=1.0)
    with pytest.raises(ConfigError, match=r"^dt: must be > 0 ms"):
        probe("izhikevich", current_pA=1.0, dt=0.0)
    with pytest.raises(ConfigError, match=r"^duration: must be > 0 ms"):
        probe("izhikevich", current_pA=1.0, duration_ms=-5)
    with pytest.raises(ConfigError, match=r"^current"):
        probe("izhikevich", current_pA=float("nan"))
    with pytest.raises(ConfigError, match=r"params\.a: must be finite"):
        probe("izhikevich", params={"a": float("inf")}, current_pA=1.0)
    with pytest.raises(ConfigError, match=r"unknown preset 'rs'.*valid presets: chattering"):
        probe("izhikevich", preset="rs", current_pA=1.0)
    with pytest.raises(ConfigError, match=r"no integration method 'rk45'.*valid: rk4, izhikevich2003, euler"):
        probe("izhikevich", current_pA=1.0, method="rk45")
    with pytest.raises(ConfigError, match="receptor"):
        probe("izhikevich", current_pA=1.0, inputs=[(1.0, "nmda", 1.0)])
    with pytest.raises(ConfigError, match="inputs"):
        probe("izhikevich", current_pA=1.0, inputs=[(0.0, "excitatory", 1.0)])


def test_every_model_resolves():
    models = all_models()
    for name in ("izhikevich", "izhikevich2007", "aeif_cond_exp", "aeif_psc_exp", "hh_psc_alpha",
                 "iaf_psc_alpha", "iaf_cond_alpha", "iaf_psc_exp", "iaf_cond_exp"):
        assert resolve_model(name) is models[name]
