"""Results to and from Neo objects and NWB files (neurobox.io.neo), `neurobox run --out run.nwb`, and
Elephant's statistics on a neurobox run (docs/elephant_statistics.py)."""
from __future__ import annotations

import datetime
import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

from neurobox.errors import ConfigError
from neurobox.results import Results

ROOT = Path(__file__).resolve().parents[1]


def need(module: str):
    """Import a library of the extra neurobox[exchange] (conftest.require_module)."""
    return require_module(module, "exchange")


MODEL = """
[network]
dt = 0.1
seed = 7
duration = 150.0

[populations.src]
n = 20
model = "poisson_generator"
params = { rate = 200.0 }

[populations.exc]
n = 10
model = "iaf_psc_exp"
params = { I_e = 300.0 }
initial = { V_m = { distribution = "uniform", low = -70.0, high = -55.0 } }

[populations.cond]
n = 4
model = "iaf_cond_exp"
params = { tau_syn_ex = 5.0 }

[populations.silent]
n = 6
model = "iaf_psc_exp"

[[projections]]
pre = "src"
post = "exc"
rule = "all_to_all"
weight = 60.0
receptor = "excitatory"

[[projections]]
pre = "src"
post = "cond"
rule = "all_to_all"
weight = 20.0
receptor = "excitatory"

[[recorders]]
name = "vm"
population = "exc"
variables = ["V_m", "I_syn_ex", "ref_steps"]
neurons = [0, 3, 7]
every = 2

[[recorders]]
name = "g"
population = "cond"
variables = ["g_ex"]
every = 1
"""
"""Spiking neurons of two models, a Poisson source, a population that never fires, and traces in mV, pA,
nS and steps (a unit quantities does not know)."""


@pytest.fixture(scope="module")
def run():
    import neurobox
    from neurobox.network.modelfile import loads

    return neurobox.run(loads(MODEL, source="test"), progress=False)


def assert_same_run(a: Results, b: Results, exact_trace_times: bool = True):
    assert list(b.spikes) == list(a.spikes)
    for name, s in a.spikes.items():
        t = b.spikes[name]
        assert t.n == s.n, name
        assert t.t_ms.dtype == np.float64 and t.ids.dtype == np.int32
        np.testing.assert_array_equal(t.t_ms, s.t_ms, err_msg=name)
        np.testing.assert_array_equal(t.ids, s.ids, err_msg=name)
    assert {r: set(v) for r, v in b.traces.items()} == {r: set(v) for r, v in a.traces.items()}
    for rec, by_var in a.traces.items():
        for var, tr in by_var.items():
            u = b.traces[rec][var]
            assert (u.population, u.variable) == (tr.population, var)
            np.testing.assert_array_equal(u.neurons, tr.neurons)
            np.testing.assert_array_equal(u.values, tr.values)
            if exact_trace_times:
                np.testing.assert_array_equal(u.t_ms, tr.t_ms)
            else:
                np.testing.assert_allclose(u.t_ms, tr.t_ms, rtol=1e-12, atol=0.0)
    assert (b.dt, b.seed, b.bio_ms) == (a.dt, a.seed, a.bio_ms)


def test_the_fixture_run_has_what_a_round_trip_must_keep(run):
    assert len(run.spikes["exc"]) > 20 and len(run.spikes["cond"]) > 0 and len(run.spikes["silent"]) == 0
    assert run.spikes["exc"].t_ms.max() > 100.0 and run.traces["g"]["g_ex"].values.max() > 0.0


# -- seconds and milliseconds ----------------------------------------------------------
def test_ms_from_s_gives_back_the_engines_times_exactly():
    from neurobox.io.neo import ms_from_s

    for dt in (0.1, 0.025, 0.01, 1.0 / 3.0):
        k = np.arange(1, 2_000_001, 7, dtype=np.int64)
        ms = k * dt                       # what the engine writes: (step + 1) * dt
        back = ms_from_s(ms / 1000.0, dt)
        np.testing.assert_array_equal(back, ms)
    # any float64: what comes back divides to the seconds written, and is the value itself but for the
    # ~2 % of values that share their seconds with a neighbour (then within one unit in the last place)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1e5, 200_000)
    s = x / 1000.0
    back = ms_from_s(s)
    np.testing.assert_array_equal(back / 1000.0, s)
    assert np.all(np.abs(back - x) <= np.spacing(x))
    assert 0.95 < np.mean(back == x) < 1.0


