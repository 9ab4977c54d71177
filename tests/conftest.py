"""Shared test helpers.

`require_tool` makes a test that needs a system tool fail in CI (where
`.ci/run` installs every tool) and skip on a user's machine, with a
message saying how to install it.
"""
from __future__ import annotations

import importlib
import json
import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(executable: str, install_hint: str) -> str:
    """Path of `executable`; fails in CI and skips elsewhere when it is missing."""
    path = shutil.which(executable)
    if path is None:
        message = f"{executable} not found; install it with: {install_hint}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_module(module: str, extra: str):
    """Import `module` of the optional extra `neurobox[extra]`; fails in CI and skips elsewhere (a whole test
    module too, when called at its top) when it is missing."""
    if module == "nest":
        from neurobox.engine import threads

        threads.start()  # before NEST's OpenMP runtime, or NEST's ResetKernel crashes after a parallel loop
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is missing: pip install 'neurobox[{extra}]'"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)


DIGITS_LIF = {"C_m": 250.0, "tau_m": 100.0, "tau_syn_ex": 2.0, "tau_syn_in": 10.0, "E_L": -65.0, "V_reset": -65.0,
              "V_th": -52.0, "t_ref": 5.0}
"""The learners of the digits task as units (NEST parameters of iaf_psc_exp)."""
DIGITS_STDP = {"rule": "stdp", "A_plus": 30.0, "A_minus": 0.0, "tau_plus": 16.0, "tau_minus": 16.0, "w_min": 0.0,
               "w_max": 8000.0, "halve_every": 4, "halvings": 3, "normalize_to": 1500.0, "normalize_every_ms": 0.0}
"""Their rule: pair STDP, potentiation only, a_plus halving after every 4 own spikes (3 times at most), the
plastic weights scaled down to 1500 pA after an own spike."""


def digits_network(n_pixels: int = 16, n_exc: int = 4, theta=(0, 100, 200, 300), seed: int = 1):
    """A small digits board: Poisson pixels onto learners (DIGITS_STDP) that inhibit each other; trained
    learners, starting from their thresholds theta (V_lsb of their fixed-point model, 2**-7 mV; repeated over
    the learners)."""
    import numpy as np

    import neurobox as nb

    net = nb.Network(dt=1.0, seed=seed, precision="fixed")
    net.population("px", n_pixels, "poisson_generator", {"rate": 50.0})
    net.population("exc", n_exc, "iaf_psc_exp_fixed", {**DIGITS_LIF, "V_lsb": 2.0 ** -7, "I_lsb": 0.25},
                   initial={"theta": [theta[i % len(theta)] for i in range(n_exc)]})
    rng = np.random.default_rng(seed)
    net.connect("px", "exc", "all_to_all", weight=rng.uniform(60.0, 200.0, n_pixels * n_exc), delay=1.0,
                plasticity=DIGITS_STDP)
    net.connect("exc", "exc", "all_to_all", allow_autapses=False, weight=-200.0, delay=1.0, receptor="inhibitory")
    return net


def pytest_addoption(parser):
    parser.addoption("--fuzz-examples", type=int, default=None,
                     help="cases of the model-file fuzzer (tests/test_fuzz_modelfile.py; default 10000, "
                          "or the environment variable NEUROBOX_FUZZ_EXAMPLES)")


def next_of(ws, kind, limit=200, timeout=5):
    """The next message of type `kind` on a board's WebSocket (skipping others, at most `limit` of them)."""
    for _ in range(limit):
        msg = json.loads(ws.recv(timeout=timeout))
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} message")
