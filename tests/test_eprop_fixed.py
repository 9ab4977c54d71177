"""e-prop on the units: the fixed-point specification against hand-derived integers, the ATmega8 C bit-exact in
simavr for a small recurrent network, the SRAM planner's number of plastic inputs against what avr-gcc places, and
the twin carrying the host's error bytes and apply pulse, and the sine-wave task trained through the twin in fixed
point next to float."""
from __future__ import annotations

import dataclasses
import re
import subprocess

import numpy as np
import pytest

from conftest import require_tool
from neurobox.errors import ConfigError
from neurobox.hardware.avr import build as avr_build
from neurobox.hardware.avr import config, memory
from neurobox.hardware.avr.bus import plan_bus
from neurobox.hardware.avr.verify import verify_unit
from neurobox.hardware import plan
from neurobox.hardware.plan import plan_unit
from neurobox.hardware.unit import Input, UnitDescription, UnitSim, fixed_unit, simulate
from neurobox.plasticity import eprop_fixed
from neurobox.plasticity.eprop_fixed import EpropFixedParams, EpropFixedState

LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
EPROP = {"rule": "eprop", "eta": 3000.0, "tau_m_readout": 16.0, "w_min": -3000.0, "w_max": 3000.0}
"""tau_m = 10 ms -> k_z = 3; tau_m_readout = 16 ms -> k_kappa = 4, k_e = 12; V_th 15 mV above E_L = 3840 V_lsb ->
the surrogate's width W = 3840, k_psi = 4 (peak 240); eta = 3000 moves a weight by tens to hundreds of I_lsb per
apply under random errors."""


@pytest.fixture(scope="module")
def tools():
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")


def test_the_rule_follows_a_hand_derived_sequence():
    p = EpropFixedParams(k_z=3, k_kappa=4, k_e=12, width=3840, k_psi=4, eta_mul=200, k_eta=4, w_min=-5000,
                         w_max=5000)
    s = EpropFixedState(zbar=(0,), e=(0,), g=(0,), w=(1000,))
    seen = []
    # (arrived, psi, L, apply) per tick
    for arrived, psi, L, apply in ((True, 0, 0, False), (False, 240, 100, False), (False, 120, -100, False),
                                   (False, 0, 50, True)):
        s = eprop_fixed.step(s, (arrived,), psi, L, apply, p)
        seen.append((s.zbar[0], s.e[0], s.g[0], s.w[0]))
    assert seen == [
        (2048, 0, 0, 1000),          # decay(0) = 0, e and g stay 0; the spike adds Z_ONE after the eligibility
        (1792, 105, 41, 1000),       # zbar 2048 - 256; e = 240 * 1792 >> 12 = 105; g = 100 * 105 >> 8 = 41
        (1568, 143, -15, 1000),      # zbar - 224; e = 105 - 7 + (120 * 1568 >> 12 = 45); g = 41 + floor(-14300/256)
        (1372, 134, 26, 1012),       # apply: d = ((-15 >> 8) * 200 + 8) >> 4 = -12, w = 1012, g = 0, then + 6700 >> 8
    ]


def test_the_surrogate_is_piecewise_linear_and_zero_while_refractory():
    W, k = 3840, 4
    assert eprop_fixed.surrogate(3840, 3840, False, 0, W, k) == 240          # at threshold: the peak
    assert eprop_fixed.surrogate(1920, 3840, False, 0, W, k) == 120          # half way down
    assert eprop_fixed.surrogate(5760, 3840, False, 0, W, k) == 120          # symmetric above
    assert eprop_fixed.surrogate(0, 3840, False, 0, W, k) == 0               # at rest: W away
    assert eprop_fixed.surrogate(-500, 3840, False, 0, W, k) == 0
    assert eprop_fixed.surrogate(3000, 3840, False, 2, W, k) == 0            # refractory
    assert eprop_fixed.surrogate(0, 3840, True, 2, W, k) == 240              # fired: the peak
    assert eprop_fixed.learning_signal(np.array([45, -77, 0, 0]), np.array([61, -3, 9, 0])) == 45 * 61 + 77 * 3