# -- Neo ----------------------------------------------------------------------------------
def test_to_neo_holds_a_train_per_neuron_and_the_traces_with_units(run):
    need("neo")
    pq = need("quantities")
    block = run.to_neo()
    assert len(block.segments) == 1
    seg = block.segments[0]
    assert len(seg.spiketrains) == 20 + 10 + 4 + 6         # every neuron, those that never fired too
    assert block.annotations["population_sizes"] == {"src": 20, "exc": 10, "cond": 4, "silent": 6}
    assert block.annotations["seed"] == 7 and block.annotations["dt_ms"] == 0.1
    assert "[populations.exc]" in block.annotations["source_script"]
    for st in seg.spiketrains:
        s = run.spikes[st.annotations["population"]]
        expected = s.t_ms[s.ids == st.annotations["neuron_id"]]
        assert st.units == pq.ms and float(st.t_stop) == 150.0 and float(st.t_start) == 0.0
        np.testing.assert_array_equal(st.magnitude, np.sort(expected))
    signals = {sig.name: sig for sig in seg.analogsignals}
    assert set(signals) == {"exc.V_m", "exc.I_syn_ex", "exc.ref_steps", "cond.g_ex"}
    assert signals["exc.V_m"].units == pq.mV and signals["exc.I_syn_ex"].units == pq.pA
    assert signals["cond.g_ex"].units == pq.nS
    steps = signals["exc.ref_steps"]
    assert steps.units == pq.dimensionless and steps.annotations["unit"] == "steps"
    vm = signals["exc.V_m"]
    tr = run.traces["vm"]["V_m"]
    np.testing.assert_array_equal(vm.array_annotations["neuron_id"], [0, 3, 7])
    np.testing.assert_array_equal(vm.magnitude, tr.values)
    assert float(vm.sampling_period.rescale(pq.ms)) == pytest.approx(0.2, rel=1e-12)
    np.testing.assert_allclose(vm.times.rescale(pq.ms).magnitude, tr.t_ms, rtol=1e-12)


def test_results_neo_results_keeps_spikes_and_traces(run):
    need("neo")
    back = Results.from_neo(run.to_neo())
    assert_same_run(run, back, exact_trace_times=False)  # AnalogSignal times are t_start + k / rate
    assert back.model_toml == run.model_toml
    assert back.extras["trace_units"]["vm"] == {"V_m": "mV", "I_syn_ex": "pA", "ref_steps": "steps"}
    # and once more: the units a reader kept serve when there is no model file
    back.model_source = ""
    again = Results.from_neo(back.to_neo())
    assert again.extras["trace_units"] == back.extras["trace_units"]


def test_a_block_built_with_neos_own_api_is_read():
    neo = need("neo")
    pq = need("quantities")
    block = neo.Block(name="recorded elsewhere")
    seg = neo.Segment()
    block.segments.append(seg)
    seg.spiketrains.append(neo.SpikeTrain([0.5, 0.25] * pq.s, t_stop=2.0 * pq.s, t_start=0.0 * pq.s))
    seg.spiketrains.append(neo.SpikeTrain([], units="s", t_stop=2.0 * pq.s))
    seg.spiketrains.append(neo.SpikeTrain([1500.0] * pq.ms, t_stop=2000.0 * pq.ms))
    seg.analogsignals.append(neo.AnalogSignal(np.array([[-0.070], [-0.069], [-0.050]]), units="V",
                                              sampling_rate=1.0 * pq.kHz, name="membrane"))
    r = Results.from_neo(block)
    s = r.spikes["units"]
    assert s.n == 3
    np.testing.assert_array_equal(s.t_ms, [250.0, 500.0, 1500.0])   # ms, sorted by time
    np.testing.assert_array_equal(s.ids, [0, 0, 2])
    assert r.bio_ms == 2000.0 and r.seed is None and np.isnan(r.dt)
    tr = r.traces["signal0"]["membrane"]
    np.testing.assert_allclose(tr.values[:, 0], [-70.0, -69.0, -50.0], rtol=1e-12)   # V -> mV
    np.testing.assert_allclose(tr.t_ms, [0.0, 1.0, 2.0], atol=1e-12)
    assert r.extras["trace_units"] == {"signal0": {"membrane": "mV"}}


