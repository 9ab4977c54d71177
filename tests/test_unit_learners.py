"""What a unit needs to run a learner: delay lines, reward-modulated STDP, integer scales chosen per network.

References: hand-derived sequences of the integer rule, the float rule's
own definition for the conversion, and the fixed-point engine against the
reference unit (neurobox.hardware.unit) for whole runs with rewards.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurobox as nb
from conftest import DIGITS_LIF, digits_network
from neurobox.engine.precision import choose_scales
from neurobox.errors import ConfigError
from neurobox.hardware.board import units_from_network
from neurobox.hardware.unit import Input, UnitDescription, fixed_unit, simulate
from neurobox.plasticity import rstdp_fixed
from neurobox.plasticity.rstdp_fixed import RstdpFixedParams, RstdpFixedState

LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
RSTDP = {"rule": "rstdp", "tau_plus": 8.0, "tau_c": 64.0, "tau_d": 20.0, "A_plus": 5.0, "A_minus": 0.0,
         "w_min": 0.0, "w_max": 4000.0}


def test_reward_rule_follows_its_hand_derived_sequence():
    p = RstdpFixedParams(k_pre=3, k_c=6, a_plus=1000, w_min=0, w_max=20000)
    s = RstdpFixedState(x=(0, 0), c=(0, 0), w=(5000, 5000))
    s = rstdp_fixed.step(s, [True, False], False, 0, p)      # input 0 arrives: its trace jumps to 2**14
    assert s == RstdpFixedState((16384, 0), (0, 0), (5000, 5000))
    s = rstdp_fixed.step(s, [False, False], True, 0, p)      # the unit fires one tick later
    x0 = 16384 - (16384 + 7) // 8                             # 14336: the trace decays before the pair is read
    assert s.x == (x0, 0) and s.c == ((1000 * x0) >> 14, 0) and s.w == (5000, 5000)
    c0 = s.c[0]
    s = rstdp_fixed.step(s, [False, False], False, -1, p)    # a punishment: w -= c (before c decays)
    assert s.w == (5000 - c0, 5000) and s.c[0] == c0 - (c0 + 63) // 64
    s = rstdp_fixed.step(s, [False, False], False, 1, RstdpFixedParams(3, 6, 1000, 0, 4900))
    assert 5000 - c0 + (c0 - (c0 + 63) // 64) > 4900 and s.w[0] == 4900   # a reward is clamped to w_max


def test_reward_rule_conversion_from_the_float_rule():
    fp = rstdp_fixed.fixed_rstdp_parameters({k: v for k, v in RSTDP.items() if k != "rule"}, 1.0, 0.25)
    tau_cd = 1.0 / (1 / 64.0 + 1 / 20.0)
    assert fp.a_plus == round(5.0 * tau_cd / 0.25)            # a pulse of 1 changes w by c tau_cd, as the float rule
    assert (fp.k_pre, fp.k_c) == (3, 6) and (fp.w_min, fp.w_max) == (0, 16000)
    with pytest.raises(ConfigError, match="A_minus"):
        rstdp_fixed.fixed_rstdp_parameters({**RSTDP, "A_minus": 1.0}, 1.0, 0.25)


def test_delay_line_delivers_d_ticks_after_sending():
    """A spike received in tick t (sent in t - 1) reaches the synapse in tick t + d - 1."""
    for delay in (1, 2, 7, 16):
        unit = fixed_unit(UnitDescription("u", LIF, 1.0, (Input("a", "excitatory", 100.0, delay=delay),)))
        pre = np.zeros((40, 1), dtype=bool)
        pre[5, 0] = True
        tr = simulate(unit, pre)
        assert np.flatnonzero(tr.i_ex)[0] == 5 + delay - 1
    with pytest.raises(ConfigError, match="1 to 16 ticks"):
        fixed_unit(UnitDescription("u", LIF, 1.0, (Input("a", "excitatory", 100.0, delay=17),)))


def reward_network(delay_ms: float = 3.0) -> nb.Network:
    """Two spike sources -> one learner with reward-modulated STDP (fixed point), one source delayed."""
    net = nb.Network(dt=1.0, seed=3, precision="fixed")
    times = [[float(t) for t in range(10, 2000, 37)], [float(t) for t in range(14, 2000, 53)]]
    net.population("src", 2, "spike_generator", {"spike_times": times})
    net.population("out", 1, "iaf_psc_exp", LIF)
    net.connect("src", "out", "explicit", pre_ids=[0], post_ids=[0], weight=3500.0, delay=1.0, name="strong")
    net.connect("src", "out", "explicit", pre_ids=[1], post_ids=[0], weight=2000.0, delay=delay_ms, name="learned",
                plasticity=RSTDP)
    return net


def test_fixed_engine_reward_rule_equals_the_reference_unit():
    """The engine's integer rule and the unit reference: same spikes, same weight after rewards and punishments."""
    net = reward_network()
    sim = nb.Simulation(net, progress=False)
    pulses = {200: 1, 450: -1, 700: 1, 1100: 1, 1500: -1}     # applied in the step after `reward` is called
    t = 0
    for at, pulse in pulses.items():
        sim.run(at - t)
        sim.reward(pulse)
        t = at
    res = sim.run(2000 - t)
    board = units_from_network(net)
    unit = board.fixed()[0]
    steps = 2000
    src = res.spikes["src"]
    pre = np.zeros((steps, unit.n_inputs), dtype=bool)
    for j, name in enumerate(unit.sources):               # received one tick after the source fired
        ticks = np.rint(src.t_ms[src.ids == int(name.split(".")[1])]).astype(int)
        pre[ticks[ticks < steps], j] = True
    reward = np.zeros(steps, dtype=np.int64)
    for at, pulse in pulses.items():
        reward[at] = pulse
    ref = simulate(unit, pre, reward=reward)
    ticks = np.rint(res.spikes["out"].t_ms).astype(int) - 1
    np.testing.assert_array_equal(ticks, np.flatnonzero(ref.spikes))
    learned = unit.plastic.index(True)
    assert sim.weights("learned")[2][0] == ref.weights[-1, learned] * unit.lif.I_lsb   # pA
    assert len(set(ref.weights[:, learned])) > 2             # the rewards moved the weight both ways


