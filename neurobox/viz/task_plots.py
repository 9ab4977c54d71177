"""Pictures of the learning tasks: each digits neuron's learned weights as an 8x8 image; learning curves.

matplotlib with the Agg backend (headless); functions write a PNG and return its path.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from neurobox.errors import ConfigError
from neurobox.viz.figure import plt, save_figure


def weight_images(weights: np.ndarray, path: str | os.PathLike, *, labels: np.ndarray | None = None,
                  title: str | None = None, side: int = 8) -> Path:
    """Draw each column of `weights` (n_pixels = side * side, n_neurons), in nS, as a side x side tile.

    labels: optional class per neuron (-1: none), written above its tile.
    Each tile is scaled to its own maximum (dark = strong).
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != side * side or w.shape[1] == 0:
        raise ConfigError("weights", f"expected shape ({side * side}, n_neurons >= 1), got {w.shape}")
    n = w.shape[1]
    cols = math.ceil(math.sqrt(n * 1.5))
    rows = math.ceil(n / cols)
    tile = side + 1
    canvas = np.full((rows * tile - 1, cols * tile - 1), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        img = w[:, k].reshape(side, side)
        peak = img.max()
        canvas[r * tile:r * tile + side, c * tile:c * tile + side] = img / peak if peak > 0 else img
    fig, ax = plt.subplots(figsize=(min(0.55 * cols + 0.4, 12.0), min(0.6 * rows + 0.6, 12.0)), dpi=80)
    cmap = plt.get_cmap("gray_r").with_extremes(bad="#dfe6ee")
    ax.imshow(canvas, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    if labels is not None:
        labels = np.asarray(labels)
        size = max(4.0, min(8.0, 40.0 / cols * 2))
        for k in range(n):
            r, c = divmod(k, cols)
            text = "-" if labels[k] < 0 else str(int(labels[k]))
            ax.text(c * tile + 0.0, r * tile + 0.6, text, color="#c0392b", fontsize=size, va="center")
    ax.set_axis_off()
    ax.set_title(title or f"learned input weights of {n} neurons (8x8 pixels)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def learning_curve(curves: np.ndarray, block: int, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Fraction correct per block of `block` training trials: one faint line per seed, the mean in bold."""
    c = np.atleast_2d(np.asarray(curves, dtype=float))
    if c.size == 0:
        raise ConfigError("curves", "no learning curve to draw")
    x = (np.arange(c.shape[1]) + 1) * block
    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=90)
    for row in c:
        ax.plot(x, row, color="#7f8c8d", alpha=0.35, linewidth=0.8)
    ax.plot(x, c.mean(axis=0), color="#c0392b", linewidth=2.0, label=f"mean of {c.shape[0]} seeds")
    ax.axhline(0.5, color="#2471a3", linestyle=":", linewidth=1.0, label="chance")
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("training trials")
    ax.set_ylabel(f"fraction correct (per {block} trials)")
    ax.set_title(title or "learning curve", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


FAULT_PANELS = (("loss", "packet loss", 100.0, "%"), ("dead_fraction", "dead units", 100.0, "%"),
                ("reset_fraction", "units reset once", 100.0, "%"), ("drift_ppm", "clock drift up to", 1.0, "ppm"))
"""The kinds of fault a sweep may hold: (key, axis label, scale to the axis unit, unit)."""


def fault_sweep(sweep: dict, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Test accuracy against each kind of fault of a sweep (neurobox.tasks.digits.fault_sweep), one panel each,
    with the healthy accuracy (0 on every axis) as the first point and as a dotted line."""
    panels = [p for p in FAULT_PANELS if sweep.get(p[0])]
    if not panels:
        raise ConfigError("sweep", "no fault cases to draw")
    healthy = float(sweep["healthy"])
    fig, axes = plt.subplots(1, len(panels), figsize=(2.9 * len(panels), 3.0), dpi=90, squeeze=False)
    for ax, (key, label, scale, unit) in zip(axes[0], panels):
        rows = sweep[key]
        x = [0.0] + [scale * r[key] for r in rows]
        y = [100 * healthy] + [100 * r["test_accuracy"] for r in rows]
        ax.plot(x, y, "o-", color="#c0392b", linewidth=1.6, markersize=4)
        ax.axhline(100 * healthy, color="#7f8c8d", linestyle=":", linewidth=1.0)
        ax.axhline(10.0, color="#2471a3", linestyle=":", linewidth=1.0)
        ax.set_ylim(0.0, 100.0)
        ax.set_xlabel(f"{label} ({unit})")
        ax.set_ylabel("test accuracy (%)")
    axes[0][0].text(0.02, 0.04, "chance", color="#2471a3", fontsize=7, transform=axes[0][0].transAxes)
    fig.suptitle(title or f"faults on a trained network ({sweep.get('target', 'engine')})", fontsize=9)
    return save_figure(fig, path)
