"""Data for reservoir computing: NARMA-10, Mackey-Glass, spike-pattern classes.

Everything here is plain arrays and independent of the engine, so the
spiking reservoir and the echo state network see identical data.

- `narma10`: the tenth-order NARMA system (Atiya & Parlos 2000; Jaeger 2003).
- `mackey_glass`: the delay differential equation of Mackey & Glass (1977),
  integrated with RK4 and Hermite interpolation of the delayed state.
- `temporal_patterns`: classes of frozen spatiotemporal spike patterns,
  each sample a jittered, thinned, noisy copy of its class's template.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from neurobox.coding import _checks
from neurobox.coding.spikes import Spikes, make_spikes
from neurobox.errors import ConfigError, SimulationError

# ---------------------------------------------------------------- NARMA-10


@njit(cache=True)
def _narma10_kernel(u, y):
    n = u.size
    window = 0.0                 # y[t-9] + ... + y[t]
    for t in range(n - 1):
        window += y[t]
        if t >= 10:
            window -= y[t - 10]
        if t >= 9:
            y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * window + 1.5 * u[t - 9] * u[t] + 0.1


def narma10(n_steps: int, *, seed: int | np.random.Generator = 0,
            u: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Input ``u`` and output ``y`` (float64[n_steps] each) of NARMA-10.

    ``y[t+1] = 0.3 y[t] + 0.05 y[t] sum_{i=0..9} y[t-i] + 1.5 u[t-9] u[t] + 0.1``
    for t >= 9, with ``y[0..9] = 0`` and ``u`` uniform in [0, 0.5] drawn from
    `seed` (or given). The task: after input ``u[t]``, output ``y[t+1]``
    (`narma10_task` aligns the two).

    The recursion blows up for a few input draws (about 5 % of 10,000-step
    draws; stable series stay below about 1.5). A drawn input whose series
    blows up is replaced by the next draw of the same stream, so a seed
    always gives the same stable series; a given `u` that blows up raises
    SimulationError.
    """
    n = _checks.integer(n_steps, "n_steps", low=11)
    if u is not None:
        u_arr = _checks.float_array(u, "u", ndim=1)
        if u_arr.size != n:
            raise ConfigError("u", f"must have n_steps = {n} values, got {u_arr.size}")
        y = _narma10_series(u_arr)
        if y is None:
            raise SimulationError("NARMA-10 diverged for the given input u")
        return u_arr, y
    gen = _checks.rng(seed)
    for _ in range(1000):
        u_arr = gen.uniform(0.0, 0.5, n)
        y = _narma10_series(u_arr)
        if y is not None:
            return u_arr, y
    raise SimulationError(f"NARMA-10 diverged for 1000 input draws of {n} steps; use fewer steps")


def _narma10_series(u: np.ndarray) -> np.ndarray | None:
    y = np.zeros(u.size)
    _narma10_kernel(u, y)
    if not np.all(np.isfinite(y)) or np.abs(y).max() > _NARMA_BOUND:
        return None
    return y


_NARMA_BOUND = 1e3


