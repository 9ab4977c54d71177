"""NIR graphs to and from a Network (neurobox.io.nir), checked against references computed here from NIR's ODEs."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import neurobox
from neurobox import Network
from neurobox.errors import ConfigError
from tests.conftest import require_module, require_tool

nir = require_module("nir", "exchange")

from neurobox.io.nir import from_nir, read, to_nir, write

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def arr(*values):
    return np.array(values, dtype=float)


def spikes_of(res, pop):
    s = res.spikes[pop]
    return list(zip(np.round(s.t_ms, 6).tolist(), s.ids.tolist()))


# ---------------------------------------------------------------------------------------------------- round trip

def two_layers():
    net = Network(dt=0.1, duration=30.0, seed=3)
    times = [[1.0, 5.0, 9.0], [2.0, 3.0], [4.0], [6.0, 7.0], [8.0]]
    net.population("src", 5, "spike_generator", {"spike_times": times})
    net.population("h", 4, "iaf_psc_exp", {"t_ref": 0.0, "tau_syn_ex": 3.0, "tau_syn_in": 3.0, "V_th": -67.0})
    net.population("o", 2, "iaf_psc_exp", {"t_ref": 0.0, "V_th": -69.0, "tau_syn_in": 2.0, "tau_m": 15.0})
    net.connect("src", "h", "all_to_all", weight=np.linspace(0.0, 400.0, 20), delay=0.3)
    net.connect("src", "h", "all_to_all", weight=np.linspace(-100.0, 0.0, 20), delay=[0.1, 0.2, 0.3, 0.4] * 5)
    net.connect("h", "o", "all_to_all", weight=300.0, delay=0.1)
    return net


def test_round_trip_gives_the_same_network_and_spikes(tmp_path):
    net = two_layers()
    write(net, tmp_path / "net.nir")
    back = read(tmp_path / "net.nir")
    assert back.to_toml() == net.to_toml()
    # the graph alone (no neurobox metadata: as another tool would pass it on) gives the same spikes once its
    # Input is fed the same spike times
    graph = nir.read(str(tmp_path / "net.nir"))
    assert {type(n).__name__ for n in graph.nodes.values()} == {"Input", "CubaLIF", "Linear", "Delay", "Output"}
    graph.metadata = {"dt": graph.metadata["dt"]}
    converted = from_nir(graph)
    assert converted.populations["h"].model.name == "iaf_psc_exp"
    converted.populations["src"].set(spike_times=net.populations["src"].params["spike_times"])
    a, b = neurobox.run(net, 30.0), neurobox.run(converted, 30.0)
    assert len(a.spikes["h"]) > 3 and len(a.spikes["o"]) > 3
    for pop in ("h", "o"):
        assert spikes_of(a, pop) == spikes_of(b, pop)


def test_a_graph_changed_elsewhere_is_read_from_its_nodes(tmp_path):
    net = two_layers()
    graph, _ = to_nir(net)
    graph.nodes["h_o"].weight = graph.nodes["h_o"].weight * 2.0
    back = from_nir(graph)
    w = back.projections["h_o.exc"].weight
    assert np.allclose(w, 600.0)


# ---------------------------------------------------------------------------------------------------- references

def cuba_reference(w_eff, arrivals, steps, dt_s, tau_syn, tau_mem, r, v_leak, v_th, v_reset, w_in, bias):
    """The NIR CubaLIF ODEs solved in closed form between grid points: tau_syn dI/dt = -I + w_in (b + inputs),
    tau_mem dv/dt = (v_leak - v) + r I; an input spike of weight W (an impulse of area dt) arriving at step k
    moves I by w_in W dt / tau_syn at the end of step k; v >= v_th at a grid point: spike, v <- v_reset."""
    n = tau_syn.size
    i_b = w_in * bias
    cur, v = np.zeros(n), v_leak.copy()
    spikes, trace = [], []
    for k in range(steps):
        h = dt_s
        d = cur - i_b
        es, em = np.exp(-h / tau_syn), np.exp(-h / tau_mem)
        v = v_leak + r * i_b + (v - v_leak - r * i_b) * em + r * d * tau_syn / (tau_syn - tau_mem) * (es - em)
        cur = i_b + d * es
        cur += w_in * dt_s / tau_syn * arrivals.get(k, np.zeros(n))
        fired = v >= v_th
        v[fired] = v_reset[fired]
        spikes += [(round((k + 1) * dt_s * 1e3, 6), j) for j in np.flatnonzero(fired)]
        trace.append(v.copy())
    return spikes, np.array(trace)


def test_a_graph_written_as_snntorch_writes_synaptic_cells_runs_as_its_odes():
    # snnTorch's exporter: tau = dt / (1 - alpha or beta) with dt = 1e-4 s, r = tau_mem / dt, w_in = tau_syn / dt,
    # v_leak = 0, v_reset = 0; torch.nn.Linear -> Affine
    dt = 1e-4
    alpha, beta = np.array([0.9]), np.array([0.95])   # one value for the layer, as snnTorch's scalar alpha, beta
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - beta)
    one = np.ones(1)
    W = np.array([[0.6, 0.3], [0.9, -0.2], [0.1, 0.7]])
    b = np.array([0.0, 0.02, 0.05])
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Affine(weight=W, bias=b),
        "lif": nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt, v_leak=0 * one, v_threshold=one,
                           w_in=tau_syn / dt),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)
    net = from_nir(graph, dt=0.1)
    assert net.populations["lif"].model.name == "iaf_psc_exp" and net.populations["lif"].n == 3
    assert len(net.stimuli) == 2
    times = [[0.5, 0.6, 0.7, 2.0, 2.1, 4.0], [0.5, 1.0, 1.5, 3.0, 3.1, 3.2, 3.3]]
    net.populations["input"].set(spike_times=times)
    net.record("lif", ["V_m"], name="v")
    steps = 60
    res = neurobox.run(net, steps * 0.1)
    arrivals = {}
    for i, ts in enumerate(times):
        for t in ts:  # a spike at t (ms) crosses the edge in one step: it arrives in the step after
            k = round(t / 0.1)
            arrivals[k] = arrivals.get(k, np.zeros(3)) + W[:, i]
    three = np.ones(3)
    ref, v = cuba_reference(W, arrivals, steps, dt, tau_syn * three, tau_mem * three, tau_mem / dt * three,
                            0 * three, three, 0 * three, tau_syn / dt * three, b)
    assert len(ref) >= 5
    assert sorted(spikes_of(res, "lif")) == sorted(ref)
    np.testing.assert_allclose(res.trace("lif", "V_m").values, v, rtol=1e-6, atol=1e-9)  # float32 weights
    # and back: the biases become an Affine's again, and the graph alone gives the same spikes
    again, notes = to_nir(net)
    assert np.allclose(next(n.bias for n in again.nodes.values() if type(n).__name__ == "Affine"), b)
    assert not any("rises with tau_syn" in note for note in notes)
    again.metadata = {"dt": again.metadata["dt"]}
    back = from_nir(again)
    back.populations["input"].set(spike_times=times)
    assert spikes_of(neurobox.run(back, steps * 0.1), "lif") == spikes_of(res, "lif")


def test_a_graph_written_as_norse_writes_lif_if_and_li_cells_runs_as_its_odes():
    # Norse's exporter: tau = 1 / tau_mem_inv (s), r = 1, v_leak, v_th, v_reset as given; LIBoxCell -> LI
    dt_ms = 1.0
    dt = dt_ms * 1e-3
    tau = arr(0.01, 0.02)
    W1, W2 = np.array([[30.0, 10.0], [5.0, 40.0]]), np.array([[25.0, 25.0]])
    graph = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([2])}),
        "w1": nir.Linear(weight=W1),
        "d": nir.Delay(delay=arr(0.002, 0.0)),
        "lif": nir.LIF(tau=tau, r=arr(1.0, 1.0), v_leak=arr(0.0, 0.1), v_threshold=arr(0.5, 0.6),
                       v_reset=arr(0.0, 0.0)),
        "w2": nir.Linear(weight=W2),
        "if": nir.IF(r=arr(1.0), v_threshold=arr(0.3), v_reset=arr(0.0)),
        "li": nir.LI(tau=arr(0.005), r=arr(1.0), v_leak=arr(0.0)),
        "w3": nir.Linear(weight=np.array([[10.0]])),
        "out": nir.Output(output_type={"output": np.array([1])}),
    }, edges=[("in", "w1"), ("w1", "d"), ("d", "lif"), ("lif", "w2"), ("w2", "if"), ("if", "w3"), ("w3", "li"),
              ("li", "out")])
    net = from_nir(graph, dt=dt_ms)
    # the two LIF neurons differ (v_leak, v_threshold): one population each, in the node's order
    assert {k: p.model.name for k, p in net.populations.items()} == {
        "in": "spike_generator", "lif.0": "iaf_psc_delta", "lif.1": "iaf_psc_delta", "if": "iaf_psc_delta",
        "li": "leaky_integrator"}
    times = [[2.0, 3.0, 4.0, 10.0], [5.0, 6.0, 7.0, 8.0, 20.0]]
    net.populations["in"].set(spike_times=times)
    steps = 40
    res = neurobox.run(net, steps * dt_ms)
    # the reference: each node's ODE solved exactly on the grid, an input of weight W arriving in step k (one step
    # per edge, 1 + delay / dt through a Delay) moves v by r W dt / tau (LIF, LI) or r W dt (IF)
    v1, v2, v3 = arr(0.0, 0.1), arr(0.0), arr(0.0)
    leak = np.exp(-dt / tau)
    incoming = {k: np.zeros(2) for k in range(steps + 10)}
    for i, ts in enumerate(times):
        for t in ts:
            k = round(t / dt_ms)
            incoming[k + 2][0] += W1[0, i]          # 1 step + 2 ms of delay into neuron 0
            incoming[k][1] += W1[1, i]              # 1 step into neuron 1
    s1, s2, li = [], [], []
    into_if, into_li = np.zeros(steps + 2), np.zeros(steps + 2)
    for k in range(steps):
        v1 = arr(0.0, 0.1) + (v1 - arr(0.0, 0.1)) * leak + 1.0 * incoming[k] * dt / tau
        f1 = v1 >= arr(0.5, 0.6)
        v1[f1] = 0.0
        s1 += [(float(k + 1), j) for j in np.flatnonzero(f1)]
        into_if[k + 1] += W2[0] @ f1
        v2 = v2 + 1.0 * into_if[k] * dt
        f2 = v2 >= 0.3
        v2[f2] = 0.0
        s2 += [(float(k + 1), 0)] * int(f2[0])
        into_li[k + 1] += 10.0 * f2[0]
        v3 = v3 * math.exp(-dt / 0.005) + 1.0 * into_li[k] * dt / 0.005
        li.append(v3[0])
    assert len(s1) >= 3 and len(s2) >= 1
    got = [(t, 0) for t, _ in spikes_of(res, "lif.0")] + [(t, 1) for t, _ in spikes_of(res, "lif.1")]
    assert sorted(got) == sorted(s1)
    assert spikes_of(res, "if") == s2
    np.testing.assert_allclose(res.trace("li", "V_m").values[:, 0], li, rtol=1e-6, atol=1e-9)  # float32 weights


# ---------------------------------------------------------------------------------------------------- convolutions

def correlate(x, W, stride, pad, dilation, groups):
    """Cross-correlation as torch.nn.ConvNd computes it, by a sliding window over the zero-padded input."""
    nd = x.ndim - 1
    xp = np.pad(x, [(0, 0)] + [(p, p) for p in pad])
    c_out, per_group, kernel = W.shape[0], W.shape[1], W.shape[2:]
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    win = np.lib.stride_tricks.sliding_window_view(xp, span, axis=tuple(range(1, nd + 1)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in stride)]
    win = win[(Ellipsis,) + tuple(slice(None, None, d) for d in dilation)]
    out = []
    for co in range(c_out):
        g = co // (c_out // groups)
        block = win[g * per_group:(g + 1) * per_group]
        out.append(np.tensordot(block, W[co], axes=([0] + list(range(nd + 1, 2 * nd + 1)),
                                                    list(range(nd + 1)))))
    return np.array(out)


@pytest.mark.parametrize("kind,in_shape,W_shape,stride,padding,dilation,groups", [
    ("Conv2d", (2, 5, 4), (3, 2, 3, 2), (2, 1), (1, 0), (1, 2), 1),
    ("Conv1d", (4, 9), (2, 2, 3), 2, 2, 2, 2),
    ("Conv2d", (1, 4, 4), (2, 1, 3, 3), 1, "same", 1, 1),
])
def test_a_convolution_becomes_the_synapses_it_implies(kind, in_shape, W_shape, stride, padding, dilation, groups):
    rng = np.random.default_rng(1)
    W = np.round(rng.uniform(-1, 1, W_shape), 3)
    nd = len(in_shape) - 1
    tup = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)
    pad = tuple(d * (k - 1) // 2 for d, k in zip(tup(dilation), W_shape[2:])) if padding == "same" else tup(padding)
    conv = getattr(nir, kind)(input_shape=in_shape[1:] if nd == 2 else in_shape[1], weight=W, stride=stride,
                              padding=padding, dilation=dilation, groups=groups, bias=np.zeros(W_shape[0]))
    out_shape = correlate(np.zeros(in_shape), W, tup(stride), pad, tup(dilation), groups).shape
    graph = nir.NIRGraph(nodes={
        "x": nir.Input(input_type={"input": np.array(in_shape)}),
        "conv": conv,
        "y": nir.IF(r=np.full(out_shape, 1e3), v_threshold=np.full(out_shape, 1e9)),
    }, edges=[("x", "conv"), ("conv", "y")], type_check=False)
    net = from_nir(graph, dt=1.0)
    dense = np.zeros((int(np.prod(out_shape)), int(np.prod(in_shape))))
    for proj in net.projections.values():
        syn = proj.build(net.seed, net.dt, proj.name)
        np.add.at(dense, (syn.post, syn.pre), syn.weight)
    for k in range(dense.shape[1]):   # r dt = 1 mV per unit of weight: the weights are the kernel's
        e = np.zeros(int(np.prod(in_shape)))
        e[k] = 1.0
        ref = correlate(e.reshape(in_shape), W, tup(stride), pad, tup(dilation), groups).ravel()
        np.testing.assert_allclose(dense[:, k], ref, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------------------- refusals

def small_graph(extra_node=None):
    nodes = {"in": nir.Input(input_type={"input": np.array([2])}), "fc": nir.Linear(weight=np.eye(2)),
             "lif": nir.LIF(tau=arr(0.01, 0.01), r=arr(1, 1), v_leak=arr(0, 0), v_threshold=arr(1, 1))}
    edges = [("in", "fc"), ("fc", "lif")]
    if extra_node is not None:
        nodes["odd"] = extra_node
        edges = [("in", "odd"), ("odd", "fc"), ("fc", "lif")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


@pytest.mark.parametrize("node,kind", [(nir.Scale(scale=arr(1, 2)), "Scale"),
                                       (nir.Threshold(threshold=arr(1, 1)), "Threshold")])
def test_a_node_without_a_neurobox_meaning_is_named_in_one_line(node, kind):
    with pytest.raises(ConfigError) as err:
        from_nir(small_graph(node))
    assert str(err.value).count("\n") == 0 and f"{kind} node 'odd'" in str(err.value)


def test_a_model_without_a_nir_node_is_named_in_one_line():
    net = Network()
    net.population("a", 2, "iaf_cond_exp")
    with pytest.raises(ConfigError, match=r"populations\.a\.model: iaf_cond_exp has no NIR node"):
        to_nir(net)


def run_cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "neurobox", *args], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_commands_export_and_import_and_refuse_bad_files(tmp_path):
    out = run_cli("export", os.path.join(ROOT, "examples", "ganglion.toml"), "--to", "nir", "g.nir", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "wrote g.nir (nir)" in out.stdout and "t_ref = 2 ms has no NIR parameter" in out.stdout
    out = run_cli("import", "g.nir", "--out", "g.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    from neurobox.network.modelfile import load
    assert load(tmp_path / "g.toml").to_toml() == load(os.path.join(ROOT, "examples", "ganglion.toml")).to_toml()
    (tmp_path / "text.nir").write_text("not hdf5\n")
    nir.write(str(tmp_path / "scale.nir"), small_graph(nir.Scale(scale=arr(1, 2))))
    import h5py
    with h5py.File(tmp_path / "other.nir", "w") as f:   # HDF5, but not a NIR graph
        f["x"] = np.ones(3)
    for bad in ("text.nir", "scale.nir", "other.nir"):
        out = run_cli("import", bad, "--out", "bad.toml", cwd=tmp_path)
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and not out.stdout, out.stderr
        assert not (tmp_path / "bad.toml").exists()
    out = run_cli("export", os.path.join(ROOT, "examples", "cuba.toml"), "--to", "nir", "c.nir", cwd=tmp_path)
    assert out.returncode == 2 and "tau_syn_in" in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "c.nir").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.nir", "g.toml", "other.nir", "scale.nir", "text.nir"]


# ---------------------------------------------------------------------------------------------------- models

@pytest.mark.parametrize("model,g_l", [("iaf_psc_delta", 10.0), ("iaf_psc_delta", 0.0), ("leaky_integrator", 10.0),
                                       ("leaky_integrator", 0.0)])
def test_delta_models_relax_exactly_and_jump_by_their_weights(model, g_l):
    from neurobox.neurons import get_model
    m = get_model(model)
    params = {"C_m": 200.0, "g_L": g_l, "E_L": -65.0, "I_e": 50.0, **({"V_th": 1e6} if "iaf" in model else {})}
    p = m.resolve_params(params, "p")
    state, c = m.default_state(p, 1), m.constants(p, 0.5, 1)
    syn, out = np.zeros((2, 1)), np.zeros(1, dtype=np.int32)
    v = []
    for k in range(40):
        syn[0, 0] = 3.0 if k == 10 else 0.0
        m.kernel(None)(state, c, syn, np.zeros(1), np.zeros(4, dtype=np.uint64), k, out)
        v.append(state[0, 0])
    t = 0.5 * np.arange(1, 41)
    ref = (-65.0 + 50.0 / g_l * (1 - np.exp(-t * g_l / 200.0))) if g_l else -65.0 + 50.0 * t / 200.0
    ref = ref + np.where(t >= 5.5, 3.0 * (np.exp(-(t - 5.5) * g_l / 200.0) if g_l else 1.0), 0.0)
    np.testing.assert_allclose(v, ref, rtol=1e-12, atol=1e-9)


def test_an_imported_cubalif_graph_runs_on_the_physical_targets():
    from neurobox.targets import open_handle, runner
    graph = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Linear(weight=np.array([[3.0, 1.0], [0.5, 2.5], [1.0, 1.0]])),
        "lif": nir.CubaLIF(tau_syn=np.full(3, 0.002), tau_mem=np.full(3, 0.01), r=np.full(3, 10.0),
                           v_leak=np.zeros(3), v_threshold=np.full(3, 1.0), w_in=np.full(3, 2.0)),
        "out": nir.Output(output_type={"output": np.array([3])}),
    }, edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    net = from_nir(graph, dt=1.0)
    net.populations["in"].set(spike_times=[np.arange(5.0, 100.0, 7.0).tolist(), np.arange(3.0, 100.0, 11.0).tolist()])
    assert runner("twin").check(net) == [] and runner("avr-sim").check(net) == []
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")
    spikes = {}
    for target in ("fixed", "twin", "avr-sim"):      # the units in the engine, on their clocks, as firmware
        handle = open_handle(net, target)
        spikes[target] = spikes_of(handle.run(100.0), "lif")
        handle.close()
    assert len(spikes["twin"]) > 20 and spikes["twin"] == spikes["fixed"] == spikes["avr-sim"]
    # a bias is a current injected into the neurons (and their synaptic current starting below 0), which a
    # physical unit does not take
    graph.nodes["fc"] = nir.Affine(weight=graph.nodes["fc"].weight, bias=np.full(3, 0.1))
    refused = runner("twin").check(from_nir(graph, dt=1.0))
    assert refused and refused[0].field == "populations.lif.initial.I_syn_ex"


def test_what_a_path_cannot_carry_is_named_in_one_line():
    li = nir.LI(tau=arr(0.01), r=arr(1.0), v_leak=arr(0.0))
    lif = nir.LIF(tau=arr(0.01), r=arr(1.0), v_leak=arr(0.0), v_threshold=arr(1.0))
    feeds = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}), "li": li, "lif": lif},
                         edges=[("in", "li"), ("li", "lif")], type_check=False)
    with pytest.raises(ConfigError, match="LI node 'li' feeds 'lif': it never fires"):
        from_nir(feeds, dt=1.0)
    delayed = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}),
                                  "d": nir.Delay(delay=arr(0.00015)), "lif": lif},
                           edges=[("in", "d"), ("d", "lif")], type_check=False)
    with pytest.raises(ConfigError, match="not whole steps of dt = 0.1 ms"):
        from_nir(delayed, dt=0.1)
    two = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([1])}),
                              "a": nir.Linear(weight=np.ones((1, 1))), "b": nir.Linear(weight=np.ones((1, 1))),
                              "lif": lif}, edges=[("in", "a"), ("a", "b"), ("b", "lif")], type_check=False)
    with pytest.raises(ConfigError, match="Linear node 'b' follows 'a'"):
        from_nir(two, dt=1.0)