def plain_eprop(unit, ref, pre, reward, error):
    """The rule re-derived with Python ints from the reference's membrane, refractory count and spikes: z-bar,
    eligibility, gradient and weights per tick."""
    p = unit.eprop
    n = unit.n_inputs
    zbar, e, g, w = [0] * n, [0] * n, [0] * n, list(unit.weights)
    fb = list(unit.feedback)
    out = []
    for t in range(len(pre)):
        if ref.spikes[t]:
            psi = p.width >> p.k_psi
        elif ref.ref[t] > 0:
            psi = 0
        else:
            psi = max(0, p.width - abs(int(ref.v[t]) - (unit.lif.v_th + int(ref.theta[t])))) >> p.k_psi
        L = sum(b * int(x) for b, x in zip(fb, error[t]))
        for j in range(n):
            if not unit.plastic[j]:
                continue
            if reward[t] > 0:
                d = ((g[j] >> 8) * p.eta_mul + (1 << (p.k_eta - 1))) >> p.k_eta
                w[j] = min(max(w[j] - d, p.w_min), p.w_max)
                g[j] = 0
            zbar[j] -= (zbar[j] + (1 << p.k_z) - 1) >> p.k_z
            e[j] = e[j] - ((e[j] + (1 << p.k_kappa) - 1) >> p.k_kappa) + ((psi * zbar[j]) >> p.k_e)
            g[j] = min(max(g[j] + ((L * e[j]) >> 8), -(2 ** 30 - 1)), 2 ** 30 - 1)
            if pre[t, j]:                    # every delay is one tick here
                zbar[j] = min(zbar[j] + 2048, 32767)
        out.append((list(zbar), list(e), list(g), list(w)))
    return out


def lonely_unit(feedback=(0.7, -1.2)) -> UnitDescription:
    return UnitDescription("u", {**LIF, "I_e": 300.0}, 1.0,
                           tuple(Input(s, "excitatory", 1000.0, True) for s in "abc")
                           + (Input("d", "inhibitory", -500.0, False),), EPROP, 3, feedback=feedback)


def test_the_unit_runs_the_rule_as_written():
    unit = fixed_unit(lonely_unit())
    assert unit.eprop.k_z == 3 and unit.eprop.k_e == 12 and unit.feedback == (45, -77)
    rng = np.random.default_rng(0)
    steps = 500
    pre = rng.random((steps, 4)) < 0.1
    error = rng.integers(-64, 64, (steps, 2))
    reward = np.zeros(steps, dtype=np.int64)
    reward[150::150] = 1
    ref = simulate(unit, pre, reward=reward, error=error)
    want = plain_eprop(unit, ref, pre, reward, error)
    for t in range(steps):
        got = [list(ref.x_pre[t]), list(ref.eligibility[t]), list(ref.gradient[t]), list(ref.weights[t])]
        assert got == [list(x) for x in want[t]], t
    assert ref.spikes.sum() > 20 and (ref.gradient > 0).any() and (ref.gradient < 0).any()
    assert len(set(map(tuple, ref.weights[:, :3]))) == 4         # three applies each moved the weights
    assert (ref.weights[:, 3] == unit.weights[3]).all()           # the static input never moves


def test_bad_e_prop_units_are_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"units\.u\.feedback.*needs its feedback weights"):
        fixed_unit(lonely_unit(feedback=()))
    with pytest.raises(ConfigError, match=r"units\.u\.feedback\[1\].*int8"):
        fixed_unit(lonely_unit(feedback=(0.5, 3.0)))
    unit = fixed_unit(lonely_unit())
    with pytest.raises(ConfigError, match="unit u learns by e-prop: it hears the host's error bytes on the bus"):
        plan_unit(unit, "wired")
    with pytest.raises(ConfigError, match=r"^error: expected \(5, readouts <= 4\) error bytes in \[-64, 63\]"):
        simulate(unit, np.zeros((5, 4), bool), error=np.full((5, 1), 64))


