"""The fixed-point specification: LIF (neurobox.neurons.lif_fixed) and pair STDP (neurobox.plasticity.stdp_fixed).

References: exact rational arithmetic for the rounding rules, the float
iaf_psc_exp model (NEST's exact integration) for the dynamics, and the
definition of pair STDP for the learning rule.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.neurons import lif_fixed
from neurobox.neurons.lif import IAF_PSC_EXP, psc_exp_constants, psc_exp_exact
from neurobox.neurons.lif_fixed import IAF_PSC_EXP_FIXED, LifFixedState, fixed_parameters
from neurobox.plasticity import stdp_fixed

NEST = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
        "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0, "I_e": 0.0}


def nearest(x: int, d: int) -> int:
    """x * d / 2**16 rounded to nearest, halves up, with exact rationals."""
    return math.floor(Fraction(x * d, 65536) + Fraction(1, 2))


def test_decay_rounds_to_nearest_exactly():
    rng = np.random.default_rng(0)
    for x, d in zip(rng.integers(-32768, 32768, 5000), rng.integers(0, 65536, 5000)):
        x, d = int(x), int(d)
        r = nearest(x, d)
        want = r if r != x or x == 0 else x - (1 if x > 0 else -1)
        assert lif_fixed.decay(x, d) == want
    assert lif_fixed.decay(3, 32768) == 2 and lif_fixed.decay(-3, 32768) == -1  # halves go up


def test_decay_has_no_dead_band_around_rest():
    for d in (65535, 65000, 40000):
        for start in (32767, -32768, 1, -1, 40, -40):
            x, n = start, 0
            while x != 0:
                nxt = lif_fixed.decay(x, d)
                assert abs(nxt) < abs(x)  # always strictly toward 0
                x, n = nxt, n + 1
            assert n <= 32768


def test_round_half_up_of_membrane_increment():
    p = fixed_parameters(NEST, 0.1)
    # one step of a current held at i_ex: dv must equal round-half-up(i_ex * P_ex / 2**S)
    for i_ex in (1, 7, 100, -100, 32767, -32768):
        state, _ = lif_fixed.step(LifFixedState(0, i_ex, 0, 0), 0, 0, p)
        want = math.floor(Fraction(i_ex * p.P_ex, 2 ** p.S) + Fraction(1, 2))
        assert state.v == want


def test_conversion_matches_the_float_propagators():
    dt = 0.1
    p = fixed_parameters(NEST, dt)
    c = psc_exp_constants(IAF_PSC_EXP.resolve_params(NEST, "p"), dt, 1)
    assert abs(p.D_m / 65536 - c[1]) <= 0.5 / 65536
    assert abs(p.D_ex / 65536 - c[5]) <= 0.5 / 65536
    assert abs(p.P_ex / 2 ** p.S - c[3] * p.I_lsb / p.V_lsb) <= 0.5 / 2 ** p.S
    assert max(p.P_ex, p.P_in, p.P_e) <= lif_fixed.P_MAX
    assert p.v_th == round(15.0 / p.V_lsb) and p.v_reset == 0 and p.ref_steps == 20


def float_and_fixed(params, dt, steps, spikes_in, w_ex=300.0, w_in=-200.0):
    """Run NEST's exact iaf_psc_exp and the fixed-point step on the same input spikes."""
    pf = fixed_parameters(params, dt)
    state = np.zeros((len(IAF_PSC_EXP.state), 1))
    state[0] = params["E_L"]
    consts = psc_exp_constants(IAF_PSC_EXP.resolve_params(params, "p"), dt, 1)
    out = np.zeros(1, dtype=np.int32)
    fs = LifFixedState()
    v_float, v_fixed, s_float, s_fixed = [], [], [], []
    for t in range(steps):
        syn = np.array([[w_ex * spikes_in[t, 0]], [w_in * spikes_in[t, 1]]])
        if psc_exp_exact(state, consts, syn, np.zeros(1), np.zeros(4, np.uint64), t, out):
            s_float.append(t)
        in_ex = lif_fixed.weight_to_fixed(w_ex, pf) * int(spikes_in[t, 0])
        in_in = lif_fixed.weight_to_fixed(w_in, pf) * int(spikes_in[t, 1])
        fs, spiked = lif_fixed.step(fs, in_ex, in_in, pf)
        if spiked:
            s_fixed.append(t)
        v_float.append(state[0, 0])
        v_fixed.append(lif_fixed.voltage_to_mV(fs.v, pf, params["E_L"]))
    return np.array(v_float), np.array(v_fixed), s_float, s_fixed


