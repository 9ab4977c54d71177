"""Seeds and the random stream that compiled kernels draw from.

One master seed makes every random choice. Each object (a population, a
projection, a stimulus) gets its own independent stream, derived from the
master seed and the object's kind and name, never from creation order or
thread, so adding a population does not change the others' draws.

Kernels use xoshiro256** (Blackman & Vigna 2018): four uint64 words of state
per stream, advanced in place.
"""
from __future__ import annotations

import zlib

import numpy as np
from numba import njit, uint64

_MASK = 0xFFFFFFFFFFFFFFFF


def seed_sequence(seed: int, kind: str, name: str) -> np.random.SeedSequence:
    """The stream of the object `kind:name` under master seed `seed`."""
    return np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(f"{kind}:{name}".encode()),))


def generator(seed: int, kind: str, name: str) -> np.random.Generator:
    """A numpy Generator for building (connectivity, initial values)."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, kind, name)))


def kernel_state(seed: int, kind: str, name: str) -> np.ndarray:
    """Four uint64 words seeding a xoshiro256** stream for a compiled kernel."""
    words = seed_sequence(seed, kind, name).generate_state(4, np.uint64)
    if not words.any():  # the all-zero state is the one invalid state
        words[0] = 1
    return words


@njit(inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True)
def next_uint64(s):
    """Advance stream `s` (uint64[4]) and return its next 64-bit output."""
    result = _rotl(s[1] * uint64(5), 7) * uint64(9)
    t = s[1] << uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


TWO_53 = np.uint64(1 << 53)
"""next_bits53 gives 0 <= m < TWO_53; next_double is m * INV_TWO_53."""
INV_TWO_53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def next_bits53(s):
    """The top 53 bits m of stream `s`'s next output: next_double's numerator."""
    return next_uint64(s) >> uint64(11)


@njit(cache=True)
def next_double(s):
    """A uniform float64 in [0, 1) from stream `s`: next_bits53 times 2^-53 (exact)."""
    return float(next_bits53(s)) * INV_TWO_53


def reference_next_uint64(s: list[int]) -> int:
    """Pure-Python xoshiro256** (the published algorithm), for tests."""
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & _MASK
    result = (rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK
    t = (s[1] << 17) & _MASK
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result
