"""The ATmega8 firmware, built with avr-gcc and run in simavr, against the Python specification.

Every test here runs the real tools: avr-gcc/avr-libc for the build and
Debian's libsimavr (through neurobox's runner) for the emulation.
"""
from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from conftest import require_tool
from neurobox.errors import ConfigError, SimulationError, ToolMissingError
from neurobox.hardware.avr import build as avr_build
from neurobox.hardware.avr import config, emulator, pins
from neurobox.hardware.avr.bus import plan_bus
from neurobox.hardware.avr.verify import first_mismatch, led_check, output_faults, verify_unit
from neurobox.hardware.board import wire_pulses
from neurobox.hardware.unit import Input, UnitDescription, fixed_unit

AVR_HINT = "apt-get install gcc-avr avr-libc binutils-avr"
SIMAVR_HINT = "apt-get install simavr libsimavr-dev libelf-dev"
LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
STDP = {"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0, "A_minus": 36.0, "w_min": 0.0, "w_max": 4000.0}


@pytest.fixture(scope="module", autouse=True)
def tools():
    require_tool("avr-gcc", AVR_HINT)
    require_tool("simavr", SIMAVR_HINT)


def inputs(rng, steps, rates, wired=True):
    """Random input spikes, one column per rate (spikes per tick); a wire carries them 3 ticks apart."""
    pre = rng.random((steps, len(rates))) < np.asarray(rates)
    if wired:
        pre = np.stack([wire_pulses(pre[:, j]) for j in range(pre.shape[1])], axis=1)
    return pre


# Parameter sets: (description, input rates, what the reference must show)
SWEEP = {
    "learning": (
        UnitDescription("learn", LIF, 1.0, (Input("a", "excitatory", 2600.0, True), Input("b", "excitatory", 1500.0, True),
                                            Input("c", "inhibitory", -1200.0)), STDP, 3),
        (0.08, 0.08, 0.05), {"learned"}),
    "current_saturation": (
        UnitDescription("sat", {**LIF, "V_th": 50.0, "tau_syn_in": 20.0}, 1.0,
                        (Input("a", "excitatory", 8000.0), Input("b", "excitatory", 8000.0),
                         Input("c", "excitatory", 8000.0), Input("d", "inhibitory", -8000.0),
                         Input("e", "inhibitory", -8000.0)), None, 1),
        (0.3, 0.3, 0.3, 0.3, 0.3), {"i_ex_max", "i_in_min", "v_min"}),
    "weight_bounds": (
        UnitDescription("bounds", {**LIF, "I_e": 300.0}, 1.0,
                        (Input("a", "excitatory", 3000.0, True), Input("b", "excitatory", 200.0, True),
                         Input("c", "excitatory", 1000.0)),
                        {**STDP, "A_plus": 400.0, "A_minus": 1000.0, "w_max": 3200.0}, 2),
        (0.2, 0.2, 0.1), {"w_max", "w_min"}),
    "inhibitory_plastic": (
        UnitDescription("inh", {**LIF, "tau_m": 20.0, "I_e": 390.0, "t_ref": 3.0, "V_reset": -75.0}, 0.5,
                        (Input("a", "excitatory", 1800.0), Input("b", "inhibitory", -600.0, True)),
                        {**STDP, "w_min": -3000.0, "w_max": 0.0, "A_plus": 60.0, "A_minus": 50.0}, 2),
        (0.05, 0.05), {"learned", "spiked"}),
    "coarse_lsb": (
        UnitDescription("coarse", {**LIF, "tau_m": 5.0, "tau_syn_ex": 1.0}, 1.0,
                        (Input("a", "excitatory", 5000.0, True), Input("b", "excitatory", 3000.0)),
                        {**STDP, "w_max": 8000.0}, 4, V_lsb=2.0 ** -6, I_lsb=1.0),
        (0.1, 0.1), {"spiked"}),
    "full_fan_in": (
        UnitDescription("fan", LIF, 1.0, tuple(Input(f"s{j}", "excitatory" if j % 3 else "inhibitory",
                                                     900.0 if j % 3 else -900.0, j in (1, 2, 4, 5)) for j in range(18)),
                        STDP, 10),
        (0.04,) * 18, {"spiked", "learned"}),
}


def shows(ref, what: str) -> bool:
    return {
        "learned": lambda: ref.learned.sum() > 5,
        "spiked": lambda: ref.spikes.sum() > 5,
        "i_ex_max": lambda: (ref.i_ex == 32767).any(),
        "i_in_min": lambda: (ref.i_in == -32768).any(),
        "v_min": lambda: (ref.v == -32768).any(),
        "w_max": lambda: ref.weights[:, 0].max() == 3200 * 4,
        "w_min": lambda: ref.weights[:, 0].min() == 0 and ref.weights[:, 1].min() == 0,
    }[what]()


@pytest.mark.parametrize("mode", ["wired", "bus"])
@pytest.mark.parametrize("name", list(SWEEP))
def test_firmware_is_bit_exact_with_the_specification(name, mode, tmp_path):
    desc, rates, expect = SWEEP[name]
    unit = fixed_unit(desc)
    pre = inputs(np.random.default_rng(len(name)), 1200, rates, wired=mode == "wired")
    addresses = {s: 30 + j for j, s in enumerate(unit.sources)}
    result = verify_unit(unit, pins.plan(unit.name, unit.n_inputs, mode), pre, tmp_path, addresses=addresses)
    assert result.steps == 1200
    assert result.mismatch is None and result.bit_exact
    assert result.led_ok, result.led_faults[:3]
    assert result.output_ok, result.output_faults[:3]
    for what in expect:  # the sweep really reaches the regime it is named after
        assert shows(result.reference, what), what
    assert 300 < result.cycles_per_update < config.tick_timer(desc.dt).cycles


@pytest.fixture(scope="module")
def learning_run(tmp_path_factory):
    desc, rates, _ = SWEEP["learning"]
    unit = fixed_unit(desc)
    pre = inputs(np.random.default_rng(11), 1000, rates)
    return unit, pre, verify_unit(unit, pins.plan(unit.name, 3, "wired"), pre, tmp_path_factory.mktemp("learn"))


def test_a_difference_is_found_and_named(learning_run):
    unit, _, result = learning_run
    ref = result.reference
    assert first_mismatch(result.run, ref, unit.n_inputs) is None
    ref.v[500] += 1
    assert first_mismatch(result.run, ref, unit.n_inputs) == (500, "v", int(ref.v[500]) - 1, int(ref.v[500]))
    ref.v[500] -= 1
    t = int(np.flatnonzero(ref.learned)[0])
    ref.weights[t, 0] += 1
    assert first_mismatch(result.run, ref, unit.n_inputs)[:2] == (t, "w")
    ref.weights[t, 0] -= 1


def test_led_and_axon_faults_are_found(learning_run):
    unit, _, result = learning_run
    ref = result.reference
    frames = list(ref.led_frames)
    t, (g, r, b) = ref.led_frames[3]
    ref.led_frames[3] = (t, (g, r, b ^ 1))
    assert any("frame 3" in f for f in led_check(result.run, ref, "PB0"))
    ref.led_frames[:] = frames
    assert not led_check(result.run, ref, "PB0")
    first = int(np.flatnonzero(ref.spikes)[0])
    ref.spikes[first] = False
    assert any(f"tick {first}" in f for f in output_faults(result.run, ref, pins.plan(unit.name, 3, "wired"), 3, 1.0))
    ref.spikes[first] = True


def test_led_stream_timing_in_cycles(learning_run):
    _, _, result = learning_run
    edges = result.run.edges["PB0"]
    highs = [b[0] - a[0] for a, b in zip(edges, edges[1:]) if a[1] == 1 and b[1] == 0]
    assert set(highs) == {6, 13}  # 375 ns and 812.5 ns at 16 MHz, as the inline assembly counts


def test_weights_persist_in_eeprom(tmp_path):
    desc, rates, _ = SWEEP["learning"]
    unit = fixed_unit(desc)
    pm = pins.plan(unit.name, 3, "wired")
    pre = inputs(np.random.default_rng(5), 1000, rates)
    pre[600:] = False  # learning stops; the last copies to EEPROM catch up
    first = verify_unit(unit, pm, pre, tmp_path / "a", persist_steps=50)
    assert first.bit_exact and first.weight_changes > 0
    final = tuple(int(w) for w in first.reference.weights[-1])
    assert final != unit.weights
    ee = first.run.eeprom
    assert int.from_bytes(ee[0:2], "little") == config.config_hash(unit)
    assert [int.from_bytes(ee[2 + 2 * j:4 + 2 * j], "little", signed=True) for j in range(3)] == list(final)
    # after a reset the unit starts from the learned weights, still bit-exact
    again = verify_unit(unit, pm, pre, tmp_path / "b", persist_steps=50, eeprom=ee, initial_weights=final)
    assert again.run.boot_state["w"] == list(final) and again.bit_exact
    # weights written by another configuration are ignored
    foreign = bytes([ee[0] ^ 0xFF]) + ee[1:]
    fresh = verify_unit(unit, pm, pre[:50], tmp_path / "c", persist_steps=50, eeprom=foreign)
    assert fresh.run.boot_state["w"] == list(unit.weights) and fresh.bit_exact


def test_sizes_come_from_the_real_tools(tmp_path):
    desc, _, _ = SWEEP["learning"]
    unit = fixed_unit(desc)
    image = avr_build.build(config.header(unit, pins.plan(unit.name, 3, "wired")), tmp_path, "u")
    hex_bytes = 0
    for line in image.hex.read_text().split():
        if line[7:9] == "00":
            hex_bytes += int(line[1:3], 16)
    assert image.flash == hex_bytes  # .text + .data as flashed
    out = subprocess.run(["avr-size", "-C", "--mcu=atmega8", str(image.elf)], capture_output=True, text=True).stdout
    assert image.sram == int(re.search(r"Data:\s+(\d+) bytes", out).group(1))
    assert int(re.search(r"Program:\s+(\d+) bytes", out).group(1)) == image.flash
    assert image.flash < avr_build.FLASH_BYTES and image.sram < avr_build.SRAM_BYTES
    symbols = subprocess.run(["avr-nm", str(image.elf)], capture_output=True, text=True).stdout
    assert "printf" not in symbols and "uart_dump" not in symbols  # nothing test-only in the image


def test_an_update_longer_than_the_tick_is_refused(tmp_path):
    desc, rates, _ = SWEEP["learning"]
    fast = UnitDescription(desc.name, {**LIF, "t_ref": 0.25}, 0.0625, desc.inputs, STDP, 3)
    unit = fixed_unit(fast)
    pre = inputs(np.random.default_rng(2), 200, rates)
    with pytest.raises(SimulationError) as err:
        verify_unit(unit, pins.plan(unit.name, 3, "wired"), pre, tmp_path)
    assert "overrun" in str(err.value)


def test_missing_avr_gcc_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(avr_build.shutil, "which", lambda name: None)
    with pytest.raises(ToolMissingError) as err:
        avr_build.build("", tmp_path)
    assert "apt-get install gcc-avr" in str(err.value)


def test_wired_inputs_refuse_back_to_back_spikes():
    pm = pins.plan("u", 1, "wired")
    with pytest.raises(SimulationError):
        emulator.input_lines(np.array([[True], [True]]), pm)
    assert emulator.input_lines(np.array([[True], [False]]), pm) == ["C0=1", "C0=0"]
    bus = plan_bus(5, 1.0)       # 250 kbaud: slot a begins 4096 + 640 a cycles after the tick
    assert emulator.input_lines(np.array([[True, True]]), pins.plan("u", 2, "bus"), [3, 4], None, bus) == \
        ["U83@6016 U84@6656"]
    assert emulator.input_lines(np.array([[False]]), pins.plan("u", 1, "bus"), [3], np.array([1]), bus) == \
        ["Uff@3456"]             # the host's reward in the byte time before slot 0


def test_unit_with_too_many_inputs_for_sram_is_refused():
    image = avr_build.Image(elf=None, hex=None, flash=3000, sram=950, state_address=0x60)
    with pytest.raises(ConfigError) as err:
        image.check_fits("big")
    assert err.value.field == "units.big" and "SRAM" in err.value.message


def test_missing_simavr_development_files_say_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(emulator, "cache_dir", lambda: tmp_path)
    real_which = emulator.shutil.which
    monkeypatch.setattr(emulator.shutil, "which", lambda name: None if name == "pkg-config" else real_which(name))
    with pytest.raises(ToolMissingError) as err:
        emulator.runner_path()
    assert "libsimavr-dev" in str(err.value)
