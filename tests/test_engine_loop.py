"""The generated loop: its source does not grow with the network, its threads do not change a spike,
it accepts narrow targets and long spike scratches, and it records a sample of a population."""
import dataclasses
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

import neurobox as nb
from neurobox.engine import codegen
from neurobox.engine import compile as engine_compile
from neurobox.engine import simulation
from neurobox.engine.simulation import loop_structure
from neurobox.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from compile_time import network as compile_network_of  # noqa: E402


def _structure(net):
    return loop_structure(engine_compile.compile_network(net))


def test_source_is_the_same_for_2_and_72_projections():
    small, big = compile_network_of(1), compile_network_of(8)
    assert (len(small.projections), len(big.projections)) == (2, 72)
    s_small, s_big = _structure(small), _structure(big)
    assert codegen.generate_helpers(s_small) == codegen.generate_helpers(s_big)
    assert codegen.generate_source(s_small) == codegen.generate_source(s_big)
    assert codegen.generate_source(s_small, True) == codegen.generate_source(s_big, True)
    # and it stays short: the loop walks tables, it does not spell out objects
    assert codegen.generate_helpers(s_big).count("\n") + codegen.generate_source(s_big).count("\n") < 250


def _spikes(res):
    return {name: (trains.t_ms.tolist(), trains.ids.tolist()) for name, trains in res.spikes.items()}


def _mixed_network(record_exc=True):
    """Delays per synapse and uniform, unreliable and plastic projections, a recorder, sources: every kind."""
    net = nb.Network(dt=0.1, seed=5)
    net.population("bg", 300, "poisson_generator", {"rate": 100.0})
    net.population("exc", 400, "iaf_cond_exp", record_spikes=record_exc)
    net.population("inh", 100, "iaf_psc_exp")
    net.connect("bg", "exc", "fixed_indegree", indegree=20, weight=12.0, delay={"distribution": "uniform",
                                                                              "low": 0.5, "high": 3.0})
    net.connect("bg", "inh", "fixed_probability", p=0.1, weight=150.0, delay=1.0)
    net.connect("exc", "exc", "fixed_probability", p=0.05, weight=0.5, delay=1.5)
    net.connect("exc", "inh", "fixed_probability", p=0.1, weight=40.0, delay=0.8, p_transmit=0.7)
    net.connect("inh", "exc", "fixed_probability", p=0.1, weight=4.0, delay=0.8, receptor="inhibitory")
    net.connect("bg", "exc", "fixed_probability", p=0.02, weight=1.0, delay=1.0,
                plasticity={"rule": "stdp", "A_plus": 0.01, "A_minus": 0.012, "w_max": 3.0})
    net.population("drive", 400, "poisson_generator", {"rate": 15000.0})  # counts of 1 to 2 spikes per step
    # identity rows (monotone: a block's spikes are a range) into "exc", which two threads cut in two
    net.connect("drive", "exc", "one_to_one", weight={"distribution": "uniform", "low": 0.01, "high": 0.03},
                delay=1.5)
    net.record("exc", ["V_m"], neurons=[0, 5])
    return net


def test_spikes_are_the_same_for_one_and_two_threads_and_serial(monkeypatch):
    serial = nb.Simulation(_mixed_network(), progress=False, threads=1)
    expected = _spikes(serial.run(300.0))
    assert serial.threads_used == 1 and serial.steps_by_form["parallel"] == 0
    assert sum(len(t) for t, _ in expected.values()) > 1000
    # make this small network take the parallel form of the loop
    monkeypatch.setattr(codegen, "PARALLEL_MIN_NEURONS", 10)
    for threads in sorted({1, 2, int(numba.config.NUMBA_NUM_THREADS)}):
        if threads > numba.config.NUMBA_NUM_THREADS:
            continue
        sim = nb.Simulation(_mixed_network(), progress=False, threads=threads)
        _, _, runs, blocks = sim.structure.task_tables(True, threads)
        assert [p.monotone_rows for p in sim.structure.projections].count(True) == 1  # the one_to_one
        assert len(runs) == threads
        if threads > 1:  # "exc" cut between two threads: its update and its delivery in two blocks
            assert any(k == 1 and not whole for k, _, _, whole, _ in blocks)
        res = sim.run(300.0)  # the forms compared on windows of 200 steps, from the second chunk at the latest
        if threads > 1:
            assert sim.steps_by_form["parallel"] >= 400 and sim.steps_by_form["serial"] >= 400
            assert sum(sim.steps_by_form.values()) == 3000
            assert res.timings["threads"] == sim.threads_used
        else:  # one thread: the serial form
            assert sim.steps_by_form == {"parallel": 0, "serial": 3000} and res.timings["threads"] == 1
        assert _spikes(res) == expected, threads
        np.testing.assert_array_equal(res.trace("exc", "V_m").values,
                                      serial.results().trace("exc", "V_m").values)
    # the identity rows delivered by the spike itself add what the rows would, in the same order
    assert [p.identity_rows for p in serial.structure.projections].count(True) == 1
    monkeypatch.setattr(simulation, "_identity_rows", lambda cp: False)
    by_rows = nb.Simulation(_mixed_network(), progress=False, threads=1)
    assert not any(p.identity_rows for p in by_rows.structure.projections)
    assert _spikes(by_rows.run(300.0)) == expected


