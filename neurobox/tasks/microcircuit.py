"""The cortical microcircuit of Potjans & Diesmann (2014), as NEST's PyNEST example builds it.

Eight populations (excitatory E and inhibitory I in layers 2/3, 4, 5, 6)
of `iaf_psc_exp` neurons under 1 mm^2 of cortex: 77,169 neurons and about
3e8 synapses at full scale. What the example (NEST 3.x,
pynest/examples/Potjans_2014) does, written here from its published
parameters and formulas:

- Synapse numbers. The total number of synapses from population j onto
  population i is K_ij = log(1 - p_ij) / log(1 - 1 / (N_i N_j)) for the
  connection probability p_ij of the published table (the number of
  independent draws that leaves a pair unconnected with probability
  1 - p_ij), drawn with NEST's `fixed_total_number` rule (pre and post
  uniform, autapses and multapses allowed).
- Scaling. `scale` S in (0, 1] multiplies the neuron numbers and the
  in-degrees (NEST's N_scaling = K_scaling = S): a projection holds
  round(K_ij S^2) synapses, the background in-degree is round(K_ext S).
  For S < 1 the weights are divided by sqrt(S), and a DC current
  I_e = 1e-3 tau_syn (1 - sqrt(S)) sum_j J_ij (K_ij / N_i) r_j (plus the
  same term of the Poisson background when it is used) restores the mean
  input the full network gets at its full-scale mean rates r_j (the
  example's table), so mean and variance of the input stay about those of
  the full network.
- Weights. A PSP of 0.15 mV (87.81 pA for these neurons: the peak of the
  PSP of an exponential current), doubled from L4E to L2/3E, times g = -4
  from inhibitory neurons; normal with relative sd 0.1, redrawn where the
  sign would change (NEST's redraw at 0).
- Delays. Normal, 1.5 ms (excitatory) and 0.75 ms (inhibitory) with
  relative sd 0.5, redrawn below the step dt = 0.1 ms, rounded to steps.
- Initial V_m. Normal per population (the example's "optimized" means and
  sds, its default; the paper's original was -58 +- 10 mV for all).
- Background. "poisson": each neuron gets its own Poisson source of rate
  8 Hz x K_ext (a Poisson count per step: `poisson_generator`), weight
  87.81 pA / sqrt(S), delay 1.5 ms (NEST's delay_poisson), as NEST's one
  poisson_generator per population that sends an independent train to
  each target. "dc": instead a current of 8 Hz x K_ext x 87.81 pA x
  tau_syn per neuron (the background's mean), full-scale K_ext.

The statistics are the paper's: the mean rate (Hz), the irregularity (the
mean CV of the inter-spike intervals, over neurons with at least three
spikes) and the synchrony (the variance of the population's spike count
histogram in 3 ms bins divided by its mean, over at most 1000 neurons).

References: Potjans TC, Diesmann M (2014) The cell-type specific cortical
microcircuit. Cereb Cortex 24:785-806. NEST's PyNEST example
pynest/examples/Potjans_2014 (network_params.py, helpers.py, network.py).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurobox.checks import choice, given, number, whole
from neurobox.errors import ConfigError

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
FULL_N = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
"""Neurons per population at full scale."""
CONN_PROBS = np.array([  # [post, pre], pre in POPULATIONS order
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
"""Connection probabilities (Potjans & Diesmann 2014, Table 5), rows post, columns pre."""
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
"""Background in-degree per population at full scale."""
FULL_MEAN_RATES = np.array([0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851])
"""Mean rates (Hz) of the full-scale network with Poisson background, as NEST's example tabulates them
(12 MPI processes); they set the DC compensation of a scaled network."""
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_STD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
"""Initial V_m (mV): normal per population (NEST's example, V0_type "optimized")."""
NEURON = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "E_L": -65.0, "V_th": -50.0,
          "V_reset": -65.0, "t_ref": 2.0}
"""iaf_psc_exp parameters (pF, ms, mV)."""
PSP_EXC = 0.15          # mV, mean excitatory PSP
G = -4.0                # relative inhibitory weight
WEIGHT_REL_SD = 0.1
DELAY_EXC = 1.5         # ms
DELAY_INH = 0.75        # ms
DELAY_REL_SD = 0.5
BG_RATE = 8.0           # Hz per background synapse
DELAY_POISSON = 1.5     # ms
DT = 0.1                # ms
BACKGROUNDS = ("poisson", "dc")
SYNCHRONY_BIN_MS = 3.0
SYNCHRONY_NEURONS = 1000