def small_network():
    """Three e-prop units, recurrent, fed by two stimulus sources s0, s1 (addresses 10, 11): unit a (address 0)
    hears s0, s1, b and c; b hears s0, a (delay 3) and, inhibitory and fixed, c; c hears s1, a and b."""
    def unit(name, address, inputs, I_e):
        return fixed_unit(UnitDescription(name, {**LIF, "I_e": I_e}, 1.0, inputs, EPROP, address,
                                          feedback=(0.9, -0.4)))
    a = unit("a", 0, (Input("s0", "excitatory", 1800.0, True), Input("s1", "excitatory", 1200.0, True),
                      Input("b", "excitatory", 600.0, True), Input("c", "inhibitory", -700.0, True)), 250.0)
    b = unit("b", 1, (Input("s0", "excitatory", 1500.0, True), Input("a", "excitatory", 900.0, True, 3),
                      Input("c", "inhibitory", -800.0, False)), 300.0)
    c = unit("c", 2, (Input("s1", "excitatory", 1600.0, True), Input("a", "excitatory", 800.0, True),
                      Input("b", "excitatory", 700.0, True)), 280.0)
    return [a, b, c], {"a": 0, "b": 1, "c": 2, "s0": 10, "s1": 11}


def network_inputs(units, stimulus, reward, error):
    """Each unit's received spikes when the three run together (a unit's spike of tick t is received in t + 1,
    a stimulus spike in its own tick), from the reference units stepped side by side."""
    steps = len(reward)
    sims = {u.name: UnitSim(u) for u in units}
    fired = {u.name: False for u in units}
    received = {u.name: np.zeros((steps, u.n_inputs), dtype=bool) for u in units}
    for t in range(steps):
        now = {}
        for u in units:
            row = [stimulus[s][t] if s in stimulus else fired[s] for s in u.sources]
            received[u.name][t] = row
            now[u.name], _, _ = sims[u.name].tick(row, int(reward[t]), error=error[t])
        fired = now
    return received


def test_a_small_e_prop_network_is_bit_exact_in_simavr(tools, tmp_path):
    units, addresses = small_network()
    steps = 400
    rng = np.random.default_rng(7)
    stimulus = {"s0": rng.random(steps) < 0.12, "s1": rng.random(steps) < 0.12}
    error = rng.integers(-64, 64, (steps, 2))
    error[5] = (-64, 63)                                     # both ends of the byte
    reward = np.zeros(steps, dtype=np.int64)
    reward[[120, 250, 380]] = 1                               # the apply pulses
    received = network_inputs(units, stimulus, reward, error)
    bus = plan_bus(12, 1.0)
    for u in units:
        result = verify_unit(u, plan_unit(u, "bus", bus), received[u.name], tmp_path / u.name, addresses=addresses,
                             reward=reward, error=error, bus=bus)
        assert result.steps == steps and result.mismatch is None and result.bit_exact, (u.name, result.mismatch)
        assert result.output_ok and result.led_ok, (result.output_faults[:2], result.led_faults[:2])
        ref = result.reference
        plastic = list(u.plastic_index)
        assert result.spikes > 10, u.name
        assert (ref.gradient[:, plastic] > 0).any() and (ref.gradient[:, plastic] < 0).any(), u.name
        assert (ref.eligibility[:, plastic] > 0).any() and ref.x_pre[:, plastic].max() > 2048, u.name
        moved = ref.weights[-1, plastic] != np.array(u.weights)[plastic]
        assert moved.all(), (u.name, ref.weights[-1], u.weights)
        seen = np.array([st["err"] for st in result.run.states])
        assert (seen == error).all() and [st["apply"] for st in result.run.states].count(1) == 3
        assert result.cycles_per_update < config.tick_timer(u.dt).cycles // 2, result.cycles_per_update


