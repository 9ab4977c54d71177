"""Figures of the loop motifs and the reservoir sweep (matplotlib, headless).

Every function takes the dict a `neurobox.tasks.motifs` / `lsm` function
returned, writes a PNG and returns its path (`neurobox.tasks.motifs.figures`
runs the motifs and draws all three).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import LogNorm

from neurobox.viz import style
from neurobox.viz.figure import save_figure

PAIR = (style.ROLE_COLOURS["excitatory"], style.ROLE_COLOURS["output"])
"""The two neurons of a loop or a half-centre (both excitatory; told apart by hue)."""


def reverberation_figure(example_alive: dict, example_dead: dict, diagram: dict, path) -> Path:
    """Rasters of a persistent and a dying loop, and the weight x delay phase diagram of persistence.

    The phase diagram's colours are logarithmic where the persistence spans decades (style.colour_norm);
    a loop that stopped with the kick (0 ms) is grey, one still firing at the end is marked ∞.
    """
    fig, axes = style.figure(1, 3, width=style.WIDTH["wide"] + 1.0, height=3.6,
                             gridspec_kw={"width_ratios": [1, 1, 1.25]})
    for ax, ex, title in ((axes[0], example_alive, "reverberates"), (axes[1], example_dead, "dies out")):
        for unit, colour in ((0, PAIR[0]), (1, PAIR[1])):
            t = ex["t_ms"][ex["ids"] == unit]
            ax.vlines(t, unit - 0.4, unit + 0.4, color=colour, lw=0.8)
        ax.set_yticks([0, 1], ["A", "B"])
        ax.set_xlabel("time (ms)")
        ax.set_title(f"{title}: w = {ex['weight']:g} pA,\nd = {ex['delay']:g} ms; kick into A at 10 ms", loc="left")
        ax.set_xlim(0, ex.get("duration_ms", 1000.0))
    ax = axes[2]
    pers = np.asarray(diagram["persistence_ms"], dtype=float)
    alive = np.asarray(diagram["persistent"], dtype=bool)
    finite = np.where(alive | (pers <= 0), np.nan, pers)
    norm = style.colour_norm(finite)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(finite), origin="lower", aspect="auto", cmap=cmap, norm=norm)
    ax.set_xticks(range(len(diagram["delays_ms"])), [f"{d:g}" for d in diagram["delays_ms"]])
    ax.set_yticks(range(len(diagram["weights_pA"])), [f"{w:g}" for w in diagram["weights_pA"]])
    for i in range(pers.shape[0]):
        for j in range(pers.shape[1]):
            if alive[i, j]:
                ax.text(j, i, "∞", ha="center", va="center", color="k", fontsize=style.FONT["base"])
            elif pers[i, j] <= 0:
                ax.text(j, i, "0", ha="center", va="center", color="0.4", fontsize=style.FONT["small"])
    ax.set_xlabel("loop delay (ms)")
    ax.set_ylabel("loop weight (pA)")
    ax.set_title(f"persistence after the kick, {diagram['duration_ms']:g} ms runs\n"
                 f"(∞: still firing at the end; 0: no spike after the kick)", loc="left")
    fig.colorbar(im, ax=ax, label="persistence (ms" + (", log scale)" if isinstance(norm, LogNorm) else ")"))
    return save_figure(fig, path)


def half_centre_figure(example: dict, sweep: dict, path, window_ms: tuple[float, float] = (1000.0, 3000.0)) -> Path:
    """Raster of alternating bursts (over `window_ms`), and burst period against inhibition strength."""
    fig, axes = style.figure(1, 2, width="wide", height=3.4)
    ax = axes[0]
    for unit, colour in ((0, PAIR[0]), (1, PAIR[1])):
        t = example["t_ms"][example["ids"] == unit]
        t = t[(t >= window_ms[0]) & (t <= window_ms[1])]
        ax.vlines(t, unit - 0.4, unit + 0.4, color=colour, lw=0.8)
    ax.set_yticks([0, 1], ["left", "right"])
    ax.set_xlim(*window_ms)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"half-centre, inhibition {example['inhibition']:g} pA: period "
                 f"{example['period_ms']:.0f} ms\n({window_ms[0]:g}-{window_ms[1]:g} ms of the run)", loc="left")
    ax = axes[1]
    g = np.asarray(sweep["inhibition_pA"], dtype=float)
    ok = np.asarray(sweep["alternating"], dtype=bool)
    period = np.array([np.nan if p is None else p for p in sweep["period_ms"]], dtype=float)
    ax.plot(g, period, "-", color=style.MARK["reference"])
    ax.plot(g[ok], period[ok], "o", color=style.MARK["correct"], label="alternating bursts")
    ax.plot(g[~ok], period[~ok], "x", color=style.MARK["wrong"], label="no burst alternation")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(g, [f"{x:g}" for x in g])
    ax.set_xlabel("mutual inhibition (pA per spike, log scale)")
    ax.set_ylabel("burst period (ms)")
    ax.set_title("period against inhibition", loc="left")
    ax.legend()
    return save_figure(fig, path)


def winnerless_figure(nonsym: dict, sym: dict, stats: dict, path) -> Path:
    """Group rasters of one nonsymmetric and one symmetric trial, with the reproducibility over trials."""
    fig, axes = style.figure(2, 1, width="wide", height=5.6, sharex=True)
    for ax, trial, name in ((axes[0], nonsym, "nonsymmetric"), (axes[1], sym, "symmetric")):
        gs = trial["group_size"]
        groups = trial["ids"] // gs
        ax.scatter(trial["t_ms"], trial["ids"], s=1.5, c=groups, cmap="tab10", vmin=0, vmax=9, linewidths=0,
                   rasterized=True)
        n_groups = int(np.max(groups)) + 1 if len(groups) else 0
        ax.set_yticks([(k + 0.5) * gs for k in range(n_groups)], [str(k) for k in range(n_groups)])
        st = stats[name]
        ax.set_title(f"{name} inhibition: first groups to win {''.join(map(str, trial['sequence'][:16]))}; "
                     f"that order repeated in {st['reproducibility'] * 100:.0f} % of {st['n_trials']} noisy trials",
                     loc="left")
        ax.set_ylabel(f"group ({gs} neurons each)")
    axes[1].set_xlabel("time (ms)")
    return save_figure(fig, path)


def reservoir_sweep_figure(sweep: dict, path) -> Path:
    """NARMA-10 NRMSE against weight scale / spectral radius and against size, spiking and ESN."""
    spiking, esn = style.ROLE_COLOURS["excitatory"], style.ROLE_COLOURS["output"]
    fig, axes = style.figure(1, 3, width=style.WIDTH["wide"] + 2.0, height=3.4)
    ax = axes[0]
    ax.plot(sweep["scales"], sweep["scale_nrmse"], "o-", color=spiking)
    ax.set_xlabel("recurrent weight scale (spiking, 500 neurons)")
    ax.set_ylabel("NARMA-10 test NRMSE")
    ax2 = ax.twinx()
    ax2.plot(sweep["scales"], sweep["scale_rate_hz"], ":", color=style.MARK["reference"])
    ax2.set_ylabel("mean rate (Hz)", color=style.MARK["reference"])
    ax = axes[1]
    ax.plot(sweep["esn_radii"], sweep["esn_radius_nrmse"], "s--", color=esn)
    ax.set_xlabel("spectral radius (ESN, 500 units)")
    ax.set_ylabel("NARMA-10 test NRMSE")
    ax = axes[2]
    ax.plot(sweep["sizes"], sweep["size_nrmse"], "o-", color=spiking, label="spiking reservoir")
    ax.plot(sweep["sizes"], sweep["esn_size_nrmse"], "s--", color=esn, label="ESN")
    ax.set_xlabel("neurons (spiking) / units (ESN)")
    ax.set_ylabel("NARMA-10 test NRMSE")
    for ax in axes:
        ax.axhline(0.4, color=style.MARK["reference"], lw=0.8, ls=":", label="NRMSE 0.4")
    axes[2].legend()
    return save_figure(fig, path)


def prediction_figure(target: np.ndarray, prediction: np.ndarray, path, title: str = "") -> Path:
    """A stretch of test targets against the readout's predictions (x: test sample, one per input step)."""
    fig, ax = style.figure(height=3.0)
    ax.plot(target, color="k", lw=1.0, label="target")
    ax.plot(prediction, color=style.ROLE_COLOURS["output"], lw=1.0, label="spiking reservoir's readout")
    ax.set_xlabel(f"test sample (first {len(target)}, one per input step)")
    ax.set_ylabel("output (task units)")
    ax.set_title(title, loc="left")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return save_figure(fig, path)


def reservoir_raster(t_ms: np.ndarray, ids: np.ndarray, path, until_ms: float = 2000.0, title: str = "") -> Path:
    """Raster of reservoir spikes up to `until_ms` (every neuron)."""
    keep = t_ms < until_ms
    fig, ax = style.figure(height=3.6)
    ax.scatter(t_ms[keep], ids[keep], s=1.0, color=style.ROLE_COLOURS["excitatory"], linewidths=0, rasterized=True)
    n = int(ids.max()) + 1 if ids.size else 0
    ax.set_xlim(0, until_ms)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"reservoir neuron (all {n})")
    ax.set_title(f"{title}\n0-{until_ms:g} ms" if title else f"0-{until_ms:g} ms", loc="left")
    return save_figure(fig, path)
