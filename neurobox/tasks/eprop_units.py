"""The sine-wave task trained by e-prop on the twin's units, in fixed point, with the host as the readout.

A recurrent network of units (neurobox.hardware.unit, rule "eprop": neurobox.plasticity.eprop_fixed) learns to
make a readout follow a sum of sines. Every unit keeps only its own state; the host sees every spike on the bus.

    inputs     n_in stimulus neurons, frozen Poisson spike trains (rate_hz, at most one spike a tick), the same
               in every iteration, as NEST's sine-wave example
    units      n_rec e-prop units (iaf_psc_exp in fixed point); unit j hears every input and n_hear other
               units, all plastic; its feedback weight B_j (int8 of 1/64) is drawn once
    readout    the host: y(t) = kappa y(t - 1) + sum_j W_out_j z_j(t) (float), kappa = 1 - 2**-k_kappa, the
               units' eligibility decay
    target     y*(t) = sum_k a_k sin(2 pi t / T_k + phi_k), T = 1000, 500, 333, 200 ms (a_k, phi_k seeded),
               scaled to a peak of 1
    loss       0.5 sum_t (y - y*)**2 over an iteration (trial_ms), as NEST's example

Per tick t (dt), as on the bus: the units step (neurobox.twin.units.UnitBank, the compiled unit_tick the twin
runs) on the stimulus spikes of tick t and the units' spikes of tick t - 1, with the error byte and the apply
pulse the host sent in tick t - 1; the host then reads this tick's spikes, steps y, and sends
round((y - y*) err_scale) clipped to -64 .. 63 for tick t + 1. At the end of an iteration it sends the apply
pulse (seen in the next tick: every unit moves its weights by its own gradient, a plain step) and steps its
W_out by Adam (eta_out; beta 0.9, 0.999) on its own gradient sum_t (y - y*) zk_j (zk: z filtered with kappa): the
host is a computer, the units are not.

`train(..., arithmetic="float")` runs the same network, inputs, feedback and schedule with the rule in float
(float iaf_psc_exp, z-bar, psi, eligibility, learning signal without quantisation): the loss the fixed point
is measured against. The units are checked against an ATmega8's SRAM (neurobox.hardware.plan.plan_unit).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from neurobox.hardware.avr.bus import plan_bus
from neurobox.hardware.plan import plan_unit
from neurobox.hardware.unit import FixedUnit, Input, UnitDescription, fixed_unit
from neurobox.neurons.lif import _propagator_32
from neurobox.plasticity import eprop_fixed
from neurobox.twin.units import UnitBank

NEURON = {"C_m": 250.0, "tau_m": 20.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0, "t_ref": 2.0, "E_L": -70.0,
          "V_reset": -70.0, "V_th": -55.0, "I_e": 0.0}
PERIODS_MS = (1000.0, 500.0, 333.0, 200.0)


@dataclass(frozen=True)
class SineConfig:
    """The task's sizes and rates (ms, pA, Hz)."""

    n_in: int = 20
    n_rec: int = 30
    n_hear: int = 7
    """other units each unit hears (27 plastic inputs with n_in = 20: the most a 1 ms tick allows, plan.py)."""
    dt: float = 1.0
    trial_ms: float = 1000.0
    rate_hz: float = 50.0
    w_in_pA: float = 500.0
    """standard deviation of the initial input weights."""
    w_rec_pA: float = 250.0
    w_bound_pA: float = 4000.0
    eta: float = 60.0
    """the units' learning rate (neurobox.plasticity.eprop_fixed: pA per unit of the float gradient)."""
    eta_out: float = 0.03
    tau_m_readout: float = 20.0
    err_scale: float = 32.0
    gamma: float = 0.3
    seed: int = 1

    def rule(self) -> dict:
        return {"rule": "eprop", "eta": self.eta, "tau_m_readout": self.tau_m_readout, "gamma": self.gamma,
                "err_scale": self.err_scale, "w_min": -self.w_bound_pA, "w_max": self.w_bound_pA}


@dataclass
class Training:
    """A training run: the loss of every iteration, the wall time, the units' last weights (I_lsb)."""

    arithmetic: str
    loss: list[float]
    wall_s: float
    spikes_per_unit_s: float
    """mean firing rate of the units over the run, Hz."""
    weights: list = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {"arithmetic": self.arithmetic, "loss": self.loss, "wall_s": self.wall_s,
                "rate_hz": self.spikes_per_unit_s}


