"""The vehicle's figure: the round arena with its obstacles, the light(s) and the paths driven, next to one
drive's sensor readings and motor rates over time (neurobox.tasks.vehicle; plain arrays, mm, s, Hz).

matplotlib with the Agg backend (headless); the function writes a PNG and returns its path.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurobox.viz import style
from neurobox.viz.figure import plt, save_figure

SENSOR_LABELS = ("light left", "light right", "whisker left", "whisker right")


def trajectories(radius: float, obstacles, paths: list[dict], path: str | os.PathLike, *,
                 reach_mm: float = 0.0, title: str | None = None) -> Path:
    """Draw the arena (a circle of `radius` mm around (radius, radius); obstacles (x, y, r) in mm) and every
    drive of `paths` (dicts with "pose" (chunks + 1, 3) mm/rad, "light" (x, y) mm, "reached" bool), its start
    marked by a triangle and its light by a star of the same colour, ringed by the reach radius; beside it, the first drive's
    sensor readings ("t_s", "readings" (chunks, 4)) and filtered motor rates ("rates" (chunks, 2), Hz)."""
    fig, axes = style.figure(1, 2, width="wide", height=4.2, gridspec_kw={"width_ratios": [1.0, 1.25]})
    ax = axes[0]
    ax.add_patch(plt.Circle((radius, radius), radius, fill=False, color="#333333", lw=1.5))
    for x, y, r in obstacles:
        ax.add_patch(plt.Circle((x, y), r, color="#95a5a6"))
    colours = style.MARK["cycle"]
    for k, drive in enumerate(paths):
        pose = np.asarray(drive["pose"])
        c = colours[k % len(colours)]
        lx, ly = drive["light"]
        ax.plot(pose[:, 0], pose[:, 1], color=c, lw=1.0, alpha=0.9)
        ax.plot(pose[0, 0], pose[0, 1], marker=(3, 0, np.degrees(pose[0, 2]) - 90.0), color=c, ms=7)
        ax.plot([lx], [ly], marker="*", color=c, ms=12, mec="k", mew=0.5)
        if reach_mm > 0:
            ax.add_patch(plt.Circle((lx, ly), reach_mm, fill=False, ls=":", color=c))
        if drive.get("reached"):
            ax.plot(pose[-1, 0], pose[-1, 1], "o", color=c, ms=4)
    ax.set_xlim(-10, 2 * radius + 10)
    ax.set_ylim(-10, 2 * radius + 10)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    reached = sum(bool(d.get("reached")) for d in paths)
    ax.set_title(f"{len(paths)} drive{'s' if len(paths) != 1 else ''}, {reached} reached the light")

    first = paths[0]
    t = np.asarray(first["t_s"])
    right = axes[1]
    readings = np.asarray(first["readings"]).reshape(-1, 4)
    for j, label in enumerate(SENSOR_LABELS):
        right.plot(t, readings[:, j], color=colours[j], lw=1.0, ls="-" if j < 2 else "--", label=label)
    right.set_xlabel("time (s)")
    right.set_ylabel("sensor reading (0..1)")
    right.set_ylim(-0.02, 1.02)
    twin = right.twinx()
    rates = np.asarray(first["rates"]).reshape(-1, 2)
    twin.plot(t, rates[:, 0], color="k", lw=1.2, label="motor left (Hz)")
    twin.plot(t, rates[:, 1], color="#7f8c8d", lw=1.2, label="motor right (Hz)")
    twin.set_ylabel("motor rate, filtered (Hz)")
    twin.spines["right"].set_visible(True)
    lines = right.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    right.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right", ncol=2)
    right.set_title("first drive: sensors and motors")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, layout=False)
