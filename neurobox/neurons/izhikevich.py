"""Izhikevich neurons: the 2003 "simple model" (NEST `izhikevich`) and the 2007 book form.

`izhikevich` (Izhikevich 2003; NEST names a, b, c, d, V_th, I_e)::

    dV/dt = 0.04 V^2 + 5 V + 140 - U + I          (V in mV, t in ms)
    dU/dt = a (b V - U)
    I = I_e + I_stim + I_syn_ex + I_syn_in
    V >= V_th (30 mV, the spike peak): spike, V <- c, U <- U + d

The equation is dimensionless in the paper; as in NEST, currents are
written in pA and enter dV/dt as mV/ms (1 pA -> 1 mV/ms), U is in mV/ms.
Initial state V = -65 mV, U = b V (as NEST).

Methods:

- `rk4` (default): classical Runge-Kutta 4 on internal substeps of at most
  0.025 ms (dt is split into ceil(dt/0.025) equal substeps). When V crosses
  V_th inside a substep, the crossing time is found by linear interpolation,
  V and U are reset there and the rest of the substep is integrated from the
  reset state, so spike timing is second-order accurate and the solution
  converges to the ODE's (tested against scipy solve_ivp with events).
- `izhikevich2003`: the published scheme (Izhikevich 2003, code of Fig. 3):
  V advanced twice by forward Euler with half a step, then U once with the
  new V::

      v = v + (dt/2)(0.04 v^2 + 5 v + 140 - u + I)
      v = v + (dt/2)(0.04 v^2 + 5 v + 140 - u + I)
      u = u + dt a (b v - u)

  with dt = 1 ms it reproduces the paper's spike trains operation for
  operation (NEST: consistent_integration = false).
- `euler`: forward Euler for both with the old V (NEST: consistent_integration = true).

The synaptic input, like NEST's other psc models, is exponential current:
dI_syn_X/dt = -I_syn_X / tau_syn_X, a spike adds its weight (pA) to
I_syn_X. rk4 decays it exactly inside the step; the other two methods hold
it at its start-of-step value for the step (as the paper holds I).

`izhikevich2007` (Izhikevich 2007, Dynamical Systems in Neuroscience, ch. 8)::

    C dV/dt = k (V - v_r)(V - v_t) - U + I        (pF, nS/mV, mV, pA)
    dU/dt = a (b (V - v_r) - U)                   (1/ms, nS)
    V >= v_peak: spike, V <- c, U <- U + d        (mV, pA)

initial V = v_r, U = 0 (as the book's code). Methods `rk4` (as above, with
the crossing found by interpolation) and `euler` (the book's code: forward
Euler, both variables from the old values).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from neurobox.errors import ConfigError
from neurobox.neurons.base import NeuronModel, StateVariable, any_value, positive
from neurobox.neurons.integrators import (SUBSTEPS, decay_exponential_synapses, read_substeps, report_spike, rk4, row,
                                          substep_constants)
from neurobox.neurons.synapses import EXP_CURRENT, RECEPTORS

H_MAX = 0.025
"""Largest internal RK4 substep of the `rk4` methods, ms."""

# The constants array, both forms: what the kernels share, the substep block, then the form's own terms.
_VPEAK, _VRESET, _D, _IE = range(4)
_SUB = 4
_FORM = _SUB + SUBSTEPS
_A, _B = range(_FORM, _FORM + 2)                                      # 2003
_K_INV_C, _K_K, _K_VR, _K_VT, _K_A, _K_B = range(_FORM, _FORM + 6)   # 2007


def _constants(v_peak: float, p, dt: float, form: list[float]) -> np.ndarray:
    return np.array([v_peak, p["c"], p["d"], p["I_e"]] + substep_constants(p, dt, H_MAX) + form)


@njit(cache=True, inline="always")
def _kernel(advance, f, form, state, c, syn_in, i_in, spikes_out):
    """One step of every neuron: (V, U, fired) = advance(f, form, V, U, I_syn_ex, I_syn_in, I_e + I_stim, ...),
    then the synaptic currents decay and take this step's input."""
    v_arr, u_arr, i_ex, i_inh = row(state, 0), row(state, 1), row(state, 2), row(state, 3)
    in_ex, in_in = row(syn_in, 0), row(syn_in, 1)
    reset = (c[_VPEAK], c[_VRESET], c[_D])
    sub = read_substeps(c, _SUB)
    i_e = c[_IE]
    n = 0
    for i in range(v_arr.shape[0]):
        v, u, fired = advance(f, form, v_arr[i], u_arr[i], i_ex[i], i_inh[i], i_e + i_in[i], reset, sub)
        decay_exponential_synapses(i_ex, i_inh, sub[3], sub[4], in_ex, in_in, i)
        n = report_spike(fired, v, u, i, n, spikes_out)
        if n < 0:
            return n
        v_arr[i] = v
        u_arr[i] = u
    return n


