"""`neurobox twin`: JSON summary, faults, errors, plots, the saturation warning."""
import json

import pytest

import neurobox.cli as cli


@pytest.fixture
def main(monkeypatch):
    if "neurobox.cli.twin" not in cli.SUBCOMMAND_MODULES:  # until the command is listed in neurobox/cli/__init__.py
        monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", cli.SUBCOMMAND_MODULES + ["neurobox.cli.twin"])
    return cli.main


def test_json_summary(main, capsys):
    assert main(["twin", "board", "--duration", "1000", "--cycles", "2192", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["units"] == 4 and out["spikes"] > 0 and out["lost"] == 0
    assert 0 < out["bus_load"] < 0.05
    assert out["latency_ms"] == {"p50": 1.0, "p99": 1.0}
    assert out["equal_to_engine"] is True
    w = out["wall_time"]
    assert w["physical_s"] == 1.0 and w["cycles_per_update"] == 2192
    # bus: max(2192, 4096) cycles of update + 6 addresses * 640 cycles = 7936 cycles = 496 us a tick
    assert w["fastest_tick_us"] == 496.0 and w["fastest_s"] == pytest.approx(0.496)
    assert w["twin_s"] > 0 and w["speedup_vs_physical"] > 0


def test_faults_on_wires(main, capsys):
    assert main(["twin", "board", "--transport", "wire", "--duration", "1000", "--cycles", "none", "--json",
                 "--fault", "reset:sense.0@500ms", "--fault", "drop:0.1", "--fault", "dead:brake"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["equal_to_engine"] is None and out["bus_load"] is None
    assert out["spikes_per_unit"]["brake"] == 0
    assert out["resets"][0]["unit"] == "sense.0" and out["lost"] > 0
    assert out["deliveries"]["lost_by_cause"]["dropped"] > 0


def test_text_report_and_plots(main, capsys, tmp_path):
    assert main(["twin", "board", "--duration", "500", "--cycles", "none", "--plot", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "equal to the fixed-point engine: yes" in text and "bus: load" in text
    for name in ("latency.png", "bus_load.png"):
        png = tmp_path / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 100_000


def test_bad_fault_is_one_line_error(main, capsys):
    assert main(["twin", "board", "--fault", "melt:relay"]) == 2
    err = capsys.readouterr().err
    assert "--fault" in err and "allowed: reset, drop, drift, phase, dead, stuck" in err and "Traceback" not in err
    assert main(["twin", "board", "--cycles", "many"]) == 2
    assert "--cycles" in capsys.readouterr().err


def test_saturation_is_warned(main, capsys, tmp_path):
    model = tmp_path / "burst.toml"
    model.write_text("""
[network]
dt = 1.0
seed = 1
duration = 100.0

[populations.burst]
n = 30
model = "spike_generator"
params = { spike_times = [10.0, 50.0] }

[populations.ear]
n = 1
model = "iaf_psc_exp"
params = { t_ref = 2.0 }

[[projections]]
pre = "burst"
post = "ear"
rule = "all_to_all"
weight = 50.0
delay = 1.0
receptor = "excitatory"
""")
    assert main(["twin", str(model), "--bus-access", "csma", "--baud", "250000", "--cycles", "none", "--json",
                 "--no-engine"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["bus"]["saturated"] and out["bus"]["late_bytes"] == 24
    assert "warning: the bus is saturated" in captured.err
