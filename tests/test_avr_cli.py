"""`neurobox firmware build|verify` on the example board, with the real avr-gcc and simavr."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from conftest import require_tool
from neurobox.cli import firmware as cli_firmware
from neurobox.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "examples" / "board.toml"


@pytest.fixture(autouse=True)
def tools():
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")


def firmware(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="neurobox")
    sub = parser.add_subparsers(dest="command")
    cli_firmware.register(sub)
    args = parser.parse_args(["firmware", *argv])
    return args.func(args)


def test_build_writes_images_pin_maps_and_report(tmp_path, capsys):
    out = tmp_path / "board"
    assert firmware(["build", str(BOARD), "--target", "atmega8", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [u["unit"] for u in report["units"]]
    assert names == ["sense.0", "sense.1", "relay", "brake"]
    for name in names:
        assert (out / f"{name}.hex").read_text().startswith(":")
        assert (out / f"{name}.elf").read_bytes()[:4] == b"\x7fELF"
        assert re.search(r"#define UNIT_ADDRESS \d+", (out / f"{name}.h").read_text())
        pin_map = json.loads((out / f"{name}.pins.json").read_text())
        assert pin_map["led"] == "PB0" and pin_map["axon"] == "PB1"
        assert len(pin_map["dendrites"]) == len(pin_map["inputs"])
    assert json.loads((out / "report.json").read_text()) == report
    for u in report["units"]:
        assert 0 < u["flash_bytes"] < u["flash_of"] == 8192 and 0 < u["sram_bytes"] < u["sram_of"] == 1024
        assert 0 < u["cycles_per_update"] < report["tick_cycles"]
        # the axon is written half way through the tick, after the update
        assert u["fastest_update_hz"] == pytest.approx(16e6 / (2 * u["cycles_per_update"]), rel=1e-3)
        assert u["real_time_factor"] == pytest.approx(u["fastest_update_hz"] * report["dt_ms"] / 1000, rel=1e-3)
    assert "bus" not in report


def test_build_in_bus_mode_reports_the_bus(tmp_path, capsys):
    assert firmware(["build", str(BOARD), "--out", str(tmp_path), "--mode", "bus", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    bus = report["bus"]
    assert bus["baud"] == 250_000 and bus["addresses_used"] == 6 and bus["slots_per_tick"] == 18
    assert 0 < bus["load"] == pytest.approx(bus["bytes_per_s"] * 10 / 250_000, rel=1e-3)
    assert all(u["pins"]["uart_rxd_txd"] == ["PD0", "PD1"] for u in report["units"])
    for u in report["units"]:  # slot 0 at 4096 cycles, then one 640-cycle slot per address
        assert u["fastest_update_hz"] == pytest.approx(16e6 / (4096 + 6 * 640), rel=1e-3)


def test_verify_json(capsys):
    assert firmware(["verify", str(BOARD), "--steps", "1000", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["units"] == 4 and summary["steps"] == 1000
    assert summary["bit_exact"] is True and summary["led_ok"] is True and summary["output_ok"] is True
    assert summary["units_bit_exact"] is True and summary["board_bit_exact"] is True
    assert len(set(summary["clock_phases_cycles"].values())) == 4  # the units' clocks are out of phase
    assert summary["cycles_per_update"] > 0
    assert sum(summary["spikes"].values()) > 20 and summary["weight_changes"]["sense.0"] > 0


def test_verify_failure_exits_non_zero_and_names_the_difference(monkeypatch, capsys):
    import neurobox.hardware.avr.network as net

    def fake(board, steps, mode, reward=None, progress=None):
        return ({"units": 4, "steps": steps, "bit_exact": False, "led_ok": True, "output_ok": True,
                 "units_bit_exact": False, "board_bit_exact": True, "cycles_per_update": 1000,
                 "first_mismatch": {"unit": "relay", "step": 17, "variable": "v", "firmware": 5, "reference": 6}}, {})

    monkeypatch.setattr(net, "verify_board", fake)
    assert firmware(["verify", str(BOARD), "--steps", "20"]) == 1
    err = capsys.readouterr().err
    assert "unit relay, step 17, v: firmware 5, reference 6" in err


def test_bad_arguments_name_the_field(tmp_path):
    with pytest.raises(ConfigError) as err:
        firmware(["verify", str(BOARD), "--steps", "0"])
    assert err.value.field == "--steps"
    with pytest.raises(ConfigError) as err:
        firmware(["build", str(tmp_path / "missing.toml"), "--out", str(tmp_path)])
    assert "not found" in err.value.message


def test_build_refuses_a_tick_too_short_for_the_update(tmp_path):
    text = BOARD.read_text().replace("dt = 1.0 ", "dt = 0.0625 ").replace("delay = 1.0", "delay = 0.0625")
    model = tmp_path / "fast.toml"
    model.write_text(text)
    with pytest.raises(ConfigError) as err:
        firmware(["build", str(model), "--out", str(tmp_path / "out"), "--steps", "200"])
    assert err.value.field == "units.sense.0"
    assert "0.0625 ms tick (1000 cycles" in err.value.message