def psc_over_psp(c_m: float = NEURON["C_m"], tau_m: float = NEURON["tau_m"],
                 tau_syn: float = NEURON["tau_syn_ex"]) -> float:
    """pA of current amplitude per mV of PSP peak, for an exponential current onto a leaky membrane.

    A current J exp(-t/tau_syn) gives V(t) = J/C_m tau_syn tau_m / (tau_m - tau_syn)
    (exp(-t/tau_m) - exp(-t/tau_syn)), largest at t* = tau_syn tau_m / (tau_m - tau_syn) ln(tau_m/tau_syn).
    """
    a = tau_syn * tau_m / (tau_m - tau_syn)
    t_peak = a * math.log(tau_m / tau_syn)
    v_peak = a / c_m * (math.exp(-t_peak / tau_m) - math.exp(-t_peak / tau_syn))
    return 1.0 / v_peak


def full_synapses() -> np.ndarray:
    """float[post, pre]: total synapse numbers K_ij = log(1 - p) / log(1 - 1/(N_i N_j)) at full scale."""
    pairs = np.outer(FULL_N, FULL_N).astype(np.float64)
    return np.log1p(-CONN_PROBS) / np.log1p(-1.0 / pairs)


def check_scale(scale, field: str = "scale") -> float:
    """`scale` as a float in (0, 1], or a one-line ConfigError naming `field`."""
    s = number(scale, field, "a number in (0, 1]")
    if not 0.0 < s <= 1.0:
        raise ConfigError(field, f"must be in (0, 1] (a fraction of the full 77,169 neurons), got {given(scale)}")
    return s


def check_background(background, field: str = "background") -> str:
    return choice(background, BACKGROUNDS, field, "background")


@dataclass(frozen=True)
class Parameters:
    """What a scale and a background make of the published parameters (per population, rows post)."""

    scale: float
    background: str
    n: np.ndarray             # neurons per population
    synapses: np.ndarray      # int[post, pre]: synapses per projection
    weights: np.ndarray       # float[post, pre]: mean weight, pA (already / sqrt(scale))
    k_ext: np.ndarray         # background in-degree (scaled)
    weight_ext: float         # pA (already / sqrt(scale))
    dc: np.ndarray            # I_e per population, pA (background and compensation)

    @property
    def indegrees(self) -> np.ndarray:
        """float[post, pre]: mean in-degree of a post neuron from each pre population."""
        return self.synapses / self.n[:, None]


def parameters(scale: float = 0.1, background: str = "poisson") -> Parameters:
    """The scaled numbers NEST's example derives (its network.py / helpers.py, written out here)."""
    s = check_scale(scale)
    background = check_background(background)
    k_full = full_synapses()
    n = np.round(FULL_N * s).astype(np.int64)
    synapses = np.round(k_full * s * s).astype(np.int64)
    k_ext = np.round(K_EXT * s).astype(np.int64)
    per_mv = psc_over_psp()
    psp = np.where(np.arange(8) % 2 == 0, PSP_EXC, PSP_EXC * G)[None, :].repeat(8, axis=0)
    psp[0, 2] = 2.0 * PSP_EXC                      # L4E -> L2/3E doubled
    w_full = psp * per_mv
    w_ext_full = PSP_EXC * per_mv
    tau = NEURON["tau_syn_ex"]
    dc = np.zeros(8) if background == "poisson" else 1e-3 * tau * BG_RATE * K_EXT * w_ext_full
    if s != 1.0:
        shrink = 1.0 - math.sqrt(s)
        recurrent = np.sum(w_full * (k_full / FULL_N[:, None]) * FULL_MEAN_RATES[None, :], axis=1)
        dc = dc + 1e-3 * tau * shrink * recurrent
        if background == "poisson":
            dc = dc + 1e-3 * tau * shrink * w_ext_full * K_EXT * BG_RATE
    return Parameters(scale=s, background=background, n=n, synapses=synapses, weights=w_full / math.sqrt(s),
                      k_ext=k_ext, weight_ext=w_ext_full / math.sqrt(s), dc=dc)


