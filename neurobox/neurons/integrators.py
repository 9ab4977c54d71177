"""Building blocks of the neuron kernels: substep constants, RK4, synapses, refractoriness, threshold.

Every kernel (see neurobox.neurons.base for the contract) is assembled
from these. The compiled helpers are inlined into the kernels that call
them (`inline="always"`), so sharing them costs nothing at run time; a
model hands its right-hand side to `rk4` as a compiled function, which
numba specialises the step for (and caches with the kernel).
"""
from __future__ import annotations

import math
from typing import Mapping

from numba import carray, njit, types
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.extending import intrinsic

TINY = 1e-12
"""Synaptic currents (pA) and conductances (nS) below this are set to 0, so
that decaying values never become subnormal numbers (which are ~40x slower)."""

SUBSTEPS = 9
"""Length of the block `substep_constants` writes (the layout `read_substeps` returns)."""


def refractory_steps(t_ref: float, dt: float) -> float:
    """A refractory period of t_ref ms in whole steps of dt ms (rounded), as a float for the constants array."""
    return float(round(t_ref / dt))


def decay_factors(p: Mapping[str, float], *spans: float) -> list[float]:
    """exp(-span/tau_syn_ex), exp(-span/tau_syn_in) for each span (ms), in that order."""
    return [math.exp(-span / p[tau]) for span in spans for tau in ("tau_syn_ex", "tau_syn_in")]


def substeps(dt: float, h_max: float) -> tuple[int, float]:
    """(n, h): dt (ms) cut into the fewest equal substeps h <= h_max."""
    n = max(1, math.ceil(dt / h_max - 1e-9))
    return n, dt / n


def substep_constants(p: Mapping[str, float], dt: float, h_max: float) -> list[float]:
    """[n, h, dt] and the synaptic decay factors over dt, h/2 and h (see `read_substeps`)."""
    n, h = substeps(dt, h_max)
    return [float(n), h, dt] + decay_factors(p, dt, 0.5 * h, h)


@njit(cache=True, inline="always")
def read_substeps(c, at):
    """The block of `substep_constants` stored from c[at]:
    (n, h, dt, decay over dt ex/in, decay over h/2 ex/in, decay over h ex/in)."""
    return (int(c[at]), c[at + 1], c[at + 2], c[at + 3], c[at + 4], c[at + 5], c[at + 6], c[at + 7],
            c[at + 8])


# --------------------------------------------------------------------------
# rows of a block

@intrinsic
def _data(typingctx, array):
    """The data pointer of an array."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(array.dtype)(array), codegen


@njit(cache=True, inline="always")
def row(a, r):
    """Row r of a 2-D array whose last axis is contiguous (a population's state or input, or a block of its
    neurons: state[:, lo:hi]), as a contiguous array: the compiler then indexes it as fast as a whole
    population's row (a block's rows would otherwise be strided arrays, about twice as slow to loop over)."""
    x = a[r]
    return carray(_data(x), (x.shape[0],))


# --------------------------------------------------------------------------
# Runge-Kutta 4

@njit(cache=True, inline="always")
def _shifted(y, a, k):
    """y + a k, element by element (tuples of floats; tuple_setitem is numba's own way to build a tuple
    element by element in compiled code, here always with an index inside the tuple)."""
    out = y
    for j in range(len(y)):
        out = tuple_setitem(out, j, y[j] + a * k[j])
    return out


@njit(cache=True, inline="always")
def _rk4_sum(y, h, k1, k2, k3, k4):
    out = y
    for j in range(len(y)):
        out = tuple_setitem(out, j, y[j] + h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]))
    return out


@njit(cache=True, inline="always")
def rk4(rhs, y, s0, s1, s2, h, p):
    """One classical Runge-Kutta 4 step of length h (ms) of dy/dt = rhs(y, s, p).

    y is a tuple of state variables (rhs returns their derivatives as a
    tuple); s is the time-dependent drive (a current, a pair of
    conductances...) at the start (s0), middle (s1) and end (s2) of the
    step; p is whatever constant data rhs needs.
    """
    k1 = rhs(y, s0, p)
    k2 = rhs(_shifted(y, 0.5 * h, k1), s1, p)
    k3 = rhs(_shifted(y, 0.5 * h, k2), s1, p)
    k4 = rhs(_shifted(y, h, k3), s2, p)
    return _rk4_sum(y, h, k1, k2, k3, k4)


# --------------------------------------------------------------------------
# synapses, refractoriness, threshold

@njit(cache=True, inline="always")
def flush_tiny(x):
    """x, or 0 when |x| <= TINY."""
    return x if abs(x) > TINY else 0.0


@njit(cache=True, inline="always")
def decay_exponential_synapses(x_ex, x_in, p_ex, p_in, in_ex, in_in, i):
    """Exponential synapses of neuron i: decay by p_ex, p_in over the step, then add (and consume) this
    step's input in_ex[i], in_in[i]."""
    x_ex[i] = flush_tiny(x_ex[i] * p_ex + in_ex[i])
    x_in[i] = flush_tiny(x_in[i] * p_in + in_in[i])
    in_ex[i] = 0.0
    in_in[i] = 0.0


