"""How much a second thread gains on this machine, for work like a neuron update.

    python3 benchmarks/two_cores.py          # (run it with neurobox's venv: .venv/bin/python)

Three kinds of work, each on one thread and then on two threads at once, each
thread on its own data (nothing shared, nothing to wait for):

- arithmetic in registers only (16 independent multiply-adds a turn, no
  memory at all), five times: two independent cores give 2.0 every time;
  two virtual CPUs that the host runs on one core's units give about 1.0;
- a stream: x = 0.999 x + 1 over arrays of 4 KB, 62 KB and 312 KB per
  thread (in the core's first-level cache, its second level, and beyond);
- COBA's neuron update (`iaf_cond_exp`, forward Euler, the kernel the
  engine runs) on 2,000 neurons per thread.

It prints the time of each and the speed-up of two threads over one
(2.0 where the two threads run on two independent cores). Where two
threads share one core's units (as hyperthreads do, or virtual CPUs the
host maps onto one core), work that keeps a core's units busy gains less.
"""
from __future__ import annotations

import time

import numba
import numpy as np
from numba import njit, prange

from neurobox.neurons.lif import cond_exp_constants, cond_exp_euler

COBA = dict(C_m=200.0, g_L=10.0, E_L=-60.0, V_reset=-60.0, V_th=-50.0, t_ref=5.0, E_ex=0.0, E_in=-80.0,
            tau_syn_ex=5.0, tau_syn_in=10.0, I_e=0.0, theta_plus=0.0, tau_theta=1e7)


@njit
def _registers(turns, seed):
    """16 independent chains of multiply-adds (enough to keep a core's floating-point units busy)."""
    x = np.empty(16)
    for j in range(16):
        x[j] = seed + j
    for _ in range(turns):
        for j in range(16):
            x[j] = x[j] * 0.9999999 + 1e-7
    return x.sum()


@njit(parallel=True)
def _registers_on(threads, turns):
    out = np.zeros(threads)
    for t in prange(threads):
        out[t] = _registers(turns, float(t))
    return out


@njit(parallel=True)
def _stream(a, reps, threads, m):
    for t in prange(threads):
        base = t * (a.shape[0] // 2)
        for _ in range(reps):
            for i in range(base, base + m):
                a[i] = a[i] * 0.999 + 1.0


@njit
def _update(state, consts, ring, i_in, rng, spikes, steps):
    for s in range(steps):
        cond_exp_euler(state, consts, ring[s % 2], i_in, rng, s, spikes)


@njit(parallel=True)
def _updates(states, consts, rings, i_in, rng, spikes, steps, threads):
    for t in prange(threads):
        _update(states[t], consts, rings[t], i_in[t], rng[t], spikes[t], steps)


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> int:
    numba.set_num_threads(2)
    print(f"threads available to numba: {numba.config.NUMBA_NUM_THREADS} ({numba.threading_layer() or 'not started'})")
    _registers_on(1, 10)
    _registers_on(2, 10)
    turns = 50_000_000
    gains = []
    for _ in range(5):
        one = _timed(lambda: _registers_on(1, turns))
        two = _timed(lambda: _registers_on(2, turns))
        gains.append(2 * one / two)
    print(f"registers only, 5 times: speed-up {' '.join(f'{g:.2f}' for g in gains)}")
    a = np.zeros(2 * 100_000)
    _stream(a, 1, 1, 10)
    _stream(a, 1, 2, 10)
    for kb in (4, 62, 312):
        m = kb * 1024 // 8
        reps = 200_000_000 // m
        one = min(_timed(lambda: _stream(a, reps, 1, m)) for _ in range(3))
        two = min(_timed(lambda: _stream(a, reps, 2, m)) for _ in range(3))
        print(f"stream, {kb:3d} KB per thread: 1 thread {one:.3f} s, 2 threads (twice the work) {two:.3f} s: "
              f"speed-up {2 * one / two:.2f}")
    n, steps = 2000, 50_000
    rng = np.random.default_rng(0)
    states = np.zeros((2, 5, n))
    states[:, 0] = rng.normal(-65.0, 5.0, (2, n))
    rings, i_in = np.zeros((2, 2, 2, n)), np.zeros((2, n))
    streams, spikes = np.ones((2, 4), np.uint64), np.zeros((2, 2 * n), np.int32)
    consts = cond_exp_constants(COBA, 0.1, n)
    _updates(states, consts, rings, i_in, streams, spikes, 10, 2)
    one = min(_timed(lambda: _updates(states, consts, rings, i_in, streams, spikes, steps, 1)) for _ in range(3))
    two = min(_timed(lambda: _updates(states, consts, rings, i_in, streams, spikes, steps, 2)) for _ in range(3))
    print(f"COBA neuron update, {n} neurons per thread: 1 thread {1e6 * one / steps:.2f} us a step, "
          f"2 threads {1e6 * two / steps:.2f} us a step each: speed-up {2 * one / two:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
