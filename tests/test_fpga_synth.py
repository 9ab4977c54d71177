"""Synthesis of the FPGA cell for iCE40 UP5K, HX1K and HX8K with the real yosys and nextpnr-ice40."""
from __future__ import annotations

import shutil

import pytest

from conftest import IN_CI, require_tool
from neurobox.errors import ConfigError, SimulationError, ToolMissingError
from neurobox.hardware.unit import Input, UnitDescription, fixed_unit

HINT = "apt-get install yosys nextpnr-ice40 fpga-icestorm iverilog"
LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
STDP = {"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0, "A_minus": 36.0, "w_min": 0.0, "w_max": 4000.0}
INPUTS = (Input("a", "excitatory", 2600.0), Input("b", "excitatory", 700.0), Input("c", "inhibitory", -2000.0))


def plastic_unit():
    ins = (Input("a", "excitatory", 2600.0, True), *INPUTS[1:])
    return fixed_unit(UnitDescription("sense", LIF, 1.0, ins, STDP))


def static_unit():
    return fixed_unit(UnitDescription("relay", LIF, 1.0, INPUTS))


@pytest.fixture(scope="module")
def tools():
    try:
        import amaranth  # noqa: F401
    except ImportError:
        message = "amaranth not installed; install it with: pip install 'amaranth[builtin-yosys]>=0.5,<0.6'"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    require_tool("yosys", HINT)
    require_tool("nextpnr-ice40", HINT)


@pytest.fixture(scope="module")
def reports(tools):
    from neurobox.hardware.fpga.synth import synthesize

    return {"up5k": synthesize(plastic_unit(), "up5k"), "hx1k": synthesize(plastic_unit(), "hx1k"),
            "hx8k": synthesize(plastic_unit(), "hx8k"), "static": synthesize(static_unit(), "up5k")}


def state_bits(unit) -> int:
    """Flip-flops the cell needs at least: v, i_ex, i_in, ref, x_post (pair STDP), and the datapath (32-bit
    accumulator, 32-bit multiplicand, 16-bit multiplier). The plastic inputs' weights and traces are in the
    store, one EBR."""
    n_p = len(unit.plastic_index)
    return 3 * 16 + 8 + (15 if n_p else 0) + 32 + 32 + 16


@pytest.mark.slow
@pytest.mark.parametrize("device, available", [("up5k", 5280), ("hx1k", 1280), ("hx8k", 7680)])
def test_report_figures_come_from_the_tools_and_agree(reports, device, available):
    r = reports[device]
    assert r.device == device and r.logic_cells_available == available
    assert r.luts > 0 and r.carries > 0 and r.fmax_mhz > 1.0
    assert r.ffs >= state_bits(plastic_unit())
    # an iCE40 logic cell holds one LUT4, one flip-flop and one carry
    assert max(r.luts, r.ffs, r.carries) <= r.logic_cells <= r.luts + r.ffs + r.carries
    assert r.brams == 1 and r.dsps == 0  # the store is one EBR; shift-and-add datapath: no DSP
    assert r.brams_available == {"up5k": 30, "hx1k": 16, "hx8k": 32}[device]
    assert r.cells_per_device == min(available // r.logic_cells, r.brams_available) >= 1
    assert r.cells_per_part == {"up5k": min(5280 // r.logic_cells, 30), "hx8k": min(7680 // r.logic_cells, 32)}
    assert r.max_tick_hz == pytest.approx(r.fmax_mhz * 1e6 / r.update_cycles, rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("part", ["hx1k", "hx8k"])
def test_same_cell_on_every_part_and_the_hx_parts_are_faster(reports, part):
    up, hx = reports["up5k"], reports[part]
    assert (up.luts, up.carries, up.ffs) == (hx.luts, hx.carries, hx.ffs)  # yosys does not know the part
    assert up.logic_cells == hx.logic_cells and up.cells_per_part == hx.cells_per_part  # nor does the packer
    assert hx.fmax_mhz > up.fmax_mhz  # the UP5K is the low-power, slower fabric


@pytest.mark.slow
def test_plasticity_costs_logic(reports):
    plastic, static = reports["up5k"], reports["static"]
    assert plastic.luts > static.luts and plastic.ffs >= static.ffs + 15  # x_post; w and x_pre in the EBR
    assert plastic.brams == 1 and static.brams == 0
    assert static.ffs >= state_bits(static_unit())


def test_missing_tools_name_the_apt_line(monkeypatch, tools):
    from neurobox.hardware.fpga import simulate, synth

    real = shutil.which
    monkeypatch.setattr(simulate.shutil, "which", lambda name: None if name == "nextpnr-ice40" else real(name))
    with pytest.raises(ToolMissingError, match="apt-get install .*nextpnr-ice40"):
        synth.synthesize(static_unit(), "up5k")
    with pytest.raises(ConfigError, match="unknown device 'ecp5'"):
        synth.device("ecp5")


def test_report_parsers_refuse_what_they_cannot_read():
    from neurobox.hardware.fpga.synth import count_cells, parse_nextpnr_report

    with pytest.raises(SimulationError):
        parse_nextpnr_report({"utilization": {}})
    with pytest.raises(SimulationError):
        parse_nextpnr_report({"utilization": {"ICESTORM_LC": {"used": 5, "available": 10}}, "fmax": {}})
    with pytest.raises(SimulationError):  # no EBRs
        parse_nextpnr_report({"utilization": {"ICESTORM_LC": {"used": 5, "available": 10}},
                              "fmax": {"a": {"achieved": 30.0}}})
    assert parse_nextpnr_report({"utilization": {"ICESTORM_LC": {"used": 5, "available": 10},
                                                 "ICESTORM_RAM": {"used": 1, "available": 30}},
                                 "fmax": {"a": {"achieved": 30.0}, "b": {"achieved": 20.5}}}) == (5, 10, 30, 20.5)
    assert count_cells({"modules": {"t": {"cells": {"x": {"type": "SB_LUT4"}, "y": {"type": "SB_LUT4"}}}}},
                       "t") == {"SB_LUT4": 2}


@pytest.mark.slow
def test_cells_per_device_holds_when_placed_together(reports, tmp_path):
    """Two copies of the static cell fit the HX1K as its report says; two plastic ones do not."""
    from neurobox.hardware.fpga.synth import check_fit

    single = reports["static"]  # placed on the UP5K; the netlist is the same for the HX1K
    assert 1280 // single.logic_cells == 2
    fit = check_fit(static_unit(), "hx1k", 2, tmp_path / "two")
    assert fit.logic_cells <= fit.logic_cells_available == 1280
    assert fit.logic_cells == pytest.approx(2 * single.logic_cells, rel=0.05) and fit.fmax_mhz > 1.0
    assert 1280 // reports["hx1k"].logic_cells == 1
    with pytest.raises(SimulationError, match="nextpnr-ice40 failed"):
        check_fit(plastic_unit(), "hx1k", 2, tmp_path / "plastic")
