"""A rate-based echo state network (Jaeger 2001): the baseline for the spiking reservoir.

    x(t) = (1 - a) x(t-1) + a tanh(W x(t-1) + W_in u(t) + b)

W is sparse random (normal weights, each connection present with
probability `density`) rescaled to `spectral_radius`; W_in and b are
uniform in [-input_scaling, input_scaling] and [-bias_scaling,
bias_scaling]; a is the leak rate. A ridge readout of [x(t), u(t)]
gives the output. `esn_narma10` and `esn_mackey_glass` run the two
standard benchmarks end to end on the data of `reservoir_data`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse.linalg

from neurobox.coding import _checks
from neurobox.errors import ConfigError
from neurobox.random import generator
from neurobox.tasks.readout import evaluate_readout
from neurobox.tasks.reservoir_data import fit_normalisation, mackey_glass, narma10_task


class EchoStateNetwork:
    """Leaky tanh reservoir of `n_units` units driven by `n_inputs` inputs.

    spectral_radius  largest |eigenvalue| of W (>= 0)
    input_scaling    half-width of the uniform input weights (>= 0)
    bias_scaling     half-width of the uniform biases (>= 0)
    leak_rate        a in (0, 1]; 1 is a plain (non-leaky) ESN
    density          probability of each recurrent connection, (0, 1]
    seed             int seed or numpy Generator
    """

    def __init__(self, n_units: int = 500, n_inputs: int = 1, *, spectral_radius: float = 0.9,
                 input_scaling: float = 1.0, bias_scaling: float = 0.0, leak_rate: float = 1.0,
                 density: float = 0.1, seed: int | np.random.Generator = 0):
        self.n_units = _checks.integer(n_units, "n_units", low=1)
        self.n_inputs = _checks.integer(n_inputs, "n_inputs", low=1)
        self.spectral_radius = _checks.number(spectral_radius, "spectral_radius", low=0.0)
        self.input_scaling = _checks.number(input_scaling, "input_scaling", low=0.0)
        self.bias_scaling = _checks.number(bias_scaling, "bias_scaling", low=0.0)
        self.leak_rate = _checks.number(leak_rate, "leak_rate", low=0.0, high=1.0, low_open=True)
        self.density = _checks.number(density, "density", low=0.0, high=1.0, low_open=True)
        gen = _checks.rng(seed)
        n = self.n_units
        mask = gen.random((n, n)) < self.density
        w = np.where(mask, gen.normal(0.0, 1.0, (n, n)), 0.0)
        radius = _spectral_radius(w)
        self.w = w * (self.spectral_radius / radius) if radius > 0 else w
        self.w_in = gen.uniform(-self.input_scaling, self.input_scaling, (n, self.n_inputs))
        self.b = gen.uniform(-self.bias_scaling, self.bias_scaling, n)

    def run(self, inputs: Any, *, initial_state: Any = None) -> np.ndarray:
        """Reservoir states (T, n_units) driven by `inputs` (T,) or (T, n_inputs)."""
        u = _checks.float_array(inputs, "inputs", ndim=(1, 2))
        if u.ndim == 1:
            u = u[:, None]
        if u.shape[1] != self.n_inputs:
            raise ConfigError("inputs", f"needs {self.n_inputs} columns, got {u.shape[1]}")
        if initial_state is None:
            x = np.zeros(self.n_units)
        else:
            x = _checks.float_array(initial_state, "initial_state", ndim=1)
            if x.size != self.n_units:
                raise ConfigError("initial_state", f"needs {self.n_units} values, got {x.size}")
        drive = u @ self.w_in.T + self.b          # (T, n_units)
        states = np.empty((u.shape[0], self.n_units))
        a = self.leak_rate
        w = self.w
        for t in range(u.shape[0]):
            x = (1.0 - a) * x + a * np.tanh(w @ x + drive[t])
            states[t] = x
        return states


def _spectral_radius(w: np.ndarray) -> float:
    if w.shape[0] <= 1500:
        return float(np.abs(np.linalg.eigvals(w)).max())
    vals = scipy.sparse.linalg.eigs(scipy.sparse.csr_matrix(w), k=1, which="LM",
                                    return_eigenvectors=False, v0=np.ones(w.shape[0]))
    return float(np.abs(vals).max())


def _features(states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    return np.hstack([states, inputs.reshape(inputs.shape[0], -1)])


def esn_narma10(n_units: int = 500, *, seed: int = 0, n_train: int = 4000, n_val: int = 1000,
                n_test: int = 2000, washout: int = 200, spectral_radius: float = 0.9,
                input_scaling: float = 0.2, leak_rate: float = 1.0, density: float = 0.1) -> dict:
    """Test NRMSE of an ESN on NARMA-10 (one-step: after u[t], output y[t+1]).

    The readout sees [x(t), u(t)]; its regularisation is chosen on the
    validation block, then refitted on training + validation. Data and
    reservoir draw independent streams from `seed`. Returns {"nrmse", "alpha", "n_units"}.
    """
    total = washout + n_train + n_val + n_test
    u, y = narma10_task(total, seed=generator(seed, "data", "narma10"))
    esn = EchoStateNetwork(n_units, spectral_radius=spectral_radius, input_scaling=input_scaling,
                           leak_rate=leak_rate, density=density, seed=generator(seed, "esn", "reservoir"))
    feats = _features(esn.run(u), u)
    score, readout = evaluate_readout(feats, y, washout=washout, n_train=n_train, n_val=n_val)
    return {"nrmse": score, "alpha": readout.alpha, "n_units": n_units}


def esn_mackey_glass(n_units: int = 500, *, horizon: int = 84, seed: int = 0, n_train: int = 4000,
                     n_val: int = 1000, n_test: int = 2000, washout: int = 200,
                     spectral_radius: float = 0.9, input_scaling: float = 1.0, leak_rate: float = 0.3,
                     bias_scaling: float = 0.2, density: float = 0.1) -> dict:
    """Test NRMSE of an ESN predicting Mackey-Glass (tau 17) `horizon` samples ahead (1 sample = 1 time unit).

    The series is min-max normalised to [-1, 1] on the training block;
    target ``x[t + horizon]`` from the state after ``x[t]`` (open loop: the
    readout predicts directly, the network never runs on its own output).
    The series is the same for every seed; the seed draws the reservoir. Returns
    {"nrmse", "alpha", "n_units", "horizon"}.
    """
    h = _checks.integer(horizon, "horizon", low=1)
    total = washout + n_train + n_val + n_test
    series = mackey_glass(total + h)
    norm = fit_normalisation(series[washout:washout + n_train])
    z = norm.apply(series)
    u, y = z[:-h], z[h:]
    esn = EchoStateNetwork(n_units, spectral_radius=spectral_radius, input_scaling=input_scaling,
                           bias_scaling=bias_scaling, leak_rate=leak_rate, density=density,
                           seed=generator(seed, "esn", "reservoir"))
    feats = _features(esn.run(u), u)
    score, readout = evaluate_readout(feats, y, washout=washout, n_train=n_train, n_val=n_val)
    return {"nrmse": score, "alpha": readout.alpha, "n_units": n_units, "horizon": h}