@pytest.mark.parametrize("params,dt", [
    ({**NEST, "V_th": 0.0}, 0.1),
    ({**NEST, "V_th": 0.0, "tau_m": 20.0, "tau_syn_in": 10.0, "I_e": 100.0}, 0.1),
    ({**NEST, "V_th": 0.0, "tau_syn_ex": 0.5}, 1.0),
])
def test_membrane_follows_the_float_model(params, dt):
    """Below threshold, with random excitatory and inhibitory input, the fixed-point
    membrane stays within 0.1 mV of NEST's exact integration for 3000 steps
    (here down to 67 mV below rest)."""
    spikes_in = np.random.default_rng(3).random((3000, 2)) < 0.05
    v_float, v_fixed, s_float, s_fixed = float_and_fixed(params, dt, 3000, spikes_in)
    assert not s_float and not s_fixed
    assert np.ptp(v_float) > 2.0  # the input moves the membrane by millivolts
    assert np.max(np.abs(v_float - v_fixed)) < 0.1


@pytest.mark.parametrize("params,dt", [
    ({**NEST, "I_e": 1000.0}, 0.1),
    ({**NEST, "I_e": 700.0, "tau_m": 20.0, "t_ref": 5.0}, 0.1),
    ({**NEST, "I_e": 500.0, "V_reset": -65.0, "tau_syn_ex": 0.5}, 1.0),
])
def test_spike_times_follow_the_float_model(params, dt):
    """The first ten spikes fall in the same step or one apart; over 3000 steps the
    spike counts differ by at most 5 %."""
    spikes_in = np.random.default_rng(5).random((3000, 2)) < 0.02
    _, _, s_float, s_fixed = float_and_fixed(params, dt, 3000, spikes_in)
    assert len(s_float) >= 10
    assert np.max(np.abs(np.array(s_fixed[:10]) - np.array(s_float[:10]))) <= 1
    assert abs(len(s_fixed) - len(s_float)) <= max(1, 0.05 * len(s_float))


def test_saturation_of_currents_and_membrane():
    params = {**NEST, "V_th": -70.0 + 32767 / 256, "t_ref": 0.0}
    p = fixed_parameters(params, 0.1)
    assert p.v_th == 32767
    s, _ = lif_fixed.step(LifFixedState(), 40000, -40000, p)
    assert (s.i_ex, s.i_in) == (32767, -32768)
    s, _ = lif_fixed.step(s, 32767, -32768, p)
    assert (s.i_ex, s.i_in) == (32767, -32768)  # decay + input would overflow int16
    # near the top of the range the increment would overflow v: it saturates at
    # 32767 = v_th and fires (a wrapped int16 would go negative and not fire)
    s, spiked = lif_fixed.step(LifFixedState(32700, 32767, 0, 0), 0, 0, p)
    assert spiked and s.v == p.v_reset
    # strong inhibition pins v at the bottom of the range without wrapping
    s = LifFixedState()
    for _ in range(2000):
        s, _ = lif_fixed.step(s, 0, -32768, p)
        assert s.v <= 0
    assert s.v == -32768


