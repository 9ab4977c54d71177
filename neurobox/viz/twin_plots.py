"""Plots of a twin run (matplotlib, headless): bus load over time, delivery latency histogram.

Each function takes a neurobox.twin.TwinResult, writes a small PNG and returns its path.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurobox.viz.figure import plt, save_figure


def bus_load(result, path: str | os.PathLike, window_ms: float = 10.0) -> Path:
    """Fraction of time the bus line is busy, per tick (thin) and averaged over `window_ms` (thick)."""
    series = np.asarray(result.bus.get("bus_load_series", []), dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 2.6), dpi=90)
    if series.size:
        t = (np.arange(series.size) + 0.5) * result.dt_ms
        ax.plot(t, 100 * series, lw=0.4, color="#aab7b8", label="per tick")
        k = max(1, int(round(window_ms / result.dt_ms)))
        if series.size >= k:
            smooth = np.convolve(series, np.ones(k) / k, mode="valid")
            ax.plot(t[k - 1:], 100 * smooth, lw=1.4, color="#2471a3", label=f"{window_ms:g} ms mean")
    ax.axhline(100, color="#c0392b", lw=0.8, ls="--")
    sat = " (SATURATED)" if result.bus.get("saturated") else ""
    ax.set_title(f"bus load: {100 * result.bus.get('bus_load', 0):.2f} % mean, "
                 f"{100 * result.bus.get('bus_load_peak', 0):.1f} % peak tick{sat}", fontsize=9)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("line busy (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=7, loc="upper right")
    return save_figure(fig, path)


def latency(result, path: str | os.PathLike, bins: int = 40) -> Path:
    """Histogram of delivery latencies (ms): from the sender's tick to the receiving tick that took the spike in."""
    lat = np.asarray(result.latency_ms, dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 2.6), dpi=90)
    if lat.size:
        lo, hi = lat.min(), lat.max()
        if hi - lo < 1e-9:
            lo, hi = lo - 0.01, hi + 0.01
        ax.hist(lat, bins=bins, range=(lo, hi), color="#239b56")
        p50, p99 = np.percentile(lat, [50, 99])
        for v, name in ((p50, "p50"), (p99, "p99")):
            ax.axvline(v, color="#7d3c98", lw=0.8, ls="--")
        ax.set_title(f"{lat.size} deliveries, p50 {p50:.3f} ms, p99 {p99:.3f} ms, lost {result.lost}", fontsize=9)
        ax.set_yscale("log")
    else:
        ax.set_title("no spike was delivered", fontsize=9)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("deliveries")
    return save_figure(fig, path)


def plot_all(result, out_dir: str | os.PathLike) -> list[Path]:
    """latency.png, and bus_load.png on the bus, in out_dir."""
    out_dir = Path(out_dir)
    paths = [latency(result, out_dir / "latency.png")]
    if result.transport == "bus":
        paths.append(bus_load(result, out_dir / "bus_load.png"))
    return paths
