"""Engine behaviour: delays, weights, receptors, determinism, continuation, errors."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import neurobox as nb
from neurobox.engine.compile import compile_network
from neurobox.examples import path


def one_source_network(weight, delay, model="iaf_psc_exp", receptor=None, times=(1.0,), params=None, dt=0.1):
    net = nb.Network(dt=dt, seed=3)
    src = net.add(nb.SpikeSource([list(times)], name="src"))
    post = net.population("post", 1, model, params or {})
    net.connect(src, post, "all_to_all", weight=weight, delay=delay, receptor=receptor)
    return net


@pytest.mark.parametrize("delay", [0.1, 0.7, 2.5, 30.0])
def test_spike_arrives_exactly_delay_later(delay):
    net = one_source_network(weight=50.0, delay=delay)
    net.record("post", ["I_syn_ex"])
    res = nb.run(net, 40.0)
    assert res.spikes["src"].t_ms.tolist() == [1.0]
    tr = res.trace("post", "I_syn_ex")
    arrived = tr.t_ms[np.flatnonzero(tr.values[:, 0] != 0.0)[0]]
    assert arrived == pytest.approx(1.0 + delay, abs=1e-9)
    assert tr.values[np.isclose(tr.t_ms, 1.0 + delay), 0][0] == pytest.approx(50.0)


def test_weights_add_and_psc_and_psp_match_closed_form():
    p = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "E_L": -70.0}
    net = nb.Network(dt=0.1, seed=0)
    src = net.add(nb.SpikeSource([[2.0], [2.0]], name="src"))
    net.population("post", 1, "iaf_psc_exp", p)
    net.connect(src, "post", "explicit", pre_ids=[0, 1], post_ids=[0, 0], weight=[30.0, 45.0], delay=1.0)
    net.record("post", ["I_syn_ex", "V_m"])
    res = nb.run(net, 30.0)
    t0 = 3.0  # arrival
    i_tr, v_tr = res.trace("post", "I_syn_ex"), res.trace("post", "V_m")
    after = i_tr.t_ms >= t0 - 1e-9
    s = i_tr.t_ms[after] - t0
    np.testing.assert_allclose(i_tr.values[after, 0], 75.0 * np.exp(-s / 2.0), rtol=1e-12)
    # the membrane integrates the current from the step after its arrival: exact at grid points
    a = 1 / 10.0 - 1 / 2.0
    psp = 75.0 / 250.0 * (np.exp(-s / 10.0) - np.exp(-s / 2.0)) / (-a)
    np.testing.assert_allclose(v_tr.values[after, 0] + 70.0, psp, atol=1e-12)
    assert np.all(v_tr.values[~after, 0] == -70.0)


def test_inhibitory_receptor_hyperpolarises():
    for model, w in (("iaf_cond_exp", 20.0), ("iaf_psc_exp", -200.0)):
        net = one_source_network(weight=w, delay=1.0, model=model, receptor="inhibitory")
        net.record("post", "V_m")
        tr = nb.run(net, 20.0).trace("post", "V_m")
        assert tr.values[:, 0].min() < -70.0 - 0.5, model
        assert tr.values[:, 0].max() <= -70.0 + 1e-12, model


def small_coba(seed=5, n=1000):
    """COBA with 1000 neurons at the same in-degree as the full network."""
    text = path("coba").read_text().replace("n = 800", f"n = {n // 5}").replace("n = 3200", f"n = {n - n // 5}")
    text = text.replace("p = 0.02", "p = 0.08")
    net = nb.loads(text)
    net.seed = seed
    return net


def test_same_seed_same_spikes_other_seed_other_spikes():
    a = nb.run(small_coba(seed=5), 200.0).spikes["exc"]
    b = nb.run(small_coba(seed=5), 200.0).spikes["exc"]
    c = nb.run(small_coba(seed=6), 200.0).spikes["exc"]
    assert len(a) > 1000
    np.testing.assert_array_equal(a.t_ms, b.t_ms)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert len(a) != len(c) or not np.array_equal(a.ids, c.ids)


def test_run_continues_where_it_stopped():
    whole = nb.run(small_coba(), 200.0).spikes["inh"]
    sim = nb.Simulation(small_coba())
    sim.run(70.0)
    sim.advance(130.0)
    parts = sim.results().spikes["inh"]
    np.testing.assert_array_equal(whole.t_ms, parts.t_ms)
    np.testing.assert_array_equal(whole.ids, parts.ids)
    assert sim.time == pytest.approx(200.0)


def test_the_simulation_runs_a_snapshot_of_the_description():
    net = small_coba()
    sim = nb.Simulation(net)
    net.population("late", 5, "iaf_psc_exp")          # edits after opening do not reach the run
    net.populations["exc"].set(V_th=0.0)
    assert "late" not in sim.network.populations
    assert sim.network.populations["exc"].params["V_th"] != 0.0
    assert len(sim.run(50.0).spikes["exc"]) > 0


def test_the_network_package_never_imports_the_engine():
    code = ("import sys; import neurobox.network as n; n.load; "
            "bad = [m for m in sys.modules if m.startswith(('neurobox.engine', 'neurobox.twin', 'neurobox.hardware'))]; "
            "print(bad); assert not bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


SCRIPT = """
import hashlib, sys
sys.path.insert(0, {root!r})
import neurobox as nb
from tests.test_engine import small_coba
s = nb.run(small_coba(), 200.0).spikes["exc"]
print(hashlib.sha256(s.t_ms.tobytes() + s.ids.tobytes()).hexdigest())
"""


def test_identical_with_one_and_two_threads():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digests = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", SCRIPT.format(root=root)], env=env, cwd=root,
                             capture_output=True, text=True, check=True)
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1]


def test_poisson_source_rate_and_independence():
    net = nb.Network(dt=0.1, seed=9)
    net.add(nb.PoissonSource(2000, 20.0, name="p"), nb.PoissonSource(2000, 20.0, name="q"))
    res = nb.run(net, 1000.0)
    p, q = res.spikes["p"], res.spikes["q"]
    expected = 2000 * 20.0 * 1.0
    assert abs(len(p) - expected) < 5 * math.sqrt(expected)
    assert not np.array_equal(p.ids[:100], q.ids[:100])


def test_source_rate_can_change_between_runs():
    net = nb.Network(dt=0.1, seed=9)
    net.add(nb.PoissonSource(1000, 10.0, name="p"))
    sim = nb.Simulation(net)
    n1 = len(sim.run(500.0).spikes["p"])
    sim.set_params("p", rate=50.0)
    n2 = len(sim.run(500.0).spikes["p"]) - n1
    assert n2 > 3 * n1


def test_step_current_changes_between_runs():
    net = nb.Network(dt=0.1)
    net.population("n", 1, "iaf_psc_exp", {})
    net.add(nb.StepCurrent("n", [10.0], [1000.0], name="s"))
    sim = nb.Simulation(net)
    before = len(sim.run(100.0).spikes["n"])
    sim.set_stimulus("s", amplitudes=[0.0])
    after = len(sim.run(100.0).spikes["n"]) - before
    assert before > 5 and after == 0


def test_nan_state_stops_with_population_and_time():
    net = nb.Network(dt=0.1)
    net.population("layer", 10, "iaf_psc_exp", {})
    sim = nb.Simulation(net)
    sim.run(1.0)
    sim.compiled.populations[0].state[0, 3] = np.nan
    with pytest.raises(nb.SimulationError, match=r"'layer' \(neuron 3\).*t = 1.1 ms"):
        sim.run(5.0)


def test_synapse_memory_is_compact():
    c = compile_network(small_coba())
    assert c.n_synapses > 10000
    assert c.synapse_bytes / c.n_synapses < 8.0
    assert all(p.targets.dtype == np.uint16 and p.weights.dtype == np.float32 for p in c.projections)


def test_live_access_to_spikes_and_state():
    sim = nb.Simulation(small_coba())
    sim.run(50.0)
    sim.run(50.0)
    full = sim.results().spikes["exc"]
    window = sim.spikes_between(30.0, 80.0)["exc"]
    keep = (full.t_ms > 30.0) & (full.t_ms <= 80.0)
    np.testing.assert_array_equal(window[0], full.t_ms[keep])
    np.testing.assert_array_equal(window[1], full.ids[keep])
    v = sim.state("exc", "V_m")
    assert v.shape == (800,) and np.all(v < -40.0)


@pytest.mark.parametrize("delay", [1.0, [1.0, 2.0, 3.0, 1.5]])
def test_unreliable_transmission_passes_the_expected_fraction(delay):
    def arrivals(p):
        net = nb.Network(dt=0.1, seed=4)
        net.add(nb.PoissonSource(4, 200.0, name="src"))
        net.population("post", 50, "iaf_psc_exp", {"V_th": 1e3})
        net.connect("src", "post", "all_to_all", weight=1.0, delay=delay if np.ndim(delay) == 0 else
                    np.tile(delay, 50), p_transmit=p, name="link")
        net.record("post", "I_syn_ex")
        res = nb.run(net, 1000.0)
        return res.spikes["src"], res.trace("post", "I_syn_ex").values
    src, full = arrivals(1.0)
    _, none = arrivals(0.0)
    _, half = arrivals(0.4)
    assert np.all(none == 0.0)
    expected = 0.4 * len(src) * 50
    # the summed current decays by a known factor per step: its total is proportional to what arrived
    ratio = half.sum() / full.sum()
    assert ratio == pytest.approx(0.4, abs=4 * math.sqrt(0.4 * 0.6 / expected) + 0.01)


def test_p_transmit_changes_between_runs_and_round_trips():
    net = nb.Network(dt=0.1, seed=4)
    net.add(nb.PoissonSource(4, 200.0, name="src"))
    net.population("post", 5, "iaf_psc_exp")
    net.connect("src", "post", "all_to_all", weight=1.0, delay=1.0, p_transmit=1.0, name="link")
    assert nb.loads(net.to_toml()).projections["link"].p_transmit == 1.0
    sim = nb.Simulation(net)
    sim.run(10.0)
    sim.set_p_transmit("link", 0.5)
    sim.run(10.0)
    with pytest.raises(nb.ConfigError, match="probability"):
        sim.set_p_transmit("link", 1.5)
