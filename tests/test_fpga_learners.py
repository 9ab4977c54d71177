"""The FPGA cell as a learner: delay lines and reward-modulated STDP, bit-exact with the reference unit.

The reference is `neurobox.hardware.unit.simulate` (which runs `unit_tick`),
with the reward pulse of each tick taken from the cell's two pins (reward,
punishment; both or neither is no pulse). The cases mix delays of 1, 2, 5
and 16 ticks, drive the weights onto both bounds with random rewards and
punishments, saturate the eligibilities, and draw random integer parameters
over the ranges the specification allows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import IN_CI, require_tool
from neurobox.hardware.led import led_params
from neurobox.hardware.unit import FixedUnit, Input, UnitDescription, fixed_unit
from neurobox.neurons.lif_fixed import LifFixedParams
from neurobox.plasticity.rstdp_fixed import RstdpFixedParams

ROOT = Path(__file__).resolve().parent.parent
HINT = "apt-get install yosys nextpnr-ice40 fpga-icestorm iverilog"
STEPS = 1000
LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
STDP = {"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0, "A_minus": 36.0, "w_min": 0.0, "w_max": 4000.0}
RSTDP = {"rule": "rstdp", "tau_plus": 8.0, "tau_c": 64.0, "tau_d": 20.0, "A_plus": 5.0, "A_minus": 0.0,
         "w_min": 0.0, "w_max": 4000.0}
FAST = dict(D_m=62000, D_ex=50000, D_in=55000, P_ex=3000, P_in=3000, P_e=2000, S=14, i_e=2000, v_th=3000,
            v_reset=-500, ref_steps=2)
"""A unit that fires every few ticks of its own (i_e), so that pairs form often."""


@pytest.fixture(scope="module", autouse=True)
def amaranth():
    try:
        import amaranth  # noqa: F401
    except ImportError:
        message = "amaranth not installed; install it with: pip install 'amaranth[builtin-yosys]>=0.5,<0.6'"
        pytest.fail(message) if IN_CI else pytest.skip(message)


def rstdp_unit(name, lif, weights, receptors, plastic, rule, delays) -> FixedUnit:
    """An R-STDP FixedUnit straight from integer constants (V_lsb = 2**-8 mV, I_lsb = 0.25 pA)."""
    p = LifFixedParams(**lif, V_lsb=2.0 ** -8, I_lsb=0.25)
    n = len(weights)
    return FixedUnit(name=name, address=0, dt=1.0, E_L=-70.0, lif=p, weights=tuple(weights),
                     receptors=tuple(receptors), plastic=tuple(plastic), sources=tuple(f"in{j}" for j in range(n)),
                     stdp=None, led=led_params(p.v_th, p.v_reset, 1.0), delays=tuple(delays),
                     rstdp=RstdpFixedParams(**rule))


def pins(rng, steps, p=0.04) -> np.ndarray:
    """Random reward and punishment pins, with some ticks where both are high (no pulse)."""
    out = rng.random((steps, 2)) < p
    out[rng.integers(0, steps, 10)] = True
    return out


def random_unit(rng, name) -> FixedUnit:
    """Integer parameters over the full ranges of lif_fixed and rstdp_fixed, random delays."""
    n = int(rng.integers(1, 6))
    v_reset = int(rng.integers(-32768, 32000))
    lif = dict(D_m=int(rng.integers(0, 65536)), D_ex=int(rng.integers(0, 65536)), D_in=int(rng.integers(30000, 65536)),
               P_ex=int(rng.integers(0, 8192)), P_in=int(rng.integers(0, 8192)), P_e=int(rng.integers(0, 8192)),
               S=int(rng.integers(1, 31)), i_e=int(rng.integers(-32768, 32768)),
               v_th=int(rng.integers(v_reset + 1, 32768)), v_reset=v_reset, ref_steps=int(rng.choice([0, 1, 9])))
    plastic = [bool(x) for x in rng.random(n) < 0.7]
    plastic[0] = True
    lo = int(rng.integers(-32768, 32767))
    hi = int(rng.integers(lo, 32768))
    rule = dict(k_pre=int(rng.integers(1, 16)), k_c=int(rng.integers(1, 16)), a_plus=int(rng.integers(0, 32768)),
                w_min=lo, w_max=hi)
    weights = [int(rng.integers(lo, hi + 1)) if p else int(rng.integers(-32768, 32768)) for p in plastic]
    return rstdp_unit(name, lif, weights, [int(r) for r in rng.integers(0, 2, n)], plastic, rule,
                      [int(d) for d in rng.integers(1, 17, n)])


def cases():
    """(unit, input spikes, reward pins): delays with pair STDP, R-STDP, both, converted and random units."""
    rng = np.random.default_rng(77)
    out = []
    delays = fixed_unit(UnitDescription(
        "delays", LIF, 1.0, (Input("a", "excitatory", 1500.0, True, delay=2), Input("b", "excitatory", 900.0, delay=5),
                             Input("c", "inhibitory", -900.0, delay=1), Input("d", "excitatory", 2500.0, True, delay=16)),
        STDP))
    out.append((delays, rng.random((STEPS, 4)) < [0.05, 0.08, 0.03, 0.04], None))
    # rewards and punishments drive the weights onto both bounds; a large a_plus and a slow decay of c
    # saturate the eligibilities at 32767
    rstdp = rstdp_unit("rstdp", FAST, [1000, -200, 2500, 400], [0, 1, 0, 0], [True, True, True, False],
                       dict(k_pre=2, k_c=6, a_plus=30000, w_min=-1000, w_max=3000), [1, 1, 1, 1])
    out.append((rstdp, rng.random((STEPS, 4)) < [0.3, 0.2, 0.1, 0.1], pins(rng, STEPS)))
    mixed = rstdp_unit("rstdp_delays", FAST, [1000, -200, 2500, 400, 0], [0, 1, 0, 0, 1],
                       [True, True, True, False, True], dict(k_pre=3, k_c=5, a_plus=20000, w_min=-1500, w_max=3500),
                       [2, 16, 5, 1, 5])
    out.append((mixed, rng.random((STEPS, 5)) < [0.2, 0.3, 0.1, 0.1, 0.2], pins(rng, STEPS)))
    converted = fixed_unit(UnitDescription(
        "converted", {**LIF, "I_e": 380.0}, 1.0,
        (Input("a", "excitatory", 2000.0, True, delay=3), Input("b", "excitatory", 1000.0, True, delay=1),
         Input("c", "inhibitory", -1500.0, delay=16)), RSTDP))
    out.append((converted, rng.random((STEPS, 3)) < [0.05, 0.1, 0.05], pins(rng, STEPS, 0.02)))
    for k in range(4):
        u = random_unit(rng, f"random{k}")
        out.append((u, rng.random((STEPS, u.n_inputs)) < rng.uniform(0.02, 0.5, u.n_inputs), pins(rng, STEPS)))
    return out


CASES = cases()
IDS = [u.name for u, _, _ in CASES]


def test_cases_reach_the_bounds_saturate_the_eligibility_and_delay():
    """The comparison is only worth something if the reference learns in every way in these cases."""
    from neurobox.hardware.fpga.simulate import pulses, reference

    seen = {k: False for k in ("w_min", "w_max", "c_max", "reward", "punishment", "both_pins", "delay_16",
                               "stdp_delayed")}
    for u, pre, reward in CASES:
        r = reference(u, pre, reward=reward)
        assert r.spike.sum() >= 10 or u.name.startswith("random")
        if u.rstdp is None:
            w = r.w[:, list(u.plastic_index)]
            seen["stdp_delayed"] |= bool((np.diff(w, axis=0) != 0).any())
            continue
        w, c = r.w[:, list(u.plastic_index)], r.c
        seen["w_min"] |= bool((w == u.rstdp.w_min).any())
        seen["w_max"] |= bool((w == u.rstdp.w_max).any())
        seen["c_max"] |= bool((c == 32767).any())
        r_of = pulses(np.asarray(reward))
        before = np.vstack([np.zeros((1, c.shape[1]), dtype=np.int64), c[:-1]]).max(axis=1)
        seen["reward"] |= bool(((r_of == 1) & (before > 0)).any())
        seen["punishment"] |= bool(((r_of == -1) & (before > 0)).any())
        seen["both_pins"] |= bool((reward.all(axis=1) & (before > 0)).any())
        seen["delay_16"] |= 16 in u.input_delays
    assert all(seen.values()), seen


AMARANTH_CASES = ("delays", "rstdp_delays")
"""Amaranth's simulator is slow (some 20 s per case of 1000 ticks): the first 500 ticks of a delay case and
of one with delays and R-STDP; iverilog runs all."""


@pytest.mark.parametrize("name", AMARANTH_CASES)
def test_amaranth_simulation_is_bit_exact(name):
    from neurobox.hardware.fpga.simulate import first_mismatch, reference, simulate_amaranth

    u, pre, reward = CASES[IDS.index(name)]
    pre, reward = pre[:500], (reward[:500] if reward is not None else None)
    assert first_mismatch(reference(u, pre, reward=reward), simulate_amaranth(u, pre, reward=reward)) is None


def test_amaranth_cycle_count_matches_update_cycles():
    from neurobox.hardware.fpga.cell import update_cycles
    from neurobox.hardware.fpga.simulate import first_mismatch, reference, simulate_amaranth

    u, pre, reward = CASES[IDS.index("rstdp")]
    ref = reference(u, pre[:150], reward=reward[:150])
    got = simulate_amaranth(u, pre[:150], reward=reward[:150], count_cycles=True)
    assert first_mismatch(ref, got) is None
    started_refractory = np.r_[0, ref.ref[:-1]] != 0
    assert got.cycles.tolist() == [update_cycles(u, bool(s), bool(r)) for s, r in zip(ref.spike, started_refractory)]


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_iverilog_is_bit_exact_and_takes_update_cycles(case, tmp_path):
    require_tool("iverilog", HINT)
    from neurobox.hardware.fpga.cell import update_cycles
    from neurobox.hardware.fpga.simulate import first_mismatch, reference, simulate_iverilog

    u, pre, reward = CASES[case]
    ref = reference(u, pre, reward=reward)
    got = simulate_iverilog(u, pre, reward=reward, workdir=tmp_path)
    assert first_mismatch(ref, got) is None
    started_refractory = np.r_[0, ref.ref[:-1]] != 0
    assert got.cycles.tolist() == [update_cycles(u, bool(s), bool(r)) for s, r in zip(ref.spike, started_refractory)]


def test_a_wrong_learner_is_caught(tmp_path):
    """The comparison is not vacuous: a cell whose a_plus is one off, or that ignores the reward, differs."""
    require_tool("iverilog", HINT)
    from dataclasses import replace

    from neurobox.hardware.fpga.simulate import export_verilog, first_mismatch, module_name, reference, \
        simulate_iverilog

    u, pre, reward = CASES[IDS.index("rstdp_delays")]
    ref = reference(u, pre, reward=reward)
    wrong = replace(u, rstdp=u.rstdp._replace(a_plus=u.rstdp.a_plus + 1))
    got = simulate_iverilog(u, pre, reward=reward, workdir=tmp_path / "a",
                            verilog_text=export_verilog(wrong, module_name(u)))
    assert first_mismatch(ref, got)[1] == "c"
    got = simulate_iverilog(u, pre, workdir=tmp_path / "b")
    assert first_mismatch(ref, got)[1] == "w"


def test_update_cycles_of_a_learner():
    """One cycle to address the first eligibility in the store, then per plastic input: one cycle to start, c
    and x decay (k + 1 cycles each), one cycle to start the decay of x, and the pair's product (by a_plus if the
    cell fired, else by 0: one cycle)."""
    from dataclasses import replace

    from neurobox.hardware.fpga.cell import update_cycles

    u, _, _ = CASES[IDS.index("rstdp")]
    rule = u.rstdp
    static = replace(u, plastic=(False,) * u.n_inputs, rstdp=None)
    quiet = update_cycles(u, spiked=False)
    assert quiet - update_cycles(static, spiked=False) == 1 + 3 * (1 + rule.k_c + 1 + 1 + rule.k_pre + 1 + 1)
    assert update_cycles(u, spiked=True) - quiet == 3 * rule.a_plus.bit_length()


NETWORK = """
[network]
dt = 1.0
seed = 5
duration = 1500.0

