"""The FPGA cell against the Python specification, in Amaranth's simulator and in iverilog.

The reference is the specification itself (`neurobox.neurons.lif_fixed.step`
then `neurobox.plasticity.stdp_fixed.step`, composed per tick by
`neurobox.hardware.unit.simulate`). The sweep covers units converted from
float parameters, hand-made corner cases that saturate every int16
quantity and drive the weights onto both STDP bounds, and random integer
parameter sets over the whole range the specification allows.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import IN_CI, require_tool
from neurobox.hardware.led import led_params
from neurobox.hardware.unit import FixedUnit, Input, UnitDescription, fixed_unit
from neurobox.neurons import lif_fixed
from neurobox.neurons.lif_fixed import LifFixedParams
from neurobox.plasticity.stdp_fixed import StdpFixedParams

ROOT = Path(__file__).resolve().parent.parent
STEPS = 1000
LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
STDP = {"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0, "A_minus": 36.0, "w_min": 0.0, "w_max": 4000.0}
IVERILOG_HINT = "apt-get install yosys nextpnr-ice40 fpga-icestorm iverilog"


def require_amaranth():
    try:
        import amaranth  # noqa: F401
    except ImportError:
        message = "amaranth not installed; install it with: pip install 'amaranth[builtin-yosys]>=0.5,<0.6'"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def unit(name, lif, weights, receptors, plastic=None, stdp=None, dt=1.0) -> FixedUnit:
    """A FixedUnit straight from integer constants (V_lsb = 2**-8 mV, I_lsb = 0.25 pA)."""
    p = LifFixedParams(**lif, V_lsb=2.0 ** -8, I_lsb=0.25)
    n = len(weights)
    plastic = tuple(plastic or (False,) * n)
    return FixedUnit(name=name, address=0, dt=dt, E_L=-70.0, lif=p, weights=tuple(weights),
                     receptors=tuple(receptors), plastic=plastic, sources=tuple(f"in{j}" for j in range(n)),
                     stdp=StdpFixedParams(**stdp) if stdp else None, led=led_params(p.v_th, p.v_reset, dt))


def random_unit(rng, name) -> FixedUnit:
    """Integer parameters drawn over the full ranges of lif_fixed and stdp_fixed."""
    n = int(rng.integers(1, 6))
    v_reset = int(rng.integers(-32768, 32000))
    lif = dict(D_m=int(rng.choice([0, 65535, rng.integers(0, 65536)])), D_ex=int(rng.integers(0, 65536)),
               D_in=int(rng.integers(30000, 65536)), P_ex=int(rng.integers(0, 8192)),
               P_in=int(rng.integers(0, 8192)), P_e=int(rng.integers(0, 8192)), S=int(rng.integers(1, 31)),
               i_e=int(rng.integers(-32768, 32768)), v_th=int(rng.integers(v_reset + 1, 32768)),
               v_reset=v_reset, ref_steps=int(rng.choice([0, 1, rng.integers(0, 256)])))
    receptors = [int(r) for r in rng.integers(0, 2, n)]
    plastic = [bool(x) for x in rng.random(n) < 0.6]
    stdp = None
    if any(plastic):
        lo = int(rng.integers(-32768, 32767))
        hi = int(rng.integers(lo, 32768))
        stdp = dict(k_plus=int(rng.integers(1, 16)), k_minus=int(rng.integers(1, 16)),
                    a_plus=int(rng.integers(0, 32768)), a_minus=int(rng.integers(0, 32768)), w_min=lo, w_max=hi)
    weights = []
    for j in range(n):
        if plastic[j]:
            weights.append(int(rng.integers(stdp["w_min"], stdp["w_max"] + 1)))
        else:
            weights.append(int(rng.integers(-32768, 32768)))
    return unit(name, lif, weights, receptors, plastic, stdp)


def sweep():
    """(unit, input spikes) pairs: converted, corner-case and random parameter sets, STEPS ticks each."""
    rng = np.random.default_rng(2024)
    cases = []
    board = fixed_unit(UnitDescription(
        "board", LIF, 1.0, (Input("a", "excitatory", 2600.0, True), Input("b", "excitatory", 700.0),
                            Input("c", "inhibitory", -2000.0)), STDP))
    cases.append((board, rng.random((STEPS, 3)) < [0.03, 0.05, 0.02]))
    fine = fixed_unit(UnitDescription(
        "fine", {**LIF, "I_e": 300.0}, 0.1, (Input("a", "excitatory", 900.0, True),
                                            Input("b", "excitatory", 500.0, True), Input("c", "inhibitory", -400.0)),
        {**STDP, "tau_plus": 2.0, "tau_minus": 3.0, "A_plus": 200.0, "A_minus": 220.0}))
    cases.append((fine, rng.random((STEPS, 3)) < [0.01, 0.02, 0.01]))
    # saturation upwards: currents and membrane hit +32767, slowest decays, no refractory time
    up = unit("sat_up", dict(D_m=65535, D_ex=65535, D_in=65535, P_ex=8191, P_in=8191, P_e=8191, S=1,
                             i_e=1000, v_th=32767, v_reset=-20000, ref_steps=0),
              [30000, 30000, -30000], [0, 0, 1])
    cases.append((up, rng.random((STEPS, 3)) < [0.3, 0.3, 0.05]))
    # saturation downwards: inhibition and a negative constant current drive everything to -32768
    down = unit("sat_down", dict(D_m=60000, D_ex=0, D_in=65000, P_ex=8000, P_in=8191, P_e=8191, S=3,
                                 i_e=-32768, v_th=200, v_reset=-32768, ref_steps=7),
                [32767, -32768, -32768], [0, 1, 1])
    cases.append((down, rng.random((STEPS, 3)) < [0.6, 0.4, 0.4]))
    # learning onto both bounds: large amplitudes, plastic excitatory and inhibitory inputs
    learn = unit("learn", dict(D_m=62000, D_ex=50000, D_in=55000, P_ex=3000, P_in=3000, P_e=2000, S=14,
                               i_e=2000, v_th=3000, v_reset=-500, ref_steps=3),
                 [1500, 2500, -800, 4000], [0, 0, 1, 0], [True, True, True, False],
                 dict(k_plus=2, k_minus=5, a_plus=20000, a_minus=26000, w_min=-1000, w_max=3000))
    cases.append((learn, rng.random((STEPS, 4)) < [0.15, 0.05, 0.1, 0.1]))
    for k in range(6):
        u = random_unit(rng, f"random{k}")
        cases.append((u, rng.random((STEPS, u.n_inputs)) < rng.uniform(0.02, 0.5, u.n_inputs)))
    return cases


CASES = sweep()
IDS = [u.name for u, _ in CASES]


def unsaturated_v(u, r, t) -> int:
    """decay(v) + dv of tick t, before sat16 (the specification's arithmetic on the recorded state)."""
    if r.ref[t - 1] != 0:
        return int(r.v[t - 1])
    p = u.lif
    acc = int(r.i_ex[t - 1]) * p.P_ex + int(r.i_in[t - 1]) * p.P_in + p.i_e * p.P_e
    return lif_fixed.decay(int(r.v[t - 1]), p.D_m) + ((acc + (1 << (p.S - 1))) >> p.S)


def test_sweep_reaches_saturation_spikes_and_both_weight_bounds():
    """The sweep is only worth something if the reference really saturates and learns in it."""
    from neurobox.hardware.fpga.simulate import reference

    seen = {k: False for k in ("v_max", "v_min", "i_ex_max", "i_in_min", "spikes", "refractory",
                               "w_min", "w_max", "learned")}
    for u, pre in CASES:
        r = reference(u, pre)
        assert len(r.v) >= 1000
        # v is reset in the tick it reaches v_th <= 32767, so look at the sum before sat16
        seen["v_max"] |= any(unsaturated_v(u, r, t) > 32767 for t in range(1, len(r.v)))
        seen["v_min"] |= bool((r.v == -32768).any())
        seen["i_ex_max"] |= bool((r.i_ex == 32767).any())
        seen["i_in_min"] |= bool((r.i_in == -32768).any())
        seen["spikes"] |= bool(r.spike.sum() >= 10)
        seen["refractory"] |= bool((r.ref > 0).any())
        if u.stdp is not None:
            w = r.w[:, list(u.plastic_index)]
            seen["w_min"] |= bool((w == u.stdp.w_min).any())
            seen["w_max"] |= bool((w == u.stdp.w_max).any())
            seen["learned"] |= bool((np.diff(w, axis=0) != 0).any())
    assert all(seen.values()), seen


AMARANTH_CASES = ("board", "sat_down", "learn")
"""Amaranth's Python simulator runs about 10 us of cell per ms of wall time (some 5 s per case of
1000 ticks), so it takes a converted unit, a saturating one and a learning one; iverilog runs all."""


@pytest.mark.parametrize("case", [IDS.index(name) for name in AMARANTH_CASES], ids=AMARANTH_CASES)
def test_amaranth_simulation_is_bit_exact(case):
    require_amaranth()
    from neurobox.hardware.fpga.simulate import first_mismatch, reference, simulate_amaranth

    u, pre = CASES[case]
    assert first_mismatch(reference(u, pre), simulate_amaranth(u, pre)) is None


def test_amaranth_cycle_count_matches_update_cycles():
    require_amaranth()
    from neurobox.hardware.fpga.cell import update_cycles
    from neurobox.hardware.fpga.simulate import first_mismatch, reference, simulate_amaranth

    u, pre = CASES[4]
    ref = reference(u, pre[:150])
    got = simulate_amaranth(u, pre[:150], count_cycles=True)
    assert first_mismatch(ref, got) is None
    started_refractory = np.r_[0, ref.ref[:-1]] != 0
    want = [update_cycles(u, bool(s), bool(r)) for s, r in zip(ref.spike, started_refractory)]
    assert got.cycles.tolist() == want


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_iverilog_on_exported_verilog_is_bit_exact(case, tmp_path):
    require_amaranth()
    require_tool("iverilog", IVERILOG_HINT)
    from neurobox.hardware.fpga.cell import update_cycles
    from neurobox.hardware.fpga.simulate import first_mismatch, reference, simulate_iverilog

    u, pre = CASES[case]
    ref = reference(u, pre)
    got = simulate_iverilog(u, pre, workdir=tmp_path)
    assert first_mismatch(ref, got) is None
    started_refractory = np.r_[0, ref.ref[:-1]] != 0
    want = [update_cycles(u, bool(s), bool(r)) for s, r in zip(ref.spike, started_refractory)]
    assert got.cycles.tolist() == want
    text = (tmp_path / "cell.v").read_text()
    # emit_src=False: no source attributes, no path of this checkout in the Verilog
    assert "module nb_cell_" in text and "(* src" not in text and str(ROOT) not in text


def test_a_wrong_cell_is_caught(tmp_path):
    """The comparison is not vacuous: a Verilog cell with one constant off by one differs."""
    require_amaranth()
    require_tool("iverilog", IVERILOG_HINT)
    from neurobox.hardware.fpga.simulate import export_verilog, first_mismatch, module_name, reference, \
        simulate_iverilog

    u, pre = CASES[0]
    wrong = replace(u, lif=u.lif._replace(D_ex=u.lif.D_ex + 1))
    text = export_verilog(wrong, module_name(u))
    got = simulate_iverilog(u, pre, workdir=tmp_path, verilog_text=text)
    mismatch = first_mismatch(reference(u, pre), got)
    assert mismatch is not None and mismatch[1] in ("i_ex", "v")


def test_the_whole_board_in_iverilog_fires_as_the_reference(tmp_path):
    """network.v: the example board's cells wired together (feedback loop, inhibition, plastic inputs)
    spike in the same ticks as the board's fixed-point reference, driven by the engine's stimuli."""
    require_amaranth()
    require_tool("iverilog", IVERILOG_HINT)
    from neurobox.hardware.board import board_inputs, source_spikes
    from neurobox.hardware.board import load_board
    from neurobox.hardware.fpga.network import simulate_network_iverilog, stimulus_names
    from neurobox.hardware.unit import simulate

    board = load_board(ROOT / "examples" / "board.toml")
    units = board.fixed()
    fired = source_spikes(board, STEPS)
    names = stimulus_names(units)
    stim = np.zeros((STEPS, len(names)), dtype=bool)
    for i, name in enumerate(names):
        stim[1:, i] = fired[name][:-1]  # a stimulus spike of tick t reaches the cells in tick t + 1
    pre = board_inputs(board, STEPS, mode="bus")
    want = np.stack([simulate(u, pre[u.name]).spikes for u in units], axis=1)
    assert want.sum(axis=0).min() >= 1  # every unit fires
    got = simulate_network_iverilog(units, stim, tmp_path)
    assert np.array_equal(got, want), np.argwhere(got != want)[:5]
