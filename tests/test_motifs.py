"""Loop motifs: reverberation, half-centre oscillator, winnerless competition (each shows its defining behaviour)."""
from __future__ import annotations

import argparse

import numpy as np

from neurobox.tasks.motifs import (active_sequence, half_centre, reverberation, ring_inhibition, runs_of,
                                   sequence_reproducibility, winnerless_reproducibility)


# ------------------------------------------------------------------ reverberation

def test_strong_slow_loop_reverberates_long_after_the_kick():
    r = reverberation(15.0, 32.0, duration_ms=600.0)
    assert r["persistent"]
    assert r["persistence_ms"] > 500.0                      # the kick lasted 1 ms
    # both neurons take part, one after the other
    assert set(np.unique(r["ids"])) == {0, 1}
    assert np.all(np.diff(r["ids"][:10]) != 0)
    # one lap = two delays plus two spike latencies
    assert 64.0 < r["period_ms"] < 100.0


def test_weak_loop_dies_with_the_kick():
    r = reverberation(6.0, 32.0, duration_ms=600.0)
    assert r["n_spikes"] == 1                               # only the kicked spike
    assert r["persistence_ms"] == 0.0 and not r["persistent"]


def test_fast_loop_dies_from_adaptation():
    # same weight as the persistent loop, short delay: adaptation builds up and stops it
    r = reverberation(15.0, 2.0, duration_ms=600.0)
    assert not r["persistent"]
    assert r["persistence_ms"] < 100.0


# ------------------------------------------------------------------ half-centre

def test_runs_of_merged_train():
    who, onset, size = runs_of(np.array([0, 0, 1, 1, 1, 0]), np.array([1.0, 2, 3, 4, 5, 6]))
    assert who.tolist() == [0, 1, 0] and onset.tolist() == [1.0, 3.0, 6.0] and size.tolist() == [2, 3, 1]


def test_half_centre_bursts_alternate():
    r = half_centre(200.0, duration_ms=4000.0)
    assert r["alternating"]
    assert r["spikes_per_burst"] >= 2.5
    who, onset, size = runs_of(r["ids"], r["t_ms"])
    late = onset > 1000.0
    assert (who[late] == 0).sum() >= 5 and (who[late] == 1).sum() >= 5
    assert np.all(size[late][:-1] >= 2)                     # bursts, not single spikes


def test_half_centre_period_grows_with_inhibition_and_weak_inhibition_gives_no_bursts():
    weak = half_centre(5.0, duration_ms=4000.0)
    mid = half_centre(50.0, duration_ms=4000.0)
    strong = half_centre(800.0, duration_ms=4000.0)
    assert not weak["alternating"] and weak["spikes_per_burst"] < 1.5
    assert mid["alternating"] and strong["alternating"]
    assert strong["period_ms"] > 1.5 * mid["period_ms"]


# ------------------------------------------------------------------ winnerless competition

def test_ring_inhibition_matrix():
    g = ring_inhibition(4, 400.0, 30.0, symmetric=False)
    assert g[0, 1] == g[1, 2] == g[2, 3] == g[3, 0] == 30.0
    assert g[1, 0] == g[0, 2] == 400.0 and np.all(np.diag(g) == 0)
    s = ring_inhibition(4, 400.0, 30.0, symmetric=True)
    assert np.array_equal(s, s.T)


def test_active_sequence_and_reproducibility_measure():
    t = np.array([5.0, 6.0, 25.0, 26.0, 45.0, 46.0, 65.0, 66.0])
    g = np.array([0, 0, 1, 1, 1, 1, 2, 2])
    seq, counts = active_sequence(t, g, 3, 80.0, 20.0)
    assert seq.tolist() == [0, 1, 2] and counts.shape == (4, 3)
    stats = sequence_reproducibility([np.array([0, 1, 2, 0]), np.array([0, 1, 2, 0]), np.array([0, 2]),
                                      np.array([0, 2, 1, 0])], 4)
    assert stats["reference"] == [0, 1, 2, 0]
    assert stats["reproducibility"] == 0.5 and stats["with_sequence"] == 0.75


def test_winnerless_order_repeats_and_symmetric_inhibition_gives_no_sequence():
    r = winnerless_reproducibility(12, length=9, seed=0)
    ns, sym = r["nonsymmetric"], r["symmetric"]
    # nonsymmetric: the designed order 0 -> 1 -> 2 -> 3 -> 0 in most noisy trials
    assert ns["reference"] == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert ns["reproducibility"] >= 0.7
    # symmetric: most trials end with one winner; no order repeats across trials
    assert sym["with_sequence"] <= 0.5
    assert sym["reproducibility"] <= 0.3
    single = sum(len(s) <= 3 for s in sym["sequences"])
    assert single >= 6


def test_motifs_cli_registers():
    from neurobox.cli import motifs
    parser = argparse.ArgumentParser()
    motifs.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["motifs", "--out", "x", "--json", "--trials", "3"])
    assert args.trials == 3 and args.json and args.func is motifs.run