@njit(cache=True, inline="always")
def alpha_substep(x, dx, h, e_half, e_full):
    """An alpha-shaped synaptic variable x with drive dx (dx/dt = dx - x/tau, d(dx)/dt = -dx/tau) over a
    substep of h ms in closed form: x at h/2, x at h and dx at h (e_half = exp(-h/2/tau), e_full = exp(-h/tau))."""
    return (x + dx * 0.5 * h) * e_half, (x + dx * h) * e_full, dx * e_full


@njit(cache=True, inline="always")
def refractory(ref, i):
    """Whether neuron i is refractory in this step (ref[i] steps left); counts one of them off."""
    r = ref[i]
    ref[i] = r - 1.0 if r > 0.0 else 0.0
    return r > 0.0


@njit(cache=True, inline="always")
def hold_while_refractory(v, ref, i, v_new):
    """v[i] = v_new, unless neuron i is refractory (then V stays where the reset put it)."""
    v[i] = v[i] if ref[i] > 0.0 else v_new
    refractory(ref, i)


@njit(cache=True, inline="always")
def report_spike(fired, x, y, i, n, spikes_out):
    """The spike count after neuron i: n + 1 (i written to spikes_out) if it fired, n if not,
    or -1 - i if its state variables x, y became NaN."""
    if fired:
        spikes_out[n] = i
        return n + 1
    if x != x or y != y:
        return -1 - i
    return n


@njit(cache=True, boundscheck=False)
def threshold_and_reset(v, ref, v_th, v_reset, ref_steps, spikes_out):
    """Fire every neuron with v >= v_th: reset it and start its refractory count.

    Returns the number of spikes, or -1 - i when neuron i's potential is NaN.
    """
    n = 0
    for i in range(v.shape[0]):
        x = v[i]
        fired = x >= v_th
        if fired:
            v[i] = v_reset
            ref[i] = ref_steps
        n = report_spike(fired, x, x, i, n, spikes_out)
        if n < 0:
            return n
    return n


@njit(cache=True, boundscheck=False)
def shifted_threshold_and_reset(v, ref, theta, v_th, v_reset, ref_steps, spikes_out):
    """As threshold_and_reset, firing at v >= v_th + theta[i] (theta held: no growth, no decay)."""
    n = 0
    for i in range(v.shape[0]):
        x = v[i]
        fired = x >= v_th + theta[i]
        if fired:
            v[i] = v_reset
            ref[i] = ref_steps
        n = report_spike(fired, x, x, i, n, spikes_out)
        if n < 0:
            return n
    return n


@njit(cache=True, boundscheck=False)
def adaptive_threshold_and_reset(v, ref, theta, v_th, v_reset, ref_steps, theta_plus, theta_decay, spikes_out):
    """As threshold_and_reset, firing at v >= v_th + theta[i]; theta decays and grows by theta_plus per spike."""
    n = 0
    for i in range(v.shape[0]):
        x = v[i]
        th = theta[i] * theta_decay
        fired = x >= v_th + th
        if fired:
            v[i] = v_reset
            ref[i] = ref_steps
            th += theta_plus
        n = report_spike(fired, x, x, i, n, spikes_out)
        if n < 0:
            return n
        theta[i] = th
    return n