def wide_unit(n: int, dt: float = 4.0, readouts: int = 1) -> tuple:
    """An e-prop unit with n plastic inputs from addresses 0 .. n - 1 (its own address n) on a bus of 64 slots
    (a tick of 4 ms leaves time for all of them)."""
    desc = UnitDescription("w", {**LIF, "I_e": 300.0}, dt, tuple(Input(f"s{j}", "excitatory", 10.0, True)
                                                                 for j in range(n)), EPROP,
                           n, feedback=(0.5, -0.3, 0.2, 0.9)[:readouts])
    return fixed_unit(desc), {f"s{j}": j for j in range(n)}, plan_bus(64, dt)


def test_the_planner_refuses_more_plastic_inputs_than_fit_in_one_line():
    unit, _, bus = wide_unit(4)
    k = memory.trace_capacity(unit, bus)
    assert 50 <= k <= 70
    plan_unit(wide_unit(k)[0], "bus", bus)
    with pytest.raises(ConfigError, match=rf"unit w needs \d+ B of SRAM, an ATmega8 has 1024.*at most {k} inputs"):
        plan_unit(wide_unit(k + 1)[0], "bus", bus)


def _sram(tmp_path, n: int, name: str) -> tuple[int, int, int]:
    """(data + bss bytes avr-size reports, sizeof(struct unit_state) as avr-nm reports the symbol, the state
    size the emulator decodes) of the firmware of wide_unit(n)."""
    unit, addresses, bus = wide_unit(n)
    image = avr_build.build(config.header(unit, plan_unit(unit, "bus", bus), addresses=addresses, bus=bus),
                            tmp_path / name, name)
    text = subprocess.run(["avr-size", "-A", str(image.elf)], capture_output=True, text=True, check=True).stdout
    sections = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\.(\w+)\s+(\d+)", text, re.MULTILINE)}
    symbols = subprocess.run(["avr-nm", "-S", str(image.elf)], capture_output=True, text=True, check=True).stdout
    size = next(int(p[1], 16) for p in (line.split() for line in symbols.splitlines()) if len(p) == 4 and p[3] == "unit")
    return sections.get("data", 0) + sections.get("bss", 0), size, config.state_size(unit)


def test_the_planners_limit_matches_what_the_compiler_places(tools, tmp_path):
    unit, _, bus = wide_unit(4)
    k = memory.trace_capacity(unit, bus)
    low, low_struct, low_decoded = _sram(tmp_path, k - 10, "low")
    high, high_struct, high_decoded = _sram(tmp_path, k, "high")
    assert (low_struct, high_struct) == (low_decoded, high_decoded)       # the struct is what the emulator reads
    per_input = (high - low) / 10
    assert per_input == 13          # w, z-bar, eligibility (2 B each), gradient (4 B), EEPROM copy (2 B), flag (1 B)
    # with the planner's stack margin, k inputs fit the 1024 B and one more would not
    assert high + memory.STACK_BYTES <= avr_build.SRAM_BYTES < high + per_input + memory.STACK_BYTES


