"""Connection rules against their definitions."""
import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.network.connectivity import check_rule, connect


def pairs(rule, n_pre, n_post, same=False, seed=0, **options):
    checked = check_rule(rule, options, n_pre, n_post, "p")
    return connect(rule, checked, n_pre, n_post, same, np.random.default_rng(seed))


def test_all_to_all_and_one_to_one():
    pre, post = pairs("all_to_all", 3, 4)
    assert list(zip(pre, post)) == [(i, j) for i in range(3) for j in range(4)]
    pre, post = pairs("one_to_one", 5, 5)
    assert pre.tolist() == post.tolist() == list(range(5))
    with pytest.raises(ConfigError, match="equal size"):
        pairs("one_to_one", 5, 4)


def test_fixed_probability_matches_binomial_and_is_uniform():
    n_pre, n_post, p = 400, 300, 0.05
    pre, post = pairs("fixed_probability", n_pre, n_post, p=p)
    mean = n_pre * n_post * p
    assert abs(pre.size - mean) < 5 * np.sqrt(mean * (1 - p))
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size  # no pair twice
    counts = np.bincount(post, minlength=n_post)
    assert abs(counts.mean() - n_pre * p) < 1.0
    assert np.all(np.diff(pre) >= 0)


def test_fixed_indegree_without_multapses_or_autapses():
    pre, post = pairs("fixed_indegree", 50, 50, same=True, indegree=20, allow_multapses=False,
                      allow_autapses=False)
    assert np.all(np.bincount(post, minlength=50) == 20)
    assert not np.any(pre == post)
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size


def test_fixed_outdegree():
    pre, post = pairs("fixed_outdegree", 30, 100, outdegree=7)
    assert np.all(np.bincount(pre, minlength=30) == 7)


def test_explicit_and_errors():
    pre, post = pairs("explicit", 3, 3, pre_ids=[2, 0], post_ids=[1, 1])
    assert pre.tolist() == [0, 2] and post.tolist() == [1, 1]
    with pytest.raises(ConfigError, match=r"\[0, 2\]"):
        pairs("explicit", 3, 3, pre_ids=[3], post_ids=[1])
    with pytest.raises(ConfigError, match="same length"):
        pairs("explicit", 3, 3, pre_ids=[0, 1], post_ids=[1])
    with pytest.raises(ConfigError, match="needs p"):
        pairs("fixed_probability", 3, 3)
    with pytest.raises(ConfigError, match="not an option"):
        pairs("all_to_all", 3, 3, p=0.1)
    with pytest.raises(ConfigError, match="exceeds"):
        pairs("fixed_indegree", 3, 3, indegree=5, allow_multapses=False)


# -- fixed_total_number and the rows the engine stores ------------------------------------------------------
def test_fixed_total_number_draws_exactly_n_uniform_pairs():
    n_pre, n_post, total = 300, 200, 60_000
    pre, post = pairs("fixed_total_number", n_pre, n_post, N=total)
    assert pre.size == total
    assert np.all(np.diff(pre) >= 0) and np.all(np.diff(post)[np.diff(pre) == 0] >= 0)  # sorted by (pre, post)
    for ids, n in ((pre, n_pre), (post, n_post)):  # each end uniform: a chi-square test at a far tail
        counts = np.bincount(ids, minlength=n)
        expected = total / n
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < n + 6 * np.sqrt(2 * n), chi2
    # independent ends: pairs fall uniformly on the grid (multapses as often as chance makes them)
    cells = np.bincount(pre.astype(np.int64) * n_post + post, minlength=n_pre * n_post)
    assert abs(cells.mean() - 1.0) < 1e-9 and abs(cells.var() - 1.0) < 0.05


def test_fixed_total_number_without_autapses_and_its_errors():
    pre, post = pairs("fixed_total_number", 40, 40, same=True, N=20_000, allow_autapses=False)
    assert pre.size == 20_000 and not np.any(pre == post)
    assert np.bincount(post, minlength=40).min() > 0 and post.max() == 39
    pre, post = pairs("fixed_total_number", 40, 40, same=True, N=20_000)  # autapses allowed by default, as NEST
    assert np.any(pre == post)
    assert pairs("fixed_total_number", 5, 5, N=0)[0].size == 0
    with pytest.raises(ConfigError, match="allow_multapses = false is not supported"):
        pairs("fixed_total_number", 5, 5, N=3, allow_multapses=False)
    with pytest.raises(ConfigError, match="needs N"):
        pairs("fixed_total_number", 5, 5)
    with pytest.raises(ConfigError, match=r"p\.N"):
        pairs("fixed_total_number", 5, 5, N=-1)


@pytest.mark.parametrize("rule, options", [
    ("all_to_all", {}), ("one_to_one", {}), ("fixed_probability", {"p": 0.2}), ("fixed_indegree", {"indegree": 5}),
    ("fixed_outdegree", {"outdegree": 4}), ("fixed_total_number", {"N": 500}),
    ("explicit", {"pre_ids": [3, 0, 3], "post_ids": [1, 2, 0]}),
])
def test_rows_are_the_pairs(rule, options):
    from neurobox.network.connectivity import connect_rows

    checked = check_rule(rule, options, 30, 30, "p")
    pre, post = connect(rule, checked, 30, 30, False, np.random.default_rng(4))
    indptr, targets = connect_rows(rule, checked, 30, 30, False, np.random.default_rng(4))
    assert indptr.dtype == np.int64 and targets.dtype == np.uint16
    np.testing.assert_array_equal(np.repeat(np.arange(30), np.diff(indptr)), pre)
    np.testing.assert_array_equal(targets, post)


