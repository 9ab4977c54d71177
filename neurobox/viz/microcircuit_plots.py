"""The microcircuit's figure (Potjans & Diesmann 2014, Fig. 6 style): a raster of a 100 ms excerpt with a
sample of neurons per population, layer by layer from L2/3 at the top, beside the populations' rates,
irregularity (CV of ISIs) and synchrony as horizontal bars."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from neurobox.viz import style
from neurobox.viz.figure import save_figure


def microcircuit_figure(spikes: dict, stats: dict, path: str | os.PathLike, *, window_ms: tuple[float, float],
                        stats_window_ms: tuple[float, float], per_population: int = 300,
                        title: str = "") -> Path:
    """spikes: population -> SpikeTrains (in the paper's order); stats: population -> an object with rate_hz,
    cv_isi, synchrony. The raster shows `per_population` neurons of each population (every k-th, so the
    same share of each) in `window_ms`; the bars the statistics over `stats_window_ms`."""
    names = list(spikes)
    colours = {name: style.colour("excitatory" if name.endswith("E") else "inhibitory") for name in names}
    fig, axes = style.figure(1, 4, width="wide", height=4.6, gridspec_kw={"width_ratios": [4, 1, 1, 1]})
    ax = axes[0]
    t0, t1 = window_ms
    largest = max(s.n for s in spikes.values())
    step = max(1, math.ceil(largest / per_population))
    offset, ticks = 0, []
    for name in reversed(names):                      # L6I at the bottom, L2/3E at the top
        s = spikes[name]
        shown = np.arange(0, s.n, step)
        row = np.full(s.n, -1, dtype=np.int64)
        row[shown] = np.arange(shown.size)
        t, ids = np.asarray(s.t_ms), np.asarray(s.ids)
        keep = (row[ids] >= 0) & (t >= t0) & (t <= t1)
        ax.scatter(t[keep], row[ids[keep]] + offset, s=5.0, marker=".", color=colours[name], linewidths=0,
                   rasterized=True)
        ticks.append((offset + shown.size / 2, name.replace("L23", "L2/3")))
        offset += shown.size
        ax.axhline(offset - 0.5, color="0.85", linewidth=0.5)
    ax.set_yticks([p for p, _ in ticks], [n for _, n in ticks])
    ax.set_ylim(-0.5, offset - 0.5)
    ax.set_xlim(t0, t1)
    ax.set_xlabel("time (ms)")
    shown_text = "every neuron" if step == 1 else style.every_nth(math.ceil(largest / step), largest).split(" of ")[0]
    ax.set_title(f"{title}\n{shown_text} of each population, {t0:g}-{t1:g} ms", loc="left")
    y = np.arange(len(names))[::-1]
    for a, key, label in ((axes[1], "rate_hz", "rate (Hz)"), (axes[2], "cv_isi", "irregularity\n(CV of ISIs)"),
                          (axes[3], "synchrony", "synchrony\n(Fano factor, 3 ms)")):
        values = [getattr(stats[name], key) for name in names]
        a.barh(y, [0.0 if math.isnan(v) else v for v in values], color=[colours[n] for n in names], height=0.7)
        a.set_yticks(y, [n.replace("L23", "L2/3") for n in names])
        a.set_xlabel(label)
        a.tick_params(axis="y", labelleft=a is axes[1])
    axes[1].set_title(f"{stats_window_ms[0]:g}-{stats_window_ms[1]:g} ms", loc="left")
    return save_figure(fig, path)