@njit(cache=True, inline="always")
def _rk4_substeps(rhs, form, v, u, sx, si, base, reset, sub):
    """RK4 substeps of d(V, U)/dt = rhs((V, U), I, form) with the synaptic currents sx, si in closed form.
    When V crosses the peak inside a substep, the crossing is found by linear interpolation, V and U are
    reset there and the rest of the substep is integrated from the reset."""
    v_peak, v_reset, d = reset
    nsub, h, _, _, _, e_ex2, e_in2, e_ex, e_in = sub
    fired = False
    for _ in range(nsub):
        i0 = base + sx + si
        i1 = base + sx * e_ex2 + si * e_in2
        sx *= e_ex
        si *= e_in
        i2 = base + sx + si
        v1, u1 = rk4(rhs, (v, u), i0, i1, i2, h, form)
        if v1 >= v_peak:
            frac = (v_peak - v) / (v1 - v) if v1 > v else 0.0
            u = u + frac * (u1 - u) + d
            v = v_reset
            fired = True
            rest = (1.0 - frac) * h
            if rest > 0.0:
                v1, u1 = rk4(rhs, (v, u), i1, i2, i2, rest, form)
                if v1 < v_peak:
                    v = v1
                    u = u1
        else:
            v = v1
            u = u1
    return v, u, fired


@njit(cache=True, inline="always")
def _explicit_step(step, form, v, u, sx, si, base, reset, sub):
    """(V, U) = step(V, U, I, dt, form) with the synaptic currents of the start of the step, then the
    threshold: V >= peak resets V to c and adds d to U."""
    v_peak, v_reset, d = reset
    v, u = step(v, u, base + sx + si, sub[2], form)
    if v >= v_peak:
        return v_reset, u + d, True
    return v, u, False


# --------------------------------------------------------------------------
# izhikevich (2003)

IZH_PARAMETERS = (
    any_value("a", 0.02, "1/ms", "time scale of the recovery variable U"),
    any_value("b", 0.2, "1", "sensitivity of U to the subthreshold fluctuations of V"),
    any_value("c", -65.0, "mV", "after-spike reset value of V"),
    any_value("d", 8.0, "mV/ms", "after-spike increment of U"),
    any_value("V_th", 30.0, "mV", "spike cut-off (the peak of the spike)"),
    any_value("I_e", 0.0, "pA", "constant external current (enters dV/dt as mV/ms)"),
) + EXP_CURRENT.time_constants(2.0, 2.0)


def izh_constants(p, dt, n):
    return _constants(p["V_th"], p, dt, [p["a"], p["b"]])


def _validate_izh(p, field_path):
    if p["V_th"] <= p["c"]:
        raise ConfigError(f"{field_path}.V_th", f"the spike cut-off V_th ({p['V_th']:g} mV) must be above "
                                                f"the reset c ({p['c']:g} mV)")


@njit(cache=True, inline="always")
def _form_2003(c):
    return c[_A], c[_B]


@njit(cache=True, inline="always")
def _rhs_2003(y, i, form):
    """(dV/dt, dU/dt) at y = (V, U) with input i (pA, as mV/ms); form = (a, b)."""
    v, u = y
    a, b = form
    return 0.04 * v * v + 5.0 * v + 140.0 - u + i, a * (b * v - u)


@njit(cache=True, inline="always")
def _paper_step_2003(v, u, i, dt, form):
    """Izhikevich (2003), Fig. 3: V by two forward Euler half steps, then U with the new V."""
    a, b = form
    hh = 0.5 * dt
    v = v + hh * (0.04 * (v * v) + 5.0 * v + 140.0 - u + i)
    v = v + hh * (0.04 * (v * v) + 5.0 * v + 140.0 - u + i)
    return v, u + dt * a * (b * v - u)


@njit(cache=True, inline="always")
def _euler_step_2003(v, u, i, dt, form):
    """Forward Euler, both variables from the old values (NEST's consistent_integration = true)."""
    a, b = form
    return v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + i), u + dt * a * (b * v - u)