def test_bad_neo_input_is_one_line_naming_the_element():
    neo = need("neo")
    pq = need("quantities")
    block = neo.Block()
    seg = neo.Segment()
    block.segments.append(seg)
    seg.spiketrains.append(neo.SpikeTrain([1.0] * pq.ms, t_stop=2.0 * pq.ms))
    seg.spiketrains.append(neo.SpikeTrain([1.0], t_start=0.0 * pq.dimensionless, t_stop=2.0 * pq.dimensionless,
                                          units=pq.dimensionless))
    with pytest.raises(ConfigError, match=r"^block\.segments\[0\]\.spiketrains\[1\]: has no time units") as err:
        Results.from_neo(block)
    assert "\n" not in str(err.value)
    two = neo.Block()
    two.segments.extend([neo.Segment(), neo.Segment()])
    with pytest.raises(ConfigError, match=r"^block\.segments: .* one Segment; this one has 2"):
        Results.from_neo(two)
    with pytest.raises(ConfigError, match=r"^block: expected a neo.Block, got list"):
        Results.from_neo([])
    twice = neo.Block()
    twice.segments.append(neo.Segment())
    for _ in range(2):
        twice.segments[0].spiketrains.append(neo.SpikeTrain([1.0] * pq.ms, t_stop=2.0 * pq.ms, population="a",
                                                            neuron_id=4))
    with pytest.raises(ConfigError, match=r"spiketrains\[1\]\.neuron_id: neuron 4 of population a has two"):
        Results.from_neo(twice)


# -- NWB ------------------------------------------------------------------------------------
def test_results_nwb_results_keeps_everything_exactly(run, tmp_path):
    need("pynwb")
    path = tmp_path / "run.nwb"
    run.save_nwb(path, model="test")
    back = Results.from_nwb(path)
    assert_same_run(run, back)
    assert back.model_toml == run.model_toml
    assert back.spikes["silent"].n == 6 and len(back.spikes["silent"]) == 0
    assert back.extras["trace_units"] == {"vm": {"V_m": "mV", "I_syn_ex": "pA", "ref_steps": "steps"},
                                          "g": {"g_ex": "nS"}}
    assert [p.name for p in tmp_path.iterdir()] == ["run.nwb"]   # no temporary file left


def test_the_nwb_file_is_valid_and_what_pynwb_and_neo_read(run, tmp_path):
    pynwb = need("pynwb")
    neo = need("neo")
    pq = need("quantities")
    path = tmp_path / "run.nwb"
    run.save_nwb(path, model="test")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        assert pynwb.validate(io=io, namespace="core") == []
        nwb = io.read()
        assert "test" in nwb.session_description and "seed 7" in nwb.session_description
        assert nwb.identifier.startswith("neurobox-test-seed7-")
        assert json.loads(nwb.notes)["population_sizes"] == {"src": 20, "exc": 10, "cond": 4, "silent": 6}
        units = nwb.units.to_dataframe()
        assert len(units) == 40
        row = units[(units.population == "exc") & (units.neuron_id == 3)].iloc[0]
        s = run.spikes["exc"]
        np.testing.assert_allclose(row.spike_times, s.t_ms[s.ids == 3] / 1000.0, rtol=1e-15)   # seconds
        vm = nwb.acquisition["vm.V_m"]
        assert (vm.unit, vm.conversion) == ("volts", 1e-3)
        np.testing.assert_allclose(vm.data[:] * vm.conversion, run.traces["vm"]["V_m"].values / 1000.0)
        g = nwb.acquisition["g.g_ex"]
        assert (g.unit, g.conversion) == ("siemens", 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # Neo 0.14 names no unit for nano-siemens ("nanosiemen")
        io = neo.io.NWBIO(str(path), "r")
        block = io.read_block()
    seg = block.segments[0]
    assert len(seg.spiketrains) == 40
    exc3 = seg.spiketrains[20 + 3]           # rows in population order: src, exc, ...
    np.testing.assert_allclose(exc3.rescale(pq.ms).magnitude, s.t_ms[s.ids == 3], rtol=1e-12)
    vm = next(sig for sig in seg.irregularlysampledsignals if sig.name == "vm.V_m")
    assert vm.units == pq.mV
    np.testing.assert_array_equal(vm.magnitude, run.traces["vm"]["V_m"].values)
    # what Neo read comes back through from_neo, but Neo's reader keeps neither the population and
    # neuron_id columns nor dt: every neuron in one population, times within a unit in the last place
    back = Results.from_neo(block)
    io.close()
    flat = np.sort(np.concatenate([x.t_ms for x in run.spikes.values()]))
    assert np.all(np.abs(np.sort(back.spikes["units"].t_ms) - flat) <= np.spacing(flat))
    assert back.spikes["units"].n == 40


def test_a_file_written_by_pynwbs_own_api_is_read(tmp_path):
    pynwb = need("pynwb")
    nwb = pynwb.NWBFile(session_description="recorded elsewhere", identifier="x1",
                        session_start_time=datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC))
    nwb.add_unit(spike_times=[0.0123, 0.5], obs_intervals=[[0.0, 3.0]])
    nwb.add_unit(spike_times=[], obs_intervals=[[0.0, 3.0]])
    nwb.add_unit(spike_times=[0.25], obs_intervals=[[0.0, 2.0]])
    nwb.add_acquisition(pynwb.TimeSeries(name="current", data=np.array([1e-10, 2e-10, 3e-10]), unit="amperes",
                                         rate=1000.0, starting_time=0.5))
    path = tmp_path / "other.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    r = Results.from_nwb(path)
    s = r.spikes["units"]
    assert s.n == 3
    np.testing.assert_array_equal(s.t_ms, [12.3, 250.0, 500.0])
    np.testing.assert_array_equal(s.ids, [0, 2, 0])
    assert r.bio_ms == 3000.0 and r.model_toml == "" and r.seed is None
    tr = r.traces["acquisition"]["current"]
    np.testing.assert_allclose(tr.values[:, 0], [100.0, 200.0, 300.0], rtol=1e-12)    # A -> pA
    np.testing.assert_allclose(tr.t_ms, [500.0, 501.0, 502.0], rtol=1e-12)
    assert r.extras["trace_units"] == {"acquisition": {"current": "pA"}}