[populations.touch]
n = 3
model = "poisson_generator"
params = { rate = 60.0 }

[populations.learner]
n = 1
model = "iaf_psc_exp"
params = { C_m = 250.0, tau_m = 10.0, tau_syn_ex = 2.0, tau_syn_in = 5.0, t_ref = 2.0, E_L = -70.0, V_reset = -70.0, V_th = -55.0 }

[populations.relay]
n = 1
model = "iaf_psc_exp"
params = { C_m = 250.0, tau_m = 20.0, tau_syn_ex = 2.0, tau_syn_in = 5.0, t_ref = 2.0, E_L = -70.0, V_reset = -70.0, V_th = -55.0 }

[[projections]]
pre = "touch"
post = "learner"
rule = "all_to_all"
weight = 2400.0
delay = 3.0
receptor = "excitatory"
plasticity = { rule = "rstdp", tau_plus = 8.0, tau_c = 64.0, tau_d = 20.0, A_plus = 40.0, A_minus = 0.0, w_min = 0.0, w_max = 5000.0 }

[[projections]]
pre = "learner"
post = "relay"
rule = "all_to_all"
weight = 3000.0
delay = 2.0
receptor = "excitatory"

[[projections]]
pre = "relay"
post = "learner"
rule = "all_to_all"
weight = -1500.0
delay = 5.0
receptor = "inhibitory"
"""


def test_a_network_with_a_reward_learner_in_iverilog_fires_as_the_reference(tmp_path):
    """network.v with an R-STDP cell (delays 3, 2 and 5 ticks, a loop through the relay) and a reward schedule
    on its pins spikes in the same ticks as the board's reference, which the rewards change."""
    require_tool("iverilog", HINT)
    from neurobox.hardware.board import board_inputs, source_spikes, units_from_network
    from neurobox.hardware.fpga.network import simulate_network_iverilog, stimulus_names
    from neurobox.hardware.unit import simulate
    from neurobox.network.modelfile import loads

    steps = 1500
    board = units_from_network(loads(NETWORK))
    units = board.fixed()
    assert [u.rule for u in units] == ["rstdp", None] and units[0].input_delays == (3, 3, 3, 5)
    reward = np.zeros(steps, dtype=np.int64)
    reward[np.random.default_rng(1).integers(0, steps, 80)] = 1
    reward[np.random.default_rng(2).integers(0, steps, 60)] = -1
    fired = source_spikes(board, steps)
    names = stimulus_names(units)
    stim = np.zeros((steps, len(names)), dtype=bool)
    for i, name in enumerate(names):
        stim[1:, i] = fired[name][:-1]  # a stimulus spike of tick t reaches the cells in tick t + 1

    def spikes(pulses):
        pre = board_inputs(board, steps, mode="bus", reward=pulses)
        return np.stack([simulate(u, pre[u.name], reward=pulses).spikes for u in units], axis=1)

    want = spikes(reward)
    assert want.sum(axis=0).min() >= 10 and not np.array_equal(want, spikes(None))  # the rewards matter
    got = simulate_network_iverilog(units, stim, tmp_path, reward=reward)
    assert np.array_equal(got, want), np.argwhere(got != want)[:5]