def test_the_twin_carries_the_hosts_error_bytes_and_apply_pulse_to_every_unit():
    """A three-unit e-prop board in the twin's session on the bus: the host, answering after every tick k, hears
    the units' spikes of tick k - 1 and its error bytes and apply pulse are seen in tick k + 1. Checked against
    the reference unit (`simulate`) fed by hand: each input's spikes one tick late, error[k + 1] = the bytes sent
    after tick k, the apply pulse likewise: gradients, eligibilities, z-bar and weights equal at the end."""
    from neurobox.hardware.board import units_from_network
    from neurobox.twin.session import TwinSession

    board = units_from_network(eprop_network(w_in=1500.0, eta=3000.0))
    session = TwinSession(board, transport="bus")
    steps, apply_after = 80, 40
    sent = np.zeros((steps + 1, 2), dtype=np.int64)
    heard = {}

    def host(k, fired):
        heard[k] = sorted(fired.tolist())
        sent[k] = ((k % 7) * 9 - 27, 40 - (k % 5) * 20)     # two readouts, both signs, within -64 .. 63
        session.send_errors(sent[k].tolist())
        if k == apply_after:
            session.apply()

    session.advance(float(steps), each_tick=host)
    result = session.result()
    assert result.bus["error_bytes"] == {"sent": 2 * steps, "lost": 0} and not result.bus["saturated"]
    fired_in = {k: sorted(u for u, name in enumerate(result.unit_names) if k in result.spike_ticks[name])
                for k in range(steps)}
    assert all(heard[k] == fired_in[k - 1] for k in range(1, steps)) and heard[0] == []
    assert sum(len(v) for v in fired_in.values()) > 5
    stim = session.spikes_between(0.0, float(steps))
    ticks = {name: result.spike_ticks[name] for name in result.unit_names}
    for name, (pop, i) in board.sources.items():
        t_ms, ids = stim[pop]
        ticks[name] = np.rint(t_ms[ids == i]).astype(np.int64) - 1
    error = np.zeros((steps, 2), dtype=np.int64)
    error[1:] = sent[:steps - 1]
    reward = np.zeros(steps, dtype=np.int64)
    reward[apply_after + 1] = 1
    moved = 0
    for u, desc in enumerate(board.units):
        unit = fixed_unit(desc)
        pre = np.zeros((steps, unit.n_inputs), dtype=bool)
        for j, source in enumerate(unit.sources):
            pre[ticks[source][ticks[source] < steps - 1] + 1, j] = True
        ref = simulate(unit, pre, reward=reward, error=error)
        a, b = session.bank.ptr[u], session.bank.ptr[u + 1]
        assert (ref.gradient[-1] == session.bank.g[a:b]).all() and (ref.eligibility[-1] == session.bank.c[a:b]).all()
        assert (ref.x_pre[-1] == session.bank.x[a:b]).all() and (ref.weights[-1] == session.bank.w[a:b]).all()
        assert ref.spikes.nonzero()[0].tolist() == result.spike_ticks[desc.name].tolist()
        moved += int((ref.weights[apply_after + 1] != ref.weights[apply_after]).sum())
    assert moved >= 3                                                       # the apply pulse moved weights


def test_the_hosts_bytes_are_refused_in_one_line():
    from neurobox.hardware.board import units_from_network
    from neurobox.twin.session import TwinSession

    session = TwinSession(units_from_network(eprop_network()), transport="bus")
    for bad in ([64], [-65], [1.5], [], [1, 2, 3, 4, 5]):
        with pytest.raises(ConfigError, match=r"errors: one error byte per readout \(1 to 4\), each an integer in "
                                              r"\[-64, 63\]"):
            session.send_errors(bad)
    wired = TwinSession(units_from_network(eprop_network()), transport="wire", explore=True)
    with pytest.raises(ConfigError, match="errors: the error bytes travel on the bus only"):
        wired.send_errors([1])
    with pytest.raises(ConfigError, match="each_tick: the host hears the units' spikes on the bus"):
        wired.advance(1.0, each_tick=lambda k, fired: None)
    import neurobox as nb

    static = nb.Network(dt=1.0, seed=3)
    static.add(nb.Population(2, "poisson_generator", {"rate": 50.0}, name="inp"))
    static.add(nb.Population(2, "iaf_psc_exp", {}, name="rec"))
    static.connect("inp", "rec", "all_to_all", weight=300.0, delay=1.0)
    plain = TwinSession(units_from_network(static), transport="bus")
    for call in (plain.apply, lambda: plain.send_errors([1])):
        with pytest.raises(ConfigError, match=r"no unit of this board learns by e-prop"):
            call()


def test_sine_waves_train_in_the_twin_as_on_an_ideal_bus():
    """Through the twin's session (bus, ideal clocks, no faults) the units train bit for bit as the UnitBank
    stepped directly with the same latency: the same losses and the same weights."""
    from neurobox.tasks.eprop_units import UnitSineConfig, reference, train

    cfg = UnitSineConfig()
    twin, ideal = train(cfg, iterations=3), reference(cfg, 3, "fixed")
    assert twin.loss == ideal.loss and twin.weights == ideal.weights
    assert twin.loss[2] < twin.loss[0]