def test_bad_nwb_input_is_one_line_naming_the_element(tmp_path):
    pynwb = need("pynwb")
    h5py = need("h5py")
    no_units = tmp_path / "no_units.nwb"
    with pynwb.NWBHDF5IO(str(no_units), "w") as io:
        io.write(pynwb.NWBFile(session_description="d", identifier="i",
                               session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)))
    with pytest.raises(ConfigError, match=r"no_units.nwb: units: the file has no Units table"):
        Results.from_nwb(no_units)
    text = tmp_path / "notes.nwb"
    text.write_text("not hdf5")
    with pytest.raises(ConfigError, match=r"notes.nwb: not an NWB file \(NWB files are HDF5"):
        Results.from_nwb(text)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ConfigError, match=r"plain.h5: not a readable NWB file") as err:
        Results.from_nwb(plain)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="NWB file not found"):
        Results.from_nwb(tmp_path / "missing.nwb")


def test_a_missing_extra_is_one_line_naming_the_package(run, tmp_path, monkeypatch, capsys):
    import sys

    from neurobox.cli import main
    from neurobox.errors import ToolMissingError

    monkeypatch.setitem(sys.modules, "neo", None)       # import neo now raises ImportError
    with pytest.raises(ToolMissingError, match=r"the Python package neo: pip install 'neurobox\[exchange\]'"):
        run.to_neo()
    monkeypatch.setitem(sys.modules, "pynwb", None)
    model = tmp_path / "m.toml"
    model.write_text(MODEL)
    assert main(["run", str(model), "--out", str(tmp_path / "r.nwb"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'neurobox[exchange]'" in err[0] and "pynwb" in err[0]
    assert list(tmp_path.iterdir()) == [model]      # refused before the run: nothing written


# -- the command line ------------------------------------------------------------------------
def test_run_out_nwb_is_checked_and_rewritten_only_when_neurobox_wrote_it(tmp_path, capsys):
    need("pynwb")
    from neurobox.cli import main

    model = tmp_path / "m.toml"
    model.write_text(MODEL)
    out = tmp_path / "run.nwb"
    assert main(["run", str(model), "--out", str(out), "--quiet", "--duration", "50"]) == 0
    first = Results.from_nwb(out)
    assert first.bio_ms == 50.0 and first.spikes["exc"].n == 10
    assert main(["run", str(model), "--out", str(out), "--quiet", "--seed", "8", "--duration", "50"]) == 0
    assert Results.from_nwb(out).seed == 8                 # its own file: replaced without --force
    capsys.readouterr()

    def refused(*argv):
        assert main(["run", str(model), "--quiet", "--duration", "50", *argv]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1
        return lines[0]

    foreign = tmp_path / "theirs.nwb"
    foreign.write_bytes(b"\x89HDF\r\n\x1a\nsomeone else's")
    assert "theirs.nwb exists; use --force" in refused("--out", str(foreign))
    assert foreign.read_bytes().endswith(b"someone else's")
    assert main(["run", str(model), "--out", str(foreign), "--quiet", "--duration", "50", "--force"]) == 0
    assert Results.from_nwb(foreign).bio_ms == 50.0
    assert "--out: cannot tell what to write from the name" in refused("--out", str(tmp_path / "r.csv"))
    assert ".npz (neurobox results) or .nwb" in refused("--out", str(tmp_path / "r.csv"))
    # an npz is not taken for an NWB file, nor the other way round
    npz = tmp_path / "r.npz"
    assert main(["run", str(model), "--out", str(npz), "--quiet", "--duration", "50"]) == 0
    renamed = tmp_path / "r2.nwb"
    npz.rename(renamed)
    assert "exists; use --force" in refused("--out", str(renamed))
    (tmp_path / "r3.npz").write_bytes(out.read_bytes())
    assert "exists; use --force" in refused("--out", str(tmp_path / "r3.npz"))


# -- Elephant ------------------------------------------------------------------------------------
def elephant_script():
    spec = importlib.util.spec_from_file_location("elephant_statistics", ROOT / "docs" / "elephant_statistics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_elephants_rates_and_cvs_equal_neuroboxs_on_a_cuba_run(capsys):
    need("elephant")
    pq = need("quantities")
    from elephant.statistics import mean_firing_rate

    import neurobox
    from neurobox.coding.statistics import firing_rate
    from neurobox.examples import path

    script = elephant_script()
    results = neurobox.run(neurobox.load(path("cuba")), 300.0, progress=False)
    figures = script.figures(results)
    assert set(figures) == {"exc", "inh"}
    for name, f in figures.items():
        s = results.spikes[name]
        assert f["neurobox_rate_hz"] == pytest.approx(len(s) / s.n / 0.3, rel=1e-12)
        assert f["elephant_rate_hz"] == pytest.approx(f["neurobox_rate_hz"], rel=1e-12, abs=0.0)
        assert 0.2 < f["neurobox_cv_isi"] < 1.5
        assert f["elephant_cv_isi"] == pytest.approx(f["neurobox_cv_isi"], rel=1e-12, abs=0.0)
        assert f["elephant_corr"] == pytest.approx(f["neurobox_corr"], rel=1e-9, abs=1e-12)
    text = script.report(results, "cuba").splitlines()
    assert len(text) == 5 and text[0].startswith("cuba: 300 ms, seed 42")
    exc_line = text[2].split()
    assert exc_line[0] == "exc" and float(exc_line[1]) == round(figures["exc"]["elephant_rate_hz"], 3)
    assert "peak at lag" in text[4]
    # per neuron, in a window whose edges lie between steps (closed and half-open windows agree there)
    block = results.to_neo()
    exc = [st for st in block.segments[0].spiketrains if st.annotations["population"] == "exc"]
    s = results.spikes["exc"]
    mine = firing_rate(s.t_ms, s.ids, s.n, 50.05, 250.05)
    theirs = [float(mean_firing_rate(st, t_start=50.05 * pq.ms, t_stop=250.05 * pq.ms).rescale(pq.Hz))
              if len(st) else 0.0 for st in exc]     # Elephant refuses an empty train with a window
    np.testing.assert_allclose(theirs, mine, rtol=1e-12, atol=0.0)
    assert mine.sum() > 0
    cch, lags = script.population_cch(results, "exc", "inh", max_lag_bins=4)
    assert len(cch) == 9 and list(lags) == [-20.0, -15.0, -10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0]
    # against numpy: the summed activity in 5 ms bins from 0.05 ms, correlated at each lag
    bins = np.arange(0.05, 300.0, 5.0)
    a = np.histogram(results.spikes["exc"].t_ms, bins)[0].astype(float)
    b = np.histogram(results.spikes["inh"].t_ms, bins)[0].astype(float)
    expected = [np.sum(a[max(0, -k):len(a) - max(0, k)] * b[max(0, k):len(b) - max(0, -k)]) for k in range(-4, 5)]
    np.testing.assert_allclose(cch, expected, rtol=1e-12)
