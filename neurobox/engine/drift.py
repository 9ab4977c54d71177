"""How far the fixed-point engine's spikes drift from the float model on the same network."""
from __future__ import annotations

import numpy as np

from neurobox.engine.simulation import run
from neurobox.network.modelfile import loads

TOLERANCE_STEPS = 1


def _matched(a_steps: np.ndarray, b_steps: np.ndarray, tolerance: int) -> int:
    """How many spikes of `a` have a spike of `b` within `tolerance` steps (each b used once)."""
    used = np.zeros(b_steps.size, dtype=bool)
    count = 0
    for t in a_steps:
        lo, hi = np.searchsorted(b_steps, [t - tolerance, t + tolerance + 1])
        free = np.flatnonzero(~used[lo:hi])
        if free.size:
            used[lo + free[0]] = True
            count += 1
    return count


def precision_drift(net, duration_ms: float, tolerance_steps: int = TOLERANCE_STEPS, progress=None) -> dict:
    """Run `net` in float and in fixed precision (fresh copies) and compare their spikes.

    Per population: spike counts, the fraction of float spikes that the
    fixed run reproduces within `tolerance_steps` steps by the same neuron,
    and the first time (ms) at which the two spike trains differ at all. progress: a
    neurobox.engine.progress.Progress (a phase per precision), or None.
    """
    text = net.to_toml()
    runs = {}
    for precision in ("float", "fixed"):
        copy = loads(text)
        copy.precision = precision
        if progress is not None:
            progress.phase(precision, f"{duration_ms:g} ms in {precision} arithmetic")
        runs[precision] = run(copy, duration_ms, progress=False)
    dt = net.dt
    out = {"duration_ms": duration_ms, "tolerance_steps": tolerance_steps, "populations": {}}
    for name, float_spikes in runs["float"].spikes.items():
        fixed_spikes = runs["fixed"].spikes[name]
        if net.populations[name].model.is_source:
            continue
        matched = 0
        first_difference = None
        for a_ms, b_ms in zip(float_spikes.per_neuron(), fixed_spikes.per_neuron()):
            a = np.rint(a_ms / dt).astype(np.int64)
            b = np.rint(b_ms / dt).astype(np.int64)
            matched += _matched(a, b, tolerance_steps)
            n = min(a.size, b.size)
            differ = np.flatnonzero(a[:n] != b[:n])
            t = (a[differ[0]] if differ.size else (a[n] if a.size > n else b[n] if b.size > n else None))
            if t is not None:
                first_difference = t * dt if first_difference is None else min(first_difference, t * dt)
        total = len(float_spikes)
        out["populations"][name] = {
            "float_spikes": total,
            "fixed_spikes": len(fixed_spikes),
            "matched_fraction": matched / total if total else 1.0,
            "first_difference_ms": first_difference,
        }
    return out
