"""Leaky integrate-and-fire neurons with alpha-shaped synapses (NEST names).

`iaf_psc_alpha`: current-based alpha synapses, integrated exactly (Rotter &
Diesmann 1999), as NEST's model of the same name::

    C_m dV/dt = -(C_m/tau_m)(V - E_L) + I_syn_ex + I_syn_in + I_e + I_stim
    I_syn_X(t) = sum over spikes  w (t - t_k)/tau_syn_X exp(1 - (t - t_k)/tau_syn_X)

A spike of weight w (pA) gives a current that peaks at w after tau_syn. As
in NEST the alpha function is the pair dI/dt = dI_dot - I/tau,
d(dI_dot)/dt = -dI_dot/tau, the spike adding w e/tau to dI_dot; the whole
linear system (V, I, dI_dot) is propagated exactly over a step.

`iaf_cond_alpha`: conductance-based alpha synapses, as NEST's model::

    C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim
    g_X(t) = sum over spikes  w (t - t_k)/tau_syn_X exp(1 - (t - t_k)/tau_syn_X)   (w in nS)

Conductances are propagated exactly. V: method `rk4` (default), Runge-Kutta 4
on substeps of at most 0.02 ms with the conductances in closed form at the
stage times (the error of a PSP is below 1e-6 mV); `exponential_euler`: V
relaxes exactly towards its steady state for the conductances at the
start of the step (one exponential per step; as iaf_cond_exp's default).
NEST integrates iaf_cond_alpha with adaptive RKF45.

Both: V >= V_th: spike, V <- V_reset, held there for t_ref (rounded to
whole steps) while the synapses keep integrating. Initial V = E_L.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurobox.neurons.base import NeuronModel, StateVariable, any_value, non_negative, positive
from neurobox.neurons.lif import TINY, _propagator_32, _refractory_steps, threshold_and_reset


def _propagator_31(tau_syn: float, tau_m: float, c_m: float, h: float) -> float:
    """Membrane response (mV) at time h to dI_dot = 1 pA/ms (with I = 0) at time 0.

    (1/C_m) exp(-h/tau_m) integral_0^h s exp(-a s) ds with a = 1/tau_syn - 1/tau_m,
    i.e. (exp(-h/tau_m) - exp(-h/tau_syn)(1 + a h)) / (a^2 C_m); a power series
    near a h = 0 (equal time constants included) avoids the cancellation.
    """
    a = 1.0 / tau_syn - 1.0 / tau_m
    x = a * h
    if abs(x) < 0.5:
        term = 1.0
        total = 0.5
        for k in range(1, 30):
            term *= -x / k
            total += term / (k + 2)
        integral = h * h * total
    else:
        integral = (-math.expm1(-x) - x * math.exp(-x)) / (a * a)
    return math.exp(-h / tau_m) * integral / c_m


# --------------------------------------------------------------------------
# iaf_psc_alpha

PSC_ALPHA_PARAMETERS = (
    positive("C_m", 250.0, "pF", "membrane capacitance"),
    positive("tau_m", 10.0, "ms", "membrane time constant"),
    positive("tau_syn_ex", 2.0, "ms", "rise time of the excitatory alpha current"),
    positive("tau_syn_in", 2.0, "ms", "rise time of the inhibitory alpha current"),
    non_negative("t_ref", 2.0, "ms", "absolute refractory period"),
    any_value("E_L", -70.0, "mV", "resting (leak reversal) potential"),
    any_value("V_reset", -70.0, "mV", "potential after a spike"),
    any_value("V_th", -55.0, "mV", "spike threshold"),
    any_value("I_e", 0.0, "pA", "constant external current"),
)

(_A_EL, _A_P33, _A_P30, _A_P31EX, _A_P32EX, _A_P31IN, _A_P32IN, _A_P11EX, _A_P21EX, _A_P11IN, _A_P21IN,
 _A_EEX, _A_EIN, _A_IE, _A_VTH, _A_VRESET, _A_REF) = range(17)


def psc_alpha_constants(p, dt, n):
    tm, cm = p["tau_m"], p["C_m"]
    return np.array([
        p["E_L"],
        math.exp(-dt / tm),
        tm / cm * -math.expm1(-dt / tm),
        _propagator_31(p["tau_syn_ex"], tm, cm, dt),
        _propagator_32(p["tau_syn_ex"], tm, cm, dt),
        _propagator_31(p["tau_syn_in"], tm, cm, dt),
        _propagator_32(p["tau_syn_in"], tm, cm, dt),
        math.exp(-dt / p["tau_syn_ex"]),
        dt * math.exp(-dt / p["tau_syn_ex"]),
        math.exp(-dt / p["tau_syn_in"]),
        dt * math.exp(-dt / p["tau_syn_in"]),
        math.e / p["tau_syn_ex"],
        math.e / p["tau_syn_in"],
        p["I_e"],
        p["V_th"],
        p["V_reset"],
        _refractory_steps(p["t_ref"], dt),
    ])


@njit(cache=True, boundscheck=False)
def psc_alpha_exact(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v = state[0]
    dex = state[1]
    iex = state[2]
    din = state[3]
    iin = state[4]
    ref = state[5]
    e_l = c[_A_EL]
    p33 = c[_A_P33]
    p30 = c[_A_P30]
    p31ex = c[_A_P31EX]
    p32ex = c[_A_P32EX]
    p31in = c[_A_P31IN]
    p32in = c[_A_P32IN]
    p11ex = c[_A_P11EX]
    p21ex = c[_A_P21EX]
    p11in = c[_A_P11IN]
    p21in = c[_A_P21IN]
    i_e = c[_A_IE]
    in_ex = syn_in[0]
    in_in = syn_in[1]
    for i in range(v.shape[0]):
        vi = v[i]
        r = ref[i]
        if r <= 0.0:
            v[i] = e_l + p33 * (vi - e_l) + p30 * (i_e + i_in[i]) + p31ex * dex[i] + p32ex * iex[i] \
                + p31in * din[i] + p32in * iin[i]
        ref[i] = r - 1.0 if r > 0.0 else 0.0
        a = p21ex * dex[i] + p11ex * iex[i]
        iex[i] = a if abs(a) > TINY else 0.0
        a = p11ex * dex[i] + c[_A_EEX] * in_ex[i]
        dex[i] = a if abs(a) > TINY else 0.0
        a = p21in * din[i] + p11in * iin[i]
        iin[i] = a if abs(a) > TINY else 0.0
        a = p11in * din[i] + c[_A_EIN] * in_in[i]
        din[i] = a if abs(a) > TINY else 0.0
        in_ex[i] = 0.0
        in_in[i] = 0.0
    return threshold_and_reset(v, ref, c[_A_VTH], c[_A_VRESET], c[_A_REF], spikes_out)


IAF_PSC_ALPHA = NeuronModel(
    name="iaf_psc_alpha",
    summary="Leaky integrate-and-fire neuron with alpha-shaped current-based synapses.",
    equations=(
        "C_m dV/dt = -(C_m/tau_m)(V - E_L) + I_syn_ex + I_syn_in + I_e + I_stim\n"
        "I_syn_X(t) = w (t/tau_syn_X) e^{1 - t/tau_syn_X} per spike of weight w (pA)\n"
        "V >= V_th: spike, V <- V_reset, clamped for t_ref"),
    integration="exact integration of the linear system (Rotter & Diesmann 1999), as NEST",
    parameters=PSC_ALPHA_PARAMETERS,
    state=(
        StateVariable("V_m", "mV", "membrane potential", "E_L"),
        StateVariable("dI_ex", "pA/ms", "derivative drive of the excitatory alpha current"),
        StateVariable("I_syn_ex", "pA", "excitatory synaptic current"),
        StateVariable("dI_in", "pA/ms", "derivative drive of the inhibitory alpha current"),
        StateVariable("I_syn_in", "pA", "inhibitory synaptic current"),
        StateVariable("ref_steps", "steps", "refractory steps left"),
    ),
    receptors=("excitatory", "inhibitory"),
    receptor_kind="current",
    constants=psc_alpha_constants,
    methods={"exact": psc_alpha_exact},
    references=(
        "Rotter S, Diesmann M (1999) Exact digital simulation of time-invariant linear systems "
        "with applications to neuronal modeling. Biol Cybern 81:381-402.",
        "NEST model iaf_psc_alpha.",
    ),
)


# --------------------------------------------------------------------------
# iaf_cond_alpha

COND_ALPHA_PARAMETERS = (
    positive("C_m", 250.0, "pF", "membrane capacitance"),
    non_negative("g_L", 16.6667, "nS", "leak conductance"),
    any_value("E_L", -70.0, "mV", "leak reversal potential"),
    any_value("V_th", -55.0, "mV", "spike threshold"),
    any_value("V_reset", -60.0, "mV", "potential after a spike"),
    non_negative("t_ref", 2.0, "ms", "absolute refractory period"),
    any_value("E_ex", 0.0, "mV", "excitatory reversal potential"),
    any_value("E_in", -85.0, "mV", "inhibitory reversal potential"),
    positive("tau_syn_ex", 0.2, "ms", "rise time of the excitatory alpha conductance"),
    positive("tau_syn_in", 2.0, "ms", "rise time of the inhibitory alpha conductance"),
    any_value("I_e", 0.0, "pA", "constant external current"),
)

H_MAX_COND = 0.02
"""Largest internal RK4 substep of iaf_cond_alpha's rk4 method, ms."""