def test_refractory_holds_the_membrane_for_t_ref():
    p = fixed_parameters({**NEST, "t_ref": 0.5, "I_e": 2000.0}, 0.1)
    s, fired_at = LifFixedState(), []
    for t in range(400):
        s, spiked = lif_fixed.step(s, 0, 0, p)
        if spiked:
            fired_at.append(t)
        elif fired_at and t - fired_at[-1] <= p.ref_steps:
            assert s.v == p.v_reset
    assert len(fired_at) >= 2 and min(np.diff(fired_at)) > p.ref_steps


@pytest.mark.parametrize("change,field,says", [
    ({"V_th": 100.0}, "p.V_th", "[-32768, 32767]"),
    ({"V_reset": -200.0}, "p.V_reset", "[-32768, 32767]"),
    ({"V_reset": -50.0}, "p.V_reset", "below V_th"),
    ({"t_ref": 30.0}, "p.t_ref", "[0, 255]"),
    ({"I_e": 1e5}, "p.I_e", "[-32768, 32767]"),
])
def test_conversion_refuses_values_that_do_not_fit(change, field, says):
    with pytest.raises(ConfigError) as err:
        fixed_parameters({**NEST, **change}, 0.1, field_path="p")
    assert err.value.field == field
    assert says in err.value.message


def test_conversion_refuses_a_current_step_too_coarse():
    with pytest.raises(ConfigError) as err:
        fixed_parameters({**NEST, "C_m": 1.0}, 1.0, I_lsb=4096.0, field_path="p")
    assert err.value.field == "p.I_lsb"


def test_numba_kernel_is_bit_exact_with_the_reference():
    params = IAF_PSC_EXP_FIXED.resolve_params({**NEST, "I_e": 100.0}, "p")
    dt, n, steps = 0.1, 5, 2000
    consts = IAF_PSC_EXP_FIXED.constants(params, dt, n)
    p = fixed_parameters({k: v for k, v in params.items() if k not in ("V_lsb", "I_lsb")}, dt)
    kernel = IAF_PSC_EXP_FIXED.kernel(None)
    rng = np.random.default_rng(7)
    state = np.zeros((len(IAF_PSC_EXP_FIXED.state), n))
    refs = [LifFixedState() for _ in range(n)]
    out = np.zeros(n, dtype=np.int32)
    for t in range(steps):
        ex = rng.integers(0, 3, n) * 4000 * (rng.random(n) < 0.1)
        inh = -rng.integers(0, 3, n) * 3000 * (rng.random(n) < 0.1)
        syn = np.array([ex, inh], dtype=np.float64)
        k = kernel(state, consts, syn, np.zeros(n), np.zeros(4, np.uint64), t, out)
        assert not syn.any()  # the kernel resets its input
        fired = []
        for i in range(n):
            refs[i], spiked = lif_fixed.step(refs[i], int(ex[i]), int(inh[i]), p)
            if spiked:
                fired.append(i)
        assert list(out[:k]) == fired
        assert np.array_equal(state, np.array(refs, dtype=np.float64).T)


def test_kernel_follows_the_contract():
    m = IAF_PSC_EXP_FIXED
    assert m.state[0].name == m.voltage == "V_m" and m.receptors == ("excitatory", "inhibitory")
    params = m.resolve_params(None, "p")
    consts = m.constants(params, 0.1, 6)
    state = np.zeros((len(m.state), 6))
    state[0, 3] = np.nan
    out = np.zeros(6, dtype=np.int32)
    assert m.kernel(None)(state, consts, np.zeros((2, 6)), np.zeros(6), np.zeros(4, np.uint64), 0, out) == -4
    # external current in pA is rounded to whole I_lsb and drives the neuron like I_e
    state = np.zeros((len(m.state), 2))
    ext = np.array([1000.0, 0.0])
    const_e = m.constants({**params, "I_e": 1000.0}, 0.1, 2)
    state_e = np.zeros((len(m.state), 2))
    for t in range(300):
        m.kernel(None)(state, consts, np.zeros((2, 2)), ext, np.zeros(4, np.uint64), t, out)
        m.kernel(None)(state_e, const_e, np.zeros((2, 2)), np.zeros(2), np.zeros(4, np.uint64), t, out)
    assert np.array_equal(state[:, 0], state_e[:, 0])


