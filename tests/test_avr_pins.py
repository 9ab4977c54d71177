"""Pin planner, configuration header and board description for the ATmega8 target (no tools needed)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.hardware.avr import config, pins
from neurobox.hardware.avr.network import plan_board
from neurobox.hardware.board import load_board, wire_pulses
from neurobox.hardware.unit import Input, UnitDescription, fixed_unit

ROOT = Path(__file__).resolve().parent.parent
LIF = {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}


def unit(n_inputs: int, plastic: tuple = (), **kw) -> UnitDescription:
    inputs = tuple(Input(f"s{j}", "excitatory", 100.0, j in plastic) for j in range(n_inputs))
    return UnitDescription("u", {**LIF, **kw.pop("params", {})}, kw.pop("dt", 1.0), inputs, **kw)


def test_wired_plan_uses_only_free_pins():
    m = pins.plan("n", 18, "wired")
    used = [m.led, m.axon, *m.dendrites]
    assert len(set(used)) == 20 and set(used) == set(pins.USABLE)
    assert not set(used) & set(pins.RESERVED)  # crystal PB6/PB7 and RESET PC6 are never used
    assert m.dendrites[:6] == ("PC0", "PC1", "PC2", "PC3", "PC4", "PC5")


def test_wired_plan_refuses_more_inputs_than_pins():
    with pytest.raises(ConfigError) as err:
        pins.plan("relay.3", 19, "wired")
    assert err.value.field == "units.relay.3.inputs"
    assert "relay.3" in err.value.message and "19 inputs" in err.value.message and "at most 18" in err.value.message


def test_bus_plan_takes_the_uart_and_no_dendrites():
    m = pins.plan("n", 60, "bus")
    assert m.uart == ("PD0", "PD1") and m.dendrites == () and m.axon is None and m.led == "PB0"
    with pytest.raises(ConfigError):
        pins.plan("n", 128, "bus")
    with pytest.raises(ConfigError) as err:
        pins.plan("n", 1, "radio")
    assert err.value.field == "mode"


def test_tick_timer_is_exact_or_refused():
    assert config.tick_timer(1.0) == config.Tick(1, 1, 15999)
    assert config.tick_timer(0.1).cycles == 1600
    assert config.tick_timer(10.0).cycles == 160_000 and config.tick_timer(10.0).prescaler == 8
    with pytest.raises(ConfigError) as err:
        config.tick_timer(1e-5)
    assert err.value.field == "network.dt"


def test_header_carries_the_unit_constants():
    desc = unit(3, plastic=(2,), rule={"w_min": 0.0, "w_max": 500.0})
    u = fixed_unit(desc.__class__(**{**desc.__dict__, "inputs": desc.inputs[:2] + (
        Input("s2", "inhibitory", 300.0, True),)}))
    text = config.header(u, pins.plan("u", 3, "wired"))
    defs = dict(re.findall(r"#define (\w+) (.+)", text))
    assert defs["LIF_D_M"] == f"{u.lif.D_m}u" and defs["LIF_V_TH"] == str(u.lif.v_th)
    # the plastic input first (config.input_order), with its receptor and its pin
    assert config.input_order(u) == [2, 0, 1] and defs["N_PLASTIC"] == "1"
    assert defs["SYN_WEIGHTS"] == "{ 1200, 400, 400 }" and defs["SYN_RECEPTOR"] == "{ 1, 0, 0 }"
    assert defs["SYN_PORT"] == "{ 1, 1, 1 }" and defs["SYN_MASK"] == "{ 4, 1, 2 }"
    assert defs["STDP_ON"] == "1" and defs["BUS_MODE"] == "0" and defs["TICK_OCR"] == "15999"
    assert defs["THETA_ON"] == "0" and defs["STDP_SCHEDULE"] == "0" and defs["STDP_NORM"] == "0"


def test_state_layout_round_trips():
    u = fixed_unit(unit(2))
    raw = bytes(range(config.state_size(u)))
    st = config.decode_state(raw, u)
    assert st["v"] == 0x0100 and st["ref"] == 6 and st["w"] == [0x1312, 0x1514]
    assert config.state_size(u) == 18 + 2 * 2 and not {"x_pre", "line", "c", "theta", "n_post"} & set(st)


def test_state_layout_of_a_digits_learner_has_theta_and_the_spike_count_and_its_inputs_in_order():
    """theta and n_post after the scalars; the plastic input (input 1) kept first, its trace alone."""
    rule = {"w_min": 0.0, "w_max": 500.0, "halve_every": 10, "halvings": 2}
    desc = unit(2, plastic=(1,), rule=rule)
    u = fixed_unit(desc.__class__(**{**desc.__dict__, "theta": 1.0}))
    assert u.theta == 256 and config.input_order(u) == [1, 0]
    raw = bytes(range(config.state_size(u)))
    st = config.decode_state(raw, u)
    assert config.state_size(u) == 18 + 2 + 2 + 2 * 2 + 2
    assert st["theta"] == 0x1312 and st["n_post"] == 0x1514
    assert st["w"] == [0x1918, 0x1716] and st["x_pre"] == [0, 0x1b1a]


def test_state_layout_of_a_learner_has_lines_eligibilities_and_the_reward():
    rule = {"rule": "rstdp", "tau_plus": 8.0, "tau_c": 64.0, "tau_d": 20.0, "A_plus": 5.0, "A_minus": 0.0,
            "w_min": 0.0, "w_max": 500.0}
    desc = unit(2, plastic=(0, 1), rule=rule)
    u = fixed_unit(desc.__class__(**{**desc.__dict__, "inputs": (desc.inputs[0], Input("s1", "excitatory", 100.0,
                                                                                          True, delay=5))}))
    raw = bytes(range(config.state_size(u)))
    st = config.decode_state(raw, u)
    assert config.state_size(u) == 18 + 8 * 2 + 1
    assert st["line"] == [0x1b1a, 0x1d1c] and st["c"] == [0x1f1e, 0x2120] and st["reward"] == 0x22


def test_bus_refuses_a_tick_too_short_for_the_slots():
    u = fixed_unit(unit(1, dt=0.25, address=5, params={"t_ref": 2.0}))
    with pytest.raises(ConfigError) as err:
        config.header(u, pins.plan("u", 1, "bus"), addresses={"s0": 1})
    assert err.value.field == "units.u.address" and "slot" in err.value.message


def test_wired_board_refuses_a_refractory_period_shorter_than_the_pulse():
    board = load_board(ROOT / "examples" / "board.toml")
    units = board.fixed()
    plan_board(board, units, "wired")
    short = [u.__class__(**{**u.__dict__, "lif": u.lif._replace(ref_steps=1)}) for u in units]
    with pytest.raises(ConfigError) as err:
        plan_board(board, short, "wired")
    assert "t_ref" in err.value.field and "2 ticks" in err.value.message
    plan_board(board, short, "bus")  # no pulses on the bus


def test_wire_pulses_keep_spikes_three_ticks_apart():
    s = np.zeros(20, dtype=bool)
    s[[0, 1, 2, 3, 7, 9, 10, 15]] = True
    assert list(np.flatnonzero(wire_pulses(s))) == [0, 3, 7, 10, 15]


def test_example_board_as_units():
    board = load_board(ROOT / "examples" / "board.toml")
    names = [u.name for u in board.units]
    assert names == ["sense.0", "sense.1", "relay", "brake"]
    assert set(board.sources) == {"touch.0", "touch.1"}
    sense = board.units[0]
    assert [i.source for i in sense.inputs] == ["touch.0", "touch.1", "relay", "brake"]
    assert [i.plastic for i in sense.inputs] == [True, True, False, False]
    assert sense.rule["w_max"] == 2600.0 and sense.rule["normalize_to"] == 2600.0
    relay = board.units[2]
    assert relay.rule is None and [i.source for i in relay.inputs] == ["sense.0", "sense.1"]
    # the feedback loop: sense -> relay -> sense
    assert "relay" in {i.source for i in sense.inputs} and "sense.0" in {i.source for i in relay.inputs}
    assert len(set(board.addresses.values())) == len(board.addresses)


def test_board_refusals(tmp_path):
    text = (ROOT / "examples" / "board.toml").read_text()
    delayed = tmp_path / "delayed.toml"
    delayed.write_text(text.replace("weight = 700.0\ndelay = 1.0", "weight = 700.0\ndelay = 16.0"))
    sense = load_board(delayed).units[0]
    assert [i.delay for i in sense.inputs if i.source == "relay"] == [16]   # the unit's delay line
    bad_delay = tmp_path / "delay.toml"
    bad_delay.write_text(text.replace("weight = 700.0\ndelay = 1.0", "weight = 700.0\ndelay = 17.0"))
    with pytest.raises(ConfigError) as err:
        load_board(bad_delay)
    assert err.value.field.endswith(".delay") and "1 to 16 ticks" in err.value.message
    bad_model = tmp_path / "model.toml"
    bad_model.write_text(text.replace('[populations.brake]\nn = 1\nmodel = "iaf_psc_exp"',
                                      '[populations.brake]\nn = 1\nmodel = "iaf_cond_exp"')
                         .replace(", tau_syn_in = 5.0, t_ref = 4.0, E_L = -70.0, V_reset = -72.0",
                                  ", tau_syn_in = 5.0, t_ref = 4.0, E_L = -70.0, V_reset = -72.0")
                         .replace("tau_m = 10.0, tau_syn_ex = 2.0, tau_syn_in = 5.0, t_ref = 4.0",
                                  "g_L = 25.0, tau_syn_ex = 2.0, tau_syn_in = 5.0, t_ref = 4.0"))
    with pytest.raises(ConfigError) as err:
        load_board(bad_model)
    assert err.value.field == "populations.brake.model"
    bad_rule = tmp_path / "rule.toml"
    bad_rule.write_text(text.replace('rule = "stdp"', 'rule = "bcm"'))
    with pytest.raises(ConfigError) as err:
        load_board(bad_rule)
    assert err.value.field.endswith("plasticity.rule")
