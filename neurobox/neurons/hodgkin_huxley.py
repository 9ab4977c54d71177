"""Hodgkin-Huxley neuron with alpha-shaped current synapses (NEST `hh_psc_alpha`).

The squid giant axon of Hodgkin & Huxley (1952), in NEST's names and units
(a membrane patch of 100 pF, i.e. 1 uF/cm^2 on 1e-4 cm^2)::

    C_m dV/dt = -g_Na m^3 h (V - E_Na) - g_K n^4 (V - E_K) - g_L (V - E_L)
                + I_syn_ex + I_syn_in + I_e + I_stim
    dx/dt = alpha_x(V) (1 - x) - beta_x(V) x          for x = m, h, n

with V in mV and rates in 1/ms (the 1952 rates, shifted so that rest is near -65 mV)::

    alpha_m = 0.1 (V + 40) / (1 - exp(-(V + 40)/10))     beta_m = 4 exp(-(V + 65)/18)
    alpha_h = 0.07 exp(-(V + 65)/20)                      beta_h = 1 / (1 + exp(-(V + 35)/10))
    alpha_n = 0.01 (V + 55) / (1 - exp(-(V + 55)/10))    beta_n = 0.125 exp(-(V + 65)/80)

Synaptic currents are alpha functions: a spike of weight w (pA) at t0
gives I_syn(t) = w (t - t0)/tau_syn e^{1 - (t - t0)/tau_syn}, peak w at
t0 + tau_syn (dI/dt = dI_dot - I/tau, d(dI_dot)/dt = -dI_dot/tau, the
spike adds w e/tau to dI_dot).

The neuron starts at its resting steady state: V solves the steady-state
current balance without input (I_e = 0), and m, h, n sit at their steady-state values
there (V = -65.0 mV with the defaults).

A spike is reported as NEST does: at the end of a step in which V >= 0 mV
and V fell during the step (the peak has just passed), and not within
t_ref of the previous spike (spike detection only; the dynamics go on).

Integration (method `rk4`, the only one): classical Runge-Kutta 4 on
internal substeps of at most 0.025 ms (dt is split into ceil(dt/0.025)
equal substeps), with the alpha currents in closed form at the stage
times. Far outside the physiological range (V < -110 or > 70 mV, under
very strong synaptic input) the gates become stiff: the substep is then
split into RK4 pieces short enough for the fastest rate, or finished by a
Rush-Larsen step when they would get very short, so the state stays
finite. Spike counts do not depend on dt (tested by halving dt from
0.1 ms); the current threshold for repetitive firing (626.1 pA) agrees
with scipy's solve_ivp (DOP853, rtol 1e-9) to the 0.05 pA of the
bisection, and the f-I curve within 0.06 % at dt = 0.1 ms (tested within 1 %).
NEST integrates this model with an adaptive Runge-Kutta-Fehlberg 4(5).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurobox.neurons.base import NeuronModel, StateVariable, any_value, non_negative
from neurobox.neurons.integrators import (alpha_substep, flush_tiny, read_substeps, refractory_steps, rk4, row,
                                          substep_constants)
from neurobox.neurons.parameters import shared
from neurobox.neurons.synapses import ALPHA_CURRENT, RECEPTORS

H_MAX = 0.025
"""Largest internal RK4 substep, ms."""

V_SAFE_LO = -110.0
V_SAFE_HI = 70.0
"""Outside [V_SAFE_LO, V_SAFE_HI] mV (only under very strong input) a substep is integrated with
care for stiffness (smaller RK4 pieces, or a Rush-Larsen step), see _hh_stiff_substep."""

HH_PARAMETERS = shared(C_m=100.0) + (
    non_negative("g_Na", 12000.0, "nS", "sodium peak conductance"),
    non_negative("g_K", 3600.0, "nS", "potassium peak conductance"),
) + shared(g_L=30.0) + (
    any_value("E_Na", 50.0, "mV", "sodium reversal potential"),
    any_value("E_K", -77.0, "mV", "potassium reversal potential"),
) + shared(E_L=-54.402) + ALPHA_CURRENT.time_constants(0.2, 2.0) + (
    non_negative("t_ref", 2.0, "ms", "time after a spike during which no new spike is reported"),
) + shared(I_e=0.0)


@njit(cache=True, inline="always")
def _vtrap(x, y):
    """x / (1 - exp(-x/y)), with its limit y at x = 0."""
    if abs(x / y) < 1e-6:
        return y * (1.0 + 0.5 * x / y)
    return x / -math.expm1(-x / y)


@njit(cache=True, inline="always")
def _exp(x, capped):
    """exp(x), with x capped at 700 when `capped` (a constant where it is inlined: no cost otherwise)."""
    return math.exp(min(x, 700.0) if capped else x)


@njit(cache=True, inline="always")
def _rates(v, capped):
    return (0.1 * _vtrap(v + 40.0, 10.0), 4.0 * _exp(-(v + 65.0) / 18.0, capped),
            0.07 * _exp(-(v + 65.0) / 20.0, capped), 1.0 / (1.0 + _exp(-(v + 35.0) / 10.0, capped)),
            0.01 * _vtrap(v + 55.0, 10.0), 0.125 * _exp(-(v + 65.0) / 80.0, capped))


@njit(cache=True, inline="always")
def rates(v):
    """(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n) at V = v mV, 1/ms."""
    return _rates(v, False)


@njit(cache=True, inline="always")
def _finite_rates(v):
    """rates(v) with every exponent capped at 700, so they stay finite however far V goes."""
    return _rates(v, True)


def steady_gates(v: float) -> tuple[float, float, float]:
    """(m_inf, h_inf, n_inf) at V = v mV."""
    am, bm, ah, bh, an, bn = rates(v)
    return am / (am + bm), ah / (ah + bh), an / (an + bn)


def steady_current(v: float, p) -> float:
    """Net membrane current (pA, inward positive) at V = v with every gate at steady state."""
    m, h, n = steady_gates(v)
    return (-p["g_Na"] * m ** 3 * h * (v - p["E_Na"]) - p["g_K"] * n ** 4 * (v - p["E_K"])
            - p["g_L"] * (v - p["E_L"]) + p["I_e"])


def resting_potential(p) -> float:
    """The resting potential (mV): the most negative V where the steady-state current without
    any input (I_e = 0) vanishes (bisection to 1e-12 mV). A neuron with a constant I_e starts
    there too, so the current acts as a step at t = 0, as in a current-clamp experiment."""
    p = {**p, "I_e": 0.0}
    grid = np.linspace(-120.0, 60.0, 721)
    vals = [steady_current(v, p) for v in grid]
    for k in range(len(grid) - 1):
        if vals[k] == 0.0:
            return float(grid[k])
        if vals[k] > 0.0 > vals[k + 1]:
            lo, hi = grid[k], grid[k + 1]
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if steady_current(mid, p) > 0.0:
                    lo = mid
                else:
                    hi = mid
                if hi - lo < 1e-12:
                    break
            return float(0.5 * (lo + hi))
    return -65.0  # no rest (a strong I_e): start where NEST starts


def _rest_gate(k: int):
    return lambda p: steady_gates(resting_potential(p))[k]


_CM_INV, _GNA, _GK, _GL, _ENA, _EK, _EL, _IE, _REF, _TEX, _TIN, _EEX, _EIN = range(13)
_SUB = 13  # the substep block (integrators.read_substeps)


def hh_constants(p, dt, n):
    return np.array([
        1.0 / p["C_m"], p["g_Na"], p["g_K"], p["g_L"], p["E_Na"], p["E_K"], p["E_L"], p["I_e"],
        refractory_steps(p["t_ref"], dt), p["tau_syn_ex"], p["tau_syn_in"], math.e / p["tau_syn_ex"],
        math.e / p["tau_syn_in"], *substep_constants(p, dt, H_MAX),
    ])


@njit(cache=True)
def _hh_rhs(y, i_tot, c):
    """d(V, m, h, n)/dt at y = (V, m, h, n) with the total input current i_tot (pA)."""
    v, m, hg, nn = y
    am, bm, ah, bh, an, bn = rates(v)
    m3h = m * m * m * hg
    n4 = nn * nn * nn * nn
    dv = (-c[_GNA] * m3h * (v - c[_ENA]) - c[_GK] * n4 * (v - c[_EK]) - c[_GL] * (v - c[_EL]) + i_tot) * c[_CM_INV]
    return dv, am * (1.0 - m) - bm * m, ah * (1.0 - hg) - bh * hg, an * (1.0 - nn) - bn * nn


@njit(cache=True)
def _alpha_at(i0, di0, s, tau):
    return (i0 + di0 * s) * math.exp(-s / tau)


@njit(cache=True)
def _hh_stiff_substep(v, m, hg, nn, ix, dx, ii, di, base, h, c):
    """A substep far outside the physiological range (V < V_SAFE_LO or > V_SAFE_HI, strong input).

    The gates' rates can be so fast there that RK4 on h is unstable: the substep is cut into
    RK4 pieces with hp (fastest rate) <= 2, chosen afresh before each piece; when a piece
    would be shorter than h/256, the rest of the substep is one Rush-Larsen step (gates
    relaxed exponentially at fixed V, V relaxed exponentially at fixed conductances), which
    is stable for any rate.
    """
    t = 0.0
    while t < h:
        am, bm, ah, bh, an, bn = _finite_rates(v)
        g_na = c[_GNA] * m * m * m * hg
        g_k = c[_GK] * nn * nn * nn * nn
        g_tot = g_na + g_k + c[_GL]
        rate = max(am + bm, ah + bh, an + bn, g_tot * c[_CM_INV])
        hp = min(h - t, 2.0 / rate)
        if hp < h / 256.0:
            rest = h - t
            mid = t + 0.5 * rest
            i_mid = base + _alpha_at(ix, dx, mid, c[_TEX]) + _alpha_at(ii, di, mid, c[_TIN])
            v_inf = (g_na * c[_ENA] + g_k * c[_EK] + c[_GL] * c[_EL] + i_mid) / g_tot
            v = v_inf + (v - v_inf) * math.exp(-rest * g_tot * c[_CM_INV])
            m = am / (am + bm) + (m - am / (am + bm)) * math.exp(-rest * (am + bm))
            hg = ah / (ah + bh) + (hg - ah / (ah + bh)) * math.exp(-rest * (ah + bh))
            nn = an / (an + bn) + (nn - an / (an + bn)) * math.exp(-rest * (an + bn))
            break
        i0 = base + _alpha_at(ix, dx, t, c[_TEX]) + _alpha_at(ii, di, t, c[_TIN])
        i1 = base + _alpha_at(ix, dx, t + 0.5 * hp, c[_TEX]) + _alpha_at(ii, di, t + 0.5 * hp, c[_TIN])
        i2 = base + _alpha_at(ix, dx, t + hp, c[_TEX]) + _alpha_at(ii, di, t + hp, c[_TIN])
        v, m, hg, nn = rk4(_hh_rhs, (v, m, hg, nn), i0, i1, i2, hp, c)
        t += hp
    return v, m, hg, nn


@njit(cache=True, boundscheck=False)
def hh_rk4(state, c, syn_in, i_in, rng, step_index, spikes_out):
    v_arr, m_arr, h_arr, n_arr = row(state, 0), row(state, 1), row(state, 2), row(state, 3)
    dex_arr, iex_arr, din_arr, iin_arr = row(state, 4), row(state, 5), row(state, 6), row(state, 7)
    ref_arr = row(state, 8)
    nsub, h, _, _, _, e_ex2, e_in2, e_exh, e_inh = read_substeps(c, _SUB)
    in_ex, in_in = row(syn_in, 0), row(syn_in, 1)
    n_spk = 0
    for i in range(v_arr.shape[0]):
        v, m, hg, nn = v_arr[i], m_arr[i], h_arr[i], n_arr[i]
        v_old = v
        dx, ix, di, ii = dex_arr[i], iex_arr[i], din_arr[i], iin_arr[i]
        base = c[_IE] + i_in[i]
        for _ in range(nsub):
            # alpha currents in closed form: I(s) = (I0 + dI0 s) e^{-s/tau}
            ix_mid, ix_end, dx_end = alpha_substep(ix, dx, h, e_ex2, e_exh)
            ii_mid, ii_end, di_end = alpha_substep(ii, di, h, e_in2, e_inh)
            if V_SAFE_LO <= v <= V_SAFE_HI:
                v, m, hg, nn = rk4(_hh_rhs, (v, m, hg, nn), base + ix + ii, base + ix_mid + ii_mid,
                                   base + ix_end + ii_end, h, c)
            else:
                v, m, hg, nn = _hh_stiff_substep(v, m, hg, nn, ix, dx, ii, di, base, h, c)
            ix, dx, ii, di = ix_end, dx_end, ii_end, di_end
        v_arr[i] = v
        m_arr[i] = m
        h_arr[i] = hg
        n_arr[i] = nn
        # NEST order: the input of this step enters the synaptic state after the membrane update
        dex_arr[i] = flush_tiny(dx + c[_EEX] * in_ex[i])
        iex_arr[i] = flush_tiny(ix)
        din_arr[i] = flush_tiny(di + c[_EIN] * in_in[i])
        iin_arr[i] = flush_tiny(ii)
        in_ex[i] = 0.0
        in_in[i] = 0.0
        r = ref_arr[i]
        if r > 0.0:
            ref_arr[i] = r - 1.0
        elif v >= 0.0 and v_old > v:
            ref_arr[i] = c[_REF]
            spikes_out[n_spk] = i
            n_spk += 1
        if v != v:
            return -1 - i
    return n_spk


HH_PSC_ALPHA = NeuronModel(
    name="hh_psc_alpha",
    summary="Hodgkin-Huxley (1952) squid-axon neuron with alpha-shaped current synapses.",
    equations=(
        "C_m dV/dt = -g_Na m^3 h (V - E_Na) - g_K n^4 (V - E_K) - g_L (V - E_L) + I_syn_ex + I_syn_in + I_e "
        "+ I_stim\n"
        "dx/dt = alpha_x(V)(1 - x) - beta_x(V) x,  x = m, h, n  (Hodgkin & Huxley 1952 rates)\n"
        f"{ALPHA_CURRENT.equation}\n"
        "spike: V >= 0 mV and falling (the peak has passed), not within t_ref of the last one"),
    integration=("rk4: Runge-Kutta 4 on substeps <= 0.025 ms, alpha currents in closed form "
                 "(NEST uses adaptive RKF45)."),
    parameters=HH_PARAMETERS,
    state=(
        StateVariable("V_m", "mV", "membrane potential", resting_potential),
        StateVariable("act_m", "1", "sodium activation m", _rest_gate(0)),
        StateVariable("inact_h", "1", "sodium inactivation h", _rest_gate(1)),
        StateVariable("act_n", "1", "potassium activation n", _rest_gate(2)),
        *ALPHA_CURRENT.state,
        StateVariable("ref_steps", "steps", "steps left during which no spike is reported"),
    ),
    receptors=RECEPTORS,
    receptor_kind=ALPHA_CURRENT.receptor_kind,
    constants=hh_constants,
    methods={"rk4": hh_rk4},
    references=(
        "Hodgkin AL, Huxley AF (1952) A quantitative description of membrane current and its "
        "application to conduction and excitation in nerve. J Physiol 117:500-544.",
        "Gerstner W, Kistler W (2002) Spiking Neuron Models, ch. 2.2.",
        "NEST model hh_psc_alpha.",
    ),
)