(_G_EL, _G_GL, _G_CINV, _G_EEX, _G_EIN, _G_IE, _G_VTH, _G_VRESET, _G_REF, _G_NSUB, _G_H, _G_DT,
 _G_PEX, _G_PIN, _G_PEX2, _G_PIN2, _G_PEXH, _G_PINH, _G_KEX, _G_KIN) = range(20)


def cond_alpha_constants(p, dt, n):
    nsub = max(1, math.ceil(dt / H_MAX_COND - 1e-9))
    h = dt / nsub
    return np.array([
        p["E_L"], p["g_L"], 1.0 / p["C_m"], p["E_ex"], p["E_in"], p["I_e"], p["V_th"], p["V_reset"],
        _refractory_steps(p["t_ref"], dt), float(nsub), h, dt,
        math.exp(-dt / p["tau_syn_ex"]), math.exp(-dt / p["tau_syn_in"]),
        math.exp(-0.5 * h / p["tau_syn_ex"]), math.exp(-0.5 * h / p["tau_syn_in"]),
        math.exp(-h / p["tau_syn_ex"]), math.exp(-h / p["tau_syn_in"]),
        math.e / p["tau_syn_ex"], math.e / p["tau_syn_in"],
    ])


@njit(cache=True, inline="always")
def _cond_dv(v, gx, gi, i_ext, c):
    return (c[_G_GL] * (c[_G_EL] - v) + gx * (c[_G_EEX] - v) + gi * (c[_G_EIN] - v) + i_ext) * c[_G_CINV]


