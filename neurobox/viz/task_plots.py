"""Pictures of the learning tasks: the digits neurons' learned weights as 8x8 images, the digits test
raster (learners sorted by class, the digit shown and the answer marked), learning curves, fault sweeps.

matplotlib with the Agg backend (headless); functions write a PNG and return its path.
"""
from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.transforms import blended_transform_factory

from neurobox.errors import ConfigError
from neurobox.viz import style
from neurobox.viz.figure import plt, save_figure


def _grid(n: int) -> tuple[int, int]:
    """(rows, cols) for n tiles: the fewest empty places, then the squarest, at most twice as wide as tall."""
    best = None
    for cols in range(max(1, math.ceil(math.sqrt(n))), max(1, math.ceil(math.sqrt(2 * n))) + 1):
        rows = math.ceil(n / cols)
        key = (rows * cols - n, abs(cols - rows))
        if best is None or key < best[0]:
            best = (key, rows, cols)
    return best[1], best[2]


def weight_images(weights: np.ndarray, path: str | os.PathLike, *, labels: np.ndarray | None = None,
                  title: str | None = None, side: int = 8) -> Path:
    """Draw each column of `weights` (n_pixels = side * side, n_neurons), in nS, as a side x side tile.

    labels: optional class per neuron (-1: none): the tiles are then sorted by class and each class is
    written above its tile (style.FONT["small"], 8 pt). Each tile is scaled to its own strongest weight
    (black); the cells are square and the canvas holds the tiles and nothing else.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != side * side or w.shape[1] == 0:
        raise ConfigError("weights", f"expected shape ({side * side}, n_neurons >= 1), got {w.shape}")
    n = w.shape[1]
    order = np.arange(n)
    if labels is not None:
        labels = np.asarray(labels)
        order = np.argsort(np.where(labels < 0, 10 ** 6, labels), kind="stable")
    rows, cols = _grid(n)
    strip = 3 if labels is not None else 1      # cells above each tile: its label (or a gap)
    tile_w, tile_h = side + 1, side + strip
    canvas = np.full((rows * tile_h, cols * tile_w - 1), np.nan)
    for place, k in enumerate(order):
        r, c = divmod(place, cols)
        img = w[:, k].reshape(side, side)
        peak = img.max()
        top = r * tile_h + strip
        canvas[top:top + side, c * tile_w:c * tile_w + side] = img / peak if peak > 0 else img
    cell = max(0.05, style.WIDTH["half"] / canvas.shape[1])      # inches per pixel cell
    width = canvas.shape[1] * cell
    what = "; sorted by the class each was assigned (above it; –: never fired)" if labels is not None else ""
    chars = max(20, int(width * 72 / (style.FONT["small"] * 0.56)))   # what a line of small text holds
    lines = textwrap.wrap(title or f"learned input weights of {n} neurons", chars) + textwrap.wrap(
        f"each tile: one neuron's {side * side} input weights as {side}x{side} pixels, black = its strongest{what}",
        chars)
    head = (len(lines) * 1.25 * style.FONT["small"] + 4) / 72                # inches for the caption
    fig = plt.figure(figsize=(width, canvas.shape[0] * cell + head), dpi=style.DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, canvas.shape[0] * cell / (canvas.shape[0] * cell + head)))
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest", aspect="equal")
    if labels is not None:
        for place, k in enumerate(order):
            r, c = divmod(place, cols)
            text = "–" if labels[k] < 0 else str(int(labels[k]))
            ax.text(c * tile_w + side / 2 - 0.5, r * tile_h + strip - 1.6, text, ha="center", va="center",
                    color=style.MARK["cycle"][4] if labels[k] >= 0 else "0.5", fontsize=style.FONT["small"],
                    fontweight="bold")
    ax.set_axis_off()
    fig.text(0.0, 1.0, "\n".join(lines), ha="left", va="top", fontsize=style.FONT["small"], linespacing=1.25)
    return save_figure(fig, path, layout=False)


def digits_test_raster(evaluation, path: str | os.PathLike, *, present_ms: float, window_ms: float = 3000.0,
                       input_rows: int = 16, bin_ms: float = 10.0, title: str | None = None) -> Path:
    """The test phase of the digits network (neurobox.tasks.digits.Evaluation) over its first `window_ms`,
    time counted from the start of the test: the pixel inputs (every k-th of 64, `input_rows` rows) above
    the learners sorted by the class each was assigned, each presentation shaded with the digit shown and
    the network's answer above it, over the learners' rate (Hz per neuron, `bin_ms` bins).
    """
    from neurobox.viz.plots import subsample

    res, t0 = evaluation.test_results, float(evaluation.test_start_ms)
    t1 = min(res.bio_ms, t0 + window_ms)
    labels = np.asarray(evaluation.neuron_labels)
    inp, exc = res.spikes["input"], res.spikes["exc"]
    fig, (ax_i, ax_e, ax_h) = style.figure(3, 1, height=5.6, sharex=True,
                                           gridspec_kw={"height_ratios": [0.9, 4, 1.2]})
    # inputs: every k-th pixel
    shown, said = subsample(inp.n, input_rows)
    row = np.full(inp.n, -1)
    row[shown] = np.arange(shown.size)
    keep = (row[inp.ids] >= 0) & (inp.t_ms >= t0) & (inp.t_ms <= t1)
    ax_i.scatter(inp.t_ms[keep] - t0, row[inp.ids[keep]], s=1.0, marker=".", linewidths=0,
                 color=style.ROLE_COLOURS["input"], rasterized=True)
    ax_i.set_ylim(-0.5, shown.size - 0.5)
    ax_i.set_yticks([(shown.size - 1) / 2], [f"pixels\n({said})"])
    ax_i.tick_params(axis="y", length=0)
    ax_i.get_yticklabels()[0].set_color(style.ROLE_COLOURS["input"])
    # learners sorted by class
    order = np.argsort(np.where(labels < 0, 10 ** 6, labels), kind="stable")
    place = np.empty_like(order)
    place[order] = np.arange(order.size)
    keep = (exc.t_ms >= t0) & (exc.t_ms <= t1)
    ax_e.scatter(exc.t_ms[keep] - t0, place[exc.ids[keep]], s=4.0 if labels.size <= 100 else 2.0, marker=".", linewidths=0,
                 color=style.ROLE_COLOURS["learning"], rasterized=True)
    sorted_labels = labels[order]
    ticks, names = [], []
    for k, c in enumerate(sorted(set(sorted_labels.tolist()), key=lambda c: (c < 0, c))):
        members = np.flatnonzero(sorted_labels == c)
        if k % 2:
            ax_e.axhspan(members[0] - 0.5, members[-1] + 0.5, color="0.93", linewidth=0, zorder=0)
        ticks.append((members[0] + members[-1]) / 2)
        names.append("none" if c < 0 else str(c))
    ax_e.set_yticks(ticks, names)
    ax_e.tick_params(axis="y", length=0)
    ax_e.set_ylim(-0.5, labels.size - 0.5)
    ax_e.set_ylabel(f"learners (all {labels.size}),\nby assigned class")
    # rate
    edges = np.arange(0.0, t1 - t0 + bin_ms * 0.5, bin_ms)
    if edges.size > 1:
        counts, _ = np.histogram(exc.t_ms - t0, bins=edges)
        ax_h.stairs(counts / exc.n / (bin_ms * 1e-3), edges, color=style.ROLE_COLOURS["learning"], fill=True,
                    alpha=0.8)
    ax_h.set_ylabel(f"learners' rate\n(Hz, {bin_ms:g} ms bins)")
    ax_h.set_xlabel("time since the test began (ms)")
    ax_h.set_xlim(0.0, t1 - t0)
    ax_h.set_ylim(bottom=0)
    # presentations: the digit shown and the answer
    onsets = getattr(evaluation, "test_onsets_ms", None)
    if onsets is not None and len(onsets):
        images = np.asarray(evaluation.test_onset_images)
        onsets = np.asarray(onsets, dtype=float)
        last = np.zeros(onsets.size, dtype=bool)           # the presentation whose spikes were counted
        seen = set()
        for j in range(onsets.size - 1, -1, -1):
            if images[j] not in seen:
                last[j] = True
                seen.add(images[j])
        shown_class = np.asarray(evaluation.y_test)[images]
        answer = np.where(last, np.asarray(evaluation.predictions)[images], -1)
        for ax in (ax_i, ax_e, ax_h):
            for t in onsets - t0:
                if t < t1 - t0:
                    ax.axvspan(t, t + present_ms, color=style.MARK["stimulus"], alpha=0.07, linewidth=0)
        class_marks(ax_i, onsets - t0, present_ms, shown_class, answer, t_max=t1 - t0)
        inside = (onsets - t0 < t1 - t0)
        right = int(np.sum((answer == shown_class) & last & inside))
        n_ans = int(np.sum(last & inside))
        score = f"; {right} of {n_ans} answered right here, {100 * evaluation.test_accuracy:.1f} % of all"
    else:
        score = f"; test accuracy {100 * evaluation.test_accuracy:.1f} %"
    head = title or "digits network, test phase"
    ax_i.set_title(f"{head}\nfirst {t1 - t0:g} ms of {res.bio_ms - t0:g} ms{score}", loc="left", pad=30)
    return save_figure(fig, path)


def class_marks(ax, onsets_ms, present_ms: float, shown, answered, *, t_max: float,
                rows: tuple[float, float] = (1.42, 1.08)) -> None:
    """Above `ax` (a raster whose x axis is time, ms): the class presented at each onset (stimulus
    colour), and under it the network's answer (green right, red wrong; '·': no spike, shown again)."""
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for t, c, a in zip(onsets_ms, shown, answered):
        if t >= t_max:
            continue
        mid = t + present_ms / 2
        ax.text(mid, rows[0], str(int(c)), transform=top, ha="center", va="bottom", fontsize=style.FONT["small"],
                color=style.MARK["stimulus"], fontweight="bold", clip_on=False)
        ax.text(mid, rows[1], "·" if a < 0 else str(int(a)), transform=top, ha="center", va="bottom",
                fontsize=style.FONT["small"], color=style.MARK["correct" if a == c else "wrong"],
                fontweight="bold", clip_on=False)
    for y, word, colour in ((rows[0], "digit shown", style.MARK["stimulus"]), (rows[1], "answer", "0.2")):
        ax.text(-0.01, y, word, transform=ax.transAxes, ha="right", va="bottom", fontsize=style.FONT["small"],
                color=colour, clip_on=False)


