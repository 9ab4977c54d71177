"""The physical planners run before any tool: SRAM, flash, pins and bus slots are checked from the network's
numbers and refused with those numbers, and the twin runs the board only as it can be built (unless asked to
explore). None of these tests needs avr-gcc or simavr: a tool that runs fails the test."""
from __future__ import annotations

import subprocess

import pytest

import neurobox as nb
from neurobox import cli
from neurobox.errors import ConfigError, ToolError
from neurobox.hardware.avr import build as avr_build
from neurobox.hardware.avr import config, network, verify
from neurobox.hardware.board import units_from_network
from neurobox.hardware.plan import buildable, plan_board
from neurobox.targets import runner
from neurobox.twin import BusParams, TwinSession, run_twin

PARAMS = {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "V_th": -55.0, "E_L": -70.0, "V_reset": -70.0}
STDP = {"rule": "stdp", "tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0, "A_minus": 20.0, "w_min": 0.0,
        "w_max": 2600.0}


def fan_in(n_sources: int, n_units: int = 2, *, dt: float = 1.0, plastic: bool = False, delay: float = 1.0):
    """n_sources Poisson inputs, all to all onto n_units units."""
    net = nb.Network(dt=dt, seed=1, duration=50.0)
    net.population("pix", n_sources, "poisson_generator", {"rate": 20.0})
    net.population("exc", n_units, "iaf_psc_exp", PARAMS)
    net.connect("pix", "exc", "all_to_all", weight=100.0, delay=delay, receptor="excitatory",
                **({"plasticity": STDP} if plastic else {}))
    return net


def big_sram():
    """100 plastic inputs with delay lines: about 1360 B of SRAM on the bus (an ATmega8 has 1024)."""
    return fan_in(100, 4, plastic=True, delay=3.0)


def crowded_bus():
    """52 addresses at dt = 0.5 ms (8000 cycles a tick): 48 slots fit after the first 4096 cycles at 2 Mbaud."""
    return fan_in(50, 2, dt=0.5)


@pytest.fixture
def no_tools(monkeypatch):
    """Every way to an AVR tool fails the test: the planner must refuse first."""
    def boom(*args, **kwargs):
        raise AssertionError("an AVR tool ran before the planner refused")
    for module in (network, verify):
        monkeypatch.setattr(module, "build", boom)
    monkeypatch.setattr(avr_build, "build", boom)
    monkeypatch.setattr(avr_build, "_run", boom)


def one_line_error(argv, capsys, command: str) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"neurobox {command}: error: ")
    return err


# -- SRAM and flash: before avr-gcc --------------------------------------------------------------------
def test_a_unit_beyond_the_sram_is_refused_before_avr_gcc(no_tools, tmp_path):
    board = units_from_network(big_sram())
    with pytest.raises(ConfigError) as err:
        network.build_board(board, tmp_path / "out", mode="bus")
    msg = err.value.message
    assert err.value.field == "units.exc.0.inputs"
    assert "unit exc.0 needs 1359 B of SRAM, an ATmega8 has 1024" in msg and "(100 inputs)" in msg
    assert "give it at most 69 inputs" in msg and "no delay lines" in msg          # the nearest fixes
    assert not (tmp_path / "out").exists()                                          # nothing written
    with pytest.raises(ConfigError, match="B of SRAM"):
        network.verify_board(board, 10, "bus")
    # the firmware's header is the last guard: no path to the linker with a unit that cannot fit
    unit = board.fixed()[0]
    from neurobox.hardware.avr import pins
    with pytest.raises(ConfigError, match="B of SRAM"):
        config.header(unit, pins.plan(unit.name, unit.n_inputs, "bus"), addresses=board.addresses)
    plan = plan_board(units_from_network(fan_in(60, 2, plastic=True)), "bus")       # 60 plastic inputs fit
    assert all(m.sram <= 1024 and m.flash <= 8192 for m in plan.memory.values())


def test_the_speed_measurement_plans_first(no_tools, monkeypatch):
    from neurobox.hardware import speed

    monkeypatch.setattr(speed, "avr_tools", lambda: None)
    got = speed.measure_avr(units_from_network(big_sram()), "bus")
    assert "B of SRAM" in got["error"] and "exc.0" in got["error"]