# --------------------------------------------------------------------------
# STDP

STDP = stdp_fixed.StdpFixedParams(k_plus=4, k_minus=4, a_plus=100, a_minus=120, w_min=0, w_max=1000)


def run_pair(pre_t: int, post_t: int, w0: int = 500, p=STDP, steps: int = 80) -> int:
    s = stdp_fixed.StdpFixedState((0,), 0, (w0,))
    for t in range(steps):
        s = stdp_fixed.step(s, [t == pre_t], t == post_t, p)
    return s.w[0]


def test_trace_decay_is_x_minus_ceiling_and_reaches_zero():
    for x in range(0, 40000, 37):
        for k in (1, 4, 15):
            assert stdp_fixed.trace_decay(min(x, 32767), k) == min(x, 32767) - math.ceil(min(x, 32767) / 2 ** k)
    x, n = stdp_fixed.ONE, 0
    while x:
        x = stdp_fixed.trace_decay(x, 4)
        n += 1
    assert 100 < n < 400  # about 16 ln(16384) steps, then exactly 0


def test_pair_rule_potentiates_causal_and_depresses_acausal_pairs():
    for lag in (1, 3, 10, 30):
        x = stdp_fixed.ONE
        for _ in range(lag):
            x = stdp_fixed.trace_decay(x, STDP.k_plus)
        assert run_pair(10, 10 + lag) == 500 + (STDP.a_plus * x >> 14)
        assert run_pair(10 + lag, 10) == 500 - (STDP.a_minus * x >> 14)
    assert run_pair(10, 11) > run_pair(10, 15) > run_pair(10, 40) >= 500
    assert run_pair(10, 10) == 500  # a pre and a post spike in the same step form no pair


def test_weights_saturate_at_their_bounds():
    p = STDP._replace(a_plus=30000, a_minus=30000)
    assert run_pair(10, 11, w0=990, p=p) == 1000
    assert run_pair(11, 10, w0=10, p=p) == 0


def test_traces_saturate():
    s = stdp_fixed.StdpFixedState((0,), 0, (0,))
    for _ in range(10):
        s = stdp_fixed.step(s, [True], True, STDP)
    assert s.x_pre[0] == stdp_fixed.TRACE_MAX and s.x_post == stdp_fixed.TRACE_MAX


def test_stdp_conversion():
    p = stdp_fixed.fixed_stdp_parameters({"tau_plus": 16.0, "tau_minus": 33.0, "A_plus": 2.0, "A_minus": 2.5,
                                          "w_min": 0.0, "w_max": 1000.0}, 1.0, 0.25)
    assert (p.k_plus, p.k_minus, p.a_plus, p.a_minus, p.w_min, p.w_max) == (4, 5, 8, 10, 0, 4000)
    assert stdp_fixed.effective_tau(4, 1.0) == pytest.approx(15.5, abs=0.01)
    with pytest.raises(ConfigError) as err:
        stdp_fixed.fixed_stdp_parameters({"w_min": 10.0, "w_max": 0.0}, 1.0, 0.25, "proj.plasticity")
    assert err.value.field == "proj.plasticity.w_max"
    with pytest.raises(ConfigError) as err:
        stdp_fixed.fixed_stdp_parameters({"w_min": 0.0, "w_max": 1.0, "eta": 1.0}, 1.0, 0.25, "pl")
    assert err.value.field == "pl.eta"
    with pytest.raises(ConfigError):
        stdp_fixed.fixed_stdp_parameters({"w_min": 0.0, "w_max": 1.0, "tau_plus": 1e9}, 1.0, 0.25)