def microcircuit(scale: float = 0.1, background: str = "poisson", seed: int = 55, record="all",
                 duration_ms: float = 1000.0):
    """The microcircuit as a Network (dt 0.1 ms): populations POPULATIONS (spikes recorded), the background
    sources "bg_<pop>" (not recorded) with `background` "poisson", and 64 projections "<pre>_<post>".

    record: "all" records the spikes of every neuron; "none" of none; a fraction f in (0, 1] records
    those of the first ceil(f n) neurons of each population (`Population(record_spikes=k)`), the sample
    `statistics(..., record=f)` then uses.
    """
    from neurobox.network import Network, Population

    p = parameters(scale, background)
    seed = whole(seed, "seed", 0)
    fraction = record_fraction(record)
    net = Network(dt=DT, seed=seed, duration=duration_ms)
    for i, name in enumerate(POPULATIONS):
        params = dict(NEURON, I_e=float(p.dc[i]))
        initial = {"V_m": {"distribution": "normal", "mean": float(V0_MEAN[i]), "std": float(V0_STD[i])}}
        n = int(p.n[i])
        recorded = recorded_neurons(fraction, n)
        net.add(Population(n, "iaf_psc_exp", params, name=name, initial=initial,
                           record_spikes=recorded if 0 < recorded < n else recorded > 0))
    for i, post in enumerate(POPULATIONS):
        for j, pre in enumerate(POPULATIONS):
            if p.synapses[i, j] <= 0:
                continue
            w = float(p.weights[i, j])
            excitatory = j % 2 == 0
            weight = {"distribution": "normal", "mean": w, "std": abs(w) * WEIGHT_REL_SD,
                      **({"min": 0.0} if excitatory else {"max": 0.0})}
            mean_delay = DELAY_EXC if excitatory else DELAY_INH
            delay = {"distribution": "normal", "mean": mean_delay, "std": mean_delay * DELAY_REL_SD, "min": DT}
            net.connect(pre, post, "fixed_total_number", N=int(p.synapses[i, j]), weight=weight, delay=delay,
                        receptor="excitatory" if excitatory else "inhibitory", name=f"{pre}_{post}")
    if p.background == "poisson":
        for i, name in enumerate(POPULATIONS):
            bg = f"bg_{name}"
            net.add(Population(int(p.n[i]), "poisson_generator", {"rate": BG_RATE * float(p.k_ext[i])},
                               name=bg, record_spikes=False))
            net.connect(bg, name, "one_to_one", weight=p.weight_ext, delay=DELAY_POISSON, receptor="excitatory",
                        name=f"{bg}_{name}")
    return net


def record_fraction(record) -> float:
    """1.0 for "all", 0.0 for "none", else a fraction in (0, 1]."""
    if isinstance(record, str):
        return {"all": 1.0, "none": 0.0}[choice(record, ("all", "none"), "record", "record option")]
    f = number(record, "record", '"all", "none" or a fraction in (0, 1]')
    if not 0.0 < f <= 1.0:
        raise ConfigError("record", f'must be "all", "none" or a fraction in (0, 1], got {given(record)}')
    return f


def recorded_neurons(fraction: float, n: int) -> int:
    """How many of a population's n neurons (the first ones) a recording of `fraction` keeps."""
    return 0 if fraction <= 0 else max(1, math.ceil(fraction * n))


@dataclass(frozen=True)
class PopulationStats:
    n: int                # neurons the statistics use
    rate_hz: float
    cv_isi: float         # nan when no neuron fired three times
    synchrony: float      # nan without spikes
    spikes: int


def statistics(results, start_ms: float = 0.0, stop_ms: float | None = None, record=1.0,
               populations=POPULATIONS) -> dict[str, PopulationStats]:
    """Rate, irregularity (mean CV of ISIs) and synchrony (Fano factor of the 3 ms spike count histogram)
    per population, over spikes in [start_ms, stop_ms) of the first ceil(record n) neurons."""
    fraction = record_fraction(record)
    stop = results.bio_ms if stop_ms is None else float(stop_ms)
    window = stop - start_ms
    if window <= 0:
        raise ConfigError("start_ms", f"must be below the end of the window ({stop:g} ms), got {start_ms:g}")
    out = {}
    for name in populations:
        s = results.spikes[name]
        n_used = recorded_neurons(fraction, s.n) or 1
        t, ids = np.asarray(s.t_ms), np.asarray(s.ids)
        keep = (t >= start_ms) & (t < stop) & (ids < n_used)
        t, ids = t[keep], ids[keep]
        rate = t.size / n_used / (window * 1e-3)
        out[name] = PopulationStats(n=n_used, rate_hz=rate, cv_isi=_mean_cv(t, ids),
                                    synchrony=_synchrony(t, ids, start_ms, stop), spikes=int(t.size))
    return out