def test_a_failing_tool_is_one_line_naming_the_unit_and_the_tool(monkeypatch, tmp_path):
    monkeypatch.setattr(avr_build, "tool", lambda name: f"/usr/bin/{name}")
    stderr = ("/usr/lib/gcc/avr/7.3.0/../../../avr/bin/ld: address 0x800470 of relay.elf section `.bss' is not "
              "within region `data'\ncollect2: error: ld returned 1 exit status\n")
    monkeypatch.setattr(avr_build.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", stderr))
    with pytest.raises(ToolError) as err:
        avr_build.build("/* header */", tmp_path, "relay")
    text = str(err.value)
    assert "\n" not in text and text.startswith("unit relay: avr-gcc failed (exit 1): ")
    assert "is not within region `data'" in text


def test_firmware_build_prints_one_line(no_tools, tmp_path, capsys):
    model = tmp_path / "big.toml"
    model.write_text(big_sram().to_toml())
    err = one_line_error(["firmware", "build", str(model), "--out", str(tmp_path / "fw"), "--mode", "bus"],
                         capsys, "firmware")
    assert "exc.0 needs 1359 B of SRAM, an ATmega8 has 1024" in err
    assert not (tmp_path / "fw").exists()


# -- pins: the twin on wires is the firmware's wired mode ------------------------------------------------
def test_twin_on_wires_refuses_a_unit_with_more_inputs_than_dendrite_pins():
    net = fan_in(60)
    board = units_from_network(net)
    with pytest.raises(ConfigError) as err:
        run_twin(board, 20.0, transport="wire")
    msg = err.value.message
    assert err.value.field == "units.exc.0.inputs"
    assert "60 inputs; at most 18 fit (free dendrite pins" in msg and "by the bus" in msg and "--explore" in msg
    with pytest.raises(ConfigError, match="dendrite pins"):
        TwinSession(board, transport="wire")
    with pytest.raises(ConfigError, match="dendrite pins"):
        runner("twin").open(net, transport="wire")
    assert run_twin(board, 20.0, transport="bus").spikes >= 0           # on the bus the same units fit
    explored = run_twin(board, 20.0, transport="wire", explore=True)    # deliberately beyond the board
    assert explored.transport == "wire"
    assert buildable(board) is None                                     # the targets' check: the bus fits


def test_twin_cli_on_wires_prints_one_line(tmp_path, capsys):
    model = tmp_path / "wide.toml"
    model.write_text(fan_in(60).to_toml())
    err = one_line_error(["twin", str(model), "--transport", "wire", "--cycles", "none"], capsys, "twin")
    assert "60 inputs; at most 18 fit" in err and "dendrite pins" in err
    assert cli.main(["twin", str(model), "--transport", "wire", "--cycles", "none", "--no-engine", "--explore",
                     "--json"]) == 0


# -- bus slots ------------------------------------------------------------------------------------------
def test_a_bus_with_more_addresses_than_slots_in_the_tick_is_refused(no_tools, tmp_path):
    net = crowded_bus()
    board = units_from_network(net)
    with pytest.raises(ConfigError) as err:
        plan_board(board, "bus")
    msg = err.value.message
    assert "52 bus addresses need 8256 cycles a tick at 2000000 baud" in msg and "has 8000" in msg
    assert "at most 48 addresses fit a 0.5 ms tick" in msg and "at least 0.516 ms" in msg
    with pytest.raises(ConfigError, match="52 bus addresses"):
        network.build_board(board, tmp_path / "out", mode="bus")
    with pytest.raises(ConfigError, match="52 bus addresses"):
        run_twin(board, 5.0, transport="bus")
    with pytest.raises(ConfigError, match="52 bus addresses"):       # a given speed explores the link only
        run_twin(board, 5.0, transport="bus", bus=BusParams(baud=2_000_000))
    assert run_twin(board, 5.0, transport="bus", explore=True).bus["saturated"]
    problems = runner("twin").check(net)        # neither mode fits (50 inputs a unit on wires): the bus says why
    assert len(problems) == 1 and "52 bus addresses" in problems[0].reason


def test_twin_cli_on_a_crowded_bus_prints_one_line(tmp_path, capsys):
    model = tmp_path / "crowded.toml"
    model.write_text(crowded_bus().to_toml())
    err = one_line_error(["twin", str(model), "--cycles", "none"], capsys, "twin")
    assert "52 bus addresses need 8256 cycles" in err


def test_an_explicit_slower_baud_is_explored_not_refused():
    """The board fits at its planned 500 kbaud; at a given 250 kbaud its slots do not: reported, not refused."""
    net = nb.Network(dt=1.0, seed=2, duration=50.0)
    net.population("burst", 30, "spike_generator", {"spike_times": [10.0, 30.0]})
    net.population("ear", 1, "iaf_psc_exp", PARAMS)
    net.connect("burst", "ear", "all_to_all", weight=50.0, delay=1.0, receptor="excitatory")
    board = units_from_network(net)
    assert plan_board(board, "bus").bus.baud == 500_000
    slow = run_twin(board, 50.0, transport="bus", bus=BusParams(baud=250_000))
    assert slow.bus["saturated"] and slow.lost_by_cause["no_slot"] > 0


def test_a_unit_without_inputs_is_built_and_verified(tmp_path):
    """A pacemaker (driven by I_e, no synapse): the firmware builds it (one unused table entry) and it runs
    bit-exact in simavr, so the twin's oscillators are units that can be built."""
    from conftest import require_tool

    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")
    net = nb.Network(dt=1.0, seed=1, duration=100.0)
    net.population("osc", 1, "iaf_psc_exp", {**PARAMS, "I_e": 420.0})
    net.population("ear", 1, "iaf_psc_exp", PARAMS)
    net.connect("osc", "ear", "all_to_all", weight=3000.0, delay=1.0, receptor="excitatory")
    board = units_from_network(net)
    summary, _ = network.verify_board(board, 150, "wired")
    assert summary["bit_exact"] and summary["output_ok"] and summary["spikes"]["osc"] > 3
