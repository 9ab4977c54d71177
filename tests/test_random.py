"""The kernels' random stream is the published xoshiro256**, seeded per object."""
import numpy as np

from neurobox.random import kernel_state, next_double, next_uint64, reference_next_uint64


def test_matches_reference_algorithm():
    s = kernel_state(7, "population", "x")
    ref = [int(w) for w in s]
    assert [int(next_uint64(s)) for _ in range(100)] == [reference_next_uint64(ref) for _ in range(100)]


def test_streams_differ_by_object_and_seed():
    a = kernel_state(1, "population", "a")
    assert not np.array_equal(a, kernel_state(1, "population", "b"))
    assert not np.array_equal(a, kernel_state(2, "population", "a"))
    np.testing.assert_array_equal(a, kernel_state(1, "population", "a"))


def test_uniform_doubles():
    s = kernel_state(3, "population", "u")
    x = np.array([next_double(s) for _ in range(20000)])
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.01
