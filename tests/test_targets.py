"""One behavioural suite for every target: the same description, the same spikes (bit-exact class)."""
from __future__ import annotations

import numpy as np
import pytest

import neurobox as nb
from neurobox.examples import path
from neurobox.targets import EXPORTERS, RUNNERS, Unsupported, exporter, require, runner
from tests.conftest import require_tool

DURATION_MS = 1500.0
FLOAT_TARGETS = ("engine",)
"""Runners in float64 arithmetic; every other runner computes the chips' integers."""
OTHER_SIMULATORS = ("nest",)
"""Runners of float descriptions only (no fixed point, no plasticity of the board's): measured against the
engine in their own tests (tests/test_backend_nest.py)."""
TOOLS = {"avr-sim": [("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr"),
                     ("simavr", "apt-get install simavr libsimavr-dev libelf-dev")],
         "fpga-sim": [("iverilog", "apt-get install iverilog")]}


@pytest.fixture(scope="module")
def reference():
    """The example board in the fixed-point engine: what every chip-exact target must reproduce."""
    return runner("fixed").open(nb.load(path("board")), progress=False).run(DURATION_MS)


@pytest.mark.parametrize("name", [n for n in RUNNERS if n not in OTHER_SIMULATORS])
def test_every_runner_gives_the_fixed_point_spikes(name, reference):
    for tool, hint in TOOLS.get(name, []):
        require_tool(tool, hint)
    net = nb.load(path("board"))
    target = runner(name)
    assert target.check(net) == []
    handle = target.open(net)
    res = handle.run(DURATION_MS)
    handle.close()
    assert isinstance(res, nb.Results) and res.bio_ms == pytest.approx(DURATION_MS)
    assert set(res.spikes) == set(reference.spikes)
    total = matched = 0
    for pop, want in reference.spikes.items():
        got = res.spikes[pop]
        if name in FLOAT_TARGETS:  # float arithmetic: the same spikes within a step, nearly all of them
            matched += sum(_matched(g, w, res.dt) for g, w in zip(got.per_neuron(), want.per_neuron()))
        else:                      # the chips' arithmetic: bit for bit
            np.testing.assert_array_equal(got.t_ms, want.t_ms, err_msg=f"{name}: {pop}")
            np.testing.assert_array_equal(got.ids, want.ids, err_msg=f"{name}: {pop}")
            matched += len(want)
        total += len(want)
    assert total > 50 and matched >= 0.9 * total


def _matched(got_ms: np.ndarray, want_ms: np.ndarray, tolerance_ms: float) -> int:
    """How many wanted spikes have a spike in `got` within the tolerance."""
    return int(sum(np.any(np.abs(got_ms - t) <= tolerance_ms + 1e-9) for t in want_ms))


@pytest.mark.parametrize("name", ["twin", "avr-sim", "fpga-sim", "fixed"])
def test_targets_say_what_they_cannot_do(name):
    coba = nb.load(path("coba"))
    problems = runner(name).check(coba)
    assert problems and all(isinstance(p, Unsupported) for p in problems)
    assert problems[0].field == "populations.exc.model" and "iaf_cond_exp" in problems[0].reason
    with pytest.raises(nb.ConfigError, match=f"the {name} target"):
        require(runner(name), coba)
    assert runner("engine").check(coba) == []


def test_the_registries_name_every_target_and_refuse_others():
    assert {"engine", "fixed", "twin", "avr-sim", "fpga-sim"} <= set(RUNNERS)
    assert {"firmware", "fpga"} <= set(EXPORTERS)
    for name in EXPORTERS:
        assert exporter(name).check(nb.load(path("board"))) == []
    with pytest.raises(nb.ConfigError, match="valid: engine, fixed"):
        runner("spinnaker")