def _mean_cv(t: np.ndarray, ids: np.ndarray) -> float:
    """Mean over neurons with >= 3 spikes of std(ISI) / mean(ISI)."""
    order = np.lexsort((t, ids))
    t, ids = t[order], ids[order]
    isi = np.diff(t)
    same = ids[1:] == ids[:-1]
    isi, owner = isi[same], ids[1:][same]
    if isi.size == 0:
        return float("nan")
    _, inverse, counts = np.unique(owner, return_inverse=True, return_counts=True)
    total = np.bincount(inverse, weights=isi)
    square = np.bincount(inverse, weights=isi * isi)
    ok = counts >= 2
    if not ok.any():
        return float("nan")
    mean = total[ok] / counts[ok]
    var = np.maximum(square[ok] / counts[ok] - mean * mean, 0.0)
    return float(np.mean(np.sqrt(var) / mean))


def _synchrony(t: np.ndarray, ids: np.ndarray, start_ms: float, stop_ms: float) -> float:
    """Variance / mean of the spike count histogram (3 ms bins) of at most 1000 neurons (the first)."""
    t = t[ids < SYNCHRONY_NEURONS]
    bins = int((stop_ms - start_ms) // SYNCHRONY_BIN_MS)
    if t.size == 0 or bins < 2:
        return float("nan")
    counts, _ = np.histogram(t, bins=bins, range=(start_ms, start_ms + bins * SYNCHRONY_BIN_MS))
    mean = counts.mean()
    return float(counts.var() / mean) if mean > 0 else float("nan")


def stats_json(stats: dict[str, PopulationStats]) -> dict[str, dict]:
    """The statistics JSON-ready (rounded; None where undefined)."""
    def plain(v):
        return None if isinstance(v, float) and math.isnan(v) else (round(v, 4) if isinstance(v, float) else v)
    return {name: {k: plain(v) for k, v in vars(s).items()} for name, s in stats.items()}


def stats_table(stats: dict[str, PopulationStats]) -> str:
    """The statistics as the aligned lines `neurobox run microcircuit` prints."""
    lines = [f"{'population':<10} {'neurons':>8} {'rate (Hz)':>10} {'CV ISI':>7} {'synchrony':>10}"]
    for name, s in stats.items():
        cv = "-" if math.isnan(s.cv_isi) else f"{s.cv_isi:.2f}"
        sy = "-" if math.isnan(s.synchrony) else f"{s.synchrony:.2f}"
        lines.append(f"{name:<10} {s.n:>8} {s.rate_hz:>10.3f} {cv:>7} {sy:>10}")
    return "\n".join(lines)


def stats_window(duration_ms: float) -> tuple[float, float]:
    """The window the statistics use: from 100 ms on (the start's transient), or the second half of a run
    shorter than 200 ms."""
    return (min(100.0, duration_ms / 2.0), duration_ms)


def raster(results, path: str | os.PathLike, *, window_ms: tuple[float, float] | None = None,
           stats: dict[str, PopulationStats] | None = None, per_population: int = 300) -> Path:
    """The paper's figure: a 100 ms excerpt (default the last 100 ms) of the raster, `per_population`
    neurons of the largest population drawn (every k-th neuron of each, the same k for all), beside the
    rates, irregularity and synchrony (`stats`; default over `stats_window`)."""
    from neurobox.viz.microcircuit_plots import microcircuit_figure

    t1 = results.bio_ms if window_ms is None else window_ms[1]
    t0 = max(0.0, t1 - 100.0) if window_ms is None else window_ms[0]
    window = stats_window(results.bio_ms)
    stats = stats if stats is not None else statistics(results, *window)
    spikes = {name: results.spikes[name] for name in POPULATIONS}
    total = sum(s.n for s in spikes.values())
    return microcircuit_figure(spikes, stats, path, window_ms=(t0, t1), stats_window_ms=window,
                               per_population=per_population, title=f"microcircuit: {total} neurons")
