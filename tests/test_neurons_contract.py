"""Every model of the library follows the kernel contract of neurobox.neurons.base."""
from __future__ import annotations

import numpy as np
import pytest

from neurobox.tasks.probe import _extra_models

MODELS = _extra_models()


def setup(model, n, dt=0.1, params=None):
    p = model.resolve_params(params, "p")
    return (model.default_state(p, n), model.constants(p, dt, n), np.zeros((len(model.receptors), n)),
            np.zeros(4, dtype=np.uint64), np.zeros(n, dtype=np.int32))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_description_is_complete(name):
    m = MODELS[name]
    assert m.equations and m.integration and m.references and m.summary
    assert all(p.unit or p.name in ("b",) for p in m.parameters)
    assert all(s.unit for s in m.state)
    assert m.receptors == ("excitatory", "inhibitory")
    assert m.state[0].name == m.voltage == "V_m"
    assert "| name | default | unit | meaning |" in m.parameter_table()
    for preset in m.presets:
        m.resolve_params(None, "p", preset)


@pytest.mark.parametrize("name,method", [(name, method) for name in sorted(MODELS) for method in MODELS[name].methods])
def test_kernel_contract(name, method):
    m = MODELS[name]
    kernel = m.kernel(method)
    n = 40
    state, consts, syn, rng, out = setup(m, n)
    assert state.shape == (len(m.state), n) and consts.dtype == np.float64
    currents = np.linspace(0.0, 4000.0 if m.receptor_kind == "conductance" or name.startswith(("aeif", "hh", "iaf"))
                           else 40.0, n)
    if name == "izhikevich2007":
        currents *= 50.0
    fired_any = np.zeros(n, dtype=bool)
    for k in range(1000):
        syn[0, :] = 1.0
        syn[1, :] = 0.5 if m.receptor_kind == "conductance" else -0.5
        ns = kernel(state, consts, syn, currents, rng, k, out)
        assert ns >= 0
        assert not syn.any(), "syn_in must be consumed and reset to 0"
        idx = out[:ns]
        assert np.all(np.diff(idx) > 0), "spike indices must be written in increasing order"
        fired_any[idx] = True
    assert fired_any[-1] and fired_any.sum() >= n // 4
    assert np.all(np.isfinite(state))
    # determinism: the same inputs give the same state
    state2, consts2, syn2, rng2, out2 = setup(m, n)
    for k in range(1000):
        syn2[0, :] = 1.0
        syn2[1, :] = 0.5 if m.receptor_kind == "conductance" else -0.5
        kernel(state2, consts2, syn2, currents, rng2, k, out2)
    assert np.array_equal(state, state2)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_nan_is_reported_with_the_neuron_index(name):
    m = MODELS[name]
    for method in m.methods:
        state, consts, syn, rng, out = setup(m, 6)
        state[0, 3] = np.nan
        ns = m.kernel(method)(state, consts, syn, np.zeros(6), rng, 0, out)
        assert ns == -1 - 3, f"{name}/{method}"