def test_sine_waves_trained_in_the_twin_in_fixed_point_next_to_float():
    """20 iterations of sine_waves's task at 20 inputs and 30 units in the twin: the loss falls below half its
    start (a silent readout's 0.5 sum y*^2 of sine_waves's target), within 10 % of the same units in float (the
    quantisation reference)."""
    from neurobox.tasks import sine_waves
    from neurobox.tasks.eprop_units import UnitSineConfig, train

    cfg = UnitSineConfig()
    learned = train(cfg, iterations=20, compare=("float",))
    start, end, floating = learned.loss[0], np.mean(learned.loss[-3:]), np.mean(learned.float_loss[-3:])
    y_star = sine_waves.target_signal(cfg.task(), cfg.seed)
    assert start == pytest.approx(0.5 * float(np.sum(y_star ** 2)), rel=0.1)
    assert len(learned.loss) == 20 and end < 0.5 * start, learned.loss
    assert abs(end - floating) < 0.1 * floating, (end, floating)
    assert 3.0 < learned.rate_hz < 50.0
    assert learned.as_dict()["float"]["loss"] == learned.float_loss and "engine" not in learned.as_dict()


@pytest.mark.slow
def test_sixty_iterations_beat_the_readout_alone_and_the_engine_learns_the_same_task():
    """60 iterations in the twin take the loss below 45 % of its start and below what the host's readout reaches
    alone (the units' steps rounded to nothing); the engine's e-prop (eprop_iaf, EpropTrainer) on the same input,
    target and sizes learns too, and the Training result carries both curves."""
    from neurobox.tasks.eprop_units import UnitSineConfig, board, reference, train

    cfg = UnitSineConfig()
    learned = train(cfg, iterations=60, compare=("engine",))
    alone = reference(dataclasses.replace(cfg, eta=1e-4), 60)
    assert alone.weights == [list(fixed_unit(d).weights) for d in board(cfg, 1)[0].units]
    start, end = learned.loss[0], float(np.mean(learned.loss[-5:]))
    assert end < 0.45 * start, learned.loss
    assert end < 0.88 * float(np.mean(alone.loss[-5:])), (learned.loss[-5:], alone.loss[-5:])
    engine = learned.as_dict()["engine"]
    assert len(engine["loss"]) == 60 and engine["final_loss"] < 0.8 * engine["loss"][0]


def eprop_network(w_in: float = 300.0, **options):
    import neurobox as nb

    net = nb.Network(dt=1.0, seed=3)
    net.add(nb.Population(4, "poisson_generator", {"rate": 50.0}, name="inp"))
    net.add(nb.Population(3, "iaf_psc_exp", {"C_m": 250.0, "tau_m": 20.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0},
                          name="rec"))
    net.add(nb.Population(2, "eprop_readout", {"tau_m": 16.0}, name="out"))
    rule = {"rule": "eprop", "eta": 60.0, "Wmin": -4000.0, "Wmax": 4000.0, **options}
    net.connect("inp", "rec", "all_to_all", weight=w_in, delay=1.0, plasticity=rule)
    net.connect("rec", "rec", "all_to_all", weight=100.0, delay=1.0, plasticity=rule)
    net.connect("rec", "out", "all_to_all", weight=0.1, delay=1.0, plasticity=rule)
    net.connect("out", "rec", "all_to_all", weight=0.5, delay=1.0)
    return net


def test_a_network_under_rule_eprop_becomes_units_with_the_host_as_readout():
    from neurobox.hardware.board import units_from_network

    board = units_from_network(eprop_network())
    assert list(board.readouts) == ["out.0", "out.1"] and "out.0" not in board.addresses
    assert [u.name for u in board.units] == ["rec.0", "rec.1", "rec.2"]
    unit = fixed_unit(board.units[0])
    assert unit.rule == "eprop" and unit.feedback == (32, 32)              # B = 0.5 from each readout
    assert unit.n_inputs == 7 and all(unit.plastic)                         # 4 inputs, 3 recurrent (no readout)
    assert unit.eprop.k_kappa == 4 and unit.eprop.w_max == 16000           # tau_m of the readout; 4000 pA
    with pytest.raises(ConfigError, match=r"optimizer.*'gradient_descent'"):
        units_from_network(eprop_network(optimizer="adam"))
    with pytest.raises(ConfigError, match=r"feedback.*'random'"):
        units_from_network(eprop_network(feedback="symmetric"))


