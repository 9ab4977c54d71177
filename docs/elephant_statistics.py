"""Elephant's statistics on a neurobox run, next to neurobox's own figures.

    python docs/elephant_statistics.py [MODEL] [--duration MS] [--seed N]

Runs a shipped model (default cuba), turns the Results into a Neo Block
(`Results.to_neo`) and prints, per population, the mean firing rate and the
mean CV of the inter-spike intervals (over neurons with at least three
spikes) as Elephant computes them and as neurobox does (`SpikeTrains.rate_hz`,
`neurobox.coding.statistics.isi_cv`), and the mean pairwise correlation
coefficient of 5 ms spike counts of the first neurons that fired (Elephant's
`correlation_coefficient`; neurobox: `neurobox.coding.spikes.spike_counts`
and numpy's corrcoef). Last, Elephant's cross-correlation histogram of the
two populations' summed activity: the lag of its peak.

Needs the optional extra: pip install 'neurobox[exchange]'.
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

BIN_MS = 5.0
"""Bin of the spike counts that correlations use, ms."""

PAIRS_OF = 50
"""Correlation coefficients are averaged over the pairs of this many neurons (the first that fired)."""

OFFSET_MS = 0.05
"""The count bins start half a step (dt 0.1 ms) after 0, so no spike time lies on a bin edge and
Elephant's binning and neurobox's agree without any rounding tolerance."""


def figures(results, bin_ms: float = BIN_MS, pairs_of: int = PAIRS_OF) -> dict[str, dict[str, float]]:
    """Per population: rate_hz and cv_isi by Elephant and by neurobox, and the mean pairwise correlation
    coefficient of `bin_ms` spike counts of the first `pairs_of` neurons that fired."""
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient
    from elephant.statistics import cv, isi, mean_firing_rate

    from neurobox.coding.spikes import spike_counts
    from neurobox.coding.statistics import isi_cv

    block = results.to_neo()
    trains = block.segments[0].spiketrains
    stop = OFFSET_MS + bin_ms * np.floor((results.bio_ms - OFFSET_MS) / bin_ms)
    out = {}
    for name, spikes in results.spikes.items():
        mine = [st for st in trains if st.annotations["population"] == name]
        e_rates = [float(mean_firing_rate(st).rescale(pq.Hz)) for st in mine]
        e_cvs = [cv(isi(st)) for st in mine if len(st) >= 3]
        n_cvs = [isi_cv(t) for t in spikes.per_neuron() if len(t) >= 3]
        fired = [st for st in mine if len(st) > 0][:pairs_of]
        ids = np.array([st.annotations["neuron_id"] for st in fired], np.int64)
        binned = BinnedSpikeTrain(fired, bin_size=bin_ms * pq.ms, t_start=OFFSET_MS * pq.ms, t_stop=stop * pq.ms)
        with warnings.catch_warnings():  # a neuron without a spike in the window has no coefficient (NaN)
            warnings.simplefilter("ignore")
            e_corr = correlation_coefficient(binned)
            counts = spike_counts(spikes.t_ms, spikes.ids, spikes.n, OFFSET_MS, stop, bin_ms=bin_ms)[:, ids]
            n_corr = np.corrcoef(counts.T)
        off = ~np.eye(len(ids), dtype=bool)
        out[name] = {"elephant_rate_hz": float(np.mean(e_rates)), "neurobox_rate_hz": spikes.rate_hz(results.bio_ms),
                     "elephant_cv_isi": float(np.mean(e_cvs)) if e_cvs else float("nan"),
                     "neurobox_cv_isi": float(np.mean(n_cvs)) if n_cvs else float("nan"),
                     "elephant_corr": float(np.nanmean(e_corr[off])), "neurobox_corr": float(np.nanmean(n_corr[off]))}
    return out


def population_cch(results, first: str, second: str, bin_ms: float = BIN_MS, max_lag_bins: int = 10):
    """Elephant's cross-correlation histogram of two populations' summed activity: (counts, lags in ms)."""
    import neo
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import cross_correlation_histogram

    stop = OFFSET_MS + bin_ms * np.floor((results.bio_ms - OFFSET_MS) / bin_ms)
    binned = [BinnedSpikeTrain(neo.SpikeTrain(np.sort(results.spikes[name].t_ms) * pq.ms,
                                              t_stop=results.bio_ms * pq.ms),
                               bin_size=bin_ms * pq.ms, t_start=OFFSET_MS * pq.ms, t_stop=stop * pq.ms)
              for name in (first, second)]
    cch, lags = cross_correlation_histogram(binned[0], binned[1], window=[-max_lag_bins, max_lag_bins])
    return np.asarray(cch.magnitude).ravel(), lags * bin_ms


def report(results, model: str) -> str:
    """The figures as the lines `main` prints."""
    lines = [f"{model}: {results.bio_ms:g} ms, seed {results.seed}; each figure by Elephant (on Results.to_neo()), "
             f"then by neurobox",
             f"{'population':<10} {'rate (Hz)':>19} {'CV of ISIs':>17} {'corr. coeff.':>17}"]
    for name, f in figures(results).items():
        lines.append(f"{name:<10} {f['elephant_rate_hz']:>9.3f} {f['neurobox_rate_hz']:>9.3f} "
                     f"{f['elephant_cv_isi']:>8.3f} {f['neurobox_cv_isi']:>8.3f} "
                     f"{f['elephant_corr']:>8.4f} {f['neurobox_corr']:>8.4f}")
    names = list(results.spikes)
    if len(names) >= 2:
        cch, lags = population_cch(results, names[0], names[1])
        lines.append(f"cross-correlation histogram of {names[0]} and {names[1]} activity ({BIN_MS:g} ms bins, "
                     f"Elephant): peak at lag {lags[int(np.argmax(cch))]:+g} ms, {cch.max():.0f} coincidences")
    return "\n".join(lines)


def main(argv=None) -> int:
    import neurobox
    from neurobox.examples import resolve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="cuba", help="a shipped model or a model file (default cuba)")
    parser.add_argument("--duration", type=float, default=1000.0, help="ms of model time (default 1000)")
    parser.add_argument("--seed", type=int, help="master seed (default: the model file's)")
    args = parser.parse_args(argv)
    net = neurobox.load(resolve(args.model))
    if args.seed is not None:
        net.seed = args.seed
    print(report(neurobox.run(net, args.duration, progress=False), args.model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
