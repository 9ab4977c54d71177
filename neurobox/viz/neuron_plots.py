"""Plots of single neurons (matplotlib, headless): a probe's traces, f-I curves, the model gallery.

Every function writes a PNG and returns its path.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neurobox.viz.figure import save_figure as _save  # noqa: E402

if TYPE_CHECKING:  # types only: the probe runs in the tasks layer, above this one
    from neurobox.tasks.probe import FICurve, ProbeResult

_SKIP = ("ref", "I_syn", "g_ex", "g_in", "dI_", "dg_", "next_index")
"""State variables a probe plot leaves out (synaptic and bookkeeping state, flat under a current step)."""


def _threshold(result: ProbeResult) -> float | None:
    for name in ("V_peak", "v_peak", "V_th"):
        if name in result.params:
            return float(result.params[name])
    return None


def _spike_peak(result: ProbeResult) -> float | None:
    """The potential at which a model cuts its spikes (V_peak), or None where spikes are not cut."""
    for name in ("V_peak", "v_peak"):
        if name in result.params:
            return float(result.params[name])
    if result.model == "izhikevich":
        return float(result.params["V_th"])
    return None


def padded_voltage(result: ProbeResult) -> np.ndarray:
    """V with the sample before each reset raised to the spike cut-off, so spikes show their full height.

    (Models reset inside a step; as in Izhikevich's own plotting code, the peak is drawn in.)
    """
    v = np.array(result.v, dtype=float, copy=True)
    peak = _spike_peak(result)
    if peak is None:
        return v
    spikes = result.spike_times_ms if isinstance(result.spike_times_ms, list) else [result.spike_times_ms]
    cols = v if v.ndim == 2 else v[:, None]
    for k, s in enumerate(spikes):
        idx = np.rint(np.asarray(s) / result.dt).astype(int) - 1
        idx = idx[(idx >= 0) & (idx < cols.shape[0])]
        cols[idx, k] = np.maximum(cols[idx, k], peak)
    return v


def plot_probe(result: ProbeResult, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """The membrane trace (threshold dashed, spikes marked) above the model's other variables.

    For several neurons (a list of currents) the traces are overlaid, one colour per current.
    """
    names = [n for n in result.traces if n != result.voltage and not n.startswith(_SKIP)]
    rows = 1 + len(names)
    fig, axes = plt.subplots(rows, 1, sharex=True, figsize=(7.0, 2.2 + 1.1 * (rows - 1)), dpi=90,
                             gridspec_kw={"height_ratios": [2.5] + [1] * (rows - 1)}, squeeze=False)
    axes = axes[:, 0]
    t = result.times
    v = padded_voltage(result)
    v = v if v.ndim == 2 else v[:, None]
    currents = np.atleast_1d(result.current_pA)
    spikes = result.spike_times_ms if isinstance(result.spike_times_ms, list) else [result.spike_times_ms]
    for k in range(v.shape[1]):
        line, = axes[0].plot(t, v[:, k], linewidth=0.8, label=f"{currents[k]:g} pA")
        s = spikes[k]
        if len(s):
            top = np.nanmax(v[:, k])
            axes[0].plot(s, np.full(len(s), top + 2.0), "|", color=line.get_color(), markersize=5)
    th = _threshold(result)
    if th is not None:
        axes[0].axhline(th, color="0.5", linestyle="--", linewidth=0.7)
    axes[0].set_ylabel(f"{result.voltage} ({result.units.get(result.voltage, 'mV')})")
    if v.shape[1] > 1:
        axes[0].legend(fontsize=7, loc="upper right")
    n_spk = sum(len(s) for s in spikes)
    axes[0].set_title(title or f"{result.model}: {n_spk} spikes in {result.duration_ms:g} ms")
    for ax, name in zip(axes[1:], names):
        ax.plot(t, result.traces[name], linewidth=0.8)
        ax.set_ylabel(f"{name} ({result.units.get(name, '')})", fontsize=8)
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(t[0], t[-1])
    return _save(fig, path)


def plot_fi(curve: FICurve, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Mean rate and steady-state rate (Hz) against the step current (pA)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.4), dpi=90)
    ax.plot(curve.currents_pA, curve.rate_hz, "o-", markersize=3, linewidth=1.0, label="mean rate over the step")
    steady = np.where(np.isfinite(curve.steady_rate_hz), curve.steady_rate_hz, np.nan)
    ax.plot(curve.currents_pA, steady, "s--", markersize=3, linewidth=0.8, label="steady rate (1/ISI, 2nd half)")
    ax.set_xlabel("current (pA)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize=7)
    ax.set_title(title or f"{curve.model}: f-I curve ({curve.duration_ms:g} ms steps)")
    return _save(fig, path)


def plot_gallery_family(family: str, runs: list, path: str | os.PathLike, *, summary: str = "") -> Path:
    """One figure for a model family: every case's V trace, the classifier's pattern, the paper's.

    runs: (case, ProbeResult, the classifier's Pattern) per case (neurobox.tasks.probe.gallery runs them).
    """
    cols = 2 if len(runs) > 1 else 1
    rows = math.ceil(len(runs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 1.75 * rows + 0.5), dpi=80, squeeze=False)
    for ax in axes.ravel()[len(runs):]:
        ax.axis("off")
    for ax, (case, res, got) in zip(axes.ravel(), runs):
        colour = "#2471a3" if got.name == case.expected else "#c0392b"
        ax.plot(res.times, padded_voltage(res), linewidth=0.6, color=colour)
        if case.onset_ms > 0:
            ax.axvline(case.onset_ms, color="0.6", linewidth=0.6, linestyle=":")
        mark = "" if got.name == case.expected else "  (differs)"
        ax.set_title(f"{case.label}: {got.detail}{mark}", fontsize=8, loc="left", pad=10)
        ax.text(0.0, 1.01, f"{case.source}; the paper: {case.expected}", transform=ax.transAxes, fontsize=5.5,
                ha="left", va="bottom", color="0.35")
        ax.tick_params(labelsize=6)
        ax.set_xlim(0, case.duration_ms)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("V (mV)", fontsize=7)
    fig.suptitle(f"{family}: {summary}", fontsize=9)
    return _save(fig, path)
