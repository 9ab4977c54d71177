"""Faults injected into the twin have the effect they should, and bad fault specs say what is allowed."""
import numpy as np
import pytest

import neurobox as nb
from neurobox.errors import ConfigError
from neurobox.examples import path
from neurobox.hardware.board import load_board, units_from_network
from neurobox.twin import BusParams, parse_fault, run_twin
from neurobox.twin.faults import Dead, Drift, Drop, Phase, Reset, Stuck


@pytest.fixture(scope="module")
def board():
    return load_board(path("board"))


def test_reset_loses_state_but_keeps_the_weights_persisted_to_eeprom(board):
    persist = 200  # ticks between EEPROM snapshots (the firmware's PERSIST_STEPS, made short)
    base = run_twin(board, 2000.0, transport="bus", persist_steps=persist, record_weights=("sense.0",))
    res = run_twin(board, 2000.0, transport="bus", persist_steps=persist, faults=["reset:sense.0@700ms"])
    (r,) = res.resets
    history = dict(base.weight_trace["sense.0"])
    snapshot = history[600 * 1_000_000]            # taken in tick 599 (ends at 600 ms), copied by ~655 ms
    before = history[699 * 1_000_000]              # the weights when the reset came (before the 700 ms tick)
    initial = np.array(board.fixed()[0].weights)
    np.testing.assert_array_equal(r["weights_before"], before)
    np.testing.assert_array_equal(r["weights_after"], snapshot)   # kept: what EEPROM held
    assert not np.array_equal(snapshot, initial)                   # learned before the snapshot: survives
    assert not np.array_equal(before, snapshot)                    # learned after it: lost
    assert r["state_before"]["v"] != 0 or r["state_before"]["x_post"] != 0
    # up to the reset nothing changes; afterwards the unit starts from rest on its own, restarted clock
    k = base.spike_times_ms["sense.0"]
    np.testing.assert_array_equal(res.spike_times_ms["sense.0"][res.spike_times_ms["sense.0"] < 700], k[k < 700])
    assert not np.array_equal(res.spike_times_ms["sense.0"], k)


def test_reset_before_any_snapshot_returns_to_the_configured_weights(board):
    res = run_twin(board, 800.0, transport="wire", faults=["reset:sense.1@300ms+20ms"])
    (r,) = res.resets
    np.testing.assert_array_equal(r["weights_after"], board.fixed()[1].weights)
    assert not np.array_equal(r["weights_before"], r["weights_after"])
    assert r["boot_ms"] == 320.0
    t = res.spike_times_ms["sense.1"]
    assert not np.any((t > 300) & (t <= 321))  # down, then its first tick one period after boot


@pytest.mark.parametrize("transport", ["bus", "wire"])
def test_dropped_packets_never_arrive(board, transport):
    res = run_twin(board, 2000.0, transport=transport, faults=["drop:1.0"])
    assert res.delivered == 0 and res.spikes == 0   # the units only hear the stimuli, and nothing gets through
    assert res.lost == res.deliverable > 0
    part = run_twin(board, 2000.0, transport=transport, faults=["drop:0.3"], seed=5)
    dropped = part.lost_by_cause["dropped"]
    assert part.delivered + sum(part.lost_by_cause.values()) >= part.deliverable
    assert 0.2 < dropped / (dropped + part.delivered) < 0.4
    assert part.latency_ms.max() == 1.0            # whatever did arrive, arrived in the next tick, once
    again = run_twin(board, 2000.0, transport=transport, faults=["drop:0.3"], seed=5)
    np.testing.assert_array_equal(again.latency_ms, part.latency_ms)  # seeded


@pytest.mark.parametrize("transport", ["bus", "wire"])
def test_a_dead_unit_never_fires(board, transport):
    ideal = run_twin(board, 2000.0, transport=transport)
    assert ideal.spike_ticks["relay"].size > 0 and ideal.spike_ticks["brake"].size > 0
    res = run_twin(board, 2000.0, transport=transport, faults=["dead:relay"])
    assert res.spike_ticks["relay"].size == 0
    assert res.spike_ticks["brake"].size == 0      # brake only listens to relay
    late = run_twin(board, 2000.0, transport=transport, faults=["dead:relay@1000ms"])
    t = late.spike_times_ms["relay"]
    assert t.size > 0 and t.max() <= 1000.0
    np.testing.assert_array_equal(t, ideal.spike_times_ms["relay"][ideal.spike_times_ms["relay"] <= 1000.0])


def test_stuck_wire(board):
    low = run_twin(board, 2000.0, transport="wire", faults=["stuck:relay->brake=low"])
    assert low.spike_ticks["brake"].size == 0 and low.spike_ticks["relay"].size > 0
    high = run_twin(board, 2000.0, transport="wire", faults=["stuck:relay->brake=high@1000ms"])
    assert high.spurious == 1                      # one rising edge when the wire shorts high, then nothing
    ideal = run_twin(board, 2000.0, transport="wire")
    t, ti = high.spike_times_ms["brake"], ideal.spike_times_ms["brake"]
    np.testing.assert_array_equal(t[t <= 1000.0], ti[ti <= 1000.0])
    assert np.sum(t > 1002.0) == 0


def test_stuck_bus_loses_every_byte_after(board):
    res = run_twin(board, 2000.0, transport="bus", faults=["stuck:bus=low@1000ms"])
    assert res.lost_by_cause["stuck_bus"] > 0
    assert res.latency_ms.size > 0
    assert all(t.size == 0 or t.max() <= 1001.0 for t in res.spike_times_ms.values())


