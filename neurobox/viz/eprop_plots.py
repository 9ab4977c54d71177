"""Pictures of the e-prop tasks (neurobox.tasks.sine_waves, neurobox.tasks.evidence): loss and error curves,
the sine-wave target against the trained readout above a raster of the recurrent spikes, and one
evidence-accumulation trial (the cues, the recall, the readouts' decision).

matplotlib with the Agg backend (headless); each function writes a PNG and returns its path.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurobox.errors import ConfigError
from neurobox.viz import style
from neurobox.viz.figure import save_figure


def _series(values, field: str) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ConfigError(field, "no values to draw")
    return v


def loss_curve(curves: dict[str, list[float]], path: str | os.PathLike, *, ylabel: str,
               title: str | None = None, log: bool = False) -> Path:
    """One line per named curve (the loss after each training iteration, iteration 1 first)."""
    if not curves:
        raise ConfigError("curves", "no loss curve to draw")
    fig, ax = style.figure(width="half", height=3.0)
    for k, (label, values) in enumerate(curves.items()):
        y = _series(values, f"curves.{label}")
        ax.plot(np.arange(1, y.size + 1), y, color=style.MARK["cycle"][k % len(style.MARK["cycle"])],
                label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("training iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title or "learning curve", loc="left")
    ax.legend(loc="upper right")
    return save_figure(fig, path)


def sine_after_training(target, readout, spikes, path: str | os.PathLike, *, dt: float = 1.0,
                        title: str | None = None) -> Path:
    """Top: the target y* and the readout y over one sequence (after training). Bottom: a raster of the
    recurrent neurons' spikes in that sequence. target, readout: (steps,); spikes: (steps, n_rec) counts."""
    y_star, y = _series(target, "target"), _series(readout, "readout")
    z = np.asarray(spikes)
    if y.size != y_star.size or z.ndim != 2 or z.shape[0] != y.size:
        raise ConfigError("spikes", f"expected target, readout of one length and spikes (steps, n_rec); got "
                                    f"{y_star.size}, {y.size} and {z.shape}")
    t = np.arange(y.size) * dt
    fig, (top, bottom) = style.figure(2, 1, width="full", height=4.2, sharex=True,
                                      gridspec_kw={"height_ratios": [1.2, 1.0]})
    top.plot(t, y_star, color=style.MARK["reference"], linewidth=2.0, label="target $y^*$")
    top.plot(t, y, color=style.ROLE_COLOURS["output"], label="readout $y$")
    top.set_ylabel("signal")
    top.legend(loc="upper right", ncol=2)
    top.set_title(title or "sine waves after training", loc="left")
    steps, ids = np.nonzero(z)
    bottom.scatter(steps * dt, ids, s=1.5, marker="|", color=style.ROLE_COLOURS["excitatory"], linewidths=0.6)
    bottom.set_ylim(-0.5, z.shape[1] - 0.5)
    bottom.set_ylabel("recurrent neuron")
    bottom.set_xlabel("time in the sequence (ms)")
    bottom.set_xlim(0.0, t[-1] + dt)
    return save_figure(fig, path)


def evidence_curves(loss, error, path: str | os.PathLike, *, test_error: float | None = None,
                    title: str | None = None) -> Path:
    """The training loss (cross entropy, left) and error rate (right) per iteration; the test error of the
    trained network as a dashed line; chance (0.5) dotted."""
    loss, error = _series(loss, "loss"), _series(error, "error")
    x = np.arange(1, loss.size + 1)
    fig, (left, right) = style.figure(1, 2, width="full", height=2.8)
    left.plot(x, loss, color=style.ROLE_COLOURS["output"])
    left.set_xlabel("training iteration")
    left.set_ylabel("cross entropy (per sequence)")
    left.set_title(title or "evidence accumulation", loc="left")
    right.plot(np.arange(1, error.size + 1), error, color=style.ROLE_COLOURS["output"], label="training batch")
    right.axhline(0.5, color=style.MARK["chance"], linestyle=":", label="chance")
    if test_error is not None:
        right.axhline(test_error, color=style.MARK["correct"], linestyle="--",
                      label=f"test after training ({test_error:.3f})")
    right.set_ylim(0.0, 1.0)
    right.set_xlabel("training iteration")
    right.set_ylabel("error rate")
    right.legend(loc="upper right")
    return save_figure(fig, path)


def evidence_trial(inputs, readout, groups: dict[str, tuple[int, int]], path: str | os.PathLike, *,
                   window: tuple[int, int], target: int, names: tuple[str, str] = ("left", "right"),
                   dt: float = 1.0, title: str | None = None) -> Path:
    """One trial: the input raster, coloured by group (groups: name -> (first, stop) channel), and the two
    readouts' softmax over time with the decision window shaded; the decision (the larger mean in the
    window) is written beside the right answer. inputs: (steps, n_in) spikes; readout: (steps, 2)."""
    x = np.asarray(inputs)
    y = np.asarray(readout, dtype=float)
    if x.ndim != 2 or y.ndim != 2 or y.shape != (x.shape[0], 2):
        raise ConfigError("readout", f"expected inputs (steps, n_in) and readout (steps, 2); got {x.shape} and "
                                     f"{y.shape}")
    a, b = window
    decision = int(np.argmax(y[a:b].mean(axis=0)))
    t = np.arange(x.shape[0]) * dt
    fig, (top, bottom) = style.figure(2, 1, width="full", height=4.2, sharex=True)
    colours = {names[0]: style.ROLE_COLOURS["excitatory"], names[1]: style.ROLE_COLOURS["inhibitory"]}
    for k, (name, (first, stop)) in enumerate(groups.items()):
        steps, ids = np.nonzero(x[:, first:stop])
        top.scatter(steps * dt, ids + first, s=2.0, marker="|", linewidths=0.7, label=name,
                    color=colours.get(name, style.MARK["cycle"][(k + 2) % len(style.MARK["cycle"])]))
    top.set_ylabel("input channel")
    top.set_ylim(-0.5, x.shape[1] - 0.5)
    top.legend(loc="upper left", ncol=len(groups), markerscale=3)
    right = "correct" if decision == target else "wrong"
    top.set_title(title or f"one trial: the answer is {names[target]}, the network says {names[decision]} "
                           f"({right})", loc="left")
    for k in range(2):
        bottom.plot(t, y[:, k], color=colours[names[k]], label=names[k])
    bottom.axvspan(a * dt, b * dt, color=style.MARK["reference"], alpha=0.15, label="decision window")
    bottom.set_xlabel("time in the trial (ms)")
    bottom.set_ylabel("softmax of the readouts")
    bottom.set_ylim(0.0, 1.0)
    bottom.legend(loc="upper left", ncol=3)
    bottom.set_xlim(0.0, t[-1] + dt)
    return save_figure(fig, path)
