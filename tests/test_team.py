"""The threads of the parallel loop: the barrier holds them together, a start without all of them gives up,
and a Simulation whose threads cannot all run at once finishes serially with the same spikes."""
import numba
import numpy as np
import pytest
from numba import njit, prange

import neurobox as nb
from neurobox.engine import codegen, team

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")


@njit(parallel=True)
def _count_in_step(sync, counts, behind, steps, threads):
    """Each thread counts its steps; after each barrier it checks that every other thread has counted as many."""
    for t in prange(threads):
        if not team.start(sync, threads):
            counts[t] = -1
            continue
        for _ in range(steps):
            counts[t] += 1
            team.barrier(sync, threads)
            for other in range(threads):
                if counts[other] != counts[t]:
                    behind[t] += 1
            team.barrier(sync, threads)


def test_the_barrier_keeps_the_threads_in_step():
    numba.set_num_threads(2)
    sync, counts, behind = np.zeros(team.SYNC_SLOTS, np.int64), np.zeros(2, np.int64), np.zeros(2, np.int64)
    _count_in_step(sync, counts, behind, 20000, 2)
    assert counts.tolist() == [20000, 20000] and behind.tolist() == [0, 0]
    assert sync[team.GENERATION] == 40000 and sync[team.COUNT] == 0


def test_a_start_without_every_thread_gives_up_for_all():
    numba.set_num_threads(1)  # the two iterations then run one after the other: the first can never meet the second
    try:
        sync, counts, behind = np.zeros(team.SYNC_SLOTS, np.int64), np.zeros(2, np.int64), np.zeros(2, np.int64)
        _count_in_step(sync, counts, behind, 10, 2)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert counts.tolist() == [-1, -1] and sync[team.OUTCOME] == team.ABORT


def test_a_simulation_whose_threads_cannot_meet_runs_serially(monkeypatch):
    def network():
        net = nb.Network(dt=0.1, seed=3)
        net.population("bg", 200, "poisson_generator", {"rate": 2000.0})
        net.population("exc", 300, "iaf_psc_exp")
        net.connect("bg", "exc", "fixed_indegree", indegree=10, weight=30.0, delay=1.0)
        net.connect("exc", "exc", "fixed_probability", p=0.05, weight=5.0, delay=1.5)
        return net

    expected = nb.Simulation(network(), progress=False, threads=1).run(300.0)
    monkeypatch.setattr(codegen, "PARALLEL_MIN_NEURONS", 10)
    sim = nb.Simulation(network(), progress=False, threads=2)
    set_threads = numba.set_num_threads
    monkeypatch.setattr(numba, "set_num_threads", lambda n: None)  # the loop's prange then keeps one thread
    set_threads(1)
    try:
        res = sim.run(300.0)  # (the forms are compared from the second chunk on, at the latest)
    finally:
        set_threads(numba.config.NUMBA_NUM_THREADS)
    assert sim.steps_by_form["parallel"] == 0 and not sim._may_share
    assert res.spikes["exc"].ids.tolist() == expected.spikes["exc"].ids.tolist()
    assert res.spikes["exc"].t_ms.tolist() == expected.spikes["exc"].t_ms.tolist()
