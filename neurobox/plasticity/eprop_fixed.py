"""Bit-accurate e-prop on a unit (the rule the units run on chip): eligibility traces, a broadcast error, local
gradients, weight steps on an "apply" pulse.

Specification, mirrored by the ATmega8 firmware (`neurobox/hardware/avr/firmware/eprop.c`). e-prop
(Bellec et al. 2020) for a LIF unit: the gradient of the loss with respect to the weight w_ji of input i of
unit j is approximated by sum_t L_j(t) e_ji(t), with e_ji the eligibility trace (the pseudo-derivative psi_j
times the input's filtered spikes z-bar_i, low-pass filtered with the readout's decay kappa) and L_j the
learning signal, the readouts' errors fed back through fixed random weights B_jk. Every quantity here is
kept by the unit itself; the readout is the host (see below).

Number formats
--------------
    zbar[i]   uint15  filtered spikes of plastic input i: one arriving spike adds Z_ONE = 2**11, decays with the
                      shift k_z (about the membrane's tau_m), saturating at 32767 (16 spikes within tau_m)
    psi       uint8   pseudo-derivative, 0 .. PSI_PEAK = W >> k_psi <= 255: piecewise linear in the membrane
                      (e-prop's default surrogate), W = v_th (V_lsb above E_L), k_psi = max(0, bits(W) - 8)
    e[i]      uint15  eligibility trace: decays with the shift k_kappa (the readout's tau), and adds
                      (psi * zbar[i]) >> k_e each tick, k_e = 8 + k_kappa, so that it never exceeds 32639
                      (by induction: e <= t * 2**k_kappa with t the largest term, 255 * 32767 >> k_e)
    fb[k]     int8    the unit's own random feedback weight from readout k, B_jk * B_ONE (B_ONE = 64), |fb| <= 127
    err[k]    int7    the error of readout k the host broadcasts in this tick, (y_k - y*_k) * ERR_ONE rounded,
                      -64 .. 63 (one bus byte with bit 7 clear: never an address event); ERR_ONE is the rule's
                      err_scale (default 32: errors up to 2 readout units)
    L         int16   learning signal sum_k fb[k] * err[k], |L| <= MAX_READOUTS * 127 * 64 = 32512
    g[i]      int31   gradient accumulated since the last apply: + (L * e[i]) >> G_SHIFT each tick, G_SHIFT = 8
                      (|L * e| < 2**30 in an int32; >> is arithmetic, floor), saturating at +-G_MAX = 2**30 - 1
                      (an int32 on the chip; every shift here by 8 is a byte move there)
    w[i]      int16   weight, I_lsb, kept in [w_min, w_max]
    eta_mul   uint8   and k_eta (1 .. 30): the learning rate as eta_mul / 2**k_eta weight LSB per 2**8 gradient
                      LSB (|(g >> 8) * eta_mul| + 2**29 < 2**31: one int32 product and rounding)

One step, after the neuron's step (v: the membrane after it, V_lsb above E_L; th = v_th + theta; fired: the unit
fired in this step; ref: its refractory count after the step; arrived[i]: a spike arrived on input i in this
step; apply: the host's apply pulse seen in this step), when learning is on:

    psi = PSI_PEAK                               if fired   (the membrane crossed th: the surrogate's peak)
          0                                      elif ref > 0  (refractory: no gradient, as NEST's eprop_iaf)
          max(0, W - |v - th|) >> k_psi          otherwise
    L = sum_k fb[k] * err[k]
    for every plastic input i:
        if apply:  w[i] = clamp(w[i] - (((g[i] >> 8) * eta_mul + 2**(k_eta - 1)) >> k_eta));  g[i] = 0
        zbar[i] = decay(zbar[i], k_z)
        e[i]    = decay(e[i], k_kappa) + (((psi * zbar[i]) >> 8) >> k_kappa)      (= (psi * zbar[i]) >> k_e)
        g[i]    = sat(g[i] + ((L * e[i]) >> G_SHIFT), -G_MAX, G_MAX)
        if arrived[i]:  zbar[i] = min(zbar[i] + Z_ONE, 32767)

    decay(x, k) = x - ((x + 2**k - 1) >> k)  (neurobox.plasticity.stdp_fixed.trace_decay: reaches 0)

A spike arriving in a step is delivered with the weight it had before that step's update, and the eligibility
reads z-bar before this step's spikes are added: psi(t) pairs with z-bar(t - 1), the spikes that could have moved
the membrane. The apply pulse uses the gradient accumulated up to the step before.

The readout is the host. It sees every spike on the bus, so it keeps the readout weights W_out and the
readouts y_k(t) = kappa y_k(t - 1) + sum_j W_out_kj z_j(t) in float, learns W_out from the z-bar it keeps
itself, and broadcasts err_k every tick (bytes sent in tick t are seen in tick t + 1) and the apply pulse at
the end of a trial. A readout unit would need the targets, the loss and every recurrent spike anyway: the
host already has all three, and one error byte per readout per tick is all the units need.

The float e-prop this stands for (gradients with respect to weights in pA): with
    psi_f = gamma / v_th_mV * psi / PSI_PEAK                                          (1/mV)
    zbar_f = zbar / Z_ONE,   L_f = L / (B_ONE * ERR_ONE),   dv/dw = R zbar_f,  R = tau_syn_ex / C_m   (mV/pA)
the float gradient sum_t L_f psi_f R zbar_f (kappa-filtered) is g * GRADIENT_LSB, GRADIENT_LSB =
2**(G_SHIFT + k_e) * gamma * R / (v_th_mV * PSI_PEAK * Z_ONE * B_ONE * ERR_ONE) (1/pA), and the step
w -= eta * gradient (pA) is eta_mul / 2**k_eta = eta * 2**8 * GRADIENT_LSB / I_lsb. The unit's neuron is
neurobox.neurons.lif_fixed (iaf_psc_exp with reset to V_reset and a refractory time), not NEST's eprop_iaf
(delta synapses, no synaptic filter): z-bar is filtered with the membrane's time constant only, exact as
tau_syn -> 0. Firing-rate regularisation is not part of the units' rule.
"""
from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Sequence

