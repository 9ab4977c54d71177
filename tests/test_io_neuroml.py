"""NeuroML 2 exchange (neurobox.io.neuroml): round trips, documents written by libNeuroML, jNeuroML as the
reference simulator, pyNeuroML's validator, and the refusals of the CLI."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import require_module, require_tool

import neurobox
from neurobox.errors import ConfigError
from neurobox.network import GapJunction, Network, StepCurrent


def _require(module: str):
    """The module of the optional extra neurobox[exchange] (conftest.require_module)."""
    return require_module(module, "exchange")


@pytest.fixture(scope="module")
def nml():
    _require("neuroml")
    from neurobox.io import neuroml
    return neuroml


def _java():
    require_tool("java", "apt-get install default-jre-headless")
    return _require("pyneuroml.pynml")


def _network() -> Network:
    """Every model and source neurobox writes, connected by drawn rules, distributions and a step current."""
    net = Network(dt=0.1, seed=7, duration=200.0)
    net.population("src", 20, "poisson_generator", {"rate": 80.0})
    net.population("times", 3, "spike_generator", {"spike_times": [5.0, 12.5, 40.0]})
    net.population("lif", 10, "iaf_psc_exp", {"C_m": 281.0, "tau_m": 15.0, "I_e": 300.5, "tau_syn_in": 7.0},
                   initial={"V_m": -68.0})
    net.population("cond", 8, "iaf_cond_exp", {"g_L": 16.6667, "E_in": -80.0})
    net.population("izh", 5, "izhikevich2007", {"I_e": 50.0})
    net.population("adex.a", 4, "aeif_cond_exp", {"a": 2.0})
    net.population("adp", 4, "aeif_psc_exp", {"I_e": 700.0})
    net.population("alpha", 4, "iaf_psc_alpha")
    net.population("calpha", 4, "iaf_cond_alpha")
    net.connect("src", "lif", "fixed_probability", p=0.3, delay={"distribution": "uniform", "low": 0.5, "high": 3.0},
                weight={"distribution": "normal", "mean": 150.0, "std": 30.0, "min": 0.0})
    net.connect("lif", "lif", "fixed_indegree", indegree=3, weight=-30.0, delay=1.5)
    net.connect("src", "cond", "all_to_all", weight=3.0)
    net.connect("lif", "cond", "all_to_all", weight=2.0, receptor="inhibitory")
    net.connect("src", "izh", "fixed_probability", p=0.5, weight=300.0)
    net.connect("times", "adex.a", "all_to_all", weight=20.0)
    net.connect("src", "adp", "all_to_all", weight=400.0)
    net.connect("src", "alpha", "all_to_all", weight=100.0)
    net.connect("src", "calpha", "all_to_all", weight=5.0)
    net.add(GapJunction("lif", "cond", "fixed_probability", p=0.3, weight={"distribution": "uniform", "low": 0.5,
                                                                          "high": 4.0}, name="gap"))
    net.add(StepCurrent("cond", [10.0, 50.5, 120.0], [300.0, 0.0, 150.0], neurons=[0, 2, 5], name="steps"))
    return net


def _delays(c) -> np.ndarray:
    return c.delays if c.delays is not None else np.full(len(c), c.delay)


def test_round_trip_same_network_and_spikes(nml, tmp_path):
    net = _network()
    path = tmp_path / "net.net.nml"
    assert nml.write(net, path) == []
    back = nml.read(path)
    assert (back.dt, back.seed, back.duration) == (net.dt, net.seed, net.duration)
    for name, pop in net.populations.items():
        other = back.populations[name]
        assert (other.n, other.model.name, other.params, other.initial) == (pop.n, pop.model.name, pop.params,
                                                                             pop.initial), name
    for name, proj in net.projections.items():
        other = back.projections[name]
        if isinstance(proj, GapJunction):
            a, b = proj.build(net.seed, net.dt, name), other.build(back.seed, back.dt, name)
            assert isinstance(other, GapJunction) and len(a) > 0
            assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("pre", "post", "weight")), name
            continue
        a = proj.connections(net.seed, net.dt, name)
        b = other.connections(back.seed, back.dt, name)
        assert other.receptor == proj.receptor, name
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.targets, b.targets), name
        assert np.array_equal(a.weights, b.weights) and np.array_equal(_delays(a), _delays(b)), name
    steps, again = net.stimuli["steps"], back.stimuli["steps"]
    assert (again.times, again.amplitudes, again.neurons) == (steps.times, steps.amplitudes, steps.neurons)
    first, second = neurobox.run(net, 200.0), neurobox.run(back, 200.0)
    for name in net.populations:
        assert np.array_equal(first.spikes[name].t_ms, second.spikes[name].t_ms), name
        assert np.array_equal(first.spikes[name].ids, second.spikes[name].ids), name
    fired = [name for name in net.populations if len(first.spikes[name])]
    assert len(fired) >= 7, fired  # the comparison is not between silent networks


def test_units_are_converted_by_one_table(nml):
    assert nml.value_of("-65mV", "voltage", "x") == -65.0
    assert nml.value_of("0.02 s", "time", "x") == 20.0
    assert nml.value_of("0.1uS", "conductance", "x") == 100.0
    assert nml.value_of("1nF", "capacitance", "x") == 1000.0
    assert nml.value_of("0.07nA", "current", "x") == 70.0
    assert nml.value_of("0.03per_ms", "per_time", "x") == 30.0  # per second
    assert nml.value_of("1.2e-9 S_per_V", "conductance_per_voltage", "x") == 1.2e-3
    with pytest.raises(ConfigError, match="allowed for voltage: V, mV"):
        nml.value_of("-65uV", "voltage", "izhikevich2007Cell#rs.vr")
    # the decimal shift is exact: pA -> nA -> pA gives the same float
    for w in (20.25, 1e-20, 0.1 + 0.2, 281.0 / 3.0):
        assert float(nml.decimal_of(nml.number(w, -3), None, "x").scaleb(3)) == w


def _library_document(tmp_path):
    """Written with libNeuroML: an izhikevich2007Cell driven by a pulseGenerator, projecting with explicit
    connectionWDs onto two IF_curr_exp cells (weights 2 nA and 1 nA), and an adapting EIF_cond_exp_isfa_ista
    driven by 1 nA."""
    import neuroml
    import neuroml.writers
    doc = neuroml.NeuroMLDocument(id="doc")
    doc.izhikevich2007_cells.append(neuroml.Izhikevich2007Cell(
        id="rs", C="100pF", v0="-60mV", k="0.7nS_per_mV", vr="-60mV", vt="-40mV", vpeak="35mV", a="0.03per_ms",
        b="-2nS", c="-50mV", d="100pA"))
    doc.IF_curr_exp.append(neuroml.IF_curr_exp(id="lif", cm=0.25, i_offset=0.0, tau_syn_E=5.0, tau_syn_I=5.0,
                                               v_init=-70.0, tau_m=10.0, tau_refrac=2.0, v_reset=-70.0,
                                               v_rest=-70.0, v_thresh=-55.0))
    doc.EIF_cond_exp_isfa_ista.append(neuroml.EIF_cond_exp_isfa_ista(
        id="eif", cm=0.281, tau_m=9.3667, v_rest=-70.6, v_thresh=-50.4, delta_T=2.0, tau_w=144.0, a=0.004,
        b=0.0805, v_spike=-40.0, v_reset=-70.6, tau_refrac=2.0, i_offset=0.0, v_init=-70.6, e_rev_E=0.0,
        e_rev_I=-80.0, tau_syn_E=5.0, tau_syn_I=5.0))
    doc.exp_curr_synapses.append(neuroml.ExpCurrSynapse(id="syn", tau_syn=5.0))
    doc.pulse_generators.append(neuroml.PulseGenerator(id="step", delay="20ms", duration="200ms",
                                                       amplitude="0.1nA"))
    net = neuroml.Network(id="net")
    doc.networks.append(net)
    net.populations.append(neuroml.Population(id="izh", component="rs", size=1))
    net.populations.append(neuroml.Population(id="out", component="lif", size=2))
    net.populations.append(neuroml.Population(id="adapting", component="eif", size=1))
    proj = neuroml.Projection(id="izh_out", presynaptic_population="izh", postsynaptic_population="out",
                              synapse="syn")
    for k, (w, delay) in enumerate(((2.0, "1.5ms"), (1.0, "3ms"))):
        proj.connection_wds.append(neuroml.ConnectionWD(id=k, pre_cell_id="../izh[0]", post_cell_id=f"../out[{k}]",
                                                        weight=w, delay=delay))
    net.projections.append(proj)
    inputs = neuroml.InputList(id="drive", populations="izh", component="step")
    inputs.input.append(neuroml.Input(id=0, target="../izh[0]", destination="synapses"))
    net.input_lists.append(inputs)
    doc.pulse_generators.append(neuroml.PulseGenerator(id="big", delay="20ms", duration="200ms", amplitude="1nA"))
    inputs = neuroml.InputList(id="drive_eif", populations="adapting", component="big")
    inputs.input.append(neuroml.Input(id=0, target="../adapting[0]", destination="synapses"))
    net.input_lists.append(inputs)
    path = tmp_path / "lib.net.nml"
    neuroml.writers.NeuroMLWriter.write(doc, str(path))
    return path


def _jneuroml_spikes(pynml, nml_path, tmp_path) -> dict[str, np.ndarray]:
    """Spike times (ms) of izh[0], out[0], out[1], adapting[0] in jNeuroML (LEMS, 300 ms at dt 0.0025 ms)."""
    lems = tmp_path / "LEMS_sim.xml"
    lems.write_text(f"""<Lems>
  <Target component="sim"/>
  <Include file="Cells.xml"/><Include file="Networks.xml"/><Include file="Simulation.xml"/>
  <Include file="PyNN.xml"/><Include file="{nml_path.name}"/>
  <Simulation id="sim" length="300ms" step="0.0025ms" target="net">
    <EventOutputFile id="sp" fileName="spikes.dat" format="ID_TIME">
      <EventSelection id="0" select="izh[0]" eventPort="spike"/>
      <EventSelection id="1" select="out[0]" eventPort="spike"/>
      <EventSelection id="2" select="out[1]" eventPort="spike"/>
      <EventSelection id="3" select="adapting[0]" eventPort="spike"/>
    </EventOutputFile>
  </Simulation>
