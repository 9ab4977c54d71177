"""The summary figure of a sweep: each population's rate, CV of ISIs and synchrony against the swept value
(mean over seeds, with their standard deviation as a band), a colour per population (by its role)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from neurobox.viz import style
from neurobox.viz.figure import save_figure

LINESTYLES = ("-", "--", ":", "-.")
"""One per combination of the further swept entries."""
METRICS = (("rate_hz", "rate (Hz)"), ("cv_isi", "CV of ISIs"), ("synchrony", "synchrony (Fano factor)"))


def sweep_figure(rows: list[dict[str, Any]], paths: list[str], path: str | os.PathLike, *,
                 title: str = "") -> Path:
    """rows: the sweep's table rows (status "ok" only are drawn); paths: the swept entries. The x axis is the
    first swept entry (the run number when only seeds vary); further swept entries give one line each per
    combination of their values."""
    ok = [r for r in rows if r.get("status") == "ok"]
    populations = sorted({k.split(".", 1)[1] for r in ok for k in r if k.startswith("rate_hz.")})
    fig, axes = style.figure(1, len(METRICS), width="full", height=2.8, squeeze=False)
    x_name = paths[0] if paths else "seed"
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in ok:
        groups.setdefault(tuple(r[p] for p in paths[1:]), []).append(r)
    for ax, (metric, label) in zip(axes[0], METRICS):
        for pop in populations:
            for group, members in groups.items():
                xs = sorted({r[x_name] for r in members})
                ys = [[r[f"{metric}.{pop}"] for r in members if r[x_name] == x] for x in xs]
                mean = np.array([np.nanmean(y) if np.isfinite(y).any() else np.nan for y in ys])
                sd = np.array([np.nanstd(y) if np.isfinite(y).any() else np.nan for y in ys])
                name = pop + "".join(f", {p.rsplit('.', 1)[-1]}={v:g}" for p, v in zip(paths[1:], group))
                line, = ax.plot(xs, mean, marker="o", markersize=3, label=name, color=style.colour(pop),
                                linestyle=LINESTYLES[list(groups).index(group) % len(LINESTYLES)])
                if len(members) > len(xs):
                    ax.fill_between(xs, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel(x_name if paths else "seed")
        ax.set_ylabel(label)
    axes[0][0].legend(fontsize=style.FONT["small"], frameon=False)
    seeds = len({r["seed"] for r in ok})
    fig.suptitle(title or f"{len(ok)} runs, {seeds} seed{'s' if seeds != 1 else ''} each point"
                 + (" (band: one standard deviation over seeds)" if seeds > 1 else ""),
                 fontsize=style.FONT["title"])
    return save_figure(fig, path)
