"""The digital twin: its batched units, its ideal transports against independent references, its clocks."""
import numpy as np
import pytest

import neurobox as nb
from neurobox.examples import path
from neurobox.hardware.board import board_inputs, load_board, units_from_network
from neurobox.hardware.unit import UnitSim, simulate
from neurobox.twin import compare_with_engine, run_twin, summary
from neurobox.twin.clocks import Clock, nominal
from neurobox.twin.units import UnitBank

STEPS = 1500


@pytest.fixture(scope="module")
def board():
    return load_board(path("board"))


def test_bank_ticks_like_the_reference_unit(board):
    """The batched bank (slices of flat arrays, groups of units) against UnitSim, tick by tick, on random inputs."""
    units = board.fixed()
    bank = UnitBank(units)
    sims = [UnitSim(u) for u in units]
    rng = np.random.default_rng(1)
    all_units = np.arange(len(units), dtype=np.int64)
    frames = [0] * len(units)
    for t in range(600):
        arriving = rng.random(int(bank.ptr[-1])) < 0.15
        bank.step(all_units, arriving, t * 1_000_000)
        for k, (u, sim) in enumerate(zip(units, sims)):
            spiked, learned, sent = sim.tick(arriving[bank.ptr[k]:bank.ptr[k + 1]])
            frames[k] += sent is not None
            assert bank.spiked[k] == spiked and bank.learned[k] == learned, (t, u.name)
            assert bank.state(k)["v"] == sim.state.v and bank.state(k)["i_ex"] == sim.state.i_ex, (t, u.name)
            assert bank.weights(k).tolist() == sim.w.tolist(), (t, u.name)
            if sent is not None:
                assert bank.led_colour(k) == sent
    assert [bank.led_frames(k) for k in range(len(units))] == frames
    assert sum(s.w.tolist() != list(u.weights) for s, u in zip(sims, units) if u.stdp)


def test_ideal_bus_equals_fixed_point_engine(board):
    """Synchronous clocks, lossless bus: every unit's spike ticks and final weights equal the engine's."""
    res = run_twin(board, STEPS * board.dt, transport="bus")
    assert res.ideal and res.lost == 0
    net = nb.load(path("board"))
    net.precision = "fixed"
    sim = nb.Simulation(net, progress=False)
    eng = sim.run(STEPS * board.dt)
    total = 0
    for name in res.unit_names:
        pop, _, idx = name.partition(".")
        i = int(idx) if idx else 0
        s = eng.spikes[pop]
        steps = np.rint(s.t_ms[s.ids == i] / board.dt).astype(int) - 1
        np.testing.assert_array_equal(np.sort(steps), res.spike_ticks[name], err_msg=name)
        np.testing.assert_allclose(res.spike_times_ms[name], (res.spike_ticks[name] + 1) * board.dt)
        total += steps.size
    pre, post, w, _ = sim.weights("touch_sense")
    for i in range(2):
        learned = res.weights[f"sense.{i}"][list(board.fixed()[i].plastic_index)]  # from touch.0 and touch.1
        np.testing.assert_array_equal(np.sort(w[post == i]), np.sort(learned) * board.units[i].I_lsb)   # pA
    assert total > 25
    assert compare_with_engine(board, res)["equal"]
    lat = summary(res)["latency_ms"]
    assert lat == {"p50": 1.0, "p99": 1.0}


def test_ideal_wires_equal_the_wired_board_reference(board):
    """On wires, stimuli closer than WIRE_GAP ticks are not carried: the twin equals board_inputs(mode='wired')."""
    res = run_twin(board, STEPS * board.dt, transport="wire")
    inputs = board_inputs(board, STEPS, mode="wired")
    for u in board.fixed():
        ref = simulate(u, inputs[u.name])
        np.testing.assert_array_equal(np.flatnonzero(ref.spikes), res.spike_ticks[u.name], err_msg=u.name)
        np.testing.assert_array_equal(ref.weights[-1], res.weights[u.name], err_msg=u.name)
        assert res.led_frames[u.name] == len(ref.led_frames)
    assert set(res.lost_by_cause) <= {"wire_gap"}
    assert res.lost == res.lost_by_cause.get("wire_gap", 0) > 0
    assert not compare_with_engine(board, res)["equal"]  # the engine does not know about wire gaps


