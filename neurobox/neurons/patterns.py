"""Name a neuron's firing pattern under a current step from its spike times.

The names are those of Naud et al. (2008), who sort the response to a step
into an onset (tonic, initial burst, delayed) and a steady state (tonic,
adapting, bursting, irregular), plus "transient" when firing stops while
the current is still on; "silent" when there is no spike at all.

Criteria (all times in ms; s_1..s_n the spike times inside the step
[t_on, t_off]; ISI_k = s_{k+1} - s_k; latency L = s_1 - t_on):

1. silent:     n = 0.
2. transient:  firing stops early: t_off - s_n > max(3 max ISI, 0.2 (t_off - t_on))
               (with one spike, only the second term).
3. Burst structure. Sort the ISIs and find the largest ratio between two
   consecutive ones; if it is >= BURST_GAP_RATIO (3) the ISIs below the
   gap are "short" (inside a burst), the others "long". A burst is a run
   of >= 2 spikes joined by short ISIs.
4. delayed:    n >= 3 and L > DELAY_RATIO (2) x the mean ISI: the first spike
               comes much later than the rhythm that follows (Naud et al.'s
               delayed accelerating and delayed regular bursting). The
               detail says "delayed bursting" or "delayed accelerating"
               (adaptation index < 0) or "delayed tonic".
5. bursting:   >= 2 bursts (bursts recur).
6. initial burst: exactly one burst, at the start (the first ISI is short),
               followed by >= 2 long ISIs.
7. irregular:  no burst structure, and the ISIs after the first fifth (at
               least 4 of them) vary from one to the next without a trend:
               their mean CV2 = mean_k 2 |ISI_{k+1} - ISI_k| / (ISI_{k+1} + ISI_k)
               (Holt et al. 1996) is > IRREGULAR_CV2 (0.3), and the ISI
               sequence turns (rises then falls or vice versa) at more than
               IRREGULAR_TURNS (30 %) of its points, so that a train whose
               ISIs simply keep growing (adaptation) is not irregular.
8. adapting:   the steady ISI (median of the last third of the ISIs) is more
               than ADAPT_RATIO (2) x the first ISI; otherwise tonic. A
               train of 2 spikes is tonic.

The adaptation index A = mean_k (ISI_{k+1} - ISI_k) / (ISI_{k+1} + ISI_k)
(Naud et al. 2008; > 0 adapting, < 0 accelerating) is reported as a
feature, and used only to tell delayed accelerating from delayed tonic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurobox.errors import ConfigError

PATTERNS = ("silent", "tonic", "adapting", "initial burst", "bursting", "delayed", "transient", "irregular")
"""Every name `classify` can return."""

BURST_GAP_RATIO = 3.0
DELAY_RATIO = 2.0
IRREGULAR_CV2 = 0.3
IRREGULAR_TURNS = 0.3
ADAPT_RATIO = 2.0
TRANSIENT_ISI_FACTOR = 3.0
TRANSIENT_FRACTION = 0.2


@dataclass
class Pattern:
    """A classified firing pattern.

    name:     one of PATTERNS
    detail:   a finer name where there is one ("delayed bursting", ...), else `name`
    features: the numbers the decision used (latency_ms, mean_isi_ms,
              adaptation_index, steady_over_first_isi, cv, n_bursts, ...)
    """

    name: str
    detail: str
    features: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


def adaptation_index(isi: np.ndarray) -> float:
    """Mean of (ISI_{k+1} - ISI_k)/(ISI_{k+1} + ISI_k); NaN with fewer than 2 ISIs."""
    isi = np.asarray(isi, dtype=float)
    if isi.size < 2:
        return math.nan
    return float(np.mean((isi[1:] - isi[:-1]) / (isi[1:] + isi[:-1])))


def burst_split(isi: np.ndarray) -> float | None:
    """The ISI threshold (ms) between intra-burst and inter-burst ISIs, or None without bursts."""
    if isi.size < 2:
        return None
    srt = np.sort(isi)
    ratios = srt[1:] / np.maximum(srt[:-1], 1e-12)
    k = int(np.argmax(ratios))
    if ratios[k] < BURST_GAP_RATIO:
        return None
    return float(math.sqrt(srt[k] * srt[k + 1]))


def _bursts(short: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive short ISIs as (first spike, last spike) index pairs."""
    runs = []
    k = 0
    while k < short.size:
        if short[k]:
            j = k
            while j + 1 < short.size and short[j + 1]:
                j += 1
            runs.append((k, j + 1))
            k = j + 1
        else:
            k += 1
    return runs


def classify(spike_times_ms, t_on: float, t_off: float) -> Pattern:
    """Name the firing pattern of `spike_times_ms` under a step from t_on to t_off (ms)."""
    t_on = float(t_on)
    t_off = float(t_off)
    if not (math.isfinite(t_on) and math.isfinite(t_off) and t_off > t_on):
        raise ConfigError("t_off", f"the step must end after it starts (t_on = {t_on:g}, t_off = {t_off:g} ms)")
    s = np.sort(np.asarray(spike_times_ms, dtype=float).ravel())
    s = s[(s >= t_on) & (s <= t_off)]
    n = s.size
    window = t_off - t_on
    feats: dict[str, float] = {"n_spikes": float(n)}
    if n == 0:
        return Pattern("silent", "silent", feats)
    isi = np.diff(s)
    latency = s[0] - t_on
    feats["latency_ms"] = latency
    feats["silence_at_end_ms"] = t_off - s[-1]
    if isi.size:
        feats["mean_isi_ms"] = float(isi.mean())
        feats["adaptation_index"] = adaptation_index(isi)
    stop_limit = TRANSIENT_FRACTION * window
    if isi.size:
        stop_limit = max(stop_limit, TRANSIENT_ISI_FACTOR * isi.max())
    if t_off - s[-1] > stop_limit:
        return Pattern("transient", "transient", feats)
    if n == 2:
        return Pattern("tonic", "tonic", feats)
    split = burst_split(isi)
    bursts: list[tuple[int, int]] = []
    n_long = isi.size
    if split is not None:
        short = isi < split
        bursts = _bursts(short)
        n_long = int((~short).sum())
        feats["burst_split_ms"] = split
    feats["n_bursts"] = float(len(bursts))
    if latency > DELAY_RATIO * isi.mean():
        if len(bursts) >= 2:
            detail = "delayed bursting"
        elif feats["adaptation_index"] < 0:
            detail = "delayed accelerating"
        else:
            detail = "delayed tonic"
        return Pattern("delayed", detail, feats)
    if len(bursts) >= 2:
        return Pattern("bursting", "bursting", feats)
    if len(bursts) == 1 and bursts[0][0] == 0 and n_long >= 2:
        return Pattern("initial burst", "initial burst", feats)
    tail = isi[isi.size // 5:]
    if split is None and tail.size >= 4:
        d = np.diff(tail)
        cv2 = float(np.mean(2.0 * np.abs(d) / (tail[1:] + tail[:-1])))
        turns = float(np.mean(np.sign(d[1:]) * np.sign(d[:-1]) < 0))
        feats["cv2"] = cv2
        feats["turns"] = turns
        if cv2 > IRREGULAR_CV2 and turns > IRREGULAR_TURNS:
            return Pattern("irregular", "irregular", feats)
    steady = float(np.median(isi[-max(1, isi.size // 3):]))
    ratio = steady / isi[0]
    feats["steady_over_first_isi"] = ratio
    if ratio > ADAPT_RATIO:
        return Pattern("adapting", "adapting", feats)
    return Pattern("tonic", "tonic", feats)
