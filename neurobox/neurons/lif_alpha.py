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

from neurobox.neurons.integrators import (alpha_substep, flush_tiny, hold_while_refractory, read_substeps, refractory,
                                          refractory_steps, rk4, row, substep_constants, threshold_and_reset)
from neurobox.neurons.lif import EXACT_INTEGRATION, ROTTER_DIESMANN_1999, _propagator_32, lif_model, relax_membrane
from neurobox.neurons.synapses import ALPHA_CONDUCTANCE, ALPHA_CURRENT


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
        refractory_steps(p["t_ref"], dt),
    ])


@njit(cache=True, inline="always")
def _psc_alpha_advance(d, x, i, p11, p21, kick, syn_in):
    """Exact step of a current alpha synapse (I = x[i], its drive d[i]), then this step's input (consumed):
    a weight w adds w e/tau (kick w) to the drive."""
    x[i] = flush_tiny(p21 * d[i] + p11 * x[i])
    d[i] = flush_tiny(p11 * d[i] + kick * syn_in[i])
    syn_in[i] = 0.0


@njit(cache=True, boundscheck=False)
def psc_alpha_exact(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v, dex, iex, ref = row(state, 0), row(state, 1), row(state, 2), row(state, 5)
    din, iin = row(state, 3), row(state, 4)
    e_l, p33, p30, i_e = c[_A_EL], c[_A_P33], c[_A_P30], c[_A_IE]
    p31ex, p32ex, p31in, p32in = c[_A_P31EX], c[_A_P32EX], c[_A_P31IN], c[_A_P32IN]
    in_ex, in_in = row(syn_in, 0), row(syn_in, 1)
    for i in range(v.shape[0]):
        hold_while_refractory(v, ref, i, e_l + p33 * (v[i] - e_l) + p30 * (i_e + i_in[i]) + p31ex * dex[i]
                              + p32ex * iex[i] + p31in * din[i] + p32in * iin[i])
        _psc_alpha_advance(dex, iex, i, c[_A_P11EX], c[_A_P21EX], c[_A_EEX], in_ex)
        _psc_alpha_advance(din, iin, i, c[_A_P11IN], c[_A_P21IN], c[_A_EIN], in_in)
    return threshold_and_reset(v, ref, c[_A_VTH], c[_A_VRESET], c[_A_REF], spikes_out)


IAF_PSC_ALPHA = lif_model("iaf_psc_alpha", ALPHA_CURRENT, EXACT_INTEGRATION, psc_alpha_constants,
                          {"exact": psc_alpha_exact}, (ROTTER_DIESMANN_1999,))


# --------------------------------------------------------------------------
# iaf_cond_alpha


H_MAX_COND = 0.02
"""Largest internal RK4 substep of iaf_cond_alpha's rk4 method, ms."""

COND_ALPHA_INTEGRATION = (
    "rk4 (default): Runge-Kutta 4 on substeps <= 0.02 ms with the alpha conductances in closed form; "
    "exponential_euler: exact relaxation towards the steady state for the conductances at the start of the step. "
    "Conductances are propagated exactly. NEST uses adaptive RKF45.")
KUHN_2004 = ("Kuhn A, Aertsen A, Rotter S (2004) Neuronal integration of synaptic input in the fluctuation-driven "
             "regime. J Neurosci 24:2345-2356.")

(_G_EL, _G_GL, _G_CINV, _G_EEX, _G_EIN, _G_IE, _G_VTH, _G_VRESET, _G_REF, _G_KEX, _G_KIN) = range(11)
_G_SUB = 11  # the substep block (integrators.read_substeps)


def cond_alpha_constants(p, dt, n):
    return np.array([
        p["E_L"], p["g_L"], 1.0 / p["C_m"], p["E_ex"], p["E_in"], p["I_e"], p["V_th"], p["V_reset"],
        refractory_steps(p["t_ref"], dt), math.e / p["tau_syn_ex"], math.e / p["tau_syn_in"],
        *substep_constants(p, dt, H_MAX_COND),
    ])


@njit(cache=True, inline="always")
def _cond_alpha_advance(dg, g, i, p, dt, kick, syn_in):
    """Propagate one alpha conductance (g[i], its drive dg[i]) exactly over dt, then add (and consume) this
    step's input: a weight w adds w e/tau (kick w) to the drive."""
    g[i] = flush_tiny((g[i] + dg[i] * dt) * p)
    dg[i] = flush_tiny(dg[i] * p + kick * syn_in[i])
    syn_in[i] = 0.0


@njit(cache=True, inline="always")
def _cond_alpha_step(v_step, state, c, syn_in, i_in, spikes_out):
    """One step of iaf_cond_alpha with the membrane update `v_step` (_rk4_substeps or _exponential_euler)."""
    v, dgx, gx, ref = row(state, 0), row(state, 1), row(state, 2), row(state, 5)
    dgi, gi = row(state, 3), row(state, 4)
    _, _, dt, p_ex, p_in, _, _, _, _ = read_substeps(c, _G_SUB)
    in_ex, in_in = row(syn_in, 0), row(syn_in, 1)
    for i in range(v.shape[0]):
        if not refractory(ref, i):
            v[i] = v_step(v[i], gx[i], dgx[i], gi[i], dgi[i], i_in[i], c)
        _cond_alpha_advance(dgx, gx, i, p_ex, dt, c[_G_KEX], in_ex)
        _cond_alpha_advance(dgi, gi, i, p_in, dt, c[_G_KIN], in_in)
    return threshold_and_reset(v, ref, c[_G_VTH], c[_G_VRESET], c[_G_REF], spikes_out)


@njit(cache=True, inline="always")
def _cond_dv(y, g, p):
    """(dV/dt,) at V = y[0] with conductances g = (g_ex, g_in); p = (constants, external current)."""
    c, i_ext = p
    v = y[0]
    return ((c[_G_GL] * (c[_G_EL] - v) + g[0] * (c[_G_EEX] - v) + g[1] * (c[_G_EIN] - v) + i_ext) * c[_G_CINV],)


@njit(cache=True, inline="always")
def _rk4_substeps(v, gx, dx, gi, di, i_stim, c):
    """V after dt of RK4 substeps with the alpha conductances (g, their drives dg) in closed form."""
    nsub, h, _, _, _, e2x, e2i, ehx, ehi = read_substeps(c, _G_SUB)
    p = (c, c[_G_IE] + i_stim)
    for _ in range(nsub):
        gx1, gx2, dx = alpha_substep(gx, dx, h, e2x, ehx)
        gi1, gi2, di = alpha_substep(gi, di, h, e2i, ehi)
        v, = rk4(_cond_dv, (v,), (gx, gi), (gx1, gi1), (gx2, gi2), h, p)
        gx = gx2
        gi = gi2
    return v


@njit(cache=True, boundscheck=False)
def cond_alpha_rk4(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _cond_alpha_step(_rk4_substeps, state, c, syn_in, i_in, spikes_out)


@njit(cache=True, inline="always")
def _exponential_euler(v, gx, dx, gi, di, i_stim, c):
    """V relaxed over dt towards its steady state at the conductances of the start of the step."""
    dt = read_substeps(c, _G_SUB)[2]
    return relax_membrane(v, gx, gi, i_stim, dt, c[_G_CINV], (c[_G_GL], c[_G_EL], c[_G_EEX], c[_G_EIN], c[_G_IE]))


@njit(cache=True, boundscheck=False)
def cond_alpha_exponential_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _cond_alpha_step(_exponential_euler, state, c, syn_in, i_in, spikes_out)


IAF_COND_ALPHA = lif_model("iaf_cond_alpha", ALPHA_CONDUCTANCE, COND_ALPHA_INTEGRATION, cond_alpha_constants,
                           {"rk4": cond_alpha_rk4, "exponential_euler": cond_alpha_exponential_euler}, (KUHN_2004,))
