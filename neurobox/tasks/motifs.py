"""Loop motifs: what a second neuron wired back onto the first does.

Three small circuits, each run on the engine and measured:

- `reverberation`: two excitatory Izhikevich neurons in a loop (A -> B -> A).
  A brief current kick makes A fire once; if one spike is enough to make
  the partner fire, activity circulates. Adaptation (the recovery
  variable U grows by d at each spike and decays in 1/a = 50 ms) weakens
  every lap that comes soon after the last: whether the loop survives
  depends on the weight and on the delay (long delays let adaptation
  decay between laps; strong weights overcome it).
  `reverberation_phase_diagram` sweeps both.
- `half_centre`: two adapting Izhikevich neurons driven by the same tonic
  current that inhibit each other (Brown's half-centre, the core of
  central pattern generators). The active side adapts, its inhibition
  weakens, the other side escapes (helped by post-inhibitory rebound:
  with b > 0, U falls while V is held down): alternating bursts.
  `half_centre_sweep` measures the period against inhibition strength.
- `winnerless`: a ring of groups of adapting neurons with nonsymmetric
  inhibition (group i inhibits its successor i+1 weakly and all others
  strongly; Rabinovich et al. 2008): when the active group adapts, its
  successor is the least inhibited and takes over, so groups fire in the
  order 0, 1, 2, ... With symmetric inhibition (every link strong) the
  same groups mostly leave one winner. `winnerless_reproducibility` runs
  noisy trials of both and measures how often the order repeats.

Units: ms, mV, pA, Hz. Every function takes a seed.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from pathlib import Path

import numpy as np

import neurobox as nb

# Izhikevich (2003) neurons throughout (weights in pA, entering dV/dt as mV/ms).
# The loop uses regular-spiking cells (recovery a = 0.02/ms, d = 8); the
# half-centre and the ring use slower, weaker adaptation (a = 0.005/ms, d = 4)
# so that a burst lasts a few hundred ms, and slow inhibition (tau 20 ms).
LOOP_PARAMS = {"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0, "tau_syn_ex": 5.0}
HCO_PARAMS = {"a": 0.005, "b": 0.2, "c": -65.0, "d": 4.0, "tau_syn_in": 20.0, "I_e": 10.0}
# The ring's cells have b = 0 (no subthreshold coupling of U): with b > 0 a
# strongly inhibited group rebounds (U falls with V) and escapes first, which
# scrambles the order. Their rest is then -82.7 mV and rheobase 16.25 pA.
WLC_PARAMS = {"a": 0.005, "b": 0.0, "c": -65.0, "d": 8.0, "tau_syn_ex": 2.0, "tau_syn_in": 20.0,
              "I_e": 25.0}
MODEL = "izhikevich"


# ---------------------------------------------------------------- reverberation


def reverberation(weight_pA: float, delay_ms: float, *, duration_ms: float = 1000.0,
                  kick_pA: float = 60.0, kick_ms: float = 1.0, kick_at_ms: float = 10.0,
                  params: dict | None = None, dt: float = 0.1, seed: int = 0) -> dict:
    """Two Izhikevich (regular-spiking) neurons A <-> B (excitatory, `weight_pA`, `delay_ms`); kick A and watch.

    The kick is a current step of `kick_pA` for `kick_ms` into A at
    `kick_at_ms` (one spike). Returns {"persistence_ms": time from the end
    of the kick to the last spike (0 if only the kicked spike),
    "persistent": still firing in the last 10 % of the run, "n_spikes",
    "period_ms": median interval between A's spikes (nan if < 2),
    "t_ms", "ids"} (spike times and neuron 0 = A, 1 = B).
    """
    net = nb.Network(dt=dt, seed=seed)
    net.population("loop", 2, MODEL, {**LOOP_PARAMS, **(params or {})})
    net.connect("loop", "loop", "explicit", pre_ids=[0, 1], post_ids=[1, 0], weight=float(weight_pA),
                delay=float(delay_ms), receptor="excitatory")
    end_kick = kick_at_ms + kick_ms
    net.add(nb.StepCurrent("loop", [kick_at_ms, end_kick], [kick_pA, 0.0], neurons=[0]))
    res = nb.run(net, duration_ms, progress=False)
    t, ids = res.spikes["loop"].t_ms, res.spikes["loop"].ids
    after = t[t > end_kick]
    last = float(t.max()) if t.size else end_kick
    ta = t[ids == 0]
    return {
        "persistence_ms": max(0.0, last - end_kick) if after.size else 0.0,
        "persistent": bool(after.size and last > 0.9 * duration_ms),
        "n_spikes": int(t.size),
        "period_ms": float(np.median(np.diff(ta))) if ta.size > 1 else float("nan"),
        "t_ms": t, "ids": ids,
    }


def reverberation_phase_diagram(weights_pA: Sequence[float] = (6, 8, 10, 12, 15, 20, 25, 30, 40),
                                delays_ms: Sequence[float] = (1, 2, 4, 8, 16, 32), *,
                                duration_ms: float = 1000.0, seed: int = 0) -> dict:
    """`reverberation` over a weight x delay grid.

    Returns {"weights_pA", "delays_ms", "persistence_ms" (float[n_w, n_d]),
    "persistent" (bool[n_w, n_d]), "n_spikes" (int[n_w, n_d]), "duration_ms"}.
    """
    w = np.asarray(weights_pA, dtype=float)
    d = np.asarray(delays_ms, dtype=float)
    pers = np.zeros((w.size, d.size))
    alive = np.zeros((w.size, d.size), dtype=bool)
    count = np.zeros((w.size, d.size), dtype=np.int64)
    for i, wi in enumerate(w):
        for j, dj in enumerate(d):
            r = reverberation(wi, dj, duration_ms=duration_ms, seed=seed)
            pers[i, j], alive[i, j], count[i, j] = r["persistence_ms"], r["persistent"], r["n_spikes"]
    return {"weights_pA": w, "delays_ms": d, "persistence_ms": pers, "persistent": alive,
            "n_spikes": count, "duration_ms": float(duration_ms)}


# ---------------------------------------------------------------- half-centre oscillator


def runs_of(ids: np.ndarray, t_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of consecutive spikes by the same unit in a merged spike train.

    Returns (unit of each run, onset ms, number of spikes in the run).
    """
    ids = np.asarray(ids)
    if ids.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(ids) != 0) + 1]
    sizes = np.diff(np.r_[starts, ids.size])
    return ids[starts].astype(np.int64), np.asarray(t_ms)[starts], sizes


