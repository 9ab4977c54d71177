"""The library's models inside networks: the engine runs the same kernels as the probe."""
from __future__ import annotations

import numpy as np
import pytest

import neurobox as nb
from neurobox.tasks.probe import _extra_models, probe

MODELS = _extra_models()
DC = {"izhikevich": 10.0, "izhikevich2007": 300.0}
EXCITATORY_WEIGHT = {  # pA or nS: 50 inputs at 20 Hz then drive each model well above threshold
    "izhikevich": 3.0, "izhikevich2007": 60.0, "iaf_psc_alpha": 60.0, "iaf_cond_alpha": 10.0,
    "aeif_cond_exp": 60.0, "aeif_psc_exp": 2500.0, "hh_psc_alpha": 400.0,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_engine_and_probe_agree(name):
    model = MODELS[name]
    current = DC.get(name, 800.0)
    net = nb.Network(dt=0.1, seed=1)
    net.population("p", 1, model)
    net.add(nb.DCCurrent("p", current))
    net.record("p", "V_m")
    res = nb.run(net, 150.0, progress=False)
    ref = probe(model, current_pA=current, duration_ms=150.0, dt=0.1)
    assert len(ref.spike_times_ms) >= 2
    np.testing.assert_array_equal(res.spikes["p"].per_neuron()[0], ref.spike_times_ms)
    trace = res.trace("p", "V_m")
    np.testing.assert_array_equal(trace.values[:, 0], np.interp(trace.t_ms, ref.times, ref.v))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_poisson_driven_population(name):
    """Excitation makes the neurons fire; adding inhibition makes them fire less."""
    model = MODELS[name]
    w_ex = EXCITATORY_WEIGHT[name]

    def rate(inhibition):
        net = nb.Network(dt=0.1, seed=4)
        net.add(nb.PoissonSource(200, 20.0, name="src"))
        net.population("p", 20, model)
        net.connect("src", "p", "fixed_indegree", indegree=50, weight=w_ex, delay=1.0, receptor="excitatory")
        if inhibition:
            w_in = 4.0 * w_ex if model.receptor_kind == "conductance" else -4.0 * w_ex
            net.connect("src", "p", "fixed_indegree", indegree=20, weight=w_in, delay=1.0, receptor="inhibitory")
        res = nb.run(net, 300.0, progress=False)
        return res.spikes["p"].rate_hz(300.0)
    excited, inhibited = rate(False), rate(True)
    assert excited > 5.0
    assert inhibited < excited
