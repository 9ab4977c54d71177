"""Figures of the loop motifs and the reservoir sweep (matplotlib, headless).

Every function takes the dict a `neurobox.tasks.motifs` / `lsm` function
returned, writes a PNG and returns its path (`neurobox.tasks.motifs.figures`
runs the motifs and draws all three).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neurobox.viz.figure import plt, save_figure


def reverberation_figure(example_alive: dict, example_dead: dict, diagram: dict, path) -> Path:
    """Rasters of a persistent and a dying loop, and the weight x delay phase diagram of persistence."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), gridspec_kw={"width_ratios": [1, 1, 1.2]})
    for ax, ex, title in ((axes[0], example_alive, "reverberates"), (axes[1], example_dead, "dies out")):
        for unit, colour in ((0, "tab:blue"), (1, "tab:orange")):
            t = ex["t_ms"][ex["ids"] == unit]
            ax.vlines(t, unit - 0.4, unit + 0.4, color=colour, lw=0.8)
        ax.set_yticks([0, 1], ["A", "B"])
        ax.set_xlabel("time (ms)")
        ax.set_title(f"{title}: w = {ex['weight']:g} pA, d = {ex['delay']:g} ms", fontsize=10)
        ax.set_xlim(0, ex.get("duration_ms", 1000.0))
    ax = axes[2]
    pers = diagram["persistence_ms"]
    im = ax.imshow(pers, origin="lower", aspect="auto", cmap="viridis",
                   vmin=0, vmax=diagram["duration_ms"])
    ax.set_xticks(range(len(diagram["delays_ms"])), [f"{d:g}" for d in diagram["delays_ms"]])
    ax.set_yticks(range(len(diagram["weights_pA"])), [f"{w:g}" for w in diagram["weights_pA"]])
    for i in range(pers.shape[0]):
        for j in range(pers.shape[1]):
            if diagram["persistent"][i, j]:
                ax.text(j, i, "∞", ha="center", va="center", color="k", fontsize=9)
    ax.set_xlabel("loop delay (ms)")
    ax.set_ylabel("loop weight (pA)")
    ax.set_title("persistence after the kick (ms; ∞: still firing at the end)", fontsize=10)
    fig.colorbar(im, ax=ax, label="ms")
    return save_figure(fig, path, dpi=110)


def half_centre_figure(example: dict, sweep: dict, path, window_ms: tuple[float, float] = (1000.0, 3000.0)) -> Path:
    """Raster of alternating bursts, and burst period against inhibition strength."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    ax = axes[0]
    for unit, colour in ((0, "tab:blue"), (1, "tab:red")):
        t = example["t_ms"][example["ids"] == unit]
        t = t[(t >= window_ms[0]) & (t <= window_ms[1])]
        ax.vlines(t, unit - 0.4, unit + 0.4, color=colour, lw=0.8)
    ax.set_yticks([0, 1], ["left", "right"])
    ax.set_xlabel("time (ms)")
    ax.set_title(f"half-centre, inhibition {example['inhibition']:g} pA: period "
                 f"{example['period_ms']:.0f} ms", fontsize=10)
    ax = axes[1]
    g = sweep["inhibition_pA"]
    ok = sweep["alternating"]
    ax.plot(g, sweep["period_ms"], "-", color="0.6")
    ax.plot(g[ok], sweep["period_ms"][ok], "o", color="tab:blue", label="alternating bursts")
    ax.plot(g[~ok], sweep["period_ms"][~ok], "x", color="tab:red", label="no burst alternation")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(g, [f"{x:g}" for x in g])
    ax.set_xlabel("mutual inhibition (pA per spike)")
    ax.set_ylabel("period (ms)")
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=110)


def winnerless_figure(nonsym: dict, sym: dict, stats: dict, path) -> Path:
    """Group rasters of one nonsymmetric and one symmetric trial, with the reproducibility over trials."""
    fig, axes = plt.subplots(2, 1, figsize=(12, 6), sharex=True)
    for ax, trial, name in ((axes[0], nonsym, "nonsymmetric"), (axes[1], sym, "symmetric")):
        gs = trial["group_size"]
        ax.scatter(trial["t_ms"], trial["ids"], s=1.5, c=trial["ids"] // gs, cmap="tab10", vmin=0, vmax=9)
        st = stats[name]
        ax.set_title(f"{name} inhibition: first groups {''.join(map(str, trial['sequence'][:16]))}; "
                     f"order repeated in {st['reproducibility'] * 100:.0f} % of {st['n_trials']} noisy trials",
                     fontsize=10)
        ax.set_ylabel("neuron (grouped)")
    axes[1].set_xlabel("time (ms)")
    return save_figure(fig, path, dpi=110)


def reservoir_sweep_figure(sweep: dict, path) -> Path:
    """NARMA-10 NRMSE against weight scale / spectral radius and against size, spiking and ESN."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    ax = axes[0]
    ax.plot(sweep["scales"], sweep["scale_nrmse"], "o-", color="tab:blue")
    ax.set_xlabel("recurrent weight scale (spiking, 500 neurons)")
    ax.set_ylabel("NARMA-10 test NRMSE")
    ax2 = ax.twinx()
    ax2.plot(sweep["scales"], sweep["scale_rate_hz"], ":", color="0.5")
    ax2.set_ylabel("mean rate (Hz)", color="0.5")
    ax = axes[1]
    ax.plot(sweep["esn_radii"], sweep["esn_radius_nrmse"], "s--", color="tab:orange")
    ax.set_xlabel("spectral radius (ESN, 500 units)")
    ax.set_ylabel("NARMA-10 test NRMSE")
    ax = axes[2]
    ax.plot(sweep["sizes"], sweep["size_nrmse"], "o-", color="tab:blue", label="spiking reservoir")
    ax.plot(sweep["sizes"], sweep["esn_size_nrmse"], "s--", color="tab:orange", label="ESN")
    ax.set_xlabel("neurons / units")
    ax.set_ylabel("NARMA-10 test NRMSE")
    ax.legend(fontsize=8)
    for ax in axes:
        ax.axhline(0.4, color="0.5", lw=0.8, ls=":")
    return save_figure(fig, path, dpi=110)


def prediction_figure(target: np.ndarray, prediction: np.ndarray, path, title: str = "") -> Path:
    """A stretch of test targets against the readout's predictions."""
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.plot(target, color="k", lw=1.0, label="target")
    ax.plot(prediction, color="tab:orange", lw=1.0, label="spiking reservoir")
    ax.set_xlabel("sample")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=110)


def reservoir_raster(t_ms: np.ndarray, ids: np.ndarray, path, until_ms: float = 2000.0, title: str = "") -> Path:
    """Raster of reservoir spikes up to `until_ms`."""
    keep = t_ms < until_ms
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.scatter(t_ms[keep], ids[keep], s=0.5, c="k")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("reservoir neuron")
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path, dpi=110)

