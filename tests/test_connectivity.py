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