def test_the_planner_refuses_more_e_prop_inputs_than_a_tick_has_time_for():
    assert plan.eprop_inputs_per_tick(1.0) == 27
    unit, _, bus = wide_unit(27, dt=1.0)
    plan_unit(unit, "bus", bus)
    with pytest.raises(ConfigError, match=r"unit w learns by e-prop on 28 inputs: its busiest tick takes up to "
                                          r"\d+ cycles, a 1 ms tick has 16000; give it at most 27 plastic inputs"):
        plan_unit(wide_unit(28, dt=1.0)[0], "bus", bus)


@pytest.mark.parametrize("n", [8, 30])
def test_the_busiest_tick_stays_within_the_planners_bound(tools, tmp_path, n):
    """Every input firing in every tick, four error bytes, an apply pulse: the cycles simavr counts stay below
    the planner's bound and close to it."""
    unit, addresses, bus = wide_unit(n, readouts=4)
    steps = 40
    reward = np.zeros(steps, dtype=np.int64)
    reward[20] = 1
    result = verify_unit(unit, plan_unit(unit, "bus", bus), np.ones((steps, n), bool), tmp_path, addresses=addresses,
                         reward=reward, error=np.full((steps, 4), -50), bus=bus)
    assert result.bit_exact, result.mismatch
    bound = plan.EPROP_TICK_CYCLES + n * plan.EPROP_INPUT_CYCLES
    assert result.cycles_per_update == result.run.busy_cycles[20]          # the apply tick is the busiest
    assert 0.8 * bound < result.cycles_per_update <= bound, (result.cycles_per_update, bound)


def _train_cli(*argv) -> int:
    """`neurobox train ...` in this process (NeuroboxError raised, not printed)."""
    import argparse

    from neurobox.cli import train as train_cli

    parser = argparse.ArgumentParser(prog="neurobox")
    train_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", *[str(a) for a in argv]])
    return int(args.func(args) or 0)


def test_train_sine_waves_on_the_twin_from_the_command_line(tmp_path, capsys):
    """`neurobox train sine-waves --target twin`: the twin's fixed-point loss next to the float units' and the
    engine's, as JSON and as a line, the curves saved; the twin target is refused for the other e-prop task."""
    import json

    from neurobox.tasks import eprop_units

    out = tmp_path / "run"
    assert _train_cli("sine-waves", "--target", "twin", "--iterations", 3, "--json", "--out", out) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["target"] == "twin" and s["iterations"] == 3 and s["seed"] == 0
    assert len(s["loss"]) == len(s["float"]["loss"]) == len(s["engine"]["loss"]) == 3
    assert s["final_loss"] == pytest.approx(np.mean(s["loss"])) and s["ms_per_iteration"] > 0
    saved = json.loads((out / eprop_units.CURVE_FILE).read_text())
    assert saved["loss"] == s["loss"] and saved["engine"]["loss"] == s["engine"]["loss"]
    assert (out / eprop_units.LOSS_PNG).read_bytes()[:4] == b"\x89PNG"
    assert _train_cli("sine-waves", "--target", "twin", "--iterations", 2, "--quiet", "--force", "--out", out) == 0
    text = capsys.readouterr().out
    assert re.search(r"sine waves on 30 units \(twin, fixed point\): loss [\d.]+ -> [\d.]+ in 2 iterations, \d+ ms "
                     r"per iteration; the same units in float [\d.]+; the engine's e-prop \(eprop_iaf\) [\d.]+", text)
    with pytest.raises(ConfigError, match=r"--target: does not apply to evidence"):
        _train_cli("evidence", "--target", "twin", "--out", tmp_path / "e")
    with pytest.raises(ConfigError, match=r"--target: does not apply to sine-waves"):
        _train_cli("sine-waves", "--target", "fixed", "--out", tmp_path / "f")
