"""Izhikevich models: the published scheme reproduced exactly, the default converging to the ODE."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neurobox.errors import ConfigError
from neurobox.neurons.izhikevich import (IZHIKEVICH, IZHIKEVICH2007, IZHIKEVICH2007_PRESET_INFO,
                                         IZHIKEVICH_PRESET_INFO)
from neurobox.neurons.patterns import classify
from neurobox.tasks.probe import probe


def paper_reference(a, b, c, d, currents):
    """Izhikevich (2003) Fig. 3 code, transcribed line by line (numpy in place of MATLAB).

    currents: float64[T, N], the input I of each 1-ms iteration. Returns the
    firings as (t, neuron) pairs with the paper's t (1-based iteration index)
    and v, u after the last iteration.
    """
    n = currents.shape[1]
    v = -65.0 * np.ones(n)
    u = b * v
    firings = []
    for t in range(1, currents.shape[0] + 1):
        I = currents[t - 1].copy()
        fired = np.nonzero(v >= 30)[0]
        firings += [(t, int(k)) for k in fired]
        v[fired] = c
        u[fired] = u[fired] + d
        v = v + 0.5 * (0.04 * v ** 2 + 5 * v + 140 - u + I)  # step 0.5 ms
        v = v + 0.5 * (0.04 * v ** 2 + 5 * v + 140 - u + I)  # for numerical
        u = u + a * (b * v - u)                               # stability
    return firings, v, u


def run_kernel(model, params, method, currents, dt):
    """Drive the kernel step by step with a per-step current; returns (spikes as (step, i), state)."""
    kernel = model.kernel(method)
    n = currents.shape[1]
    state = model.default_state(params, n)
    consts = model.constants(params, dt, n)
    syn = np.zeros((2, n))
    out = np.zeros(n, dtype=np.int32)
    rng = np.zeros(4, dtype=np.uint64)
    spikes = []
    for k in range(currents.shape[0]):
        ns = kernel(state, consts, syn, np.ascontiguousarray(currents[k]), rng, k, out)
        assert ns >= 0
        spikes += [(k, int(i)) for i in out[:ns]]
    return spikes, state


@pytest.mark.parametrize("preset", ["regular_spiking", "intrinsically_bursting", "chattering", "fast_spiking"])
def test_published_scheme_reproduces_the_paper_code_exactly(preset):
    p = IZHIKEVICH.resolve_params(None, "p", preset)
    rng = np.random.default_rng(3)
    currents = 5.0 * rng.standard_normal((1000, 20)) + 4.0  # noisy "thalamic" input, 1000 ms
    paper_firings, v_ref, u_ref = paper_reference(p["a"], p["b"], p["c"], p["d"], currents)
    spikes, state = run_kernel(IZHIKEVICH, p, "izhikevich2003", currents, dt=1.0)
    assert len(paper_firings) > 100
    # the paper detects a spike at the start of the iteration after the crossing
    # (t = 1001 would be reported by an iteration the paper's loop does not run)
    ours = [(k + 2, i) for k, i in spikes if k + 2 <= 1000]
    assert ours == paper_firings
    # the state is bit-identical where no spike is pending (the paper resets at the next iteration)
    pending = v_ref >= 30
    assert np.array_equal(state[0][~pending], v_ref[~pending])
    assert np.array_equal(state[1][~pending], u_ref[~pending])


def ode_spike_times(a, b, c, d, current, t_end, v0=-65.0):
    """Spike times of the Izhikevich ODE by solve_ivp with an event at V = 30 mV and a reset."""
    def rhs(t, y):
        return [0.04 * y[0] ** 2 + 5 * y[0] + 140 - y[1] + current, a * (b * y[0] - y[1])]

    def peak(t, y):
        return y[0] - 30.0
    peak.terminal = True
    peak.direction = 1
    t, y = 0.0, [v0, b * v0]
    spikes = []
    while t < t_end:
        sol = solve_ivp(rhs, (t, t_end), y, method="DOP853", rtol=1e-10, atol=1e-10, events=peak)
        if sol.status == 1:
            t = float(sol.t_events[0][0])
            spikes.append(t)
            y = [c, sol.y_events[0][0][1] + d]
        else:
            break
    return np.array(spikes)


@pytest.mark.parametrize("preset,current,steps", [
    ("regular_spiking", 10.0, ((0.1, 0.02), (0.01, 0.005))),
    ("chattering", 10.0, ((0.1, 0.02), (0.01, 0.005))),
    ("fast_spiking", 14.0, ((0.1, 0.02), (0.01, 0.005), (0.001, 2e-4))),
])
def test_default_method_converges_to_the_ode_solution(preset, current, steps):
    p = IZHIKEVICH.resolve_params(None, "p", preset)
    ref = ode_spike_times(p["a"], p["b"], p["c"], p["d"], current, 320.0)
    ref = ref[ref < 299.0]
    for dt, tol in steps:
        s = probe(IZHIKEVICH, preset=preset, current_pA=current, duration_ms=320.0, dt=dt).spike_times_ms
        s = s[s < 299.0 + dt]
        assert len(s) == len(ref) > 5
        # a spike is reported at the end of the step in which V crossed V_th: s - ref in [0, dt),
        # up to the integration error, which shrinks with dt
        offset = s - ref
        assert offset.min() > -tol and offset.max() < dt + tol


def test_default_method_matches_the_ode_trace():
    """Subthreshold and spiking V(t) on the step grid against solve_ivp between the spikes."""
    p = IZHIKEVICH.resolve_params(None, "p", "regular_spiking")
    res = probe(IZHIKEVICH, preset="regular_spiking", current_pA=3.0, duration_ms=200.0, dt=0.1)
    assert len(res.spike_times_ms) == 0  # 3 pA stays below threshold

    def rhs(t, y):
        return [0.04 * y[0] ** 2 + 5 * y[0] + 140 - y[1] + 3.0, p["a"] * (p["b"] * y[0] - y[1])]
    sol = solve_ivp(rhs, (0, 200.0), [-65.0, -13.0], method="DOP853", rtol=1e-11, atol=1e-11,
                    t_eval=res.times)
    assert np.abs(sol.y[0] - res.v).max() < 1e-6
    assert np.abs(sol.y[1] - res.traces["U_m"]).max() < 1e-6


def test_euler_method_is_nest_consistent_integration():
    p = IZHIKEVICH.resolve_params(None, "p", "regular_spiking")
    res = probe(IZHIKEVICH, preset="regular_spiking", current_pA=10.0, duration_ms=5.0, dt=0.5, method="euler")
    v, u = -65.0, p["b"] * -65.0
    for k in range(1, 11):
        v, u = v + 0.5 * (0.04 * v * v + 5 * v + 140 - u + 10.0), u + 0.5 * p["a"] * (p["b"] * v - u)
        if v >= 30:
            v, u = p["c"], u + p["d"]
        assert res.v[k] == pytest.approx(v, rel=1e-12, abs=1e-12)
        assert res.traces["U_m"][k] == pytest.approx(u, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("preset", sorted(IZHIKEVICH_PRESET_INFO))
def test_izhikevich2003_presets_show_the_published_patterns(preset):
    pattern, current, onset, duration, _ = IZHIKEVICH_PRESET_INFO[preset]
    res = probe(IZHIKEVICH, preset=preset, current_pA=current, duration_ms=duration, dt=0.1, onset_ms=onset)
    assert classify(res.spike_times_ms, onset, duration).name == pattern


def test_resonator_has_damped_subthreshold_oscillations_and_regular_spiking_does_not():
    def extrema(preset):
        res = probe(IZHIKEVICH, preset=preset, current_pA=0.2, duration_ms=400.0, dt=0.1, onset_ms=100.0)
        v = res.v[res.times >= 100.0]
        dv = np.diff(v)
        turns = np.nonzero(np.sign(dv[1:]) * np.sign(dv[:-1]) < 0)[0]
        return v, turns
    v_rz, turns_rz = extrema("resonator")
    assert len(turns_rz) >= 3  # overshoot, undershoot, overshoot...
    amps = np.abs(np.diff(v_rz[turns_rz + 1]))
    assert amps[1] < amps[0]  # ...that die out
    _, turns_rs = extrema("regular_spiking")
    assert len(turns_rs) <= 1


def test_thalamo_cortical_fires_a_rebound_burst_after_hyperpolarisation():
    p = IZHIKEVICH.resolve_params(None, "p", "thalamo_cortical")
    currents = np.zeros((4000, 1))
    currents[500:2000] = -30.0  # hyperpolarise to about -87 mV for 150 ms, then release (dt = 0.1 ms)
    spikes, _ = run_kernel(IZHIKEVICH, p, "rk4", currents, dt=0.1)
    times = np.array([k + 1 for k, _ in spikes]) * 0.1
    assert len(times[times <= 200.0]) == 0
    rebound = times[(times > 200.0) & (times < 225.0)]
    assert len(rebound) >= 3 and np.diff(rebound)[0] < 5.0  # a burst right after the release
    assert len(times[times > 300.0]) == 0  # and back to rest


@pytest.mark.parametrize("preset", sorted(IZHIKEVICH2007_PRESET_INFO))
def test_izhikevich2007_presets(preset):
    pattern, current, onset, duration, _ = IZHIKEVICH2007_PRESET_INFO[preset]
    res = probe(IZHIKEVICH2007, preset=preset, current_pA=current, duration_ms=duration, dt=0.1, onset_ms=onset)
    assert classify(res.spike_times_ms, onset, duration).name == pattern


def test_izhikevich2007_euler_reproduces_the_book_code():
    """Izhikevich (2007) ch. 8, the RS neuron's code: forward Euler, tau = 1 ms, 70 pA from 100 ms."""
    p = IZHIKEVICH2007.resolve_params(None, "p", "regular_spiking")
    C, vr, vt, k, a, b, c, d, vpeak = (p[x] for x in ("C", "v_r", "v_t", "k", "a", "b", "c", "d", "v_peak"))
    n = 1000
    I = np.r_[np.zeros(100), 70.0 * np.ones(900)]
    v = vr * np.ones(n)
    u = 0 * v
    book_spikes = []
    for i in range(n - 1):
        v[i + 1] = v[i] + 1.0 * (k * (v[i] - vr) * (v[i] - vt) - u[i] + I[i]) / C
        u[i + 1] = u[i] + 1.0 * a * (b * (v[i] - vr) - u[i])
        if v[i + 1] >= vpeak:
            book_spikes.append(i + 1)
            v[i + 1] = c
            u[i + 1] = u[i + 1] + d
    spikes, _ = run_kernel(IZHIKEVICH2007, p, "euler", I[:-1, None], dt=1.0)
    assert len(book_spikes) >= 3
    assert [s + 1 for s, _ in spikes] == book_spikes


