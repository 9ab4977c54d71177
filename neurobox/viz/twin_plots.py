"""Plots of a twin run (matplotlib, headless): bus load over time, delivery latency histogram.

Each function takes a neurobox.twin.TwinResult, writes a small PNG and returns its path.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurobox.viz import style
from neurobox.viz.figure import save_figure

LOSS_CAUSES = {
    "wire_gap": "fired again while its axon pulse was still high (wires)",
    "no_slot": "its bus slot did not fit in the tick",
    "tx_overflow": "the sender's transmit buffer was full",
    "rx_overflow": "the receiver's buffer was full",
    "dropped": "byte or pulse dropped (drop fault)",
    "stuck_bus": "the bus line was stuck",
    "merged": "two spikes of one sender read in one tick",
    "sender_down": "the sender reset or died before sending",
    "undelivered": "receiver down, stuck wire or edge missed by drift",
}
"""What each cause of a lost delivery means (neurobox.twin.transport, scheduler): the latency figure's legend."""


def bus_load(result, path: str | os.PathLike, window_ms: float = 10.0) -> Path:
    """Fraction of time the bus line is busy, per tick (thin) and averaged over `window_ms` (thick)."""
    series = np.asarray(result.bus.get("bus_load_series", []), dtype=float)
    fig, ax = style.figure(height=2.8)
    if series.size:
        t = (np.arange(series.size) + 0.5) * result.dt_ms
        ax.plot(t, 100 * series, lw=0.4, color=style.ROLE_COLOURS["other"], alpha=0.5,
                label=f"per tick ({result.dt_ms:g} ms)")
        k = max(1, int(round(window_ms / result.dt_ms)))
        if series.size >= k:
            smooth = np.convolve(series, np.ones(k) / k, mode="valid")
            ax.plot(t[k - 1:], 100 * smooth, lw=1.4, color=style.ROLE_COLOURS["excitatory"],
                    label=f"{window_ms:g} ms mean")
    ax.axhline(100, color=style.MARK["wrong"], lw=0.8, ls="--", label="saturated (100 %)")
    sat = " (SATURATED)" if result.bus.get("saturated") else ""
    ax.set_title(f"bus load: {100 * result.bus.get('bus_load', 0):.2f} % mean, "
                 f"{100 * result.bus.get('bus_load_peak', 0):.1f} % in the busiest tick{sat}", loc="left")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("time the line is busy (%)")
    ax.set_ylim(0, 105)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return save_figure(fig, path)


def latency(result, path: str | os.PathLike, bins: int = 40) -> Path:
    """Histogram of delivery latencies (ms): from the sender's tick to the receiving tick that took the spike in;
    the lost deliveries by cause (LOSS_CAUSES) in the legend."""
    lat = np.asarray(result.latency_ms, dtype=float)
    fig, ax = style.figure(height=3.0)
    if lat.size:
        lo, hi = lat.min(), lat.max()
        if hi - lo < 1e-9:
            lo, hi = lo - 0.01, hi + 0.01
        ax.hist(lat, bins=bins, range=(lo, hi), color=style.ROLE_COLOURS["excitatory"])
        p50, p99 = np.percentile(lat, [50, 99])
        for v, name, ls in ((p50, "median", "--"), (p99, "99th percentile", ":")):
            ax.axvline(v, color=style.ROLE_COLOURS["output"], lw=1.0, ls=ls, label=f"{name} {v:.3f} ms")
        ax.set_title(f"{lat.size} deliveries: median {p50:.3f} ms, 99th percentile {p99:.3f} ms; "
                     f"{result.lost} lost", loc="left")
        ax.set_yscale("log")
    else:
        ax.set_title(f"no spike was delivered; {result.lost} lost", loc="left")
    causes = {k: v for k, v in (getattr(result, "lost_by_cause", None) or {}).items() if v}
    for cause, n in sorted(causes.items(), key=lambda kv: -kv[1]):
        ax.plot([], [], " ", label=f"{n} lost: {LOSS_CAUSES.get(cause, cause)}")
    ax.set_xlabel("latency, sending tick to receiving tick (ms)")
    ax.set_ylabel("deliveries (log scale)" if lat.size else "deliveries")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_figure(fig, path)


def plot_all(result, out_dir: str | os.PathLike) -> list[Path]:
    """latency.png, and bus_load.png on the bus, in out_dir."""
    out_dir = Path(out_dir)
    paths = [latency(result, out_dir / "latency.png")]
    if result.transport == "bus":
        paths.append(bus_load(result, out_dir / "bus_load.png"))
    return paths
