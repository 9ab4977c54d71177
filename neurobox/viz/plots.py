"""Plots of a run (matplotlib, headless): raster over a rate histogram (NEST's style), membrane traces.

Every function takes Results, writes a PNG and returns its path.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from neurobox.results import Results
from neurobox.viz import style
from neurobox.viz.figure import plt, save_figure

UNITS = {"V_m": "mV", "V": "mV", "v": "mV", "theta": "mV", "V_th": "mV", "U_m": "pA", "w": "pA",
         "I_syn_ex": "pA", "I_syn_in": "pA", "I_syn": "pA", "I_e": "pA", "g_ex": "nS", "g_in": "nS",
         "act_m": "1", "inact_h": "1", "act_n": "1"}
"""Units of the state variables a recorder usually holds (neurobox.neurons: NEST's names and units)."""


def subsample(n: int, max_neurons: int, step: int | None = None) -> tuple[np.ndarray, str]:
    """The neurons a raster shows of a population of n: every `step`-th (default: the step that keeps at
    most `max_neurons`), and that in words ("all 800", "every 8th of 3200")."""
    step = step if step is not None else max(1, math.ceil(n / max(1, max_neurons)))
    if step <= 1 or n <= 1:
        return np.arange(n), f"all {n}"
    shown = np.arange(0, n, step)
    return shown, style.every_nth(shown.size, n)


def window_text(t0: float, t1: float, total_ms: float, *, zero_ms: float = 0.0) -> str:
    """'0-1000 ms' (the whole run) or '0-500 ms of a 1000 ms run'."""
    a, b = t0 - zero_ms, t1 - zero_ms
    text = f"{a:g}-{b:g} ms"
    if t0 > 1e-9 or t1 < total_ms - 1e-9:
        text += f" of a {total_ms:g} ms run"
    return text


def raster(results: Results, path: str | os.PathLike, *, t_range_ms: tuple[float, float] | None = None,
           max_neurons: int = 500, bin_ms: float = 5.0, title: str | None = None,
           roles: dict[str, str] | None = None) -> Path:
    """Spike raster (neurons grouped by population) over a population-rate histogram, as NEST draws them.

    Where the populations hold more than `max_neurons` neurons together, every k-th neuron of each is
    shown (the same k for all, so that their sizes keep their proportion; each keeps at least 20 rows),
    said on its axis label and in the title; the histogram counts every spike of every neuron, in `bin_ms` bins, as
    the mean rate per neuron (Hz). t_range_ms: the window drawn (default the whole run; the title
    says which). roles: population -> role (style.ROLES), for its colour (default from its name).
    """
    t0, t1 = t_range_ms or (0.0, results.bio_ms)
    colours = style.population_colours(results.spikes, roles=roles)
    fig, (ax_r, ax_h) = style.figure(2, 1, height=4.4, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    offset, ticks, names, samples = 0, [], [], []
    edges = np.arange(t0, t1 + bin_ms * 0.5, bin_ms)
    step = max(1, math.ceil(sum(s.n for s in results.spikes.values()) / max(1, max_neurons)))
    for name, s in results.spikes.items():
        colour = colours[name]
        shown, said = subsample(s.n, max_neurons, min(step, max(1, s.n // 20)))
        row = np.full(s.n, -1, dtype=np.int64)
        row[shown] = np.arange(shown.size)
        keep = (row[s.ids] >= 0) & (s.t_ms >= t0) & (s.t_ms <= t1)
        ax_r.scatter(s.t_ms[keep], row[s.ids[keep]] + offset, s=1.5, marker=".", color=colour, linewidths=0,
                     rasterized=True)
        if len(edges) > 1:
            counts, _ = np.histogram(s.t_ms, bins=edges)
            rate = counts / s.n / (bin_ms * 1e-3)
            ax_h.stairs(rate, edges, color=colour, linewidth=1.0, label=name)
        ticks.append(offset + shown.size / 2)
        names.append(f"{name}\n({said})")
        samples.append(f"{said} {name}")
        if offset:
            ax_r.axhline(offset - 0.5, color="0.8", linewidth=0.6)
        offset += shown.size
    ax_r.set_yticks(ticks, names)
    for label, name in zip(ax_r.get_yticklabels(), results.spikes):
        label.set_color(colours[name])
    ax_r.tick_params(axis="y", length=0)
    ax_r.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax_r.set_ylabel("neuron")
    total = sum(len(s) for s in results.spikes.values())
    head = title or f"{total} spikes in {results.bio_ms:g} ms"
    ax_r.set_title(f"{head}\nspikes of {', '.join(samples) or 'no neurons'}; {window_text(t0, t1, results.bio_ms)}",
                   loc="left")
    ax_h.set_xlabel("time (ms)")
    ax_h.set_ylabel(f"rate per neuron\n(Hz, {bin_ms:g} ms bins)")
    ax_h.set_xlim(t0, t1)
    ax_h.set_ylim(bottom=0)
    if len(results.spikes) > 1:
        ax_h.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="all neurons")
    return save_figure(fig, path)


def traces(results: Results, path: str | os.PathLike, *, variable: str = "V_m", max_traces: int = 5,
           threshold: float | None = None, reset: float | None = None, title: str | None = None,
           unit: str | None = None) -> Path:
    """Recorded traces of `variable` (first `max_traces` neurons of every recorder), in `unit`.

    unit: default from UNITS. `threshold` and `reset` (same unit), when given, are drawn as dashed
    lines and named on the right-hand axis (not over the traces).
    """
    unit = unit if unit is not None else UNITS.get(variable, "")
    fig, ax = style.figure(height=3.0)
    drawn, span = 0, (np.inf, -np.inf)
    for by_var in results.traces.values():
        tr = by_var.get(variable)
        if tr is None:
            continue
        for j in range(min(max_traces, tr.values.shape[1])):
            shade = style.shades(style.colour(tr.population), min(max_traces, tr.values.shape[1]))[j]
            ax.plot(tr.t_ms, tr.values[:, j], linewidth=0.9, color=shade, label=f"{tr.population} neuron {tr.neurons[j]}")
            drawn += 1
            if tr.t_ms.size:
                span = (min(span[0], tr.t_ms[0]), max(span[1], tr.t_ms[-1]))
    if drawn == 0:
        plt.close(fig)
        raise ValueError(f"no recorded trace of {variable}")
    levels = [(lv, name) for lv, name in ((threshold, "threshold"), (reset, "reset")) if lv is not None]
    for level, _ in levels:
        ax.axhline(level, linestyle="--", linewidth=0.8, color=style.MARK["threshold"])
    if levels:
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, *(lv for lv, _ in levels)) - 1, max(hi, *(lv for lv, _ in levels)) + 1)
        right = ax.secondary_yaxis("right")
        right.set_yticks([lv for lv, _ in levels], [f"{name} {lv:g} {unit}".rstrip() for lv, name in levels])
        right.tick_params(length=0, colors=style.MARK["threshold"])
        right.spines["right"].set_visible(False)
    ax.set_xlabel("time (ms)")
    if span[1] > span[0]:
        ax.set_xlim(0.0 if span[0] <= 1.0 else span[0], span[1])
    ax.set_ylabel(f"{variable} ({unit})" if unit else variable)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(drawn, 4))
    ax.set_title(title or f"{variable} of {drawn} recorded neurons", loc="left")
    return save_figure(fig, path)