@pytest.mark.parametrize("transport, lag_ms", [("wire", 0.45), ("bus", 0.2)])
def test_clock_phase_inside_the_safe_window_changes_nothing(board, transport, lag_ms):
    """Units need no common clock: on wires up to half a tick of phase, on the bus less than the first slot."""
    ideal = run_twin(board, 1000.0, transport=transport)
    late = run_twin(board, 1000.0, transport=transport, faults=[f"phase:relay={lag_ms}ms", "phase:sense.1=0.1ms"])
    for name in ideal.unit_names:
        np.testing.assert_array_equal(ideal.spike_ticks[name], late.spike_ticks[name], err_msg=name)
    np.testing.assert_allclose(late.spike_times_ms["relay"], ideal.spike_times_ms["relay"] + lag_ms)
    assert not late.ideal and late.lost == ideal.lost


def test_bus_receiver_lagging_past_the_slot_takes_the_spike_in_the_same_tick(board):
    """relay lags 0.6 ms: the sense units' bytes (their slots end 0.296 / 0.336 ms after their tick) reach it
    before its own tick of the same index (0.6 ms later), and relay's byte (slot end 0.376 ms after its tick,
    0.976 ms board time) reaches the others before their next tick: latencies of 0.6 and 0.4 ms, not 1 tick."""
    res = run_twin(board, 1000.0, transport="bus", faults=["phase:relay=0.6ms"])
    ideal = run_twin(board, 1000.0, transport="bus")
    seen = set(np.round(res.latency_ms, 9).tolist())
    assert seen == {0.4, 0.6, 1.0}  # touch -> sense stays one tick
    assert any(not np.array_equal(res.spike_ticks[n], ideal.spike_ticks[n]) for n in res.unit_names)


def _oscillator(ppm_unit="osc"):
    """A unit driven by a constant current (fires regularly, no inputs) and a listener on its axon."""
    net = nb.Network(dt=1.0, seed=1, duration=2000.0)
    lif = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0, "E_L": -70.0,
           "V_reset": -70.0, "V_th": -55.0}
    net.population("osc", 1, "iaf_psc_exp", {**lif, "I_e": 420.0})
    net.population("ear", 1, "iaf_psc_exp", lif)
    net.connect("osc", "ear", "all_to_all", weight=3000.0, delay=1.0, receptor="excitatory")
    return units_from_network(net)


@pytest.mark.parametrize("ppm", [500.0, -300.0])
def test_drift_shifts_spike_times_by_the_expected_amount(ppm):
    b = _oscillator()
    ideal = run_twin(b, 2000.0, transport="wire")
    drift = run_twin(b, 2000.0, transport="wire", faults=[f"drift:osc={ppm:g}ppm"])
    k = ideal.spike_ticks["osc"]
    assert k.size > 20
    n = min(k.size, drift.spike_ticks["osc"].size)
    np.testing.assert_array_equal(drift.spike_ticks["osc"][:n], k[:n])  # the same ticks of its own clock...
    expected = np.round((k[:n] + 1) * 1e6 / (1 + ppm * 1e-6)) / 1e6     # ...at times scaled by 1 / (1 + ppm)
    np.testing.assert_array_equal(drift.spike_times_ms["osc"][:n], expected)
    shift = drift.spike_times_ms["osc"][:n] - ideal.spike_times_ms["osc"][:n]
    assert abs(shift[-1] + (k[n - 1] + 1) * ppm * 1e-6) < 0.001  # about -t * ppm
    # the listener still gets every spike, one tick of its own clock later, with a latency that drifts
    assert drift.lost == 0
    assert drift.latency_ms.max() - drift.latency_ms.min() > 0.5 * abs(shift[-1])


def test_clock_times():
    c = nominal(1.0)
    assert [c.time(k) for k in range(3)] == [1_000_000, 2_000_000, 3_000_000]
    fast = Clock(1_000_000, 1000.0, 0)
    assert fast.time(999) == round(1000 * 1e6 / 1.001)
    assert fast.restarted(5_000_000).time(0) == 5_000_000 + round(1e6 / 1.001)


def test_the_ledger_counts_every_spike_and_keeps_an_even_sample_of_latencies(monkeypatch):
    """A long run keeps constant memory: counts stay exact, latencies become every k-th delivery's."""
    from neurobox.twin import transport

    monkeypatch.setattr(transport, "LATENCY_SAMPLE", 8)
    ledger = transport.Ledger(np.array([3, 1]))
    latencies = []
    for tick in range(10):
        emit = np.arange(3, dtype=np.int64) + 100 * tick
        ledger.emitted(np.array([0]), 100 * tick)
        ledger.delivered(emit, 100 * tick + 50)
        latencies += list(100 * tick + 50 - emit)
        ledger.settle(100 * tick - 300)
    assert ledger.emitted_total == 10 and ledger.delivered_total == 30
    sample = ledger.latency_ns()
    assert list(sample) == latencies[::4]                 # 30 deliveries, at most 8 kept: every 4th
    assert ledger.tally(10_000) == (10, 30, 30)          # every spike sent; all due deliveries made