from numba import njit

from neurobox.checks import entry
from neurobox.errors import ConfigError
from neurobox.neurons.lif_fixed import INT16_MAX, INT16_MIN, LifFixedParams
from neurobox.plasticity.stdp_fixed import TRACE_MAX, _shift_for, trace_decay

Z_ONE = 1 << 11
"""What one arriving spike adds to z-bar."""
PSI_BITS = 8
"""psi fits a byte: PSI_PEAK <= 255."""
G_SHIFT = 8
G_MAX = (1 << 30) - 1
B_ONE = 64
"""fb = round(B * B_ONE): a feedback weight of 1.0 is 64."""
FB_MAX = 127
ERR_MIN, ERR_MAX = -64, 63
"""The error byte's range: a signed 7-bit value."""
MAX_READOUTS = 4
"""Readouts (error bytes per tick) a unit listens to."""
GAMMA = 0.3
"""The surrogate's height (e-prop's gamma), unless a rule gives its own."""
ERR_SCALE = 32.0
"""Error-byte steps per readout unit (ERR_ONE), unless a rule gives its own: errors up to 2 fit the byte."""
ETA_MUL_MAX = 255
K_ETA_MAX = 30


class EpropFixedParams(NamedTuple):
    """The integer constants of the fixed-point e-prop rule (the module docstring)."""

    k_z: int
    k_kappa: int
    k_e: int
    width: int
    """W = v_th, V_lsb: the surrogate's half-width."""
    k_psi: int
    eta_mul: int
    k_eta: int
    w_min: int
    w_max: int

    @property
    def psi_peak(self) -> int:
        return self.width >> self.k_psi