@njit(cache=True, boundscheck=False)
def izh_rk4(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _kernel(_rk4_substeps, _rhs_2003, _form_2003(c), state, c, syn_in, i_in, spikes_out)


@njit(cache=True, boundscheck=False)
def izh_2003(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _kernel(_explicit_step, _paper_step_2003, _form_2003(c), state, c, syn_in, i_in, spikes_out)


@njit(cache=True, boundscheck=False)
def izh_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _kernel(_explicit_step, _euler_step_2003, _form_2003(c), state, c, syn_in, i_in, spikes_out)


IZHIKEVICH_PRESETS = {
    # Izhikevich (2003) Fig. 2: the cortical and thalamic classes.
    "regular_spiking": {"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0},
    "intrinsically_bursting": {"a": 0.02, "b": 0.2, "c": -55.0, "d": 4.0},
    "chattering": {"a": 0.02, "b": 0.2, "c": -50.0, "d": 2.0},
    "fast_spiking": {"a": 0.1, "b": 0.2, "c": -65.0, "d": 2.0},
    "low_threshold_spiking": {"a": 0.02, "b": 0.25, "c": -65.0, "d": 2.0},
    "thalamo_cortical": {"a": 0.02, "b": 0.25, "c": -65.0, "d": 0.05},
    "resonator": {"a": 0.1, "b": 0.26, "c": -65.0, "d": 2.0},
}

IZHIKEVICH_PRESET_INFO = {
    # preset -> (firing pattern the paper describes, step current pA, step onset ms, run ms, source).
    # The paper's figure gives no current values; the amplitudes are chosen here. The neuron first
    # settles for 100 ms (the initial state V = -65 mV, U = bV is not its rest).
    "regular_spiking": ("adapting", 10.0, 100.0, 600.0, "Izhikevich 2003, Fig. 2 (RS)"),
    "intrinsically_bursting": ("initial burst", 10.0, 100.0, 600.0, "Izhikevich 2003, Fig. 2 (IB)"),
    "chattering": ("bursting", 10.0, 100.0, 600.0, "Izhikevich 2003, Fig. 2 (CH)"),
    "fast_spiking": ("tonic", 10.0, 100.0, 600.0, "Izhikevich 2003, Fig. 2 (FS)"),
    "low_threshold_spiking": ("adapting", 10.0, 100.0, 600.0, "Izhikevich 2003, Fig. 2 (LTS)"),
    "thalamo_cortical": ("tonic", 10.0, 100.0, 600.0,
                         "Izhikevich 2003, Fig. 2 (TC, from rest: tonic firing)"),
    "resonator": ("silent", 0.2, 100.0, 600.0,
                  "Izhikevich 2003, Fig. 2 (RZ: damped subthreshold oscillation)"),
}
"""For the gallery and the tests: the pattern each preset shows under its step current
(pattern, current pA, onset ms, duration ms, source)."""

IZHIKEVICH = NeuronModel(
    name="izhikevich",
    summary="Izhikevich (2003) simple model: quadratic membrane with a linear recovery variable.",
    equations=(
        "dV/dt = 0.04 V^2 + 5 V + 140 - U + I_e + I_stim + I_syn_ex + I_syn_in\n"
        "dU/dt = a (b V - U)\n"
        f"{EXP_CURRENT.equation}\n"
        "V >= V_th: spike, V <- c, U <- U + d"),
    integration=(
        "rk4 (default): Runge-Kutta 4 on substeps <= 0.025 ms, threshold crossing located by "
        "interpolation and integration continued from the reset inside the substep; "
        "izhikevich2003: the published scheme (two Euler half steps for V, then U with the new V; "
        "exact reproduction of the paper at dt = 1 ms); euler: forward Euler (NEST's "
        "consistent_integration = true)."),
    parameters=IZH_PARAMETERS,
    state=(
        StateVariable("V_m", "mV", "membrane potential", -65.0),
        StateVariable("U_m", "mV/ms", "recovery variable", lambda p: p["b"] * -65.0),
        *EXP_CURRENT.state,
    ),
    receptors=RECEPTORS,
    receptor_kind=EXP_CURRENT.receptor_kind,
    constants=izh_constants,
    methods={"rk4": izh_rk4, "izhikevich2003": izh_2003, "euler": izh_euler},
    references=(
        "Izhikevich EM (2003) Simple model of spiking neurons. IEEE Trans Neural Netw 14:1569-1572.",
        "Izhikevich EM (2004) Which model to use for cortical spiking neurons? "
        "IEEE Trans Neural Netw 15:1063-1070.",
        "NEST model izhikevich.",
    ),
    presets=IZHIKEVICH_PRESETS,
    validate=_validate_izh,
)


# --------------------------------------------------------------------------
# izhikevich2007

IZH07_PARAMETERS = (
    positive("C", 100.0, "pF", "membrane capacitance"),
    positive("k", 0.7, "nS/mV", "gain of the quadratic membrane current"),
    any_value("v_r", -60.0, "mV", "resting potential"),
    any_value("v_t", -40.0, "mV", "instantaneous threshold potential"),
    any_value("v_peak", 35.0, "mV", "spike cut-off"),
    any_value("a", 0.03, "1/ms", "recovery time constant (inverse)"),
    any_value("b", -2.0, "nS", "coupling of U to V - v_r"),
    any_value("c", -50.0, "mV", "after-spike reset of V"),
    any_value("d", 100.0, "pA", "after-spike increment of U"),
    any_value("I_e", 0.0, "pA", "constant external current"),
) + EXP_CURRENT.time_constants(2.0, 2.0)


def izh07_constants(p, dt, n):
    return _constants(p["v_peak"], p, dt, [1.0 / p["C"], p["k"], p["v_r"], p["v_t"], p["a"], p["b"]])


def _validate_izh07(p, field_path):
    if p["v_t"] <= p["v_r"]:
        raise ConfigError(f"{field_path}.v_t", f"the threshold v_t ({p['v_t']:g} mV) must be above the "
                                               f"resting potential v_r ({p['v_r']:g} mV)")
    if p["v_peak"] <= p["v_t"] or p["v_peak"] <= p["c"]:
        raise ConfigError(f"{field_path}.v_peak", f"the spike cut-off v_peak ({p['v_peak']:g} mV) must be "
                                                  f"above v_t ({p['v_t']:g} mV) and the reset c ({p['c']:g} mV)")


@njit(cache=True, inline="always")
def _form_2007(c):
    return c[_K_INV_C], c[_K_K], c[_K_VR], c[_K_VT], c[_K_A], c[_K_B]


@njit(cache=True, inline="always")
def _rhs_2007(y, i, form):
    """(dV/dt, dU/dt) at y = (V, U) with input i (pA); form = (1/C, k, v_r, v_t, a, b)."""
    v, u = y
    inv_c, k, vr, vt, a, b = form
    return (k * (v - vr) * (v - vt) - u + i) * inv_c, a * (b * (v - vr) - u)


@njit(cache=True, boundscheck=False)
def izh07_rk4(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _kernel(_rk4_substeps, _rhs_2007, _form_2007(c), state, c, syn_in, i_in, spikes_out)


@njit(cache=True, inline="always")
def _book_step_2007(v, u, i, dt, form):
    """Forward Euler, both variables from the old values, as the book's code."""
    inv_c, k, vr, vt, a, b = form
    return v + dt * (k * (v - vr) * (v - vt) - u + i) * inv_c, u + dt * a * (b * (v - vr) - u)


@njit(cache=True, boundscheck=False)
def izh07_euler(state, c, syn_in, i_in, rng, step_index, spikes_out):
    return _kernel(_explicit_step, _book_step_2007, _form_2007(c), state, c, syn_in, i_in, spikes_out)


IZHIKEVICH2007_PRESETS = {
    # Izhikevich (2007), Dynamical Systems in Neuroscience, ch. 8.
    "regular_spiking": {"C": 100.0, "k": 0.7, "v_r": -60.0, "v_t": -40.0, "v_peak": 35.0,
                        "a": 0.03, "b": -2.0, "c": -50.0, "d": 100.0},
    "intrinsically_bursting": {"C": 150.0, "k": 1.2, "v_r": -75.0, "v_t": -45.0, "v_peak": 50.0,
                               "a": 0.01, "b": 5.0, "c": -56.0, "d": 130.0},
}

IZHIKEVICH2007_PRESET_INFO = {
    # preset -> (pattern, current pA, onset ms, duration ms, source)
    "regular_spiking": ("tonic", 70.0, 100.0, 600.0,
                        "Izhikevich 2007, ch. 8 (RS pyramidal neuron; the book code's 70 pA step)"),
    "intrinsically_bursting": ("initial burst", 600.0, 100.0, 600.0,
                               "Izhikevich 2007, ch. 8 (IB pyramidal neuron; 600 pA chosen here)"),
}

IZHIKEVICH2007 = NeuronModel(
    name="izhikevich2007",
    summary="Izhikevich (2007) simple model in physical units (pF, nS, mV, pA).",
    equations=(
        "C dV/dt = k (V - v_r)(V - v_t) - U + I_e + I_stim + I_syn_ex + I_syn_in\n"
        "dU/dt = a (b (V - v_r) - U)\n"
        f"{EXP_CURRENT.equation}\n"
        "V >= v_peak: spike, V <- c, U <- U + d"),
    integration=(
        "rk4 (default): Runge-Kutta 4 on substeps <= 0.025 ms with the crossing of v_peak "
        "located by interpolation; euler: forward Euler as in the book's code."),
    parameters=IZH07_PARAMETERS,
    state=(
        StateVariable("V_m", "mV", "membrane potential", "v_r"),
        StateVariable("U_m", "pA", "recovery current", 0.0),
        *EXP_CURRENT.state,
    ),
    receptors=RECEPTORS,
    receptor_kind=EXP_CURRENT.receptor_kind,
    constants=izh07_constants,
    methods={"rk4": izh07_rk4, "euler": izh07_euler},
    references=("Izhikevich EM (2007) Dynamical Systems in Neuroscience. MIT Press, ch. 8.",),
    presets=IZHIKEVICH2007_PRESETS,
    validate=_validate_izh07,
)