</Lems>
""")
    assert pynml.run_lems_with_jneuroml(str(lems), nogui=True, load_saved_data=False, verbose=False,
                                        exec_in_dir=str(tmp_path))
    data = np.loadtxt(tmp_path / "spikes.dat", ndmin=2)
    return {key: np.sort(data[data[:, 0] == k, 1]) * 1000.0 for k, key in enumerate(("izh", "out0", "out1", "eif"))}


def test_library_document_runs_like_jneuroml(nml, tmp_path):
    pynml = _java()
    path = _library_document(tmp_path)
    net = nml.read(path)
    assert net.populations["izh"].model.name == "izhikevich2007"
    assert net.populations["out"].model.name == "iaf_psc_exp"
    assert net.populations["adapting"].params["a"] == 4.0  # uS -> nS
    assert list(net.projections["izh_out"].weight) == [2000.0, 1000.0]  # nA -> pA
    assert (net.stimuli["drive"].times, net.stimuli["drive"].amplitudes) == ((20.0, 220.0), (100.0, 0.0))
    result = neurobox.run(net, 300.0)
    ours = {"izh": result.spikes["izh"].t_ms,
            "out0": result.spikes["out"].t_ms[result.spikes["out"].ids == 0],
            "out1": result.spikes["out"].t_ms[result.spikes["out"].ids == 1],
            "eif": result.spikes["adapting"].t_ms}
    reference = _jneuroml_spikes(pynml, path, tmp_path)
    assert len(reference["izh"]) == 3 and len(reference["out0"]) == 3 and len(reference["out1"]) == 0
    assert len(reference["eif"]) == 8  # adapting: the intervals grow from 15 to 32 ms
    for key in ours:
        assert ours[key].shape == reference[key].shape, key
        assert np.all(np.abs(ours[key] - reference[key]) <= 0.15), (key, ours[key], reference[key])


def test_exports_validate_with_pyneuroml(nml, tmp_path):
    pynml = _java()
    path = tmp_path / "net.net.nml"
    nml.write(_network(), path)
    valid, report = pynml.validate_neuroml2(str(path), return_string=True)
    assert valid, report
    assert "Valid against schema and all tests" in report


def test_to_and_from_libneuroml_objects(nml):
    net = _network()
    doc = nml.to_neuroml(net)
    assert [p.id for p in doc.networks[0].populations][:3] == ["src", "times", "lif"]
    assert doc.IF_curr_exp[0].cm == 0.281  # pF -> nF, PyNN's unit
    back = nml.from_neuroml(doc)
    assert back.populations["adex.a"].params == net.populations["adex.a"].params


def test_refusals_name_the_element(nml, tmp_path):
    net = Network()
    net.population("x", 2, "izhikevich")
    with pytest.raises(ConfigError, match=r"populations\.x\.model: izhikevich has no NeuroML 2 cell type"):
        nml.write(net, tmp_path / "x.nml")
    net = Network()
    net.population("x", 2, "iaf_psc_exp", initial={"V_m": {"distribution": "uniform", "low": -70, "high": -60}})
    with pytest.raises(ConfigError, match=r"populations\.x\.initial\.V_m"):
        nml.write(net, tmp_path / "x.nml")
    assert not (tmp_path / "x.nml").exists()


def _cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "neurobox", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


BAD = {
    "unknown_cell": (('<hindmarshRose1984Cell id="hr" a="1" b="3" c="1" d="5" s="4" x1="-1.3" r="0.002" '
                      'x0="-1.1" y0="-8" z0="3" C="1pF" v_scaling="1mV"/>'),
                     '<population id="p" component="hr" size="1"/>', "hindmarshRose1984Cell"),
    "bad_unit": (('<izhikevich2007Cell id="rs" C="100 kF" v0="-60mV" k="0.7nS_per_mV" vr="-60mV" vt="-40mV" '
                  'vpeak="35mV" a="0.03per_ms" b="-2nS" c="-50mV" d="100pA"/>'),
                 '<population id="p" component="rs" size="1"/>', "izhikevich2007Cell#rs.C"),
}


@pytest.mark.parametrize("case", [*BAD, "malformed"])
def test_cli_bad_input_one_line_exit_2_nothing_written(nml, tmp_path, case):
    path = tmp_path / "in.nml"
    if case == "malformed":
        path.write_text('<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="d"><network id="n">')
        expected = "not a NeuroML 2 document"
    else:
        component, population, expected = BAD[case]
        path.write_text(f'<neuroml xmlns="http://www.neuroml.org/schema/neuroml2" id="d">{component}'
                        f'<network id="n">{population}</network></neuroml>')
    out = _cli("import", str(path), "--from", "neuroml", "--out", "model.toml", cwd=tmp_path)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert not (tmp_path / "model.toml").exists()


def test_cli_round_trip_and_refused_export(nml, tmp_path):
    model = tmp_path / "m.toml"
    net = Network(dt=0.1, seed=3, duration=50.0)
    net.population("src", 4, "poisson_generator", {"rate": 50.0})
    net.population("izh", 3, "izhikevich2007")
    net.connect("src", "izh", weight=200.0)
    net.save(model)
    out = _cli("export", str(model), "--to", "neuroml", "m.net.nml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = _cli("import", "m.net.nml", "--from", "neuroml", "--out", "back.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    back = neurobox.network.load(tmp_path / "back.toml")
    assert back.populations["izh"].params == net.populations["izh"].params
    net.population("old", 2, "izhikevich")
    net.save(model)
    out = _cli("export", str(model), "--to", "neuroml", "refused.nml", cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "populations.old.model" in out.stderr
    assert not (tmp_path / "refused.nml").exists()
