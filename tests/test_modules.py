"""Networks of networks: modules keep their names and connections, in Python and in model files."""
import numpy as np
import pytest

import neurobox as nb
from neurobox.examples import path


def test_model_file_module_is_prefixed_and_connected():
    net = nb.load(path("vision"))
    ganglion = nb.load(path("ganglion"))
    assert set(net.populations) == {f"retina.{n}" for n in ganglion.populations} | {"learner", "pool"}
    assert set(net.projections) >= {f"retina.{n}" for n in ganglion.projections}
    inner = net.projections["retina.surround_cells"]
    assert inner.pre is net.populations["retina.surround"] and inner.post is net.populations["retina.cells"]
    assert inner.rule_options["indegree"] == 4
    feed = [p for p in net.projections.values() if p.post.name == "learner" and p.pre.name == "retina.cells"]
    assert len(feed) == 1 and feed[0].plasticity is not None


def test_round_trip_and_same_spikes():
    net = nb.load(path("vision"))
    back = nb.loads(net.to_toml())
    assert back.to_toml() == net.to_toml()
    a, b = nb.run(net, 200.0), nb.run(back, 200.0)
    assert len(a.spikes["retina.cells"]) > 100
    for name in a.spikes:
        np.testing.assert_array_equal(a.spikes[name].t_ms, b.spikes[name].t_ms)
        np.testing.assert_array_equal(a.spikes[name].ids, b.spikes[name].ids)


def test_python_include_equals_file_module():
    net = nb.Network(dt=0.1, seed=3, duration=1000.0)
    net.include(nb.load(path("ganglion")), "retina")
    from_file = nb.load(path("vision"))
    for name in ("retina.receptors", "retina.cells", "retina.surround"):
        assert net.populations[name].n == from_file.populations[name].n
        assert net.populations[name].given_params == from_file.populations[name].given_params
    inside = {n for n, p in from_file.projections.items()
              if p.pre.name.startswith("retina.") and p.post.name.startswith("retina.")}
    assert set(net.projections) == inside


def test_module_errors(tmp_path):
    (tmp_path / "loop.toml").write_text('[modules.me]\nfile = "loop.toml"\n')
    with pytest.raises(nb.ConfigError, match="cycle"):
        nb.load(tmp_path / "loop.toml")
    (tmp_path / "missing.toml").write_text('[modules.x]\nfile = "nowhere.toml"\n')
    with pytest.raises(nb.ConfigError, match="modules.x.file"):
        nb.load(tmp_path / "missing.toml")
    net = nb.Network(dt=0.05)
    with pytest.raises(nb.ConfigError, match="dt"):
        net.include(nb.load(path("ganglion")), "retina")
