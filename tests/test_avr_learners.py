"""The ATmega8 firmware runs learners: delay lines, reward-modulated STDP and the reward input, in simavr.

Every unit here is built with avr-gcc and run in simavr (through neurobox's
runners) and compared, tick by tick, with the Python specification
(neurobox.hardware.unit.simulate): membrane, currents, traces, weights,
delay lines, eligibilities and the reward pulse seen. The planner's
refusals (pins, address, SRAM) need no tools.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import neurobox as nb
from conftest import require_tool
from neurobox.cli.firmware import _reward
from neurobox.errors import ConfigError
from neurobox.hardware.avr import build as avr_build
from neurobox.hardware.avr import config, emulator, memory, pins
from neurobox.hardware.avr.bus import unit_bus
from neurobox.hardware.avr.network import verify_board
from neurobox.hardware.plan import plan_unit
from neurobox.hardware.avr.verify import first_mismatch, verify_unit
from neurobox.hardware.board import reward_schedule, units_from_network, wire_pulses
from neurobox.hardware.unit import Input, UnitDescription, fixed_unit, simulate

LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
RSTDP = {"rule": "rstdp", "tau_plus": 8.0, "tau_c": 64.0, "tau_d": 20.0, "A_plus": 300.0, "A_minus": 0.0,
         "w_min": 0.0, "w_max": 4000.0}
"""A_plus = 300 pA makes a_plus = 18286: two pairs saturate the eligibility, one reward moves a weight across
half its range, so the weights reach both bounds."""
DELAYS = (1, 2, 5, 16)


@pytest.fixture(scope="module")
def tools():
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")


def spikes(rng, steps: int, rates, wired: bool) -> np.ndarray:
    """Random received spikes, one column per rate (spikes per tick); a wire carries them 3 ticks apart."""
    pre = rng.random((steps, len(rates))) < np.asarray(rates)
    if wired:
        pre = np.stack([wire_pulses(pre[:, j]) for j in range(pre.shape[1])], axis=1)
    return pre


def pulses(rng, steps: int, rate: float) -> np.ndarray:
    """Random rewards and punishments (each at `rate` per tick), 3 ticks apart on each line as a wire carries."""
    r = rng.random(steps)
    return wire_pulses(r < rate).astype(np.int64) - wire_pulses((r >= rate) & (r < 2 * rate)).astype(np.int64)


def delayed_unit(rule=None) -> UnitDescription:
    """Delays 1, 2, 5 and 16 mixed, both receptors; plastic (except the inhibitory input) when `rule` is given."""
    return UnitDescription("delayed", {**LIF, "I_e": 380.0}, 1.0,
                           (Input("a", "excitatory", 1500.0, rule is not None, 1),
                            Input("b", "excitatory", 800.0, rule is not None, 2),
                            Input("c", "inhibitory", -900.0, False, 5),
                            Input("d", "excitatory", 2500.0, rule is not None, 16)), rule, 7)


def verify(desc: UnitDescription, mode: str, tmp_path: Path, seed: int, steps: int = 1500, reward_rate: float = 0.0,
           rates=(0.08, 0.08, 0.08, 0.08)):
    unit = fixed_unit(desc)
    rng = np.random.default_rng(seed)
    pre = spikes(rng, steps, rates[:unit.n_inputs], mode == "wired")
    reward = pulses(rng, steps, reward_rate) if reward_rate else None
    result = verify_unit(unit, plan_unit(unit, mode), pre, tmp_path,
                         addresses={s: 40 + j for j, s in enumerate(unit.sources)}, reward=reward)
    assert result.steps == steps and result.mismatch is None and result.bit_exact, result.mismatch
    assert result.led_ok, result.led_faults[:3]
    assert result.output_ok, result.output_faults[:3]
    return unit, pre, result


@pytest.mark.parametrize("mode", ["wired", "bus"])
def test_delay_lines_are_bit_exact(tools, mode, tmp_path):
    unit, pre, result = verify(delayed_unit(), mode, tmp_path, seed=1)
    assert unit.input_delays == DELAYS and "line" in result.run.states[0] and "c" not in result.run.states[0]
    lines = np.array([st["line"] for st in result.run.states])
    assert (lines[:, 3] >> 15).any()          # spikes reach the last bit of a 16-tick line
    # the input sums follow arrival, not reception: with the delays undone the currents differ
    undelayed = simulate(dataclasses.replace(unit, delays=()), pre)
    assert not np.array_equal(undelayed.i_ex, result.reference.i_ex)
    assert result.spikes > 20


@pytest.mark.parametrize("mode", ["wired", "bus"])
def test_reward_modulated_stdp_is_bit_exact(tools, mode, tmp_path):
    desc = dataclasses.replace(delayed_unit(RSTDP), inputs=tuple(dataclasses.replace(i, delay=1)
                                                                 for i in delayed_unit(RSTDP).inputs))
    unit, _, result = verify(desc, mode, tmp_path, seed=4, reward_rate=0.04)
    ref = result.reference
    assert "line" not in result.run.states[0]   # every delay is 1: no delay lines compiled in
    plastic = list(unit.plastic_index)
    w = ref.weights[:, plastic]
    assert (w == unit.rstdp.w_min).any() and (w == unit.rstdp.w_max).any()   # both bounds reached
    assert (ref.eligibility[:, plastic] == 32767).any()                       # the eligibility saturates
    seen = np.array([st["reward"] for st in result.run.states])
    assert (seen == 1).any() and (seen == -1).any()
    assert result.weight_changes > 20 and result.spikes > 20


@pytest.mark.parametrize("mode", ["wired", "bus"])
def test_delays_and_reward_modulated_stdp_together(tools, mode, tmp_path):
    unit, _, result = verify(delayed_unit(RSTDP), mode, tmp_path, seed=4, reward_rate=0.04)
    assert unit.input_delays == DELAYS and unit.rule == "rstdp"
    assert {"line", "c", "reward"} <= set(result.run.states[0])
    assert result.weight_changes > 20


@pytest.mark.parametrize("mode", ["wired", "bus"])
def test_a_reward_and_a_punishment_in_one_tick_cancel(tools, mode, tmp_path):
    unit = fixed_unit(delayed_unit(RSTDP))
    pin_map = plan_unit(unit, mode)
    pre = spikes(np.random.default_rng(2), 300, (0.08,) * 4, mode == "wired")
    reward = pulses(np.random.default_rng(3), 300, 0.05)
    both = [t for t in range(20, 300, 9) if reward[t - 1: t + 2].tolist() == [0, 0, 0]]
    addresses = [40 + j for j in range(unit.n_inputs)]
    bus = unit_bus(unit, addresses)
    lines = emulator.input_lines(pre, pin_map, addresses if mode == "bus" else None, reward, bus)
    for t in both:       # both lines rise, or both bytes arrive, before tick t
        extra = (["U" + f"{0x80 | config.REWARD_ADDRESS:02x}", "U" + f"{0x80 | config.PUNISH_ADDRESS:02x}"]
                 if mode == "bus" else [f"{p[1]}{p[2]}=1" for p in pin_map.reward])
        lines[t] = " ".join(tok for tok in lines[t].split() if tok[:3] not in ("D2=", "D3=")) + " " + " ".join(extra)
    image = avr_build.build(config.header(unit, pin_map, addresses=dict(zip(unit.sources, addresses))), tmp_path)
    run = emulator.run(image, unit, lines, 300, config.tick_timer(unit.dt).cycles)
    ref = simulate(unit, pre, reward=reward)
    assert first_mismatch(run, ref, unit.n_inputs, pre, reward) is None
    assert all(run.states[t]["reward"] == 0 for t in both) and len(both) > 10


def test_learned_weights_of_a_reward_learner_persist(tools, tmp_path):
    unit = fixed_unit(delayed_unit(RSTDP))
    pin_map = plan_unit(unit, "wired")
    rng = np.random.default_rng(8)
    pre = spikes(rng, 800, (0.08,) * 4, True)
    reward = pulses(rng, 800, 0.04)
    reward[500:] = 0     # learning stops; the last copies to EEPROM catch up
    first = verify_unit(unit, pin_map, pre, tmp_path / "a", persist_steps=50, reward=reward)
    final = tuple(int(w) for w in first.reference.weights[-1])
    assert first.bit_exact and final != unit.weights
    ee = first.run.eeprom
    assert int.from_bytes(ee[:2], "little") == config.config_hash(unit)
    again = verify_unit(unit, pin_map, pre, tmp_path / "b", persist_steps=50, eeprom=ee, initial_weights=final,
                        reward=reward)
    assert again.run.boot_state["w"] == list(final) and again.bit_exact


def test_the_fingerprint_covers_delays_and_the_rule():
    unit = fixed_unit(delayed_unit(RSTDP))
    assert config.config_hash(unit) != config.config_hash(dataclasses.replace(unit, delays=(1, 1, 1, 1)))
    stdp = fixed_unit(delayed_unit({"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0, "A_minus": 36.0,
                                    "w_min": 0.0, "w_max": 4000.0}))
    assert config.config_hash(unit) != config.config_hash(stdp)


def test_header_of_a_reward_learner():
    unit = fixed_unit(delayed_unit(RSTDP))
    defs = dict(re.findall(r"#define (\w+) (.+)", config.header(unit, plan_unit(unit, "wired"))))
    assert defs["DELAY_LINES"] == "1" and defs["SYN_ARRIVAL_BIT"] == "{ 1, 2, 32768, 16 }"   # plastic ones first
    assert defs["RSTDP_ON"] == "1" and defs["STDP_ON"] == "0"
    assert (defs["RSTDP_K_PRE"], defs["RSTDP_K_C"], defs["RSTDP_A_PLUS"]) == ("3", "6", "18286u")
    assert (defs["REWARD_PORT"], defs["REWARD_MASK"], defs["PUNISH_PORT"], defs["PUNISH_MASK"]) == ("2", "4", "2", "8")
    bus = dict(re.findall(r"#define (\w+) (.+)", config.header(unit, plan_unit(unit, "bus"),
                                                                addresses={s: 9 for s in unit.sources})))
    assert (bus["REWARD_ADDRESS"], bus["PUNISH_ADDRESS"]) == ("127", "126") and "REWARD_PORT" not in bus
    plain = fixed_unit(dataclasses.replace(delayed_unit(), inputs=delayed_unit().inputs[:1]))
    assert "#define DELAY_LINES 0" in config.header(plain, plan_unit(plain, "wired"))


def test_reward_lines_take_two_pins_and_leave_sixteen_dendrites():
    m = pins.plan("out.0", 16, "wired", reward=True)
    assert m.reward == ("PD2", "PD3") and not set(m.reward) & set(m.dendrites)
    assert len(set(m.dendrites) | set(m.reward) | {m.led, m.axon}) == 20
    with pytest.raises(ConfigError) as err:
        pins.plan("out.0", 17, "wired", reward=True)
    assert "17 inputs" in err.value.message and "at most 16" in err.value.message
    assert pins.plan("out.0", 18, "wired").reward is None
    assert pins.plan("out.0", 126, "bus", reward=True).reward is None


def test_planner_refuses_a_unit_beyond_the_sram_with_its_numbers():
    inputs = tuple(Input(f"s{j}", "excitatory", 100.0, True, 1 + j % 4) for j in range(70))
    unit = fixed_unit(UnitDescription("out.0", LIF, 1.0, inputs, RSTDP, 2))
    need = memory.memory_need(unit, "bus")
    with pytest.raises(ConfigError) as err:
        plan_unit(unit, "bus")
    assert err.value.field == "units.out.0.inputs"
    assert (f"unit out.0 needs {need.sram} B of SRAM, an ATmega8 has 1024: {need.state} B state (70 inputs), "
            f"{need.tables} B tables and buffers, {need.stack} B stack; give it at most 66 inputs, or delays of "
            f"one tick (no delay lines)") == err.value.message          # the numbers, then the nearest fixes
    assert need.sram > 1024 and need.state == config.state_size(unit) == 18 + 8 * 70 + 1
    plan_unit(dataclasses.replace(unit, name="out.1", weights=unit.weights[:60], receptors=unit.receptors[:60],
                                  plastic=unit.plastic[:60], sources=unit.sources[:60], delays=unit.delays[:60]),
              "bus")


def test_planner_refuses_a_bus_address_of_the_reward():
    unit = dataclasses.replace(fixed_unit(delayed_unit(RSTDP)), address=126)
    with pytest.raises(ConfigError) as err:
        plan_unit(unit, "bus")
    assert err.value.field == "units.delayed.address" and "0 to 125" in err.value.message
    plan_unit(unit, "wired")


@pytest.mark.parametrize("mode, rule, n", [("wired", None, 3), ("wired", RSTDP, 16), ("bus", RSTDP, 40),
                                           ("bus", {"tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0,
                                                    "A_minus": 36.0, "w_min": 0.0, "w_max": 4000.0}, 9)])
def test_memory_estimate_bounds_what_the_tools_report(tools, tmp_path, mode, rule, n):
    inputs = tuple(Input(f"s{j}", "inhibitory" if j % 3 == 1 else "excitatory", 900.0, rule is not None, 1 + j % 3)
                   for j in range(n))    # mixed receptors: an all-zero table is folded away by the compiler
    unit = fixed_unit(UnitDescription("u", LIF, 1.0, inputs, rule, 2))
    addresses = {s: 10 + j for j, s in enumerate(unit.sources)}
    bus = unit_bus(unit, list(addresses.values())) if mode == "bus" else None   # 50 addresses: a 64-byte ring
    pin_map = plan_unit(unit, mode, bus)
    need = memory.memory_need(unit, mode, bus)
    image = avr_build.build(config.header(unit, pin_map, addresses=addresses, bus=bus), tmp_path)
    assert need.state + need.tables - 8 <= image.sram <= need.state + need.tables
    assert image.flash <= need.flash
    text = subprocess.run(["avr-size", "-A", str(image.elf)], capture_output=True, text=True).stdout
    tables = 3 * n + (128 + n if mode == "bus" else 0)     # initial weights, receptors; inputs by source address
    assert int(re.search(r"^\.text\s+(\d+)", text, re.M).group(1)) - tables <= memory.CODE_BYTES
    rng = np.random.default_rng(0)
    pre = spikes(rng, 300, (0.1,) * n, mode == "wired")
    run = verify_unit(unit, pin_map, pre, tmp_path, addresses=addresses, image=image,
                      reward=pulses(rng, 300, 0.05), bus=bus).run
    assert 0 < run.stack_bytes <= need.stack


def test_equal_tables_in_flash_and_in_sram_stay_apart(tools, tmp_path):
    """All-zero receptors (SRAM) beside the all-zero chains of the bus look-up (flash): at -O2 the compiler
    folded the two into one table in flash, read as SRAM (build.CFLAGS: -fno-ipa-icf)."""
    board = units_from_network(learner_network())
    out = board.fixed()[2]
    assert out.receptors == (0,) * 5 and config.input_chains([board.addresses[s] for s in out.sources])[1] == [0] * 5
    pre = spikes(np.random.default_rng(1), 300, (0.2,) * out.n_inputs, False)
    result = verify_unit(out, plan_unit(out, "bus"), pre, tmp_path, addresses=board.addresses)
    assert result.bit_exact, result.mismatch


def test_reward_schedule_is_checked():
    assert reward_schedule(None, 4).tolist() == [0, 0, 0, 0]
    assert reward_schedule([1, -1, 0, 1], 4, "wired").tolist() == [1, -1, 0, 1]   # two lines, 3 ticks apart each
    with pytest.raises(ConfigError, match="reward line in ticks 0 and 2"):
        reward_schedule([1, 0, 1, 0], 4, "wired")
    assert reward_schedule([1, 1, 1, 1], 4, "bus").tolist() == [1, 1, 1, 1]      # a byte a tick
    with pytest.raises(ConfigError, match="tick 1 has 2"):
        reward_schedule([0, 2, 0, 0], 4)
    with pytest.raises(ConfigError, match="4 pulses"):
        reward_schedule([1, 0], 4)


def test_reward_argument_of_the_command(tmp_path):
    assert _reward("2:1,5:-1", 8).tolist() == [0, 0, 1, 0, 0, -1, 0, 0]
    np.save(tmp_path / "r.npy", np.array([0, 1, 0, -1]))
    assert _reward(str(tmp_path / "r.npy"), 4).tolist() == [0, 1, 0, -1]
    with pytest.raises(ConfigError) as err:
        _reward("9:1", 8)
    assert err.value.field == "--reward"
    assert _reward(None, 8) is None


def learner_network() -> nb.Network:
    """Three units: two hidden units (pair STDP) driven by three Poisson inputs, and a learner (reward-modulated
    STDP) fed by the inputs and the hidden units through delays of 1 to 4 ticks."""
    net = nb.Network(dt=1.0, seed=11)
    net.population("touch", 3, "poisson_generator", {"rate": 60.0})
    net.population("hidden", 2, "iaf_psc_exp", LIF)
    net.population("out", 1, "iaf_psc_exp", {**LIF, "I_e": 300.0})
    net.connect("touch", "hidden", "all_to_all", weight=2200.0, delay=1.0,
                plasticity={"rule": "stdp", "tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 30.0, "A_minus": 36.0,
                            "w_min": 0.0, "w_max": 4000.0})
    net.connect("touch", "out", "all_to_all", weight=1500.0, delay=2.0, plasticity=RSTDP)
    net.connect("hidden", "out", "all_to_all", weight=1800.0, delay=4.0, plasticity=RSTDP)
    return net


@pytest.mark.parametrize("mode", ["wired", "bus"])
def test_a_board_with_a_reward_learner_is_bit_exact_as_a_whole(tools, mode):
    board = units_from_network(learner_network())
    steps = 800
    reward = pulses(np.random.default_rng(6), steps, 0.03)
    reward[:3] = (1, 0, 0)    # seen in the first tick: sent before it
    summary, runs = verify_board(board, steps, mode, reward=reward)
    assert summary["bit_exact"] and summary["board_bit_exact"], summary.get("first_mismatch")
    assert summary["led_ok"] and summary["output_ok"]
    out = runs["out"]
    assert out.reference.eligibility.max() > 0 and summary["weight_changes"]["out"] > 10
    assert summary["spikes"]["out"] > 10 and min(summary["spikes"].values()) > 5
    assert set(fixed_unit(board.units[2]).input_delays) == {2, 4}
    # the rewards are what moved the learner: without them its weights stay put
    quiet, _ = verify_board(board, 200, mode)
    assert quiet["bit_exact"] and quiet["weight_changes"]["out"] == 0


@pytest.mark.parametrize("mode, n, delayed", [("wired", 13, True), ("wired", 16, True), ("bus", 13, True),
                                             ("bus", 16, False)])
def test_cycles_of_a_reward_learner_fit_a_millisecond_tick(tools, tmp_path, mode, n, delayed):
    """R-STDP on every input (delays 1..4 or none), rewards and punishments every few ticks: the update ends
    before the axon is written (wired), or before bus slot 0 (bus: only the spike must be armed by then, the
    spike bytes are checked to leave in their slot)."""
    inputs = tuple(Input(f"s{j}", "excitatory", 600.0, True, 1 + j % 4 if delayed else 1) for j in range(n))
    unit = fixed_unit(UnitDescription("learner", {**LIF, "I_e": 300.0}, 1.0, inputs, RSTDP, 2))
    rng = np.random.default_rng(n)
    pre = spikes(rng, 1000, (0.06,) * n, mode == "wired")
    result = verify_unit(unit, plan_unit(unit, mode), pre, tmp_path, reward=pulses(rng, 1000, 0.1),
                         addresses={s: 10 + j for j, s in enumerate(unit.sources)})
    assert result.bit_exact and result.spikes > 100
    budget = config.axon_cycles(1.0) if mode == "wired" else config.SLOT_BASE_CYCLES
    assert result.cycles_per_update < budget


def test_command_verifies_and_builds_a_reward_learner(tools, tmp_path, capsys):
    import argparse
    import json

    from neurobox.cli import firmware as cli_firmware

    def firmware(argv: list[str]) -> int:
        parser = argparse.ArgumentParser(prog="neurobox")
        cli_firmware.register(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["firmware", *argv])
        return args.func(args)

    model = tmp_path / "learner.toml"
    model.write_text(learner_network().to_toml())
    assert firmware(["verify", str(model), "--steps", "300", "--mode", "bus", "--reward", "40:1,41:-1,90:1",
                     "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bit_exact"] and summary["weight_changes"]["out"] > 0
    assert firmware(["build", str(model), "--out", str(tmp_path / "board"), "--steps", "300", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    out = next(u for u in report["units"] if u["unit"] == "out")
    assert out["pins"]["reward_punish"] == ["PD2", "PD3"] and len(out["pins"]["dendrites"]) == 5
    assert "#define RSTDP_ON 1" in (tmp_path / "board" / "out.h").read_text()