def _burst_board(n_sources=30):
    """n_sources stimulus neurons all firing in the same ticks, each onto one listening unit."""
    net = nb.Network(dt=1.0, seed=2, duration=200.0)
    net.population("burst", n_sources, "spike_generator", {"spike_times": [10.0, 50.0, 90.0, 130.0]})
    net.population("ear", 1, "iaf_psc_exp", {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "V_th": -55.0,
                                             "E_L": -70.0, "V_reset": -70.0})
    net.connect("burst", "ear", "all_to_all", weight=50.0, delay=1.0, receptor="excitatory")
    return units_from_network(net)


def test_bus_saturation_is_detected_and_reported():
    b = _burst_board(30)
    planned = run_twin(b, 200.0, transport="bus")     # 31 addresses: the board's bus is planned at 500 kbaud
    assert planned.bus["baud"] == 500_000 and not planned.bus["saturated"] and planned.lost == 0
    slots = run_twin(b, 200.0, transport="bus", bus=BusParams(baud=250_000))   # 18 slots a tick
    assert slots.bus["saturated"] and slots.lost_by_cause["no_slot"] > 0
    assert "slots" in slots.bus["saturation"][0]
    csma = run_twin(b, 200.0, transport="bus", bus=BusParams(access="csma", baud=250_000))
    # 30 bytes of 40 us from 256 us after the tick: 18 end by the next tick (0.976 ms), 12 miss it, per burst
    assert csma.bus["saturated"] and csma.bus["late_bytes"] == 4 * 12
    assert csma.bus["bus_load_peak"] == pytest.approx(0.744)  # busy from 0.256 ms to the end of the tick
    assert csma.latency_ms.max() == 2.0 and csma.latency_ms.min() == 1.0
    assert csma.lost == 0
    fine = run_twin(_burst_board(10), 200.0, transport="bus")
    assert not fine.bus["saturated"] and fine.bus["saturation"] == [] and fine.lost == 0


def test_slow_baud_overflows_the_transmitters():
    """3 sources firing in 5 consecutive ticks at 9600 baud (1.04 ms a byte): each transmitter holds 2 bytes."""
    net = nb.Network(dt=1.0, seed=2, duration=100.0)
    net.population("burst", 3, "spike_generator", {"spike_times": [10.0, 11.0, 12.0, 13.0, 14.0]})
    net.population("ear", 1, "iaf_psc_exp", {"t_ref": 2.0})
    net.connect("burst", "ear", "all_to_all", weight=50.0, delay=1.0, receptor="excitatory")
    res = run_twin(units_from_network(net), 100.0, transport="bus",
                   bus=BusParams(access="csma", baud=9600, tx_depth=2))
    assert res.bus["saturated"]
    assert res.lost_by_cause["tx_overflow"] > 0
    assert res.latency_ms.max() > 5.0
    assert res.delivered + res.lost_by_cause["tx_overflow"] == 15


GOOD = {
    "reset:sense.0@500ms": Reset("sense.0", 500_000_000, 0),
    "reset:sense.0@0.5s+20ms": Reset("sense.0", 500_000_000, 20_000_000),
    "drop:0.05": Drop(0.05),
    "drop:5%": Drop(0.05),
    "drift:relay=200ppm": Drift("relay", 200.0),
    "drift:*=-30": Drift("*", -30.0),
    "phase:relay=250us": Phase("relay", 250_000),
    "dead:brake": Dead("brake", 0),
    "dead:brake@1s": Dead("brake", 1_000_000_000),
    "stuck:relay->brake=high": Stuck("relay", "brake", True, 0),
    "stuck:touch.0->sense.0=low@10ms": Stuck("touch.0", "sense.0", False, 10_000_000),
    "stuck:bus=low": Stuck("bus", None, False, 0),
}


@pytest.mark.parametrize("spec", list(GOOD))
def test_fault_specs_parse(board, spec):
    wires = {"relay": ["sense.0", "sense.1", "brake"], "touch.0": ["sense.0"]}
    assert parse_fault(spec, [u.name for u in board.units], list(board.sources), wires) == GOOD[spec]


BAD = [
    ("explode:relay", "unknown fault 'explode'; allowed: reset, drop, drift, phase, dead, stuck"),
    ("relay", "expected KIND:ARGUMENTS"),
    ("reset:sense.0", "a reset needs a time"),
    ("reset:nobody@5ms", "unknown unit 'nobody'; units: sense.0, sense.1, relay, brake"),
    ("reset:relay@soon", "is not a time"),
    ("drop:1.5", "RATE must be in [0, 1]"),
    ("drop:lots", "is not a number"),
    ("drift:relay", "expected drift:UNIT=VALUE"),
    ("drift:relay=fast", "is not a number of ppm"),
    ("dead:relay@-5ms", "must be >= 0"),
    ("stuck:relay->brake=maybe", "high or low"),
    ("stuck:brake->relay=high", "there is no wire from brake to relay; brake's wires go to: sense.0, sense.1"),
    ("stuck:relay=high", "a wire is written SRC->DST"),
]


@pytest.mark.parametrize("spec, message", BAD)
def test_bad_fault_specs_say_what_is_allowed(board, spec, message):
    with pytest.raises(ConfigError, match="--fault") as err:
        run_twin(board, 10.0, transport="wire", faults=[spec])
    assert message in str(err.value)


def test_faults_that_do_not_fit_the_transport(board):
    with pytest.raises(ConfigError, match="applies to --transport wire"):
        run_twin(board, 10.0, transport="bus", faults=["stuck:relay->brake=high"])
    with pytest.raises(ConfigError, match="applies to --transport bus"):
        run_twin(board, 10.0, transport="wire", faults=["stuck:bus=high"])
    with pytest.raises(ConfigError, match="below one tick"):
        run_twin(board, 10.0, faults=["phase:relay=1.5ms"])