def test_synaptic_current_is_exponential():
    res = probe(IZHIKEVICH, current_pA=0.0, duration_ms=30.0, dt=0.1, inputs=[(2.0, "excitatory", 5.0),
                                                                               (4.0, "inhibitory", -3.0)])
    t = res.times
    ex = np.where(t >= 2.0 - 1e-9, 5.0 * np.exp(-(t - 2.0) / 2.0), 0.0)
    inh = np.where(t >= 4.0 - 1e-9, -3.0 * np.exp(-(t - 4.0) / 2.0), 0.0)
    assert np.abs(res.traces["I_syn_ex"] - ex).max() < 1e-12
    assert np.abs(res.traces["I_syn_in"] - inh).max() < 1e-12


def test_bad_parameters():
    with pytest.raises(ConfigError, match=r"p\.tau_syn_ex.*\(0, inf\) ms"):
        IZHIKEVICH.resolve_params({"tau_syn_ex": 0.0}, "p")
    with pytest.raises(ConfigError, match=r"p\.V_th"):
        IZHIKEVICH.resolve_params({"V_th": -70.0}, "p")
    with pytest.raises(ConfigError, match=r"p\.C.*\(0, inf\) pF"):
        IZHIKEVICH2007.resolve_params({"C": -1.0}, "p")
    with pytest.raises(ConfigError, match=r"p\.v_peak"):
        IZHIKEVICH2007.resolve_params({"v_peak": -45.0}, "p")
    with pytest.raises(ConfigError, match="valid presets: .*chattering"):
        IZHIKEVICH.resolve_params(None, "p", "bursty")
