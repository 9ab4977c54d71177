"""The fixed-point Izhikevich specification (neurobox.neurons.izhikevich_fixed) against the float model."""
from __future__ import annotations

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.neurons import izhikevich_fixed as Z
from neurobox.neurons.izhikevich import IZHIKEVICH, IZHIKEVICH_PRESETS, izh_2003, izh_constants


def run_both(preset: str, dt: float, duration: float = 700.0, current: float = 10.0):
    """The published scheme in float and the fixed-point step, a step current from 100 ms on."""
    p = IZHIKEVICH.resolve_params(IZHIKEVICH_PRESETS[preset], "p")
    consts = izh_constants(p, dt, 1)
    fp = Z.fixed_parameters(p, dt)
    state = np.array([[-65.0], [p["b"] * -65.0], [0.0], [0.0]])
    fs = Z.IzhFixedState(-65 * 65536, round(p["b"] * -65 * 65536))
    out = np.zeros(1, dtype=np.int32)
    s_float, s_fixed, rest_err = [], [], 0.0
    for t in range(int(duration / dt)):
        i = current if t * dt >= 100.0 else 0.0
        if izh_2003(state, consts, np.zeros((2, 1)), np.array([i]), np.zeros(4, np.uint64), t, out):
            s_float.append(t * dt)
        fs, spiked = Z.step(fs, 0, 0, fp, round(i * 256))
        if spiked:
            s_fixed.append(t * dt)
        if 50.0 < t * dt < 100.0:
            rest_err = max(rest_err, abs(state[0, 0] - fs.v * Z.VU_LSB))
    return np.array(s_float), np.array(s_fixed), rest_err


@pytest.mark.parametrize("preset", ["regular_spiking", "intrinsically_bursting", "chattering", "fast_spiking",
                                    "low_threshold_spiking", "thalamo_cortical"])
def test_presets_fire_as_the_float_scheme(preset):
    s_float, s_fixed, rest_err = run_both(preset, 0.125)
    assert len(s_float) >= 10 and len(s_fixed) == len(s_float)
    assert np.max(np.abs(s_fixed[:10] - s_float[:10])) <= 1.0  # ms
    assert rest_err < 0.05  # mV, settling at rest before the current


def test_resonator_stays_silent_under_its_small_current():
    s_float, s_fixed, rest_err = run_both("resonator", 0.125, current=0.2)
    # one spike from the start-up transient (V = -65 mV is not this neuron's rest), then silence
    assert len(s_float) == len(s_fixed) == 1 and abs(s_fixed[0] - s_float[0]) <= 0.5
    assert rest_err < 0.05


def test_numba_kernel_is_bit_exact_with_the_reference():
    params = Z.IZHIKEVICH_FIXED.resolve_params(None, "p", "chattering")
    dt, n = 0.25, 6
    consts = Z.IZHIKEVICH_FIXED.constants(params, dt, n)
    fp = Z.fixed_parameters(params, dt)
    kernel = Z.IZHIKEVICH_FIXED.kernel(None)
    rng = np.random.default_rng(4)
    state = np.zeros((4, n))
    state[0] = -65 * 65536
    state[1] = round(0.2 * -65 * 65536)
    refs = [Z.IzhFixedState(int(state[0, i]), int(state[1, i])) for i in range(n)]
    out = np.zeros(n, dtype=np.int32)
    fired = 0
    for t in range(3000):
        ex = (rng.random(n) < 0.05) * rng.integers(0, 4000, n)
        inh = -(rng.random(n) < 0.05).astype(int) * rng.integers(0, 4000, n)
        ext = rng.integers(0, 12, n).astype(float)
        k = kernel(state, consts, np.array([ex, inh], dtype=float), ext, np.zeros(4, np.uint64), t, out)
        spikes = []
        for i in range(n):
            refs[i], spiked = Z.step(refs[i], int(ex[i]), int(inh[i]), fp, int(ext[i]) * 256)
            if spiked:
                spikes.append(i)
        assert list(out[:k]) == spikes
        assert np.array_equal(state, np.array(refs, dtype=float).T)
        fired += k
    assert fired > 50


def test_saturation():
    p = Z.fixed_parameters(IZHIKEVICH.resolve_params({"V_th": 127.0}, "p"), 1.0)
    s, spiked = Z.step(Z.IzhFixedState(120 * 65536, 0, 32767, 0), 32767, 0, p, 32767)
    assert s.i_ex == 32767
    # the half steps overshoot far past +128 mV: v saturates there and the unit fires
    assert spiked and s.v == p.c
    s, _ = Z.step(Z.IzhFixedState(-120 * 65536, Z.INT24_MAX, 0, 0), 0, -40000, p, -32768)
    assert s.v == Z.INT24_MIN and s.i_in == -32768


def test_quadratic_term():
    for mv in (-80.0, -65.0, -40.0, 0.0, 30.0, 127.0):
        w = round(mv * 256)
        assert abs(Z.quad(w) / 256 - 0.04 * mv * mv) < 0.02


@pytest.mark.parametrize("params,dt,field", [
    ({}, 0.3, "dt"),
    ({}, 2.0, "dt"),
    ({"a": 0.5}, 1.0, "p.a"),
    ({"b": 1.5}, 0.5, "p.b"),
    ({"c": -200.0}, 0.5, "p.c"),
])
def test_conversion_refuses(params, dt, field):
    with pytest.raises(ConfigError) as err:
        Z.fixed_parameters(IZHIKEVICH.resolve_params(params, "p"), dt, "p")
    assert err.value.field == field