def target(cfg: SineConfig) -> np.ndarray:
    """y*(t) per tick of one iteration: the seeded sum of sines, peak 1."""
    rng = np.random.default_rng(cfg.seed + 1000)
    t = np.arange(round(cfg.trial_ms / cfg.dt)) * cfg.dt
    y = sum(rng.uniform(0.5, 2.0) * np.sin(2 * np.pi * t / T + rng.uniform(0, 2 * np.pi)) for T in PERIODS_MS)
    return y / np.abs(y).max()


def network(cfg: SineConfig) -> tuple[list[UnitDescription], np.ndarray, np.ndarray]:
    """The units (inputs in0.., units u0..), the feedback weights B (float, multiples of 1/64) and the frozen
    input spikes bool[ticks, n_in]."""
    rng = np.random.default_rng(cfg.seed)
    steps = round(cfg.trial_ms / cfg.dt)
    stim = rng.random((steps, cfg.n_in)) < cfg.rate_hz * cfg.dt * 1e-3
    B = np.clip(np.round(rng.normal(0.0, 1.0, cfg.n_rec) * eprop_fixed.B_ONE), -eprop_fixed.FB_MAX,
                eprop_fixed.FB_MAX) / eprop_fixed.B_ONE
    units = []
    for j in range(cfg.n_rec):
        others = rng.choice([k for k in range(cfg.n_rec) if k != j], cfg.n_hear, replace=False)
        inputs = [Input(f"in{i}", "excitatory", float(np.clip(rng.normal(0, cfg.w_in_pA), -cfg.w_bound_pA,
                                                                    cfg.w_bound_pA)), True) for i in range(cfg.n_in)]
        inputs += [Input(f"u{k}", "excitatory", float(np.clip(rng.normal(0, cfg.w_rec_pA), -cfg.w_bound_pA,
                                                                   cfg.w_bound_pA)), True) for k in sorted(others)]
        units.append(UnitDescription(f"u{j}", NEURON, cfg.dt, tuple(inputs), cfg.rule(), j, feedback=(float(B[j]),)))
    return units, B, stim


def _sources(units: list[FixedUnit], n_in: int) -> np.ndarray:
    """Per flat input (the bank's CSR order): its source in the vector [inputs, units]."""
    index = {f"in{i}": i for i in range(n_in)} | {u.name: n_in + k for k, u in enumerate(units)}
    return np.array([index[s] for u in units for s in u.sources], dtype=np.int64)


def _kappa(cfg: SineConfig, unit: FixedUnit) -> float:
    return 1.0 - 2.0 ** -unit.eprop.k_kappa


def train(cfg: SineConfig = SineConfig(), iterations: int = 50, arithmetic: str = "fixed") -> Training:
    """Train `iterations` iterations of the task on the units ("fixed": the twin's bank of units, bit for bit
    the firmware) or on their float counterpart ("float")."""
    descs, B, stim = network(cfg)
    units = [fixed_unit(d) for d in descs]
    bus = plan_bus(cfg.n_rec + cfg.n_in, cfg.dt)
    for u in units:
        plan_unit(u, "bus", bus)            # every unit fits an ATmega8 on this bus
    kappa = _kappa(cfg, units[0])
    y_star = target(cfg)
    steps = len(y_star)
    src = _sources(units, cfg.n_in)
    rng = np.random.default_rng(cfg.seed + 7)
    w_out = rng.normal(0.0, 1.0 / math.sqrt(cfg.n_rec), cfg.n_rec) * 0.1
    runner = _FixedUnits(units, src) if arithmetic == "fixed" else _FloatUnits(units, descs, B, src, cfg)
    z = np.zeros(cfg.n_rec, dtype=bool)
    y = 0.0
    err_byte = 0
    apply = False
    losses, total_spikes = [], 0
    m, s2, n_steps = np.zeros(cfg.n_rec), np.zeros(cfg.n_rec), 0
    start = time.perf_counter()
    for _ in range(iterations):
        zk = np.zeros(cfg.n_rec)
        grad_out = np.zeros(cfg.n_rec)
        loss = 0.0
        for t in range(steps):
            z = runner.step(np.concatenate([stim[t], z]), err_byte, apply)
            apply = False
            total_spikes += int(z.sum())
            zk = kappa * zk + z
            y = kappa * y + float(w_out @ z)
            err = y - y_star[t]
            loss += 0.5 * err * err
            grad_out += err * zk
            err_byte = eprop_fixed.error_to_fixed(err, cfg.err_scale) if arithmetic == "fixed" else err
        m = 0.9 * m + 0.1 * grad_out
        s2 = 0.999 * s2 + 0.001 * grad_out ** 2
        n_steps += 1
        w_out -= cfg.eta_out * (m / (1 - 0.9 ** n_steps)) / (np.sqrt(s2 / (1 - 0.999 ** n_steps)) + 1e-8)
        apply = True
        losses.append(loss)
    wall = time.perf_counter() - start
    rate = total_spikes / (cfg.n_rec * iterations * cfg.trial_ms * 1e-3)
    return Training(arithmetic, losses, wall, rate, runner.weights())