def test_targets_are_int32_past_65536_post_neurons():
    from neurobox.network.connectivity import connect_rows, target_dtype

    assert target_dtype(65536) is np.uint16 and target_dtype(65537) is np.int32
    checked = check_rule("fixed_total_number", {"N": 1000}, 3, 70_000, "p")
    indptr, targets = connect_rows("fixed_total_number", checked, 3, 70_000, False, np.random.default_rng(0))
    assert targets.dtype == np.int32 and targets.max() < 70_000 and indptr[-1] == 1000


def test_the_engine_and_the_lists_hold_the_same_synapses():
    """Projection.build (twin, hardware) and the engine's rows come from one draw."""
    import neurobox as nb

    net = nb.Network(dt=0.1, seed=9)
    net.population("a", 50, "iaf_psc_exp", {})
    net.population("b", 40, "iaf_psc_exp", {})
    weight = {"distribution": "normal", "mean": 20.0, "std": 5.0, "min": 0.0}
    delay = {"distribution": "normal", "mean": 1.5, "std": 0.75, "min": 0.1}
    net.connect("a", "b", "fixed_total_number", N=900, weight=weight, delay=delay, name="ab")
    net.connect("a", "a", "fixed_indegree", indegree=5, weight=-3.0, delay=0.7, name="aa")
    sim = nb.Simulation(net, progress=False)
    for name in ("ab", "aa"):
        syn = net.projections[name].build(net.seed, net.dt, name)
        pre, post, w, d = sim.weights(name)
        np.testing.assert_array_equal(pre, syn.pre)
        np.testing.assert_array_equal(post, syn.post)
        np.testing.assert_array_equal(d, syn.delay_steps)
        np.testing.assert_array_equal(w, syn.weight.astype(np.float32))
    ab = sim.compiled.projection("ab")
    assert ab.delays.dtype == np.uint8 and ab.shared_weight is None and ab.weights.min() >= 0.0
    assert sim.compiled.projection("aa").shared_weight == -3.0 and sim.compiled.projection("aa").delays is None


def test_distributions_drawn_by_compiled_code():
    from neurobox.network.values import check_spec, fill
    from neurobox.random import kernel_state

    out = np.empty(200_000)
    low, high = fill(check_spec({"distribution": "normal", "mean": 87.8, "std": 8.78}, "w"), out,
                     kernel_state(1, "t", "w"), "w")
    assert abs(out.mean() - 87.8) < 0.1 and abs(out.std() - 8.78) < 0.1 and (low, high) == (out.min(), out.max())
    fill(check_spec({"distribution": "normal", "mean": 1.0, "std": 2.0, "min": 0.0}, "w"), out,
         kernel_state(1, "t", "w"), "w")
    assert out.min() >= 0.0 and abs(out.mean() - (1.0 + 2.0 * 0.5094)) < 0.05  # the truncated normal's mean
    fill(check_spec({"distribution": "uniform", "low": -2.0, "high": 3.0}, "w"), out, kernel_state(1, "t", "w"), "w")
    assert out.min() >= -2.0 and out.max() < 3.0 and abs(out.mean() - 0.5) < 0.02
    fill(check_spec({"distribution": "lognormal", "mu": 0.0, "sigma": 0.5}, "w"), out, kernel_state(1, "t", "w"), "w")
    assert abs(np.log(out).mean()) < 0.01 and abs(np.log(out).std() - 0.5) < 0.01
    steps = np.empty(1000, np.uint8)
    fill(check_spec({"distribution": "uniform", "low": 0.1, "high": 0.5}, "d"), steps, kernel_state(1, "t", "d"),
         "d", dt=0.1)
    assert steps.min() == 1 and steps.max() == 5
    with pytest.raises(ConfigError, match="bounds exclude"):
        fill(check_spec({"distribution": "normal", "mean": 0.0, "std": 1.0, "min": 50.0}, "w"), out,
             kernel_state(1, "t", "w"), "w")


def test_a_large_fixed_total_number_is_the_same_drawn_in_two_threads_or_one(monkeypatch):
    import neurobox as nb
    import neurobox.network.projection as projection

    net = nb.Network(dt=0.1, seed=2)
    net.population("a", 3000, "iaf_psc_exp", {})
    net.connect("a", "a", "fixed_total_number", N=projection.PARALLEL_FROM + 5, name="x",
                weight={"distribution": "normal", "mean": 5.0, "std": 1.0},
                delay={"distribution": "uniform", "low": 0.5, "high": 3.0})
    two = net.projections["x"].connections(2, 0.1, "x")
    monkeypatch.setattr(projection, "PARALLEL_FROM", 10 ** 18)
    one = net.projections["x"].connections(2, 0.1, "x")
    for part in ("indptr", "targets", "weights", "delays"):
        np.testing.assert_array_equal(getattr(two, part), getattr(one, part))
