"""Population code: Gaussian tuning curves spread over a range of values.

Neuron ``i`` prefers value ``c_i`` (centres evenly spaced over
[low, high], ends included) and fires at

    r_i(x) = baseline_hz + (max_rate_hz - baseline_hz) * exp(-(x - c_i)^2 / (2 width^2))

A sequence of values is encoded one value per window of ``window_ms``,
back to back, each window's spikes a Poisson train at these rates. The
decoder reads the counts of each window back into a value, either as the
count-weighted mean of the preferred values ("centroid") or by maximum
likelihood under the Poisson model ("ml": grid search over the range,
refined by a parabola through the best grid point and its neighbours).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from neurobox.coding import _checks
from neurobox.coding.spikes import Spikes, make_spikes, spike_counts
from neurobox.errors import ConfigError

DECODERS = ("ml", "centroid")


class GaussianPopulation:
    """`n_neurons` Gaussian tuning curves over [low, high].

    n_neurons    number of neurons (>= 2)
    low, high    range of encoded values (high > low), in the value's own unit
    width        tuning-curve standard deviation, value's unit; default the
                 spacing of the centres
    max_rate_hz  peak rate, Hz (> 0)
    baseline_hz  rate far from the preferred value, Hz, in [0, max_rate_hz)
    """

    def __init__(self, n_neurons: int, low: float, high: float, *, width: float | None = None,
                 max_rate_hz: float = 100.0, baseline_hz: float = 0.0):
        self.n_neurons = _checks.integer(n_neurons, "n_neurons", low=2)
        self.low = _checks.number(low, "low")
        self.high = _checks.number(high, "high", low=self.low, low_open=True)
        self.centres = np.linspace(self.low, self.high, self.n_neurons)
        spacing = (self.high - self.low) / (self.n_neurons - 1)
        self.width = spacing if width is None else _checks.number(width, "width", low=0.0, low_open=True)
        self.max_rate_hz = _checks.number(max_rate_hz, "max_rate_hz", low=0.0, low_open=True)
        self.baseline_hz = _checks.number(baseline_hz, "baseline_hz", low=0.0, high=self.max_rate_hz,
                                          high_open=True)

    def rates(self, values: Any) -> np.ndarray:
        """Rates in Hz, shape ``values.shape + (n_neurons,)``; values must lie in [low, high]."""
        x = _checks.float_array(values, "values", low=self.low, high=self.high)
        return self._rates(x)

    def _rates(self, x: np.ndarray) -> np.ndarray:
        d = (x[..., None] - self.centres) / self.width
        return self.baseline_hz + (self.max_rate_hz - self.baseline_hz) * np.exp(-0.5 * d * d)

    def encode(self, values: Any, window_ms: float, *, seed: int | np.random.Generator = 0,
               t_start_ms: float = 0.0) -> Spikes:
        """Poisson spikes for a scalar or 1-D sequence of values, value k in window k.

        Window k covers [t_start_ms + k * window_ms, t_start_ms + (k + 1) * window_ms).
        """
        x = _checks.float_array(values, "values", ndim=(0, 1), low=self.low, high=self.high).ravel()
        window = _checks.number(window_ms, "window_ms", low=0.0, low_open=True)
        t0 = _checks.number(t_start_ms, "t_start_ms")
        gen = _checks.rng(seed)
        lam = self._rates(x) * window / 1000.0            # (n_values, n_neurons)
        counts = gen.poisson(lam)
        flat = counts.ravel()
        cell = np.repeat(np.arange(flat.size), flat)
        k, ids = np.divmod(cell, self.n_neurons)
        t = t0 + (k + gen.uniform(0.0, 1.0, cell.size)) * window
        return make_spikes(t, ids)

    def decode(self, t_ms: Any, neuron_id: Any, window_ms: float, *, n_windows: int = 1,
               t_start_ms: float = 0.0, method: str = "ml") -> np.ndarray:
        """Decoded values (float64[n_windows]) from the spikes of consecutive windows."""
        window = _checks.number(window_ms, "window_ms", low=0.0, low_open=True)
        n_w = _checks.integer(n_windows, "n_windows", low=1)
        t0 = _checks.number(t_start_ms, "t_start_ms")
        counts = spike_counts(t_ms, neuron_id, self.n_neurons, t0, t0 + n_w * window, bin_ms=window)
        return self.decode_counts(counts, window, method=method)

    def decode_counts(self, counts: Any, window_ms: float, *, method: str = "ml") -> np.ndarray:
        """Decoded values from spike counts, shape (n_neurons,) or (n_windows, n_neurons).

        A window without spikes decodes to the middle of the range.
        """
        c = _checks.float_array(counts, "counts", ndim=(1, 2), low=0.0)
        squeeze = c.ndim == 1
        c = np.atleast_2d(c)
        if c.shape[1] != self.n_neurons:
            raise ConfigError("counts", f"needs {self.n_neurons} columns (one per neuron), got {c.shape[1]}")
        window = _checks.number(window_ms, "window_ms", low=0.0, low_open=True)
        m = _checks.choice(method, "method", DECODERS)
        total = c.sum(axis=1)
        out = np.full(c.shape[0], 0.5 * (self.low + self.high))
        has = total > 0
        if m == "centroid":
            out[has] = (c[has] @ self.centres) / total[has]
        else:
            out[has] = self._ml(c[has], window)
        return out[0] if squeeze else out

    def _ml(self, c: np.ndarray, window_ms: float) -> np.ndarray:
        grid = np.linspace(self.low, self.high, min(40 * self.n_neurons, 4000) + 1)
        lam = self._rates(grid) * window_ms / 1000.0          # (n_grid, n_neurons)
        loglik = c @ np.log(np.maximum(lam, 1e-300)).T - lam.sum(axis=1)  # (n_windows, n_grid)
        best = np.argmax(loglik, axis=1)
        out = grid[best]
        h = grid[1] - grid[0]
        inner = (best > 0) & (best < grid.size - 1)
        rows = np.flatnonzero(inner)
        b = best[rows]
        y0, y1, y2 = loglik[rows, b - 1], loglik[rows, b], loglik[rows, b + 1]
        denom = y0 - 2.0 * y1 + y2
        ok = denom < 0
        shift = np.zeros(rows.size)
        shift[ok] = 0.5 * (y0[ok] - y2[ok]) / denom[ok]
        out[rows] = grid[b] + np.clip(shift, -0.5, 0.5) * h
        return out