def half_centre(inhibition_pA: float, *, duration_ms: float = 6000.0, transient_ms: float = 1000.0,
                params: dict | None = None, delay_ms: float = 1.0, dt: float = 0.1, seed: int = 0) -> dict:
    """Two adapting Izhikevich neurons with tonic drive (I_e) inhibiting each other (`inhibition_pA`).

    Neuron 0 starts depolarised so it leads. A burst is a run of
    consecutive spikes of one neuron. After `transient_ms`: "period_ms"
    (mean interval between burst onsets of neuron 0; nan with fewer than
    3 bursts), "period_cv", "spikes_per_burst" (mean), "n_bursts",
    "alternating" (every burst has >= 2 spikes, both neurons burst at
    least 3 times and the period CV < 0.2), plus "t_ms", "ids".
    """
    net = nb.Network(dt=dt, seed=seed)
    net.population("hco", 2, MODEL, {**HCO_PARAMS, **(params or {})},
                   initial={"V_m": [-50.0, -70.0]})
    if inhibition_pA > 0:
        net.connect("hco", "hco", "explicit", pre_ids=[0, 1], post_ids=[1, 0], weight=-float(inhibition_pA),
                    delay=delay_ms, receptor="inhibitory")
    res = nb.run(net, duration_ms, progress=False)
    t, ids = res.spikes["hco"].t_ms, res.spikes["hco"].ids
    who, onset, size = runs_of(ids, t)
    keep = onset >= transient_ms
    who, onset, size = who[keep], onset[keep], size[keep]
    on0 = onset[who == 0]
    per = np.diff(on0)
    period = float(per.mean()) if per.size >= 2 else float("nan")
    cv = float(per.std() / per.mean()) if per.size >= 2 else float("nan")
    alternating = bool(size.size > 0 and size[:-1].min(initial=99) >= 2 and (who == 0).sum() >= 3
                       and (who == 1).sum() >= 3 and cv < 0.2)
    return {"period_ms": period, "period_cv": cv, "n_bursts": int(size.size),
            "spikes_per_burst": float(size.mean()) if size.size else 0.0,
            "alternating": alternating, "t_ms": t, "ids": ids}