def test_a_reward_learner_with_13_plastic_inputs_synthesises_for_the_up5k():
    """The synthesis report of an R-STDP cell with 13 plastic inputs (and a non-plastic one)."""
    require_tool("yosys", HINT)
    require_tool("nextpnr-ice40", HINT)
    from neurobox.hardware.fpga.cell import max_update_cycles
    from neurobox.hardware.fpga.synth import synthesize

    inputs = tuple(Input(f"in{j}", "excitatory", 1000.0, True, delay=1 + j % 4) for j in range(13))
    u = fixed_unit(UnitDescription("wide", LIF, 1.0, (*inputs, Input("h", "inhibitory", -2000.0)), RSTDP))
    r = synthesize(u, "up5k")
    # the delay lines; the neuron (v, i_ex, i_in, ref) and the datapath (32-bit accumulator and multiplicand,
    # 16-bit multiplier); per plastic input a weight, a pre trace and an eligibility in the store, one EBR
    state = sum(u.input_delays) + 3 * 16 + 8 + 32 + 32 + 16
    assert r.ffs >= state and r.luts > 0 and r.carries > 0 and r.brams == 1 and r.dsps == 0
    assert max(r.luts, r.ffs) <= r.logic_cells <= r.luts + r.ffs + r.carries
    assert r.cells_per_device == min(5280 // r.logic_cells, 30) >= 3 and r.fmax_mhz > 12.0
    assert r.update_cycles == max_update_cycles(u)
    print(f"\nR-STDP cell, 13 plastic inputs, UP5K: {r.luts} LUT4, {r.ffs} FF, {r.carries} carries, {r.brams} EBR, "
          f"{r.logic_cells} logic cells, Fmax {r.fmax_mhz} MHz, {r.update_cycles} cycles, "
          f"{r.cells_per_device} per device")


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_fpga_build_reports_the_learner_per_part(tmp_path, capsys):
    """`neurobox fpga build MODEL --json` on the network above: per cell its size, its cycles per update and
    how many fit a UP5K and an HX8K; network.v takes the reward pins."""
    require_tool("yosys", HINT)
    require_tool("nextpnr-ice40", HINT)
    import argparse
    import json

    from neurobox.cli import fpga as cli_fpga
    from neurobox.hardware.board import units_from_network
    from neurobox.hardware.fpga.cell import max_update_cycles
    from neurobox.network.modelfile import loads

    model = tmp_path / "learner.toml"
    model.write_text(NETWORK)
    parser = argparse.ArgumentParser(prog="neurobox")
    cli_fpga.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fpga", "build", str(model), "--out", str(tmp_path / "out"), "--json"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    units = units_from_network(loads(NETWORK)).fixed()
    assert [row["unit"] for row in report["units"]] == [u.name for u in units]
    for row, u in zip(report["units"], units):
        assert row["update_cycles"] == max_update_cycles(u)
        assert row["brams"] == (1 if u.plastic_index else 0)
        fit = {part: min(lcs // row["logic_cells"], brams // row["brams"] if row["brams"] else lcs)
               for part, lcs, brams in (("up5k", 5280, 30), ("hx8k", 7680, 32))}
        assert row["cells_per_device"] == fit["up5k"] and row["cells_per_part"] == fit
    learner, relay = report["units"]
    assert learner["plastic_inputs"] == 3 and learner["logic_cells"] > relay["logic_cells"]
    assert report["brams_total"] == 1 and report["brams_available"] == 30
    assert "reward" in (tmp_path / "out" / "network.v").read_text()
