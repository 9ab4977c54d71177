"""What the neuron models share: one definition per common parameter, synapse types, the probe's input limit."""
from __future__ import annotations

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.neurons import MODELS
from neurobox.neurons.synapses import ALPHA_CONDUCTANCE, EXP_CURRENT
from neurobox.tasks.probe import probe


def test_a_shared_parameter_has_one_unit_and_range_in_every_model():
    seen = {}
    for model in MODELS.values():
        for p in model.parameters:
            if p.name in ("C_m", "g_L", "t_ref", "E_L", "tau_syn_ex", "tau_syn_in"):
                seen.setdefault(p.name, set()).add((p.unit, p.low, p.low_open, p.high))
    assert all(len(ranges) == 1 for ranges in seen.values()), seen
    assert seen["g_L"] == {("nS", 0.0, False, np.inf)}  # as NEST: conductances >= 0


@pytest.mark.parametrize("model,method", [("iaf_cond_exp", "exponential_euler"), ("iaf_cond_exp", "euler"),
                                          ("iaf_cond_alpha", "exponential_euler"), ("iaf_cond_alpha", "rk4")])
def test_without_leak_the_membrane_integrates_the_current(model, method):
    res = probe(model, params={"g_L": 0.0, "V_th": 1000.0}, current_pA=50.0, duration_ms=20.0, dt=0.1,
                method=method)
    np.testing.assert_allclose(res.v, -70.0 + 50.0 * res.times / 250.0, atol=1e-9)


def test_synapse_types_name_their_state_and_time_constants():
    assert [s.name for s in ALPHA_CONDUCTANCE.state] == ["dg_ex", "g_ex", "dg_in", "g_in"]
    assert [s.unit for s in ALPHA_CONDUCTANCE.state] == ["nS/ms", "nS", "nS/ms", "nS"]
    tau_ex, tau_in = EXP_CURRENT.time_constants(2.0, 5.0)
    assert (tau_ex.name, tau_ex.default, tau_in.name, tau_in.default) == ("tau_syn_ex", 2.0, "tau_syn_in", 5.0)
    assert EXP_CURRENT.equation.startswith("dI_syn_X/dt = -I_syn_X / tau_syn_X")


def test_probe_inputs_need_one_step_of_delay():
    res = probe("iaf_psc_exp", current_pA=0.0, duration_ms=5.0, dt=0.1, inputs=[(0.2, "excitatory", 100.0)])
    assert res.traces["I_syn_ex"][1] == 0.0 and res.traces["I_syn_ex"][2] == 100.0
    with pytest.raises(ConfigError, match=r"^inputs: input times must be >= 2 dt = 0.2 ms"):
        probe("iaf_psc_exp", current_pA=0.0, duration_ms=5.0, dt=0.1, inputs=[(0.1, "excitatory", 100.0)])
    with pytest.raises(ConfigError, match=r"^inputs: inhibitory current weights must be <= 0 pA"):
        probe("iaf_psc_exp", current_pA=0.0, duration_ms=5.0, dt=0.1, inputs=[(1.0, "inhibitory", 100.0)])
