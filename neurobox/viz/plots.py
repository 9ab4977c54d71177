"""Plots of a run (matplotlib, headless): raster with rate histogram, membrane traces.

Every function takes Results, writes a PNG and returns its path.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurobox.results import Results
from neurobox.viz.figure import plt, save_figure

POPULATION_COLOURS = ["#c0392b", "#2471a3", "#239b56", "#b9770e", "#7d3c98", "#17a589"]


def raster(results: Results, path: str | os.PathLike, *, t_range_ms: tuple[float, float] | None = None,
           max_neurons: int = 500, bin_ms: float = 5.0, title: str | None = None) -> Path:
    """Spike raster (neurons grouped by population) above a population-rate histogram.

    Shows at most `max_neurons` neurons per population (the first ones);
    the histogram counts every spike of every population, in `bin_ms` bins,
    as a rate per neuron (Hz).
    """
    t0, t1 = t_range_ms or (0.0, results.bio_ms)
    fig, (ax_r, ax_h) = plt.subplots(2, 1, sharex=True, figsize=(7.0, 4.2), dpi=100,
                                     gridspec_kw={"height_ratios": [3, 1]})
    offset = 0
    edges = np.arange(t0, t1 + bin_ms, bin_ms)
    for k, (name, s) in enumerate(results.spikes.items()):
        colour = POPULATION_COLOURS[k % len(POPULATION_COLOURS)]
        shown = min(s.n, max_neurons)
        keep = (s.ids < shown) & (s.t_ms >= t0) & (s.t_ms <= t1)
        ax_r.scatter(s.t_ms[keep], s.ids[keep] + offset, s=1.0, marker=".", color=colour, linewidths=0,
                     label=f"{name} ({s.n})")
        counts, _ = np.histogram(s.t_ms, bins=edges)
        rate = counts / s.n / (bin_ms * 1e-3)
        ax_h.step(edges[:-1], rate, where="post", color=colour, linewidth=0.8)
        offset += shown
    ax_r.set_ylabel("neuron")
    ax_r.set_ylim(-0.5, max(offset, 1) - 0.5)
    if results.spikes:
        ax_r.legend(loc="upper right", fontsize=7, markerscale=6, frameon=True)
    ax_r.set_title(title or f"{sum(len(s) for s in results.spikes.values())} spikes in {results.bio_ms:g} ms")
    ax_h.set_xlabel("time (ms)")
    ax_h.set_ylabel("rate (Hz)")
    ax_h.set_xlim(t0, t1)
    return save_figure(fig, path)


def traces(results: Results, path: str | os.PathLike, *, variable: str = "V_m", max_traces: int = 5,
           threshold: float | None = None, reset: float | None = None, title: str | None = None) -> Path:
    """Recorded traces of `variable` (first `max_traces` neurons of every recorder).

    `threshold` and `reset` (mV), when given, are drawn as dashed lines.
    """
    fig, ax = plt.subplots(figsize=(7.0, 3.0), dpi=100)
    drawn = 0
    for by_var in results.traces.values():
        tr = by_var.get(variable)
        if tr is None:
            continue
        for j in range(min(max_traces, tr.values.shape[1])):
            ax.plot(tr.t_ms, tr.values[:, j], linewidth=0.8, label=f"{tr.population}[{tr.neurons[j]}]")
            drawn += 1
    if drawn == 0:
        plt.close(fig)
        raise ValueError(f"no recorded trace of {variable}")
    for level, name in ((threshold, "threshold"), (reset, "reset")):
        if level is not None:
            ax.axhline(level, linestyle="--", linewidth=0.8, color="grey")
            ax.text(ax.get_xlim()[0], level, f" {name}", va="bottom", fontsize=7, color="grey")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(variable)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title or f"{variable} traces")
    return save_figure(fig, path)