def test_reward_pulses_in_fixed_point_are_plus_or_minus_one():
    sim = nb.Simulation(reward_network(), progress=False)
    with pytest.raises(ConfigError, match="one pulse"):
        sim.reward(0.5)


def test_integer_scales_are_chosen_from_the_weights_or_declared():
    net = reward_network()
    assert choose_scales(net.populations["out"], 3500.0) == (2.0 ** -8, 0.25)
    assert choose_scales(net.populations["out"], 9000.0) == (2.0 ** -8, 1.0)   # 9000 pA: room for two
    net.populations["out"].fixed_point = {"I_lsb": 0.5}
    assert choose_scales(net.populations["out"], 9000.0)[1] == 0.5
    back = nb.loads(net.to_toml())
    assert back.populations["out"].fixed_point == {"I_lsb": 0.5}
    with pytest.raises(ConfigError, match="fixed_point.I_lsb"):
        nb.Network().population("p", 1, "iaf_psc_exp", fixed_point={"I_lsb": -1.0})


def test_a_unit_starts_from_its_configured_theta():
    """A trained unit starts where it stopped: its threshold raised by theta, which the board reads from the
    population's initial values (the only initial value a unit takes)."""
    board = units_from_network(digits_network())
    units = board.fixed()
    assert [u.theta for u in units] == [0, 100, 200, 300]
    assert board.units[3].theta == 300 * 2.0 ** -7                           # mV in the description
    pre = np.zeros((200, units[3].n_inputs), dtype=bool)
    pre[5:150:2, :4] = True
    raised, plain = simulate(units[3], pre), simulate(dataclasses.replace(units[3], theta=0), pre)
    assert raised.theta[0] == 300 and plain.theta[0] == 0
    assert plain.spikes.sum() > raised.spikes.sum() > 0
    with pytest.raises(ConfigError, match="theta / V_lsb"):
        fixed_unit(UnitDescription("u", DIGITS_LIF, 1.0, theta=-1.0, V_lsb=2.0 ** -7))
    with pytest.raises(ConfigError, match="theta / V_lsb"):
        fixed_unit(UnitDescription("u", DIGITS_LIF, 1.0, theta=600.0, V_lsb=2.0 ** -7))   # 76800 V_lsb
    net = digits_network()
    net.populations["exc"].initial["V_m"] = 0.0
    with pytest.raises(ConfigError) as err:
        units_from_network(net)
    assert err.value.field == "populations.exc.initial.V_m" and "theta" in err.value.message


def test_a_plastic_projection_brings_its_schedule_and_normalisation_to_the_units():
    stdp = units_from_network(digits_network()).fixed()[0].stdp
    assert (stdp.halve_every, stdp.halvings, stdp.norm_target) == (4, 3, 6000)
    net = reward_network()
    net.projections["learned"].plasticity.params["normalize_to"] = 100.0
    with pytest.raises(ConfigError, match="learn by reward do not normalise"):
        units_from_network(net)


def test_the_twin_starts_and_resets_units_at_their_configured_theta():
    from neurobox.hardware.unit import S_THETA
    from neurobox.twin.units import UnitBank

    units = units_from_network(digits_network()).fixed()
    bank = UnitBank(units)
    assert bank.st[:, S_THETA].tolist() == [0, 100, 200, 300]
    bank.st[2, S_THETA] = 9999                                               # grown while it ran
    bank.reset(2)
    assert bank.state(2)["theta"] == 200


def test_a_digits_board_is_the_same_on_the_fixed_engine_and_the_twin():
    """Trained thresholds, the learning-rate schedule, the normalisation and lateral inhibition: the twin's
    units on the bus at the board's planned speed (20 addresses: 500 kbaud) spike and learn as the engine."""
    from neurobox.twin import compare_with_engine, run_twin

    board = units_from_network(digits_network())
    res = run_twin(board, 1500.0, transport="bus")
    assert res.bus["baud"] == 500_000 and res.lost == 0
    assert compare_with_engine(board, res)["equal"]
    assert all(res.spike_ticks[f"exc.{i}"].size > 10 for i in range(4))