def learning_curve(curves: np.ndarray, block: int, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Fraction correct per block of `block` training trials: one faint line per seed, the mean in bold."""
    c = np.atleast_2d(np.asarray(curves, dtype=float))
    if c.size == 0:
        raise ConfigError("curves", "no learning curve to draw")
    x = (np.arange(c.shape[1]) + 1) * block
    fig, ax = style.figure(width="half", height=3.2)
    for row in c:
        ax.plot(x, row, color=style.MARK["reference"], alpha=0.35, linewidth=0.8)
    ax.plot(x, c.mean(axis=0), color=style.ROLE_COLOURS["learning"], linewidth=2.0,
            label=f"mean of {c.shape[0]} seeds")
    ax.axhline(0.5, color=style.MARK["chance"], linestyle=":", linewidth=1.0, label="chance (0.5)")
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("training trials")
    ax.set_ylabel(f"fraction correct\n(per block of {block} trials)")
    ax.set_title(title or "learning curve", loc="left")
    ax.legend(loc="lower right")
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
    fig, axes = style.figure(1, len(panels), width=max(style.WIDTH["half"], 2.5 * len(panels)), height=2.9,
                             squeeze=False, sharey=True)
    for ax, (key, label, scale, unit) in zip(axes[0], panels):
        rows = sweep[key]
        x = [0.0] + [scale * r[key] for r in rows]
        y = [100 * healthy] + [100 * r["test_accuracy"] for r in rows]
        ax.plot(x, y, "o-", color=style.MARK["wrong"], linewidth=1.6, markersize=4)
        ax.axhline(100 * healthy, color=style.MARK["reference"], linestyle=":", linewidth=1.0)
        ax.axhline(10.0, color=style.MARK["chance"], linestyle=":", linewidth=1.0)
        ax.set_ylim(0.0, 100.0)
        ax.set_xlabel(f"{label} ({unit})")
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][0].text(0.02, 0.11, "chance (10 %)", color=style.MARK["chance"], fontsize=style.FONT["small"],
                    transform=axes[0][0].transAxes)
    axes[0][0].text(0.02, healthy - 0.09, "no faults", color=style.MARK["reference"], fontsize=style.FONT["small"],
                    transform=axes[0][0].transAxes)
    fig.suptitle(title or f"faults on a trained network ({sweep.get('target', 'engine')})", x=0.01, ha="left")
    return save_figure(fig, path)
