"""Linear readouts of reservoir states and the score they are judged by.

- `nrmse`: root mean squared error normalised by the target's standard deviation.
- `RidgeReadout`: offline, closed-form ridge regression;
  `select_ridge` picks its regularisation on a validation set, and
  `evaluate_readout` scores features on a washout/train/validation/test split.
- `RLSReadout`: online recursive least squares, one sample at a time
  (the learning rule of FORCE, Sussillo & Abbott 2009). Started from
  ``P = I / alpha`` with no forgetting, after any number of samples its
  weights equal the ridge solution with regularisation `alpha`.

States are float arrays of shape (T, n_features); targets (T,) or (T, n_outputs).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.linalg
from numba import njit

from neurobox.coding import _checks
from neurobox.errors import ConfigError


ALPHAS = tuple(10.0 ** k for k in range(-9, 3))   # default regularisations tried: 1e-9 ... 1e2


def nrmse(prediction: Any, target: Any) -> float:
    """``sqrt(mean((prediction - target)^2) / var(target))``; for several outputs, the mean over outputs.

    0 is perfect; predicting the target's mean scores 1.
    """
    p = _checks.float_array(prediction, "prediction", ndim=(1, 2), allow_empty=False)
    y = _checks.float_array(target, "target", ndim=(1, 2), allow_empty=False)
    if p.shape != y.shape:
        raise ConfigError("prediction", f"must have the target's shape {y.shape}, got {p.shape}")
    if y.ndim == 1:
        p, y = p[:, None], y[:, None]
    var = y.var(axis=0)
    if np.any(var == 0.0):
        raise ConfigError("target", "is constant; NRMSE needs a target with nonzero variance")
    return float(np.mean(np.sqrt(np.mean((p - y) ** 2, axis=0) / var)))


def _xy(states: Any, targets: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    x = _checks.float_array(states, "states", ndim=2, allow_empty=False)
    y = _checks.float_array(targets, "targets", ndim=(1, 2), allow_empty=False)
    if y.shape[0] != x.shape[0]:
        raise ConfigError("targets", f"needs one row per state row ({x.shape[0]}), got {y.shape[0]}")
    one = y.ndim == 1
    return x, (y[:, None] if one else y), one


class RidgeReadout:
    """Ridge regression ``y = states @ weights + bias``, closed form.

    alpha          regularisation (>= 0), added to the diagonal of states^T states
    fit_intercept  learn an unregularised bias (by centring states and targets)
    """

    def __init__(self, alpha: float = 1e-6, *, fit_intercept: bool = True):
        self.alpha = _checks.number(alpha, "alpha", low=0.0)
        self.fit_intercept = bool(fit_intercept)
        self.weights: np.ndarray | None = None
        self.bias: np.ndarray | None = None
        self._one_output = False

    def fit(self, states: Any, targets: Any) -> "RidgeReadout":
        """Fit the weights (n_features, n_outputs) and bias (n_outputs,); returns self."""
        x, y, self._one_output = _xy(states, targets)
        xm, ym = _centres(x, y, self.fit_intercept)
        xc, yc = x - xm, y - ym
        gram = xc.T @ xc
        rhs = xc.T @ yc
        if self.alpha > 0.0:
            gram[np.diag_indices_from(gram)] += self.alpha
            try:
                w = scipy.linalg.solve(gram, rhs, assume_a="pos")
            except np.linalg.LinAlgError:
                w = np.linalg.lstsq(gram, rhs, rcond=None)[0]
        else:
            w = np.linalg.lstsq(xc, yc, rcond=None)[0]
        self.weights = w
        self.bias = (ym - xm @ w).ravel()
        return self

    def predict(self, states: Any) -> np.ndarray:
        """Outputs for `states`: (T,) if fitted on a 1-D target, else (T, n_outputs)."""
        if self.weights is None:
            raise ConfigError("readout", "is not fitted; call fit() first")
        x = _checks.float_array(states, "states", ndim=2)
        if x.shape[1] != self.weights.shape[0]:
            raise ConfigError("states", f"needs {self.weights.shape[0]} columns, got {x.shape[1]}")
        out = x @ self.weights + self.bias
        return out[:, 0] if self._one_output else out


def _centres(x, y, fit_intercept):
    if fit_intercept:
        return x.mean(axis=0, keepdims=True), y.mean(axis=0, keepdims=True)
    return np.zeros((1, x.shape[1])), np.zeros((1, y.shape[1]))


def select_ridge(train_states: Any, train_targets: Any, val_states: Any, val_targets: Any, *,
                 alphas: Sequence[float] = ALPHAS,
                 fit_intercept: bool = True, refit_on_all: bool = False
                 ) -> tuple[RidgeReadout, dict[float, float]]:
    """Ridge readout with the `alphas` entry that scores the lowest validation NRMSE.

    Returns the readout (fitted on the training set, or on training and
    validation sets together with `refit_on_all`) and the validation NRMSE
    of every alpha. One eigendecomposition serves all alphas.
    """
    x, y, one = _xy(train_states, train_targets)
    xv, yv, _ = _xy(val_states, val_targets)
    if xv.shape[1] != x.shape[1]:
        raise ConfigError("val_states", f"needs {x.shape[1]} columns, got {xv.shape[1]}")
    if yv.shape[1] != y.shape[1]:
        raise ConfigError("val_targets", f"needs {y.shape[1]} outputs, got {yv.shape[1]}")
    a = _checks.float_array(alphas, "alphas", ndim=1, low=0.0, allow_empty=False)
    xm, ym = _centres(x, y, fit_intercept)
    xc, yc = x - xm, y - ym
    evals, evecs = np.linalg.eigh(xc.T @ xc)
    evals = np.maximum(evals, 0.0)
    proj = evecs.T @ (xc.T @ yc)               # (n_features, n_outputs)
    scores: dict[float, float] = {}
    for alpha in a:
        denom = evals + alpha
        inv = np.where(denom > 1e-12 * max(evals.max(), 1e-300), 1.0 / np.where(denom > 0, denom, 1.0), 0.0)
        w = evecs @ (inv[:, None] * proj)
        pred = xv @ w + (ym - xm @ w)
        scores[float(alpha)] = nrmse(pred, yv)
    best = min(scores, key=scores.get)
    readout = RidgeReadout(best, fit_intercept=fit_intercept)
    if refit_on_all:
        readout.fit(np.vstack([x, xv]), np.vstack([y, yv]) if not one else np.concatenate([y[:, 0], yv[:, 0]]))
    else:
        readout.fit(x, y[:, 0] if one else y)
    return readout, scores


def evaluate_readout(features: Any, targets: Any, *, washout: int, n_train: int, n_val: int,
                     alphas: Sequence[float] = ALPHAS
                     ) -> tuple[float, RidgeReadout]:
    """Score a reservoir's features the standard way: test NRMSE of a validated ridge readout.

    Rows are time steps: the first `washout` are dropped, the next `n_train`
    fit the readout, the next `n_val` choose its alpha (after which it is
    refitted on both blocks), and all remaining rows are the test block.
    Returns (test NRMSE, readout). The ESN and the spiking reservoir are
    scored by this same function.
    """
    x, y, one = _xy(features, targets)
    w = _checks.integer(washout, "washout", low=0)
    a = w + _checks.integer(n_train, "n_train", low=1)
    b = a + _checks.integer(n_val, "n_val", low=1)
    if b >= x.shape[0]:
        raise ConfigError("n_val", f"washout + n_train + n_val must leave test rows; "
                                   f"they take {b} of {x.shape[0]} rows")
    yy = y[:, 0] if one else y
    readout, _ = select_ridge(x[w:a], yy[w:a], x[a:b], yy[a:b], alphas=alphas, refit_on_all=True)
    return nrmse(readout.predict(x[b:]), yy[b:]), readout


@njit(cache=True)
def rls_step(p, w, x, target, forgetting):
    """One RLS update in place; returns the output before the update (the a-priori output).

    p           float64[n, n], inverse correlation estimate (updated)
    w           float64[n, k], weights (updated)
    x           float64[n], features of this sample
    target      float64[k], desired output
    forgetting  lambda in (0, 1]; 1 weighs all samples equally
    """
    n, k = w.shape
    px = p @ x
    denom = forgetting + x @ px
    y = x @ w
    for i in range(n):
        gi = px[i] / denom
        for j in range(k):
            w[i, j] += gi * (target[j] - y[j])
    inv_l = 1.0 / forgetting
    for i in range(n):
        gi = px[i] / denom
        for j in range(n):
            p[i, j] = (p[i, j] - gi * px[j]) * inv_l
    return y


@njit(cache=True)
def _rls_run(p, w, xs, ys, forgetting):
    out = np.empty((xs.shape[0], w.shape[1]))
    for t in range(xs.shape[0]):
        out[t] = rls_step(p, w, xs[t], ys[t], forgetting)
    return out


class RLSReadout:
    """Online least squares: ``y = features @ weights`` updated after every sample.

    n_features     inputs of the readout (with `fit_intercept`, a constant 1
                   is appended and its weight is the bias)
    n_outputs      outputs
    alpha          initial P = I / alpha (> 0): the ridge regularisation the
                   weights carry (on the bias too)
    forgetting     lambda in (0, 1]; below 1 old samples fade by lambda per sample
    """

    def __init__(self, n_features: int, n_outputs: int = 1, *, alpha: float = 1.0,
                 forgetting: float = 1.0, fit_intercept: bool = True):
        self.n_features = _checks.integer(n_features, "n_features", low=1)
        self.n_outputs = _checks.integer(n_outputs, "n_outputs", low=1)
        self.alpha = _checks.number(alpha, "alpha", low=0.0, low_open=True)
        self.forgetting = _checks.number(forgetting, "forgetting", low=0.0, high=1.0, low_open=True)
        self.fit_intercept = bool(fit_intercept)
        size = self.n_features + (1 if self.fit_intercept else 0)
        self.p = np.eye(size) / self.alpha
        self.w = np.zeros((size, self.n_outputs))

    @property
    def weights(self) -> np.ndarray:
        """Weights of the features, (n_features, n_outputs)."""
        return self.w[:self.n_features]

    @property
    def bias(self) -> np.ndarray:
        """Bias per output (zeros without `fit_intercept`)."""
        return self.w[self.n_features] if self.fit_intercept else np.zeros(self.n_outputs)

    def _features(self, states: Any, field: str) -> np.ndarray:
        x = _checks.float_array(states, field, ndim=2)
        if x.shape[1] != self.n_features:
            raise ConfigError(field, f"needs {self.n_features} columns, got {x.shape[1]}")
        if self.fit_intercept:
            x = np.hstack([x, np.ones((x.shape[0], 1))])
        return x

    def _targets(self, targets: Any, rows: int) -> np.ndarray:
        y = _checks.float_array(targets, "targets", ndim=(0, 1, 2))
        y = y.reshape(rows, -1) if y.size == rows * self.n_outputs else None
        if y is None or y.shape[1] != self.n_outputs:
            raise ConfigError("targets", f"needs {rows} x {self.n_outputs} values")
        return y

    def update(self, state: Any, target: Any) -> np.ndarray:
        """Learn from one sample; returns the output (n_outputs,) computed before learning."""
        x = self._features(np.atleast_2d(state), "state")
        y = self._targets(target, 1)
        return rls_step(self.p, self.w, x[0], y[0], self.forgetting)

    def train(self, states: Any, targets: Any) -> np.ndarray:
        """Learn from each row in turn; returns the a-priori outputs (T, n_outputs)."""
        x = self._features(states, "states")
        y = self._targets(targets, x.shape[0])
        return _rls_run(self.p, self.w, x, y, self.forgetting)

    def predict(self, states: Any) -> np.ndarray:
        """Outputs (T, n_outputs) for `states` with the current weights; (T,) if n_outputs is 1."""
        out = self._features(states, "states") @ self.w
        return out[:, 0] if self.n_outputs == 1 else out