def half_centre_sweep(inhibitions_pA: Sequence[float] = (5, 10, 25, 50, 100, 200, 400, 800), *,
                      duration_ms: float = 8000.0, seed: int = 0) -> dict:
    """`half_centre` over inhibition strengths: {"inhibition_pA", "period_ms", "spikes_per_burst", "alternating"}."""
    g = np.asarray(inhibitions_pA, dtype=float)
    rows = [half_centre(x, duration_ms=duration_ms, seed=seed) for x in g]
    return {"inhibition_pA": g,
            "period_ms": np.array([r["period_ms"] for r in rows]),
            "spikes_per_burst": np.array([r["spikes_per_burst"] for r in rows]),
            "alternating": np.array([r["alternating"] for r in rows])}


# ---------------------------------------------------------------- winnerless competition


def ring_inhibition(n_groups: int, strong_pA: float, weak_pA: float, *, symmetric: bool) -> np.ndarray:
    """Inhibition matrix G[i, j] (pA, magnitude, from group i onto group j; zero diagonal).

    Nonsymmetric: G[i, i+1 mod n] = weak, all other off-diagonal = strong.
    Symmetric: every off-diagonal entry = strong (same neurons, same
    strongest link; no preferred successor).
    """
    g = np.full((n_groups, n_groups), float(strong_pA))
    if not symmetric:
        for i in range(n_groups):
            g[i, (i + 1) % n_groups] = float(weak_pA)
    np.fill_diagonal(g, 0.0)
    return g