class EpropFixedState(NamedTuple):
    """z-bar, eligibilities, gradients and weights of one unit's plastic inputs."""

    zbar: tuple[int, ...]
    e: tuple[int, ...]
    g: tuple[int, ...]
    w: tuple[int, ...]


@njit(cache=True)
def surrogate(v, th, fired, ref, width, k_psi):
    """psi: the surrogate's peak if the unit fired, 0 while refractory, else max(0, W - |v - th|) >> k_psi."""
    if fired:
        return width >> k_psi
    if ref > 0:
        return 0
    d = v - th
    d = -d if d < 0 else d
    return (width - d) >> k_psi if d < width else 0


@njit(cache=True)
def learning_signal(fb, err):
    """L = sum_k fb[k] * err[k]."""
    s = 0
    for k in range(fb.shape[0]):
        s += fb[k] * err[k]
    return s


@njit(cache=True)
def applied(w, g, eta_mul, k_eta, w_min, w_max):
    """The weight after an apply pulse: clamp(w - round((g >> 8) * eta_mul / 2**k_eta)) (round half up)."""
    d = ((g >> 8) * eta_mul + (1 << (k_eta - 1))) >> k_eta
    r = w - d
    return w_min if r < w_min else w_max if r > w_max else r


@njit(cache=True)
def eprop_input(zbar, e, g, arrived, psi, L, k_z, k_kappa, k_e):
    """One step of one plastic input after any apply (the docstring's last four lines): (zbar, e, g)."""
    zbar = trace_decay(zbar, k_z)
    e = trace_decay(e, k_kappa) + ((psi * zbar) >> k_e)   # k_e = 8 + k_kappa: the chip shifts by 8, then k_kappa
    g = g + ((L * e) >> G_SHIFT)
    g = G_MAX if g > G_MAX else -G_MAX if g < -G_MAX else g
    if arrived:
        zbar = min(zbar + Z_ONE, TRACE_MAX)
    return zbar, e, g


def step(state: EpropFixedState, arrived: Sequence[bool], psi: int, L: int, apply: bool,
         p: EpropFixedParams) -> EpropFixedState:
    """One step of the rule for all plastic inputs of one unit, psi and L given (the module docstring)."""
    w, g = list(state.w), list(state.g)
    if apply:
        w = [int(applied(wi, gi, p.eta_mul, p.k_eta, p.w_min, p.w_max)) for wi, gi in zip(w, g)]
        g = [0] * len(g)
    out = [eprop_input(z, e, gi, bool(a), psi, L, p.k_z, p.k_kappa, p.k_e)
           for z, e, gi, a in zip(state.zbar, state.e, g, arrived)]
    return EpropFixedState(tuple(int(o[0]) for o in out), tuple(int(o[1]) for o in out),
                           tuple(int(o[2]) for o in out), tuple(w))


def feedback_to_fixed(values: Sequence[float], field_path: str) -> tuple[int, ...]:
    """Feedback weights B_jk as int8: round(B * B_ONE); ConfigError beyond +-127 / B_ONE or over MAX_READOUTS."""
    if len(values) > MAX_READOUTS:
        raise ConfigError(field_path, f"a unit listens to at most {MAX_READOUTS} readouts, got {len(values)} "
                                      f"feedback weights")
    out = []
    for k, b in enumerate(values):
        q = round(float(b) * B_ONE)
        if not (math.isfinite(float(b)) and -FB_MAX <= q <= FB_MAX):
            raise ConfigError(f"{field_path}[{k}]", f"a feedback weight is an int8 of 1/{B_ONE}: allowed "
                                                    f"[{-FB_MAX / B_ONE:g}, {FB_MAX / B_ONE:g}], got {b!r}")
        out.append(int(q))
    return tuple(out)


def error_to_fixed(err: float, err_scale: float) -> int:
    """The host's error byte for y - y* (readout units): round(err * err_scale) clipped to -64 .. 63."""
    return int(min(max(round(err * err_scale), ERR_MIN), ERR_MAX))


