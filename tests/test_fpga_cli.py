"""`neurobox fpga build MODEL.toml` with the real yosys and nextpnr-ice40."""
from __future__ import annotations

import argparse
import json
import shutil

import pytest

from conftest import IN_CI, require_tool
from neurobox.errors import ConfigError, ToolMissingError

HINT = "apt-get install yosys nextpnr-ice40 fpga-icestorm iverilog"
MODEL = """
[network]
dt = 1.0
seed = 3

[populations.touch]
n = 2
model = "poisson_generator"
params = { rate = 40.0 }

[populations.cell]
n = 2
model = "iaf_psc_exp"
params = { C_m = 250.0, tau_m = 10.0, tau_syn_ex = 2.0, tau_syn_in = 5.0, t_ref = 2.0, E_L = -70.0, V_reset = -70.0, V_th = -55.0 }

[[projections]]
pre = "touch"
post = "cell"
rule = "one_to_one"
weight = 2600.0
delay = 1.0
receptor = "excitatory"
plasticity = { rule = "stdp", tau_plus = 16.0, tau_minus = 16.0, A_plus = 30.0, A_minus = 36.0, w_min = 0.0, w_max = 4000.0 }

[[projections]]
pre = "cell"
post = "cell"
rule = "all_to_all"
allow_autapses = false
weight = -1500.0
delay = 1.0
receptor = "inhibitory"
"""


@pytest.fixture(scope="module", autouse=True)
def tools():
    try:
        import amaranth  # noqa: F401
    except ImportError:
        message = "amaranth not installed; install it with: pip install 'amaranth[builtin-yosys]>=0.5,<0.6'"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    require_tool("yosys", HINT)
    require_tool("nextpnr-ice40", HINT)


def fpga(argv: list[str]) -> int:
    from neurobox.cli import fpga as cli_fpga

    parser = argparse.ArgumentParser(prog="neurobox")
    sub = parser.add_subparsers(dest="command")
    cli_fpga.register(sub)
    args = parser.parse_args(["fpga", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "pair.toml"
    path.write_text(MODEL)
    return path


@pytest.fixture(scope="module")
def built(tools, model, tmp_path_factory):
    """`neurobox fpga build MODEL --device hx1k --json`, run once: (printed report, output directory)."""
    out = tmp_path_factory.mktemp("build") / "cells"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert fpga(["build", str(model), "--device", "hx1k", "--out", str(out), "--json"]) == 0
    return json.loads(printed.getvalue()), out


def test_build_json_writes_verilog_and_the_report(built):
    report, out = built
    assert json.loads((out / "report.json").read_text()) == report
    assert report["device"] == "hx1k" and report["logic_cells_available"] == 1280
    assert [u["unit"] for u in report["units"]] == ["cell.0", "cell.1"]
    network = (out / "network.v").read_text()
    assert "module nb_network(" in network and network.count("module \\nb_network.cell_cell_") == 2
    for u in report["units"]:
        text = (out / f"{u['unit']}.v").read_text()
        assert f"module {u['module']}(" in text and "tick" in text and "spike" in text
        assert u["inputs"] == 2 and u["plastic_inputs"] == 1  # its touch input (plastic) and the other cell
        assert u["luts"] > 0 and u["ffs"] > 0 and u["carries"] > 0 and u["fmax_mhz"] > 1.0
        assert u["brams"] == 1  # the plastic input's weight and trace, in an EBR
        assert u["cells_per_device"] == min(1280 // u["logic_cells"], 16)
        assert u["cells_per_part"] == {"up5k": min(5280 // u["logic_cells"], 30),
                                       "hx8k": min(7680 // u["logic_cells"], 32)}
        assert u["max_tick_hz"] == pytest.approx(u["fmax_mhz"] * 1e6 / u["update_cycles"], rel=1e-3)
    total = sum(u["logic_cells"] for u in report["units"])
    assert report["brams_total"] == 2 and report["brams_available"] == 16
    assert report["logic_cells_total"] == total and report["fits"] == (total <= 1280)
    assert report["fmax_mhz"] == min(u["fmax_mhz"] for u in report["units"])
    assert report["real_time_factor"] == pytest.approx(report["max_tick_hz"] * report["dt_ms"] / 1000, rel=1e-3)


def test_build_text_prints_every_cell_of_the_report(built, model, tmp_path, capsys, monkeypatch):
    """Text mode prints the figures of the report (the one built above, on the UP5K's name)."""
    from neurobox.hardware.fpga import build

    report = {**built[0], "device": "up5k", "package": "sg48"}
    monkeypatch.setattr(build, "build_board", lambda board, device, out, check=False, progress=None: report)
    assert fpga(["build", str(model), "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "iCE40 UP5K (sg48)" in text and f"written to {tmp_path}" in text
    for u in report["units"]:
        assert f"{u['luts']} LUT4" in text and f"{u['logic_cells']} logic cells" in text
        assert f"{u['cells_per_part']['up5k']} per UP5K, {u['cells_per_part']['hx8k']} per HX8K" in text
    assert f"{report['logic_cells_total']} of 1280 logic cells and 2 of 16 EBRs" in text


def test_missing_tool_and_unbuildable_rule_are_clear_errors(model, tmp_path, monkeypatch):
    from neurobox.hardware.fpga import simulate

    real = shutil.which
    monkeypatch.setattr(simulate.shutil, "which", lambda name: None if name == "yosys" else real(name))
    with pytest.raises(ToolMissingError, match="yosys not found; install it with: apt-get install"):
        fpga(["build", str(model), "--out", str(tmp_path)])
    monkeypatch.undo()
    bad = tmp_path / "mult.toml"
    bad.write_text(MODEL.replace('rule = "stdp",', 'rule = "stdp", mode = "multiplicative",'))
    with pytest.raises(ConfigError, match="plasticity.mode"):
        fpga(["build", str(bad), "--out", str(tmp_path)])