def winnerless(*, symmetric: bool = False, n_groups: int = 4, group_size: int = 10,
               strong_pA: float = 400.0, weak_pA: float = 30.0, noise_hz: float = 100.0,
               noise_pA: float = 2.0, duration_ms: float = 3000.0, kick_ms: float = 100.0,
               kick_pA: float = 20.0, bin_ms: float = 20.0, params: dict | None = None,
               dt: float = 0.1, seed: int = 0) -> dict:
    """One noisy trial of a ring of `n_groups` groups of adapting Izhikevich neurons.

    Every neuron gets tonic I_e and independent Poisson excitation
    (`noise_hz`, `noise_pA` per spike); initial V is uniform in
    [-70, -55] mV; U starts at 0. Group 0 gets an extra `kick_pA` for the first `kick_ms`
    so every trial starts from the same group. Each neuron of group i
    inhibits every neuron of group j with -G[i, j] / group_size pA
    (`ring_inhibition`). In each `bin_ms` bin the group with the most
    spikes is the active one (bins with fewer than 2 spikes are skipped);
    the sequence is the active groups with repeats collapsed.

    Returns {"sequence": int[...] (groups in order of activation),
    "n_switches", "counts": int[bins, n_groups], "t_ms", "ids", "group_size"}.
    """
    n = n_groups * group_size
    net = nb.Network(dt=dt, seed=seed)
    net.population("ring", n, MODEL, {**WLC_PARAMS, **(params or {})},
                   initial={"V_m": {"distribution": "uniform", "low": -70.0, "high": -55.0}})
    noise = net.add(nb.PoissonSource(n, noise_hz, name="noise"))
    net.connect(noise, "ring", "one_to_one", weight=noise_pA, delay=dt, receptor="excitatory")
    g = ring_inhibition(n_groups, strong_pA, weak_pA, symmetric=symmetric)
    pre, post, w = [], [], []
    for i in range(n_groups):
        for j in range(n_groups):
            if g[i, j] <= 0:
                continue
            a = np.repeat(np.arange(i * group_size, (i + 1) * group_size), group_size)
            b = np.tile(np.arange(j * group_size, (j + 1) * group_size), group_size)
            pre.append(a)
            post.append(b)
            w.append(np.full(a.size, -g[i, j] / group_size))
    net.connect("ring", "ring", "explicit", pre_ids=np.concatenate(pre), post_ids=np.concatenate(post),
                weight=np.concatenate(w), delay=1.0, receptor="inhibitory")
    net.add(nb.StepCurrent("ring", [dt, kick_ms], [kick_pA, 0.0], neurons=list(range(group_size))))
    res = nb.run(net, duration_ms, progress=False)
    t, ids = res.spikes["ring"].t_ms, res.spikes["ring"].ids
    seq, counts = active_sequence(t, ids // group_size, n_groups, duration_ms, bin_ms)
    return {"sequence": seq, "n_switches": max(0, seq.size - 1), "counts": counts,
            "t_ms": t, "ids": ids, "group_size": group_size}


def active_sequence(t_ms: np.ndarray, group: np.ndarray, n_groups: int, duration_ms: float,
                    bin_ms: float, min_spikes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Sequence of dominant groups (repeats collapsed) and the per-bin spike counts (bins, n_groups)."""
    n_bins = int(np.ceil(duration_ms / bin_ms))
    b = np.minimum((np.asarray(t_ms) / bin_ms).astype(np.int64), n_bins - 1)
    counts = np.zeros((n_bins, n_groups), dtype=np.int64)
    np.add.at(counts, (b, np.asarray(group, dtype=np.int64)), 1)
    ok = counts.sum(axis=1) >= min_spikes
    top = counts.argmax(axis=1)[ok]
    if top.size == 0:
        return np.zeros(0, np.int64), counts
    keep = np.r_[True, np.diff(top) != 0]
    return top[keep], counts


def sequence_reproducibility(sequences: Sequence[np.ndarray], length: int) -> dict:
    """How often noisy trials repeat the same order of activation.

    A trial "has a sequence" if it visits at least `length` groups in turn
    (length - 1 switches). The reference is the most common first-`length`
    sequence among those trials; reproducibility is the fraction of ALL
    trials whose first `length` groups equal it (a trial with a single
    winner counts as not reproducing). Returns {"reproducibility",
    "with_sequence" (fraction of trials with >= length - 1 switches),
    "reference" (list or None), "mean_switches"}.
    """
    heads = [tuple(int(x) for x in s[:length]) for s in sequences if len(s) >= length]
    n = len(sequences)
    mean_sw = float(np.mean([max(0, len(s) - 1) for s in sequences])) if n else 0.0
    if not heads:
        return {"reproducibility": 0.0, "with_sequence": 0.0, "reference": None, "mean_switches": mean_sw}
    ref, hits = Counter(heads).most_common(1)[0]
    return {"reproducibility": hits / n, "with_sequence": len(heads) / n, "reference": list(ref),
            "mean_switches": mean_sw}


def winnerless_reproducibility(n_trials: int = 20, *, length: int = 9, seed: int = 0, **options) -> dict:
    """`winnerless` trials (seeds seed, seed+1, ...) for nonsymmetric and symmetric inhibition.

    Returns {"nonsymmetric": {...}, "symmetric": {...}} with the numbers of
    `sequence_reproducibility` (first `length` activated groups) and the
    "sequences" of every trial.
    """
    out = {}
    for name, sym in (("nonsymmetric", False), ("symmetric", True)):
        seqs = [winnerless(symmetric=sym, seed=seed + k, **options)["sequence"] for k in range(n_trials)]
        stats = sequence_reproducibility(seqs, length)
        stats["sequences"] = [s.tolist() for s in seqs]
        stats["n_trials"] = n_trials
        out[name] = stats
    return out


def measure_all(*, n_trials: int = 20, seed: int = 0, progress=None) -> dict:
    """Run all three motifs: {"diagram": `reverberation_phase_diagram`, "half_centre": `half_centre_sweep`,
    "winnerless": `winnerless_reproducibility`} (arrays; `summary` makes them JSON-ready).
    progress: a neurobox.engine.progress.Progress (one named phase per motif), or None."""
    def phase(name: str, detail: str) -> None:
        if progress is not None:
            progress.phase(name, detail)
    phase("reverb", "reverberation: weights x delays")
    diagram = reverberation_phase_diagram(seed=seed)
    phase("hco", "half-centre oscillator: inhibition sweep")
    hco = half_centre_sweep(seed=seed)
    phase("ring", f"winnerless ring: {n_trials} noisy trial{'' if n_trials == 1 else 's'}")
    return {"diagram": diagram, "half_centre": hco, "winnerless": winnerless_reproducibility(n_trials, seed=seed)}


def summary(measured: dict) -> dict:
    """Plain numbers (JSON-ready) of `measure_all`'s result."""
    diagram, hco, wlc = measured["diagram"], measured["half_centre"], measured["winnerless"]
    return {
        "reverberation": {
            "weights_pA": diagram["weights_pA"].tolist(), "delays_ms": diagram["delays_ms"].tolist(),
            "persistence_ms": np.round(diagram["persistence_ms"], 1).tolist(),
            "persistent": diagram["persistent"].tolist(), "duration_ms": diagram["duration_ms"]},
        "half_centre": {
            "inhibition_pA": hco["inhibition_pA"].tolist(),
            "period_ms": [None if not np.isfinite(p) else round(float(p), 1) for p in hco["period_ms"]],
            "spikes_per_burst": np.round(hco["spikes_per_burst"], 2).tolist(),
            "alternating": hco["alternating"].tolist()},
        "winnerless": {k: {key: v[key] for key in ("reproducibility", "with_sequence", "reference",
                                                   "mean_switches", "n_trials")}
                       for k, v in wlc.items()},
    }


def figures(measured: dict, out_dir, *, seed: int = 0) -> dict[str, Path]:
    """Write reverberation.png, half_centre.png and winnerless.png for `measure_all`'s result.

    Runs the example traces shown next to the sweeps (a persistent and a
    dying loop at 15 pA, a half-centre at 200 pA, one trial of each ring).
    """
    from neurobox.viz.motif_plots import half_centre_figure, reverberation_figure, winnerless_figure

    from neurobox.files import atomic_folder

    w, d_alive, d_dead = 15.0, 32.0, 2.0
    alive = {**reverberation(w, d_alive, seed=seed), "weight": w, "delay": d_alive}
    dead = {**reverberation(w, d_dead, seed=seed), "weight": w, "delay": d_dead}
    g = 200.0
    example = {**half_centre(g, seed=seed), "inhibition": g}
    ordered, unordered = winnerless(symmetric=False, seed=seed), winnerless(symmetric=True, seed=seed)
    names = {"reverberation": "reverberation.png", "half_centre": "half_centre.png", "winnerless": "winnerless.png"}
    with atomic_folder(out_dir, replaces=names.values()) as d:   # the three figures go in place together
        reverberation_figure(alive, dead, measured["diagram"], d / names["reverberation"])
        half_centre_figure(example, measured["half_centre"], d / names["half_centre"])
        winnerless_figure(ordered, unordered, measured["winnerless"], d / names["winnerless"])
    figs = {k: Path(out_dir) / v for k, v in names.items()}
    return figs
