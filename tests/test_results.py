"""Saved results load back exactly; a failed save leaves the earlier file."""
import numpy as np
import pytest

import neurobox as nb
from neurobox.results import Results


def sample_results():
    net = nb.Network(dt=0.1, seed=2)
    net.add(nb.PoissonSource(50, 40.0, name="in"))
    net.population("out", 20, "iaf_cond_exp", {})
    net.connect("in", "out", "fixed_indegree", indegree=10, weight=8.0, delay=1.5)
    net.record("out", ["V_m", "g_ex"], neurons=[1, 4], every=3)
    return nb.run(net, 200.0)


def test_save_load_round_trip(tmp_path):
    res = sample_results()
    assert len(res.spikes["in"]) > 100
    f = tmp_path / "r.npz"
    res.save(f)
    back = Results.load(f)
    assert back.bio_ms == res.bio_ms and back.seed == res.seed and back.dt == res.dt
    for name, s in res.spikes.items():
        np.testing.assert_array_equal(back.spikes[name].t_ms, s.t_ms)
        np.testing.assert_array_equal(back.spikes[name].ids, s.ids)
        assert back.spikes[name].ids.dtype == np.int32
    for var in ("V_m", "g_ex"):
        np.testing.assert_array_equal(back.trace("out", var).values, res.trace("out", var).values)
        np.testing.assert_array_equal(back.trace("out", var).t_ms, res.trace("out", var).t_ms)
    assert back.model_toml == res.model_toml
    assert back.network().to_toml() == res.model_toml
    assert np.all(np.diff(res.spikes["in"].t_ms) >= 0)


def test_failed_save_leaves_earlier_file(tmp_path, monkeypatch):
    res = sample_results()
    f = tmp_path / "r.npz"
    res.save(f)
    before = f.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        res.save(f)
    assert f.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]


def test_trace_times_are_every_k_steps():
    tr = sample_results().trace("out", "V_m")
    np.testing.assert_allclose(tr.t_ms[:3], [0.3, 0.6, 0.9])
    assert tr.values.shape == (666, 2)


def test_not_a_results_file(tmp_path):
    f = tmp_path / "x.npz"
    f.write_bytes(b"junk")
    with pytest.raises(nb.ConfigError, match="not a readable"):
        Results.load(f)