@njit(cache=True, boundscheck=False)
def _alpha_advance(dg, g, in_x, p, dt, k_in, i):
    """Propagate one alpha conductance (dg, g) exactly over dt, then add this step's input."""
    a = (g[i] + dg[i] * dt) * p
    g[i] = a if abs(a) > TINY else 0.0
    b = dg[i] * p + k_in * in_x[i]
    dg[i] = b if abs(b) > TINY else 0.0
    in_x[i] = 0.0


@njit(cache=True, boundscheck=False)
def cond_alpha_rk4(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v_arr = state[0]
    dgx = state[1]
    gx_arr = state[2]
    dgi = state[3]
    gi_arr = state[4]
    ref = state[5]
    nsub = int(c[_G_NSUB])
    h = c[_G_H]
    dt = c[_G_DT]
    e2x = c[_G_PEX2]
    e2i = c[_G_PIN2]
    ehx = c[_G_PEXH]
    ehi = c[_G_PINH]
    in_ex = syn_in[0]
    in_in = syn_in[1]
    for i in range(v_arr.shape[0]):
        r = ref[i]
        if r <= 0.0:
            v = v_arr[i]
            i_ext = c[_G_IE] + i_in[i]
            gx = gx_arr[i]
            dx = dgx[i]
            gi = gi_arr[i]
            di = dgi[i]
            for _ in range(nsub):
                gx1 = (gx + dx * 0.5 * h) * e2x
                gi1 = (gi + di * 0.5 * h) * e2i
                gx2 = (gx + dx * h) * ehx
                gi2 = (gi + di * h) * ehi
                k1 = _cond_dv(v, gx, gi, i_ext, c)
                k2 = _cond_dv(v + 0.5 * h * k1, gx1, gi1, i_ext, c)
                k3 = _cond_dv(v + 0.5 * h * k2, gx1, gi1, i_ext, c)
                k4 = _cond_dv(v + h * k3, gx2, gi2, i_ext, c)
                v += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
                gx = gx2
                gi = gi2
                dx *= ehx
                di *= ehi
            v_arr[i] = v
        ref[i] = r - 1.0 if r > 0.0 else 0.0
        _alpha_advance(dgx, gx_arr, in_ex, c[_G_PEX], dt, c[_G_KEX], i)
        _alpha_advance(dgi, gi_arr, in_in, c[_G_PIN], dt, c[_G_KIN], i)
    return threshold_and_reset(v_arr, ref, c[_G_VTH], c[_G_VRESET], c[_G_REF], spikes_out)


@njit(cache=True, boundscheck=False)
def cond_alpha_exponential_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v_arr = state[0]
    dgx = state[1]
    gx_arr = state[2]
    dgi = state[3]
    gi_arr = state[4]
    ref = state[5]
    dt = c[_G_DT]
    g_l = c[_G_GL]
    in_ex = syn_in[0]
    in_in = syn_in[1]
    for i in range(v_arr.shape[0]):
        r = ref[i]
        if r <= 0.0:
            gx = gx_arr[i]
            gi = gi_arr[i]
            g_tot = g_l + gx + gi
            if g_tot > 0.0:
                v_inf = (g_l * c[_G_EL] + gx * c[_G_EEX] + gi * c[_G_EIN] + c[_G_IE] + i_in[i]) / g_tot
                v_arr[i] = v_inf + (v_arr[i] - v_inf) * math.exp(-g_tot * dt * c[_G_CINV])
            else:
                v_arr[i] += (c[_G_IE] + i_in[i]) * dt * c[_G_CINV]
        ref[i] = r - 1.0 if r > 0.0 else 0.0
        _alpha_advance(dgx, gx_arr, in_ex, c[_G_PEX], dt, c[_G_KEX], i)
        _alpha_advance(dgi, gi_arr, in_in, c[_G_PIN], dt, c[_G_KIN], i)
    return threshold_and_reset(v_arr, ref, c[_G_VTH], c[_G_VRESET], c[_G_REF], spikes_out)


IAF_COND_ALPHA = NeuronModel(
    name="iaf_cond_alpha",
    summary="Leaky integrate-and-fire neuron with alpha-shaped conductance-based synapses.",
    equations=(
        "C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim\n"
        "g_X(t) = w (t/tau_syn_X) e^{1 - t/tau_syn_X} per spike of weight w (nS)\n"
        "V >= V_th: spike, V <- V_reset, clamped for t_ref"),
    integration=(
        "rk4 (default): Runge-Kutta 4 on substeps <= 0.02 ms with the alpha conductances in closed "
        "form; exponential_euler: exact relaxation towards the steady state for the conductances at "
        "the start of the step. Conductances are propagated exactly. NEST uses adaptive RKF45."),
    parameters=COND_ALPHA_PARAMETERS,
    state=(
        StateVariable("V_m", "mV", "membrane potential", "E_L"),
        StateVariable("dg_ex", "nS/ms", "derivative drive of the excitatory alpha conductance"),
        StateVariable("g_ex", "nS", "excitatory conductance"),
        StateVariable("dg_in", "nS/ms", "derivative drive of the inhibitory alpha conductance"),
        StateVariable("g_in", "nS", "inhibitory conductance"),
        StateVariable("ref_steps", "steps", "refractory steps left"),
    ),
    receptors=("excitatory", "inhibitory"),
    receptor_kind="conductance",
    constants=cond_alpha_constants,
    methods={"rk4": cond_alpha_rk4, "exponential_euler": cond_alpha_exponential_euler},
    references=(
        "Kuhn A, Aertsen A, Rotter S (2004) Neuronal integration of synaptic input in the "
        "fluctuation-driven regime. J Neurosci 24:2345-2356.",
        "NEST model iaf_cond_alpha.",
    ),
)
