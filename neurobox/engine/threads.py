"""numba's thread pool, started before a library that brings its own OpenMP runtime.

PyNEST's wheel ships its own libgomp. When PyNEST is imported before
numba's OpenMP threading layer has started, the first parallel loop
starts that layer against NEST's runtime, and NEST's next `ResetKernel`
crashes the process (a segmentation fault). Started first, both work.
`neurobox.backends.nest` calls `start` before it imports PyNEST.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _fill(out):
    for i in prange(out.size):
        out[i] = i


def start() -> str:
    """Start numba's thread pool (once; later calls cost nothing) and name its threading layer."""
    _fill(np.zeros(2))
    return numba.threading_layer()