class _FixedUnits:
    """The units in fixed point: the twin's UnitBank on an ideal bus (every spike of tick t received in t + 1)."""

    def __init__(self, units: list[FixedUnit], src: np.ndarray):
        self.bank = UnitBank(units)
        self.all = np.arange(len(units), dtype=np.int64)
        self.src = src

    def step(self, sent: np.ndarray, err_byte: int, apply: bool) -> np.ndarray:
        bank = self.bank
        bank.error[0] = err_byte
        bank.reward[:] = 1 if apply else 0
        bank.step(self.all, sent[self.src], 0)
        return bank.spiked.copy()

    def weights(self) -> list:
        return [self.bank.weights(u).tolist() for u in range(self.bank.n)]


class _FloatUnits:
    """The same units in float: iaf_psc_exp (exact integration, NEST's order as lif_fixed), and the rule of
    neurobox.plasticity.eprop_fixed without its integers (its module docstring's float meaning)."""

    def __init__(self, units: list[FixedUnit], descs: list[UnitDescription], B: np.ndarray, src: np.ndarray,
                 cfg: SineConfig):
        p = {**NEURON}
        dt = cfg.dt
        self.n = len(units)
        self.ptr = np.cumsum([0] + [u.n_inputs for u in units])
        self.owner = np.repeat(np.arange(self.n), [u.n_inputs for u in units])
        self.src = src
        self.w = np.array([i.weight for d in descs for i in d.inputs])
        self.B = B
        self.P22 = math.exp(-dt / p["tau_m"])
        self.P11 = math.exp(-dt / p["tau_syn_ex"])
        self.P21 = _propagator_32(p["tau_syn_ex"], p["tau_m"], p["C_m"], dt)
        self.P20 = p["tau_m"] / p["C_m"] * (1 - self.P22)
        self.th = p["V_th"] - p["E_L"]
        self.v_reset = p["V_reset"] - p["E_L"]
        self.ref_steps = round(p["t_ref"] / dt)
        e = units[0].eprop
        self.az = 1.0 - 2.0 ** -e.k_z          # the units' decays, so that only the arithmetic differs
        self.ak = 1.0 - 2.0 ** -e.k_kappa
        self.R = p["tau_syn_ex"] / p["C_m"]
        self.gamma, self.eta, self.w_min, self.w_max = cfg.gamma, cfg.eta, -cfg.w_bound_pA, cfg.w_bound_pA
        self.v = np.zeros(self.n)
        self.i = np.zeros(self.n)
        self.ref = np.zeros(self.n, dtype=np.int64)
        m = len(self.w)
        self.zbar, self.e, self.g = np.zeros(m), np.zeros(m), np.zeros(m)

    def step(self, sent: np.ndarray, err: float, apply: bool) -> np.ndarray:
        arrived = sent[self.src].astype(float)
        free = self.ref == 0
        self.v = np.where(free, self.P22 * self.v + self.P21 * self.i + self.P20 * NEURON["I_e"], self.v)
        self.ref = np.where(free, self.ref, self.ref - 1)
        self.i = self.P11 * self.i + np.bincount(self.owner, weights=self.w * arrived, minlength=self.n)
        fired = self.v >= self.th
        psi = np.where(fired, 1.0, np.where(self.ref > 0, 0.0, np.maximum(0.0, 1 - np.abs(self.v - self.th) / self.th)))
        psi *= self.gamma / self.th
        self.v = np.where(fired, self.v_reset, self.v)
        self.ref = np.where(fired, self.ref_steps, self.ref)
        if apply:
            self.w = np.clip(self.w - self.eta * self.g, self.w_min, self.w_max)
            self.g[:] = 0.0
        self.zbar *= self.az
        self.e = self.ak * self.e + psi[self.owner] * self.zbar
        self.g += (self.B[self.owner] * err) * self.e * self.R
        self.zbar += arrived
        return fired

    def weights(self) -> list:
        return [self.w[a:b].tolist() for a, b in zip(self.ptr[:-1], self.ptr[1:])]