def narma10_task(n_steps: int, *, seed: int | np.random.Generator = 0,
                 discard: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of the NARMA-10 task: ``targets[t] = y[t+1]`` for ``inputs[t] = u[t]``.

    The first `discard` steps (the recursion's start from zero) are dropped;
    both arrays have `n_steps` values.
    """
    n = _checks.integer(n_steps, "n_steps", low=1)
    d = _checks.integer(discard, "discard", low=0)
    u, y = narma10(n + d + 1, seed=seed)
    return u[d:d + n].copy(), y[d + 1:d + n + 1].copy()


# ---------------------------------------------------------------- Mackey-Glass


@njit(cache=True)
def _mg_rhs(x, x_tau, beta, gamma, power):
    return beta * x_tau / (1.0 + x_tau ** power) - gamma * x


@njit(cache=True)
def _mackey_glass_kernel(n_out, every, skip, m, h, x0, beta, gamma, power):
    n_steps = skip + (n_out - 1) * every
    x = np.empty(n_steps + 1)
    f = np.empty(n_steps + 1)    # dx/dt of the solution at each grid point
    x[0] = x0
    f[0] = _mg_rhs(x0, x0, beta, gamma, power)
    out = np.empty(n_out)
    k_out = 0
    for k in range(n_steps + 1):
        if k >= skip and (k - skip) % every == 0:
            out[k_out] = x[k]
            k_out += 1
        if k == n_steps:
            break
        j = k - m                # grid index of t_k - tau
        if j < 0:                # delayed state still in the constant history
            xd0 = x0
            xdm = x0
            xd1 = x0
        else:
            xd0 = x[j]
            xd1 = x[j + 1]
            # cubic Hermite interpolation at the midpoint of [t_j, t_j+1]
            xdm = 0.5 * (xd0 + xd1) + 0.125 * h * (f[j] - f[j + 1])
        xk = x[k]
        k1 = _mg_rhs(xk, xd0, beta, gamma, power)
        k2 = _mg_rhs(xk + 0.5 * h * k1, xdm, beta, gamma, power)
        k3 = _mg_rhs(xk + 0.5 * h * k2, xdm, beta, gamma, power)
        k4 = _mg_rhs(xk + h * k3, xd1, beta, gamma, power)
        x[k + 1] = xk + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        jn = k + 1 - m
        f[k + 1] = _mg_rhs(x[k + 1], x[jn] if jn >= 0 else x0, beta, gamma, power)
    return out


def mackey_glass(n_samples: int, *, tau: float = 17.0, beta: float = 0.2, gamma: float = 0.1,
                 n: float = 10.0, x0: float = 1.2, dt: float = 0.1, sample_every: float = 1.0,
                 discard: float = 500.0) -> np.ndarray:
    """Mackey-Glass series ``dx/dt = beta x(t-tau) / (1 + x(t-tau)^n) - gamma x(t)``, sampled.

    Integrated by classical RK4 with step `dt`; the delayed state between
    grid points comes from cubic Hermite interpolation of the stored
    solution and its derivative, so the scheme stays fourth order. The
    history is constant ``x0`` for t <= 0. Returns float64[n_samples]: x at
    ``discard + k * sample_every`` (time in the equation's own units).

    tau           delay (> 0); must be a whole number of steps `dt`
    dt            integration step (> 0); `sample_every` must be a whole number of steps
    discard       initial transient dropped (>= 0), a whole number of steps
    """
    count = _checks.integer(n_samples, "n_samples", low=1)
    tau_ = _checks.number(tau, "tau", low=0.0, low_open=True)
    beta_ = _checks.number(beta, "beta", low=0.0)
    gamma_ = _checks.number(gamma, "gamma", low=0.0)
    power = _checks.number(n, "n", low=0.0, low_open=True)
    x0_ = _checks.number(x0, "x0", low=0.0)
    h = _checks.number(dt, "dt", low=0.0, low_open=True, high=tau_)
    every_t = _checks.number(sample_every, "sample_every", low=0.0, low_open=True)
    skip_t = _checks.number(discard, "discard", low=0.0)
    m = _whole_steps(tau_, h, "tau")
    every = _whole_steps(every_t, h, "sample_every")
    skip = _whole_steps(skip_t, h, "discard") if skip_t > 0 else 0
    return _mackey_glass_kernel(count, every, skip, m, h, x0_, beta_, gamma_, power)


def _whole_steps(value: float, dt: float, field: str) -> int:
    k = round(value / dt)
    if k < 1 or abs(k * dt - value) > 1e-9 * max(1.0, value):
        raise ConfigError(field, f"must be a whole number (>= 1) of steps dt = {dt:g}, got {value:g}")
    return int(k)


def prediction_task(series: Any, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for predicting `horizon` samples ahead: ``targets[t] = series[t + horizon]``."""
    s = _checks.float_array(series, "series", ndim=1)
    h = _checks.integer(horizon, "horizon", low=1, high=max(1, s.size - 1))
    if s.size <= h:
        raise ConfigError("series", f"needs more than horizon = {h} samples, got {s.size}")
    return s[:-h].copy(), s[h:].copy()


@dataclass(frozen=True)
class Normalisation:
    """An affine map ``z = (x - offset) / scale`` fitted on training data."""

    offset: float
    scale: float

    def apply(self, x: Any) -> np.ndarray:
        """Normalised copy of `x`."""
        return (np.asarray(x, dtype=np.float64) - self.offset) / self.scale

    def invert(self, z: Any) -> np.ndarray:
        """Original units from normalised `z`."""
        return np.asarray(z, dtype=np.float64) * self.scale + self.offset


def fit_normalisation(x: Any, *, method: str = "minmax", target_range: tuple[float, float] = (-1.0, 1.0)
                      ) -> Normalisation:
    """Normalisation that maps `x` onto `target_range` ("minmax") or to zero mean, unit std ("zscore")."""
    arr = _checks.float_array(x, "x", allow_empty=False)
    m = _checks.choice(method, "method", ("minmax", "zscore"))
    if m == "zscore":
        std = float(arr.std())
        if std == 0.0:
            raise ConfigError("x", "is constant; cannot scale it to unit variance")
        return Normalisation(float(arr.mean()), std)
    lo = _checks.number(target_range[0], "target_range[0]")
    hi = _checks.number(target_range[1], "target_range[1]", low=lo, low_open=True)
    span = float(arr.max() - arr.min())
    if span == 0.0:
        raise ConfigError("x", "is constant; cannot scale it to a range")
    scale = span / (hi - lo)
    return Normalisation(float(arr.min()) - lo * scale, scale)


# ---------------------------------------------------------------- spike patterns


@dataclass
class SpikePatternDataset:
    """Labelled spike-pattern samples over `n_inputs` input neurons.

    samples      one `Spikes` per sample, times in [0, duration_ms)
    labels       int64[n_samples], class of each sample
    templates    the frozen pattern of each class
    """

    samples: list[Spikes]
    labels: np.ndarray
    templates: list[Spikes]
    n_inputs: int
    duration_ms: float

    def __len__(self) -> int:
        return len(self.samples)

    def split(self, n_first: int) -> tuple["SpikePatternDataset", "SpikePatternDataset"]:
        """The first `n_first` samples and the rest, as two datasets (same templates)."""
        k = _checks.integer(n_first, "n_first", low=0, high=len(self.samples))
        a = SpikePatternDataset(self.samples[:k], self.labels[:k], self.templates, self.n_inputs, self.duration_ms)
        b = SpikePatternDataset(self.samples[k:], self.labels[k:], self.templates, self.n_inputs, self.duration_ms)
        return a, b

    def stream(self, gap_ms: float = 0.0) -> tuple[Spikes, np.ndarray]:
        """All samples back to back, `gap_ms` of silence after each; returns (spikes, onset of each sample, ms)."""
        gap = _checks.number(gap_ms, "gap_ms", low=0.0)
        period = self.duration_ms + gap
        onsets = np.arange(len(self.samples)) * period
        if not self.samples:
            return make_spikes([], []), onsets
        t = np.concatenate([s.t_ms + o for s, o in zip(self.samples, onsets)])
        ids = np.concatenate([s.neuron_id for s in self.samples])
        return make_spikes(t, ids), onsets


def temporal_patterns(n_classes: int = 4, n_inputs: int = 40, *, duration_ms: float = 200.0,
                      rate_hz: float = 10.0, samples_per_class: int = 50, jitter_ms: float = 2.0,
                      deletion_prob: float = 0.1, noise_rate_hz: float = 2.0,
                      seed: int | np.random.Generator = 0) -> SpikePatternDataset:
    """Classes of frozen Poisson spike patterns, and noisy samples of them in shuffled order.

    Each class's template is a Poisson train at `rate_hz` on every input over
    `duration_ms` (every template has as many spikes, so only timing and
    place tell classes apart). A sample keeps each template spike with
    probability ``1 - deletion_prob``, moves it by Gaussian jitter of std
    `jitter_ms` (reflected back into the window), and adds Poisson noise
    spikes at `noise_rate_hz` per input.
    """
    k = _checks.integer(n_classes, "n_classes", low=2)
    n_in = _checks.integer(n_inputs, "n_inputs", low=1)
    dur = _checks.number(duration_ms, "duration_ms", low=0.0, low_open=True)
    rate = _checks.number(rate_hz, "rate_hz", low=0.0, low_open=True)
    per = _checks.integer(samples_per_class, "samples_per_class", low=1)
    jit = _checks.number(jitter_ms, "jitter_ms", low=0.0)
    p_del = _checks.number(deletion_prob, "deletion_prob", low=0.0, high=1.0, high_open=True)
    noise = _checks.number(noise_rate_hz, "noise_rate_hz", low=0.0)
    gen = _checks.rng(seed)
    n_spikes = max(1, int(gen.poisson(rate * dur / 1000.0 * n_in)))
    templates = [make_spikes(gen.uniform(0.0, dur, n_spikes), gen.integers(0, n_in, n_spikes))
                 for _ in range(k)]
    labels = np.repeat(np.arange(k, dtype=np.int64), per)
    gen.shuffle(labels)
    samples = []
    for c in labels:
        tmpl = templates[c]
        keep = gen.random(tmpl.t_ms.size) >= p_del
        t = tmpl.t_ms[keep] + gen.normal(0.0, jit, int(keep.sum()))
        t = _reflect(t, dur)
        ids = tmpl.neuron_id[keep].astype(np.int64)
        n_noise = int(gen.poisson(noise * dur / 1000.0 * n_in))
        t = np.concatenate([t, gen.uniform(0.0, dur, n_noise)])
        ids = np.concatenate([ids, gen.integers(0, n_in, n_noise)])
        samples.append(make_spikes(t, ids, n_in))
    return SpikePatternDataset(samples, labels, templates, n_in, dur)


def _reflect(t: np.ndarray, dur: float) -> np.ndarray:
    """Fold times into [0, dur) by reflection at both ends."""
    period = 2.0 * dur
    r = np.mod(t, period)
    r = np.where(r >= dur, period - r, r)
    return np.minimum(r, math.nextafter(dur, 0.0))