def test_spike_range_of_monotone_rows_holds_every_spike_that_reaches_a_block():
    from neurobox.engine.kernels import spike_range
    rng = np.random.default_rng(3)
    for _ in range(50):  # rows of 0..3 targets whose first and last targets grow with the row
        lengths = rng.integers(0, 4, 60)
        starts = np.cumsum(rng.integers(0, 3, 60))
        rows = [np.sort(s + rng.choice(4, n, replace=False)) for s, n in zip(starts, lengths)]
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        targets = np.concatenate(rows + [np.zeros(0)]).astype(np.int32)
        firsts = [r[0] for r in rows if r.size]
        lasts = [r[-1] for r in rows if r.size]
        if firsts != sorted(firsts) or lasts != sorted(lasts):
            continue
        spikes = np.sort(rng.choice(60, rng.integers(0, 40))).astype(np.int32)  # with repeats (counts)
        for lo in range(0, int(targets.max(initial=0)) + 3, 5):
            hi = lo + 5
            s0, s1 = spike_range(spikes, spikes.size, indptr, targets, lo, hi)
            reaching = [s for s, pre in enumerate(spikes) if np.any((rows[pre] >= lo) & (rows[pre] < hi))]
            assert all(s0 <= s < s1 for s in reaching), (lo, s0, s1, reaching)


def test_neurons_are_shared_out_evenly_and_whole_populations_stay_whole():
    sizes, whole = [640, 300, 200, 61], [False, True, True, False]
    runs = codegen.share_neurons(sizes, whole, 2)
    loads = [sum(hi - lo for _, lo, hi in run) for run in runs]
    assert loads == [601, 600]  # the two sources on different threads, the rest cut to even them out
    assert {(k, lo, hi) for k, lo, hi in runs[0] + runs[1] if whole[k]} == {(1, 0, 300), (2, 0, 200)}
    for k in (0, 3):  # every neuron of a blockable population in exactly one block
        cover = sorted((lo, hi) for run in runs for j, lo, hi in run if j == k)
        assert cover[0][0] == 0 and cover[-1][1] == sizes[k] and all(a[1] == b[0] for a, b in zip(cover, cover[1:]))
    assert codegen.share_neurons([10], [False], 3) == [[(0, 0, 4)], [(0, 4, 8)], [(0, 8, 10)]]


def _forms(per_step, chunks):
    """The (parallel, steps) of each chunk when the forms take per_step[parallel] seconds a step."""
    sim = nb.Simulation(_mixed_network(), progress=False, threads=1)
    sim._may_share = True  # as if it were big enough to share (the forms' speed is faked)
    sim._compare_every = 0  # and its parallel form were in the cache (else the first chunk runs serially)
    out = []
    for _ in range(chunks):
        parallel, steps = sim._choose_form()
        out.append((parallel, steps))
        sim._timed(parallel, per_step[parallel] * steps, steps)
    return out


def test_forms_are_compared_on_neighbouring_windows_and_again_less_often_while_the_same_wins():
    window = nb.Simulation.WINDOW_STEPS
    compare = [(False, window), (True, window)] * 2
    slow = _forms({True: 2e-6, False: 1e-6}, 50)
    assert slow[:5] == [(True, window)] + compare  # (the first window starts the threads: not timed)
    assert slow[5:13] == [(False, 2000)] * 8
    assert slow[13:17] == compare and slow[17:33] == [(False, 2000)] * 16 and slow[33:37] == compare
    fast = _forms({True: 1e-6, False: 2e-6}, 14)
    assert fast[5:13] == [(True, 2000)] * 8 and fast[13] == (False, window)


def test_threads_are_checked():
    with pytest.raises(ConfigError, match="threads"):
        nb.Simulation(_mixed_network(), progress=False, threads=0)
    with pytest.raises(ConfigError, match="threads"):
        nb.Simulation(_mixed_network(), progress=False, threads=numba.config.NUMBA_NUM_THREADS + 1)


def test_uint16_targets_and_long_spike_scratch_give_the_same_spikes(monkeypatch):
    expected = _spikes(nb.Simulation(_mixed_network(), progress=False, threads=1).run(200.0))
    project, populate = engine_compile._compile_projection, engine_compile._compile_population

    def narrow(*args, **kwargs):
        cp = project(*args, **kwargs)
        return dataclasses.replace(cp, targets=cp.targets.astype(np.uint16))

    def long_scratch(*args, **kwargs):
        cp = populate(*args, **kwargs)
        if not cp.population.model.is_source:  # (a Poisson source's kernel takes len(spikes) for N)
            cp.spikes = np.zeros(3 * cp.n + 7, np.int32)
        return cp

    monkeypatch.setattr(engine_compile, "_compile_projection", narrow)
    monkeypatch.setattr(engine_compile, "_compile_population", long_scratch)
    sim = nb.Simulation(_mixed_network(), progress=False, threads=1)
    assert {cp.targets.dtype for cp in sim.compiled.projections} == {np.dtype(np.uint16)}
    assert _spikes(sim.run(200.0)) == expected


def test_record_spikes_of_a_sample():
    whole = _spikes(nb.Simulation(_mixed_network(), progress=False).run(200.0))
    sampled_net = _mixed_network(record_exc=50)
    assert sampled_net.populations["exc"].record_spikes == 50
    res = nb.Simulation(sampled_net, progress=False).run(200.0)
    t, ids = _spikes(res)["exc"]
    keep = [k for k, i in enumerate(whole["exc"][1]) if i < 50]
    assert ids == [whole["exc"][1][k] for k in keep] and t == [whole["exc"][0][k] for k in keep]
    assert res.spikes["exc"].n == 400
    assert _spikes(res)["inh"] == whole["inh"]
    # the model file keeps it
    again = nb.loads(sampled_net.to_toml())
    assert again.populations["exc"].record_spikes == 50


@pytest.mark.parametrize("bad", [0, -1, 401, 2.5, "all", None])
def test_record_spikes_bad_values_name_the_field(bad):
    with pytest.raises(ConfigError, match=r"populations\.exc\.record_spikes"):
        nb.Population(400, "iaf_cond_exp", name="exc", record_spikes=bad)
