"""Plots of single neurons (matplotlib, headless): a probe's traces, f-I curves, the model gallery.

Every function writes a PNG and returns its path.
"""
from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neurobox.viz import style
from neurobox.viz.figure import save_figure as _save

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
    fig, axes = style.figure(rows, 1, sharex=True, height=2.4 + 1.1 * (rows - 1),
                             gridspec_kw={"height_ratios": [2.5] + [1] * (rows - 1)}, squeeze=False)
    axes = axes[:, 0]
    t = result.times
    v = padded_voltage(result)
    v = v if v.ndim == 2 else v[:, None]
    currents = np.atleast_1d(result.current_pA)
    spikes = result.spike_times_ms if isinstance(result.spike_times_ms, list) else [result.spike_times_ms]
    colours = style.MARK["cycle"] if v.shape[1] > 1 else [style.ROLE_COLOURS["excitatory"]]
    for k in range(v.shape[1]):
        colour = colours[k % len(colours)]
        axes[0].plot(t, v[:, k], linewidth=0.8, color=colour, label=f"{currents[k]:g} pA")
        s = spikes[k]
        if len(s):
            top = np.nanmax(v[:, k])
            axes[0].plot(s, np.full(len(s), top + 2.0), "|", color=colour, markersize=5)
    unit = result.units.get(result.voltage, "mV")
    th = _threshold(result)
    if th is not None:
        axes[0].axhline(th, color=style.MARK["threshold"], linestyle="--", linewidth=0.7)
        right = axes[0].secondary_yaxis("right")
        right.set_yticks([th], [f"{'V_peak' if _spike_peak(result) == th else 'V_th'} {th:g} {unit}"])
        right.tick_params(length=0, colors=style.MARK["threshold"])
        right.spines["right"].set_visible(False)
    axes[0].set_ylabel(f"{result.voltage} ({unit})")
    if v.shape[1] > 1:
        axes[0].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="step current")
    n_spk = sum(len(s) for s in spikes)
    step = f"{currents[0]:g} pA step" if currents.size == 1 else f"steps of {currents.size} currents"
    step += f" from {result.onset_ms:g} ms" if result.onset_ms else ""
    axes[0].set_title(title or f"{result.model}: {n_spk} spikes in {result.duration_ms:g} ms ({step})", loc="left")
    for ax, name in zip(axes[1:], names):
        ax.plot(t, result.traces[name], linewidth=0.8, color=style.ROLE_COLOURS["other"])
        u = result.units.get(name, "")
        ax.set_ylabel(f"{name} ({u})" if u else name)
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(t[0], t[-1])
    return _save(fig, path)


def plot_fi(curve: FICurve, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Mean rate and steady-state rate (Hz) against the step current (pA)."""
    fig, ax = style.figure(width="half", height=3.4)
    ax.plot(curve.currents_pA, curve.rate_hz, "o-", markersize=3, linewidth=1.0,
            color=style.ROLE_COLOURS["excitatory"], label="mean rate over the step")
    steady = np.where(np.isfinite(curve.steady_rate_hz), curve.steady_rate_hz, np.nan)
    ax.plot(curve.currents_pA, steady, "s--", markersize=3, linewidth=0.8, color=style.ROLE_COLOURS["output"],
            label="steady rate (1/ISI, 2nd half)")
    ax.set_xlabel("step current (pA)")
    ax.set_ylabel("rate (Hz)")
    ax.legend()
    ax.set_title(title or f"{curve.model}: f-I curve ({curve.duration_ms:g} ms steps)", loc="left")
    return _save(fig, path)


def plot_gallery_family(family: str, runs: list, path: str | os.PathLike, *, summary: str = "") -> Path:
    """One figure for a model family: every case's V trace, the classifier's pattern and the one its source
    describes.

    runs: (case, ProbeResult, the classifier's Pattern) per case (neurobox.tasks.probe.gallery runs them).
    Each panel: the preset and step current, the pattern found (red where it differs from the expected one),
    and below that the source and the pattern it describes.
    """
    cols = 2 if len(runs) > 1 else 1
    rows = math.ceil(len(runs) / cols)
    fig, axes = style.figure(rows, cols, width="full" if cols == 2 else "half", height=1.9 * rows + 0.6,
                             squeeze=False, sharey=True)
    for ax in axes.ravel()[len(runs):]:
        ax.axis("off")
    models = []
    for ax, (case, res, got) in zip(axes.ravel(), runs):
        same = got.name == case.expected
        colour = style.ROLE_COLOURS["excitatory"] if same else style.MARK["wrong"]
        ax.plot(res.times, padded_voltage(res), linewidth=0.6, color=colour)
        if case.onset_ms > 0:
            ax.axvline(case.onset_ms, color=style.MARK["reference"], linewidth=0.6, linestyle=":")
        chars = int(fig.get_figwidth() / cols * 72 / (style.FONT["small"] * 0.56))
        head = f"{case.label}: found {got.detail}, expected {case.expected}"
        ax.set_title("\n".join(textwrap.wrap(head, chars) + textwrap.wrap(f"source: {case.source}", chars)[:2]),
                     fontsize=style.FONT["small"], loc="left", color="0.15" if same else style.MARK["wrong"])
        ax.set_xlim(0, case.duration_ms)
        if case.model not in models:
            models.append(case.model)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    for ax in axes[:, 0]:
        ax.set_ylabel("V (mV)")
    what = f"{family}: {summary}".rstrip(": ") if len(models) == 1 else f"{family}: {', '.join(models)}"
    fig.suptitle(f"{what}\nstep current from the dotted line; blue: the pattern found is the one the source "
                 f"describes, red: it differs", x=0.01, ha="left", fontsize=style.FONT["base"])
    return _save(fig, path)
