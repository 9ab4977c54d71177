"""The FPGA cell as a digits learner: the normalisation of its own plastic weights after its spikes (a restoring
divider, then a product per weight), bit-exact with the reference unit, and a digits-sized cell (64 plastic pixel
inputs in the store, an EBR, and the inhibitory peers) in iverilog and through `neurobox fpga build`.

The reference is `neurobox.hardware.unit.simulate` (which runs `unit_tick`, whose normalisation is
`neurobox.plasticity.stdp_fixed.scale_factor` and `scaled`).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import DIGITS_LIF, DIGITS_STDP, IN_CI, digits_network, require_tool
from neurobox.hardware.unit import Input, UnitDescription, fixed_unit
from neurobox.plasticity.stdp_fixed import scale_factor

HINT = "apt-get install yosys nextpnr-ice40 fpga-icestorm iverilog"
LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0, "I_e": 300.0}
LEARNER_STDP = {**DIGITS_STDP, "halve_every": 8, "halvings": 4, "normalize_to": 2000.0}


@pytest.fixture(scope="module", autouse=True)
def amaranth():
    try:
        import amaranth  # noqa: F401
    except ImportError:
        message = "amaranth not installed; install it with: pip install 'amaranth[builtin-yosys]>=0.5,<0.6'"
        pytest.fail(message) if IN_CI else pytest.skip(message)


def learner(n_pixels: int = 64, n_peers: int = 49):
    """A learner of a digits board (as tests/test_avr_digits.py): n_pixels plastic pixel inputs, pair STDP with
    the schedule and the normalisation, n_peers inhibitory peers, trained (theta 2 mV) and still adapting
    (theta_plus 0.05 mV)."""
    rng = np.random.default_rng(0)
    pixels = tuple(Input(f"px.{j}", "excitatory", float(w), True)
                   for j, w in enumerate(rng.uniform(17.5, 52.5, n_pixels) * 64 / n_pixels))
    peers = tuple(Input(f"exc.{k}", "inhibitory", -600.0) for k in range(n_peers))
    stdp = {**LEARNER_STDP, "normalize_to": 2000.0 * n_pixels / 64}
    unit = fixed_unit(UnitDescription("exc.7", DIGITS_LIF, 1.0, pixels + peers, stdp, 7,
                                      V_lsb=2.0 ** -7, I_lsb=0.25, theta=2.0))
    return dataclasses.replace(unit, lif=unit.lif._replace(theta_plus=round(0.05 / 2.0 ** -7)))


def pixels(unit, steps: int, n_pixels: int, seed: int = 1) -> np.ndarray:
    """Bright and dark pixels (0.2 .. 0.9 spikes a tick), the peers seldom (0.002)."""
    rng = np.random.default_rng(seed)
    rate = np.r_[rng.uniform(0.2, 0.9, n_pixels), np.full(unit.n_inputs - n_pixels, 0.002)]
    return rng.random((steps, unit.n_inputs)) < rate


def norm_cases():
    """(unit, input spikes) whose weights are scaled after most own spikes: signed weights (w_min < 0) with a
    plastic inhibitory input, and a floor (w_min > 0) that scaled weights fall below (clamped)."""
    rng = np.random.default_rng(5)
    signed_rule = {"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 400.0, "A_minus": 200.0, "w_min": -3000.0,
                   "w_max": 6000.0, "normalize_to": 2500.0}
    signed_unit = fixed_unit(UnitDescription(
        "norm_signed", LIF, 1.0,
        (Input("a", "excitatory", 2000.0, True), Input("b", "excitatory", 1500.0, True, delay=3),
         Input("c", "inhibitory", -1000.0, True), Input("d", "excitatory", 600.0)), signed_rule))
    floor_rule = {**signed_rule, "w_min": 700.0, "A_minus": 0.0, "normalize_to": 3000.0, "halve_every": 5,
                  "halvings": 2}
    floor_unit = fixed_unit(UnitDescription(
        "norm_floor", LIF, 1.0,
        (Input("a", "excitatory", 2600.0, True), Input("b", "excitatory", 800.0, True),
         Input("c", "excitatory", 900.0, True), Input("d", "inhibitory", -1500.0)), floor_rule))
    return [(signed_unit, rng.random((1000, 4)) < [0.2, 0.15, 0.1, 0.3]),
            (floor_unit, rng.random((1000, 4)) < [0.25, 0.1, 0.1, 0.05])]


NORM_CASES = norm_cases()
NORM_IDS = [u.name for u, _ in NORM_CASES]


def normalised(unit, ref) -> np.ndarray:
    """Ticks in which the reference scaled the plastic weights: own spikes after which they sum to about the
    target (within one I_lsb per weight)."""
    total = ref.w[:, list(unit.plastic_index)].sum(axis=1)
    return ref.spike.astype(bool) & (np.abs(total - unit.stdp.norm_target) <= len(unit.plastic_index))


def test_the_cases_normalise_clamp_and_go_negative():
    from neurobox.hardware.fpga.simulate import reference

    (signed_unit, signed_pre), (floor_unit, floor_pre) = NORM_CASES
    signed_ref, floor_ref = reference(signed_unit, signed_pre), reference(floor_unit, floor_pre)
    assert normalised(signed_unit, signed_ref).sum() >= 10 and normalised(floor_unit, floor_ref).sum() >= 10
    assert (signed_ref.w[:, 2] < 0).any()                                   # a plastic weight below 0
    assert (floor_ref.w[:, list(floor_unit.plastic_index)] == floor_unit.stdp.w_min).any()  # scaled to the floor


@pytest.mark.parametrize("bits, pairs", [
    (16, [(40000, 39999), (65535, 65534), (3, 1), (65535, 1), (1000, 999)]),
    (21, [(2048000, 8000), (131072, 131071), (2097151, 2097150), (8001, 8000), (1999999, 1234567)]),
])
def test_the_divider_gives_the_scale_factor(bits, pairs):
    """The restoring divider's f equals stdp_fixed.scale_factor, rounding included: up to 2**16 when a total of
    2**17 or more is only just above the target."""
    from amaranth.hdl import Elaboratable, Module, Signal
    from amaranth.sim import Simulator

    from neurobox.hardware.fpga.cell import QUOTIENT_BITS, _Divider

    rng = np.random.default_rng(bits)
    pairs = list(pairs)
    for _ in range(20):
        total = int(rng.integers(2, 1 << bits))
        pairs.append((total, int(rng.integers(1, total))))
    got = {}
    for target in sorted({t for _, t in pairs}):
        class Top(Elaboratable):
            def __init__(self):
                self.total, self.load, self.f = Signal(bits), Signal(), Signal(QUOTIENT_BITS)

            def elaborate(self, platform):
                m = Module()
                div = _Divider(bits, target)
                div.elaborate(m, self.total)
                with m.If(self.load):
                    div.load(m)
                with m.Else():
                    div.step(m)
                m.d.comb += self.f.eq(div.f)
                return m

        top = Top()
        totals = [total for total, t in pairs if t == target]

        async def bench(ctx, top=top, totals=totals, target=target):
            for total in totals:
                ctx.set(top.total, total)
                ctx.set(top.load, 1)
                await ctx.tick()
                ctx.set(top.load, 0)
                await ctx.tick().repeat(QUOTIENT_BITS)
                got[total, target] = ctx.get(top.f)

        sim = Simulator(top)
        sim.add_clock(1e-8)
        sim.add_testbench(bench)
        sim.run()
    want = {(total, target): scale_factor(total, target) for total, target in pairs}
    assert got == want
    assert (1 << 16 in want.values()) == (bits > 17)   # f = 2**16 needs a total of 2**17 or more


def test_amaranth_simulation_normalises_bit_exact():
    from neurobox.hardware.fpga.simulate import expected_cycles, first_mismatch, reference, simulate_amaranth

    u, pre = NORM_CASES[0]
    ref = reference(u, pre[:300])
    assert normalised(u, ref).sum() >= 3
    got = simulate_amaranth(u, pre[:300], count_cycles=True)
    assert first_mismatch(ref, got) is None
    assert got.cycles.tolist() == expected_cycles(u, ref)


@pytest.mark.parametrize("case", range(len(NORM_CASES)), ids=NORM_IDS)
def test_iverilog_normalises_bit_exact(case, tmp_path):
    require_tool("iverilog", HINT)
    from neurobox.hardware.fpga.simulate import expected_cycles, first_mismatch, reference, simulate_iverilog

    u, pre = NORM_CASES[case]
    ref = reference(u, pre)
    got = simulate_iverilog(u, pre, workdir=tmp_path)
    assert first_mismatch(ref, got) is None
    assert got.cycles.tolist() == expected_cycles(u, ref)


def test_a_cell_without_normalisation_is_caught(tmp_path):
    """The comparison is not vacuous: a cell that does not normalise differs from the reference in a weight."""
    require_tool("iverilog", HINT)
    from neurobox.hardware.fpga.simulate import export_verilog, first_mismatch, module_name, reference, \
        simulate_iverilog

    u, pre = NORM_CASES[0]
    wrong = dataclasses.replace(u, stdp=u.stdp._replace(norm_target=0))
    got = simulate_iverilog(u, pre, workdir=tmp_path, verilog_text=export_verilog(wrong, module_name(u)))
    assert first_mismatch(reference(u, pre), got)[1] == "w"


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
@pytest.mark.parametrize("n_pixels, n_peers, steps", [(64, 49, 200), (16, 7, 2000)], ids=["digits", "reduced"])
def test_a_digits_learner_in_iverilog_is_bit_exact(n_pixels, n_peers, steps, tmp_path):
    """A digits learner (64 pixels in the store, 49 peers, adaptive threshold, schedule, normalisation) for 200
    ticks, and one of 16 pixels and 7 peers for 2000: each fires, raises its threshold, halves its rate and
    scales its weights, bit-exact with the reference and in update_cycles."""
    require_tool("iverilog", HINT)
    from neurobox.hardware.fpga.simulate import expected_cycles, first_mismatch, reference, simulate_iverilog

    u = learner(n_pixels, n_peers)
    pre = pixels(u, steps, n_pixels)
    ref = reference(u, pre)
    assert normalised(u, ref).sum() >= 10 and ref.theta[-1] > ref.theta[0] and ref.a_plus[-1] < u.stdp.a_plus
    got = simulate_iverilog(u, pre, workdir=tmp_path)
    assert first_mismatch(ref, got) is None
    assert got.cycles.tolist() == expected_cycles(u, ref)


def test_update_cycles_of_a_normalising_learner():
    """An own spike adds one cycle to address the first weight, one per plastic input to sum, QUOTIENT_BITS to
    divide and 1 + SCALE_CYCLES per plastic input to scale."""
    from neurobox.hardware.fpga.cell import QUOTIENT_BITS, SCALE_CYCLES, total_bits, update_cycles

    u = learner()
    plain = dataclasses.replace(u, stdp=u.stdp._replace(norm_target=0))
    assert total_bits(u) == (64 * u.stdp.w_max).bit_length() and total_bits(plain) == 0
    assert update_cycles(u, spiked=False) == update_cycles(plain, spiked=False)
    assert update_cycles(u, spiked=True) - update_cycles(plain, spiked=True) == \
        1 + 64 + QUOTIENT_BITS + 64 * (1 + SCALE_CYCLES)
    # weights that can never sum above the target: no divider
    assert total_bits(dataclasses.replace(u, stdp=u.stdp._replace(norm_target=64 * u.stdp.w_max))) == 0


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_fpga_build_reports_a_digits_board(tmp_path, capsys):
    """`neurobox fpga build MODEL --json` on a digits board of two 64-pixel learners: one synthesis (the learners
    differ only in their initial weights and theta), one EBR per cell, its cycles per update, and how many fit a
    UP5K and an HX8K by logic cells and EBRs."""
    require_tool("yosys", HINT)
    require_tool("nextpnr-ice40", HINT)
    import argparse
    import json

    from neurobox.cli import fpga as cli_fpga
    from neurobox.hardware.board import units_from_network
    from neurobox.hardware.fpga.cell import max_update_cycles

    net = digits_network(64, 2)
    model = tmp_path / "digits.toml"
    net.save(model)
    parser = argparse.ArgumentParser(prog="neurobox")
    cli_fpga.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fpga", "build", str(model), "--out", str(tmp_path / "out"), "--json"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    units = units_from_network(net).fixed()
    assert [row["unit"] for row in report["units"]] == [u.name for u in units] == ["exc.0", "exc.1"]
    assert units[0].theta != units[1].theta and units[0].weights != units[1].weights
    first, second = report["units"]
    assert {k: v for k, v in first.items() if k != "unit" and k != "module"} == \
        {k: v for k, v in second.items() if k != "unit" and k != "module"}
    assert len(list((tmp_path / "out").glob("synth-*"))) == 1
    for row, u in zip(report["units"], units):
        assert row["inputs"] == 65 and row["plastic_inputs"] == 64 and row["brams"] == 1
        assert row["update_cycles"] == max_update_cycles(u) and row["fmax_mhz"] > 5.0
        assert row["luts"] > 0 and row["ffs"] > 0 and row["carries"] > 0
        assert max(row["luts"], row["ffs"], row["carries"]) <= row["logic_cells"]
        fit = {part: min(lcs // row["logic_cells"], brams) for part, lcs, brams in (("up5k", 5280, 30),
                                                                                    ("hx8k", 7680, 32))}
        assert row["cells_per_part"] == fit and row["cells_per_device"] == fit["up5k"] >= 2
    assert report["brams_total"] == 2 and report["brams_available"] == 30
    assert report["logic_cells_total"] == 2 * first["logic_cells"]
