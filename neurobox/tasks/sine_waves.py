"""A recurrent spiking network learns to produce a sum of sines with e-prop (Bellec et al. 2020, Fig. 2; the
sizes and parameters of NEST 3.10's example eprop_supervised_regression_sine-waves.py).

Input: 100 channels of frozen noise, each firing in a 1 ms step with probability 0.05; the same 1000 ms
pattern in every iteration. Target: one 1000 ms signal, the sum of four sines of periods 1000, 500, 333
and 200 ms, amplitudes drawn in [0.5, 2] and phases in [0, 2 pi), shifted to start at 0 and scaled to a
largest magnitude of 1.

Network: 100 LIF neurons (`eprop_iaf`, tau_m 30 ms, V_th 0.03 mV, no refractory time), all to all
without autapses, one leaky readout (`eprop_readout`, tau_m 30 ms). Input, recurrent and readout weights
learn by e-prop (gradient descent, eta = 1e-4 (1 - kappa)^2, one step per iteration), with a random
feedback matrix for the learning signal and firing rates regularised towards 10 Hz. The initial weights
are drawn as in NEST's example: normal / sqrt(fan-in), times 1 - kappa.

Score: the loss per iteration, 0.5 sum_t (y_t - y*_t)^2 over the 1000 ms sequence (NEST's definition).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from neurobox.errors import ConfigError


@dataclass(frozen=True)
class SineConfig:
    """Sizes, times (ms at dt = 1 ms) and learning constants of the task."""

    n_in: int = 100
    n_rec: int = 100
    steps: int = 1000                              # ms, one sequence
    iterations: int = 200                          # NEST's shipped example (2000 in Bellec et al.)
    input_prob: float = 0.05                       # spike probability per input channel and step
    periods: tuple[int, ...] = (1000, 500, 333, 200)  # ms
    tau_m: float = 30.0                            # ms, recurrent and readout membranes
    V_th: float = 0.03                             # mV
    kappa: float = 0.97                            # low-pass filter of the eligibility traces
    c_reg: float = 0.3                             # firing-rate regularisation (NEST: 300 / sequence ms)
    f_target: float = 10.0                         # Hz
    surrogate_height: float = 10.0
    surrogate_width: float = 1.0 / 33.3
    eta: float = 1e-4 * (1.0 - 0.97) ** 2          # gradient descent's learning rate
    optimizer: str = "gradient_descent"

    @property
    def scale(self) -> float:
        """1 - kappa: NEST's example scales the initial weights and eta by it (eta by its square)."""
        return 1.0 - self.kappa

    def check(self) -> "SineConfig":
        for f in ("n_in", "n_rec", "steps", "iterations"):
            if int(getattr(self, f)) < 1:
                raise ConfigError(f, f"must be >= 1, got {getattr(self, f)}")
        if not 0.0 <= self.input_prob <= 1.0:
            raise ConfigError("input_prob", f"must be a probability in [0, 1], got {self.input_prob}")
        if not self.periods or min(self.periods) < 1:
            raise ConfigError("periods", f"expected periods >= 1 ms, got {self.periods}")
        return self


QUICK = SineConfig(n_in=50, n_rec=50, steps=500, periods=(500, 250, 166, 100), iterations=20,
                   optimizer="adam", eta=5e-3)
"""A small, fast-learning version for tests and --quick: half the sizes, 500 ms, Adam."""


def frozen_input(config: SineConfig, seed: int) -> np.ndarray:
    """(steps, n_in) uint8: the frozen input noise, the same in every iteration."""
    from neurobox.random import generator

    rng = generator(seed, "sine_waves", "input")
    return (rng.random((config.steps, config.n_in)) < config.input_prob).astype(np.uint8)


def target_signal(config: SineConfig, seed: int) -> np.ndarray:
    """(steps,) float: the sum of sines, starting at 0, largest magnitude 1. A sine of period T makes
    steps // T whole cycles over the sequence (NEST's example's construction)."""
    from neurobox.random import generator

    rng = generator(seed, "sine_waves", "target")
    n = len(config.periods)
    amplitudes = rng.uniform(0.5, 2.0, n)
    phases = rng.uniform(0.0, 2.0 * math.pi, n)
    y = np.zeros(config.steps)
    for a, phi, period in zip(amplitudes, phases, config.periods):
        y += a * np.sin(np.linspace(phi, phi + 2.0 * math.pi * (config.steps // period), config.steps))
    y -= y[0]
    return y / max(np.abs(y).max(), 1e-6)


def initial_weights(config: SineConfig, seed: int) -> dict[str, np.ndarray]:
    """NEST's example's initial weights, (n_pre, n_post) each: normal / sqrt(fan-in) x (1 - kappa); no
    autapses; `feedback` (n_rec, 1) is the random matrix that carries the learning signal."""
    from neurobox.random import generator

    rng = generator(seed, "sine_waves", "weights")
    s = config.scale
    w_in = rng.standard_normal((config.n_in, config.n_rec)) / math.sqrt(config.n_in) * s
    w_rec = rng.standard_normal((config.n_rec, config.n_rec)) / math.sqrt(config.n_rec) * s
    np.fill_diagonal(w_rec, 0.0)
    w_out = rng.standard_normal((config.n_rec, 1)) / math.sqrt(config.n_rec) * s
    feedback = rng.standard_normal((config.n_rec, 1)) / math.sqrt(config.n_rec) * s
    return {"in_rec": w_in, "rec_rec": w_rec, "rec_out": w_out, "feedback": feedback}
