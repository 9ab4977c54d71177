"""The FPGA cell as a digits learner: adaptive threshold, learning-rate schedule and normalisation,
bit-exact with the reference unit.

The reference is `neurobox.hardware.unit.simulate` (which runs `unit_tick`).
The cases raise the threshold from a non-zero start up to its saturation
at 65535, halve a_plus several times up to the schedule's cap, and compare
every cycle count with `update_cycles`. The schedule's counters (a counter
that wraps at halve_every and a capped count of its wraps, no divider) are
held against `stdp_fixed.halved` over more than 65535 own spikes, where
n_post saturates.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import IN_CI, require_tool
from neurobox.hardware.led import led_params
from neurobox.hardware.unit import FixedUnit, Input, UnitDescription, fixed_unit
from neurobox.neurons.lif_fixed import LifFixedParams
from neurobox.plasticity.stdp_fixed import StdpFixedParams, halved

HINT = "apt-get install yosys nextpnr-ice40 fpga-icestorm iverilog"
STEPS = 1000
LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
HOMEOSTASIS = {"theta_plus": 0.5, "tau_theta": 1e7, "I_e": 420.0}
"""A unit whose threshold rises by 0.5 mV per spike and never decays, driven by a constant current."""
STDP = {"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 80.0, "A_minus": 36.0, "w_min": 0.0, "w_max": 4000.0}


@pytest.fixture(scope="module", autouse=True)
def amaranth():
    try:
        import amaranth  # noqa: F401
    except ImportError:
        message = "amaranth not installed; install it with: pip install 'amaranth[builtin-yosys]>=0.5,<0.6'"
        pytest.fail(message) if IN_CI else pytest.skip(message)


def stdp_unit(name, lif, weights, receptors, plastic, rule, theta=0) -> FixedUnit:
    """A pair STDP FixedUnit straight from integer constants (V_lsb = 2**-8 mV, I_lsb = 0.25 pA)."""
    p = LifFixedParams(**lif, V_lsb=2.0 ** -8, I_lsb=0.25)
    n = len(weights)
    return FixedUnit(name=name, address=0, dt=1.0, E_L=-70.0, lif=p, weights=tuple(weights),
                     receptors=tuple(receptors), plastic=tuple(plastic), sources=tuple(f"in{j}" for j in range(n)),
                     stdp=StdpFixedParams(**rule), led=led_params(p.v_th, p.v_reset, 1.0), theta=theta)


def cases():
    """(unit, input spikes): the threshold from a non-zero start, its saturation, the schedule."""
    rng = np.random.default_rng(31)
    out = []
    theta = fixed_unit(UnitDescription(
        "theta", {**LIF, **HOMEOSTASIS}, 1.0,
        (Input("a", "excitatory", 1800.0, True), Input("b", "excitatory", 900.0, True),
         Input("c", "inhibitory", -1500.0)), STDP))
    out.append((replace(theta, theta=300), rng.random((STEPS, 3)) < [0.1, 0.2, 0.05]))
    # theta climbs by 9000 a spike from 10000 and stops at 65535, after which v (<= 32767) cannot reach
    # v_th + theta any more
    ceiling = stdp_unit("theta_ceiling", dict(D_m=60000, D_ex=50000, D_in=55000, P_ex=8191, P_in=3000, P_e=8191,
                                              S=2, i_e=3000, v_th=-32767, v_reset=-32768, ref_steps=1,
                                              theta_plus=9000),
                        [20000, 3000], [0, 0], [True, False],
                        dict(k_plus=3, k_minus=3, a_plus=9000, a_minus=3000, w_min=-100, w_max=25000), theta=10000)
    out.append((ceiling, rng.random((300, 2)) < [0.3, 0.3]))
    # a_plus halves after every 3 own spikes, 4 times at most: the cap is reached within some 15 spikes
    schedule = fixed_unit(UnitDescription(
        "schedule", {**LIF, "I_e": 380.0}, 1.0,
        (Input("a", "excitatory", 1500.0, True), Input("b", "excitatory", 1000.0, True),
         Input("c", "inhibitory", -800.0, True)),
        {**STDP, "A_plus": 500.0, "w_min": -2000.0, "halve_every": 3, "halvings": 4}))
    out.append((schedule, rng.random((STEPS, 3)) < [0.15, 0.1, 0.1]))
    return out


CASES = cases()
IDS = [u.name for u, _ in CASES]


def test_cases_raise_the_threshold_to_its_ceiling_and_halve_to_the_cap():
    from neurobox.hardware.fpga.simulate import reference

    seen = {k: False for k in ("theta_start", "theta_grows", "theta_max", "cap", "learned")}
    for u, pre in CASES:
        r = reference(u, pre)
        assert r.spike.sum() >= 5
        seen["theta_start"] |= u.theta > 0 and r.theta[0] >= u.theta
        seen["theta_grows"] |= bool((np.diff(r.theta) > 0).sum() >= 5)
        seen["theta_max"] |= bool((r.theta == 65535).any())
        s = u.stdp
        if s.halvings:
            seen["cap"] |= bool((r.a_plus == s.a_plus >> s.halvings).sum() >= 50)
        seen["learned"] |= bool((np.diff(r.w, axis=0) != 0).any())
    assert all(seen.values()), seen


@pytest.mark.parametrize("name", ["theta", "schedule"])
def test_amaranth_simulation_is_bit_exact_and_takes_update_cycles(name):
    from neurobox.hardware.fpga.simulate import expected_cycles, first_mismatch, reference, simulate_amaranth

    u, pre = CASES[IDS.index(name)]
    ref = reference(u, pre[:300])
    got = simulate_amaranth(u, pre[:300], count_cycles=True)
    assert first_mismatch(ref, got) is None
    assert got.cycles.tolist() == expected_cycles(u, ref)


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_iverilog_is_bit_exact_and_takes_update_cycles(case, tmp_path):
    require_tool("iverilog", HINT)
    from neurobox.hardware.fpga.simulate import expected_cycles, first_mismatch, reference, simulate_iverilog

    u, pre = CASES[case]
    ref = reference(u, pre)
    got = simulate_iverilog(u, pre, workdir=tmp_path)
    assert first_mismatch(ref, got) is None
    assert got.cycles.tolist() == expected_cycles(u, ref)


@pytest.mark.parametrize("every, halvings, steps", [(20000, 15, 67000), (1, 15, 40), (7, 3, 200)])
def test_the_schedule_counters_halve_as_the_specification(every, halvings, steps):
    """Own spikes in most cycles (none in every 50th): the cell's amplitude equals stdp_fixed.halved of the
    spike count, saturating at 65535; with halve_every = 20000 the 15 halvings are never reached, since
    n_post stops at 65535 first."""
    from amaranth.hdl import Elaboratable, Module, Signal
    from amaranth.sim import Simulator

    from neurobox.hardware.fpga.cell import _Schedule

    rule = StdpFixedParams(k_plus=1, k_minus=1, a_plus=30000, a_minus=0, w_min=0, w_max=0, halve_every=every,
                           halvings=halvings)

    class Counters(Elaboratable):
        def __init__(self):
            self.spiked, self.a = Signal(), Signal(15)

        def elaborate(self, platform):
            m = Module()
            schedule = _Schedule(rule)
            schedule.count(m, self.spiked)
            m.d.comb += self.a.eq(schedule.a)
            return m

    top = Counters()
    spiked = np.arange(steps) % 50 != 49
    got = []

    async def bench(ctx):
        for t in range(steps):
            ctx.set(top.spiked, bool(spiked[t]))
            await ctx.tick()
            got.append(ctx.get(top.a))

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    n_post = np.minimum(np.cumsum(spiked), 65535)
    want = [halved(rule.a_plus, int(n), every, halvings) for n in n_post]
    assert got == want
    assert len(set(want)) == min(halvings, 65534 // every) + 1


def test_a_cell_without_homeostasis_or_schedule_is_caught(tmp_path):
    """The comparison is not vacuous: a cell whose threshold does not grow, or whose a_plus never halves,
    differs from the reference in that variable first."""
    require_tool("iverilog", HINT)
    from neurobox.hardware.fpga.simulate import export_verilog, first_mismatch, module_name, reference, \
        simulate_iverilog

    for name, wrong, field in (("theta", lambda u: replace(u, lif=u.lif._replace(theta_plus=0)), "theta"),
                               ("schedule", lambda u: replace(u, stdp=u.stdp._replace(halvings=0)), "a_plus")):
        u, pre = CASES[IDS.index(name)]
        got = simulate_iverilog(u, pre, workdir=tmp_path / name, verilog_text=export_verilog(wrong(u), module_name(u)))
        assert first_mismatch(reference(u, pre), got)[1] == field
