"""Model files: round trips, equivalence with the Python API, and every bad input's error."""
import numpy as np
import pytest

import neurobox as nb
from neurobox.engine.compile import compile_network
from neurobox.examples import path

MINIMAL = """
[network]
dt = 0.1
seed = 1

[populations.a]
n = 10
model = "iaf_psc_exp"

[populations.b]
n = 5
model = "iaf_cond_exp"

[[projections]]
pre = "a"
post = "b"
rule = "fixed_probability"
p = 0.5
weight = 2.0
delay = 1.0
receptor = "excitatory"
"""


def test_round_trip_is_exact():
    net = nb.load(path("coba"))
    text = net.to_toml()
    again = nb.loads(text)
    assert again.to_toml() == text
    a, b = compile_network(net), compile_network(again)
    for pa, pb in zip(a.projections, b.projections):
        np.testing.assert_array_equal(pa.targets, pb.targets)
        np.testing.assert_array_equal(pa.weights, pb.weights)
    for pa, pb in zip(a.populations, b.populations):
        np.testing.assert_array_equal(pa.state, pb.state)


def test_save_and_load_file(tmp_path):
    net = nb.loads(MINIMAL)
    net.add(nb.StepCurrent("a", [0.0, 5.0], [100.0, 0.0], name="kick"))
    net.record("b", ["V_m", "g_ex"], neurons=[0, 2], every=2)
    f = tmp_path / "m.toml"
    net.save(f)
    back = nb.load(f)
    assert back.to_toml() == net.to_toml()
    assert back.stimuli["kick"].amplitudes == (100.0, 0.0)
    assert back.recorders["rec0"].every == 2


def test_python_api_and_file_give_the_same_spikes():
    net = nb.Network(dt=0.1, seed=1)
    a = net.population("a", 10, "iaf_psc_exp", {"I_e": 400.0})
    b = net.population("b", 5, "iaf_cond_exp")
    net.connect(a, b, "fixed_probability", p=0.5, weight=2.0, delay=1.0, receptor="excitatory")
    from_api = nb.run(net, 100.0).spikes
    from_file = nb.run(nb.loads(MINIMAL.replace('model = "iaf_psc_exp"', 'model = "iaf_psc_exp"\nparams = { I_e = 400.0 }')
                                ), 100.0).spikes
    for name in ("a", "b"):
        np.testing.assert_array_equal(from_api[name].t_ms, from_file[name].t_ms)
        np.testing.assert_array_equal(from_api[name].ids, from_file[name].ids)


BAD = [
    (MINIMAL.replace('model = "iaf_psc_exp"', 'model = "iaf_bogus"'), "populations.a.model", "valid models"),
    (MINIMAL.replace('model = "iaf_psc_exp"', 'model = "iaf_psc_exp"\nparams = { tau_x = 1.0 }'),
     "populations.a.params.tau_x", "valid parameters"),
    (MINIMAL.replace('model = "iaf_psc_exp"', 'model = "iaf_psc_exp"\nparams = { tau_m = -1.0 }'),
     "populations.a.params.tau_m", "allowed range"),
    (MINIMAL.replace("delay = 1.0", "delay = -1.0"), "projections[0].delay", ">= dt"),
    (MINIMAL.replace("delay = 1.0", "delay = 0.05"), "projections[0].delay", ">= dt"),
    (MINIMAL.replace("n = 10", "n = 0"), "populations.a.n", "between 1"),
    (MINIMAL.replace("weight = 2.0", "weight = nan"), "projections[0].weight", "finite"),
    (MINIMAL.replace("weight = 2.0", "weight = inf"), "projections[0].weight", "finite"),
    (MINIMAL.replace("p = 0.5", "p = 1.5"), "projections[0].p", "[0, 1]"),
    (MINIMAL.replace('post = "b"', 'post = "c"'), "projections[0].post", "no population named 'c'"),
    (MINIMAL.replace("[network]", "[network\n"), "model", "not valid TOML"),
    (MINIMAL.replace('receptor = "excitatory"', 'receptor = "gaba"'), "projections[0].receptor", "valid: excitatory"),
    (MINIMAL.replace("weight = 2.0", "weight = -2.0"), "projections[0].weight", "must be >= 0"),
    (MINIMAL.replace("rule = \"fixed_probability\"", "rule = \"sometimes\""), "projections[0].rule", "valid:"),
    (MINIMAL.replace("dt = 0.1", "dt = 0.0"), "network.dt", "> 0"),
    (MINIMAL.replace("seed = 1", "seed = 1\ncolour = 3"), "network.colour", "unknown key"),
]


@pytest.mark.parametrize("text,field,words", BAD)
def test_bad_input_names_the_field(text, field, words):
    with pytest.raises(nb.ConfigError) as info:
        nb.run(nb.loads(text), 1.0)
    assert info.value.field == field
    assert words in str(info.value)


def test_missing_file_and_bad_api_calls():
    with pytest.raises(nb.ConfigError, match="not found"):
        nb.load("/nonexistent/model.toml")
    net = nb.Network()
    with pytest.raises(nb.ConfigError, match="no population"):
        nb.run(net, 10.0)
    net.population("a", 3, "iaf_psc_exp")
    with pytest.raises(nb.ConfigError, match="already used"):
        net.population("a", 3, "iaf_psc_exp")
    with pytest.raises(nb.ConfigError, match="spike source"):
        net.add(nb.PoissonSource(2, 5.0, name="p"))
        net.connect("a", "p", weight=1.0)
    nb.run(net, 1.0)
    net.population("late", 3, "iaf_psc_exp")      # a description stays editable after a run
    assert "late" in net.populations