def gradient_lsb(p: EpropFixedParams, lif: LifFixedParams, gamma: float, err_scale: float, tau_syn_ex: float,
                 C_m: float, v_th_mV: float) -> float:
    """The float gradient (1/pA) one unit of g stands for (the module docstring's GRADIENT_LSB)."""
    return (2.0 ** (G_SHIFT + p.k_e) * gamma * (tau_syn_ex / C_m)
            / (v_th_mV * p.psi_peak * Z_ONE * B_ONE * err_scale))


def fixed_eprop_parameters(params: Mapping[str, float], neuron: Mapping[str, float], lif: LifFixedParams,
                           dt: float, field_path: str = "plasticity") -> EpropFixedParams:
    """Integer constants from the float rule (eta, tau_m_readout ms, gamma (0.3), err_scale (32), w_min,
    w_max pA) and the unit's neuron (resolved iaf_psc_exp parameters: tau_m, tau_syn_ex, C_m, V_th, E_L) in
    its integer form `lif`. Time constants round to the nearest power of two of steps."""
    def number(name: str, default: float | None = None) -> float:
        return entry(params, name, field_path, default)

    if lif.v_th <= 0:
        raise ConfigError(f"{field_path}", f"the surrogate needs V_th above E_L, got v_th = {lif.v_th} V_lsb")
    k_z = _shift_for(float(neuron["tau_m"]), dt, f"{field_path}.tau_m")
    k_kappa = _shift_for(number("tau_m_readout"), dt, f"{field_path}.tau_m_readout")
    width = int(lif.v_th)
    k_psi = max(0, width.bit_length() - PSI_BITS)
    gamma, err_scale, eta = number("gamma", GAMMA), number("err_scale", ERR_SCALE), number("eta")
    if gamma <= 0 or err_scale <= 0 or eta <= 0:
        raise ConfigError(f"{field_path}.eta", f"eta, gamma and err_scale must be > 0, got {eta:g}, {gamma:g}, "
                                               f"{err_scale:g}")

    def steps(value: float, name: str) -> int:
        r = round(value / lif.I_lsb)
        if not INT16_MIN <= r <= INT16_MAX:
            raise ConfigError(f"{field_path}.{name}", f"{value:g} pA is {r} steps of {lif.I_lsb:g} pA; "
                                                      f"allowed [{INT16_MIN}, {INT16_MAX}] steps")
        return int(r)

    w_min, w_max = steps(number("w_min"), "w_min"), steps(number("w_max"), "w_max")
    if w_min > w_max:
        raise ConfigError(f"{field_path}.w_max", "must be >= w_min")
    p = EpropFixedParams(k_z=k_z, k_kappa=k_kappa, k_e=PSI_BITS + k_kappa, width=width, k_psi=k_psi, eta_mul=1,
                         k_eta=1, w_min=w_min, w_max=w_max)
    rate = eta * 2 ** 8 * gradient_lsb(p, lif, gamma, err_scale, float(neuron["tau_syn_ex"]), float(neuron["C_m"]),
                                       float(neuron["V_th"]) - float(neuron["E_L"])) / lif.I_lsb
    k_eta = min(K_ETA_MAX, max(1, math.floor(math.log2(ETA_MUL_MAX / rate)))) if rate > 0 else K_ETA_MAX
    eta_mul = round(rate * 2 ** k_eta)
    if not 1 <= eta_mul <= ETA_MUL_MAX:
        raise ConfigError(f"{field_path}.eta", f"eta = {eta:g} is {rate:g} weight LSB per 256 gradient LSB; the chip's "
                                               f"eta_mul / 2**k_eta spans [2**-{K_ETA_MAX}, {ETA_MUL_MAX / 2:g}]")
    return p._replace(eta_mul=int(eta_mul), k_eta=int(k_eta))
