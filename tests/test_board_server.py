"""The board server and session without a browser: protocol, errors, binding, pokes, weights, layout, colours."""
from __future__ import annotations

import json
import math
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import neurobox as nb
from neurobox.engine import compile_network
from neurobox.errors import ConfigError
from neurobox.board import demos
from neurobox.board.colours import led_range, screen_colours
from neurobox.board.layout import BOX_LIMIT, board_layout
from neurobox.board.protocol import MAX_MESSAGE, ProtocolError, parse
from neurobox.board.server import BoardServer
from neurobox.board.session import LiveBoard, poke_amplitude


@pytest.fixture(scope="module")
def server():
    srv = BoardServer(LiveBoard(demos.recurrent(rate_hz=0.0)))
    srv.start_background()
    yield srv
    srv.stop()


def ws_url(srv):
    return f"ws://127.0.0.1:{srv.port}/ws"


def next_of(ws, kind, limit=200):
    for _ in range(limit):
        msg = json.loads(ws.recv(timeout=5))
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} message")


BAD = [
    ("{not json", "not JSON"),
    ("x" * (MAX_MESSAGE + 10), "too large"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"type": "explode"}), "unknown message type"),
    (json.dumps({"type": "poke", "pop": "exc"}), "poke.id"),
    (json.dumps({"type": "poke", "pop": "exc", "id": 99}), "not in exc"),
    (json.dumps({"type": "poke", "pop": "touch", "id": 0}), "spike source"),
    (json.dumps({"type": "poke", "pop": "nobody", "id": 0}), "no population"),
    (json.dumps({"type": "rate", "pop": "exc", "value": 5.0}), "not a Poisson source"),
    ('{"type": "current", "pop": "exc", "value": NaN}', "finite"),
    (json.dumps({"type": "speed", "value": 50}), "speed must be"),
    (json.dumps({"type": "pause", "paused": "yes"}), "true or false"),
    (json.dumps({"type": "reset", "extra": 1}), "unknown field"),
]


def test_malformed_and_oversized_messages_get_an_error_and_the_server_goes_on(server):
    with connect(ws_url(server)) as ws:
        assert next_of(ws, "hello")["layout"]["populations"][1]["name"] == "exc"
        for raw, words in BAD:
            ws.send(raw)
            assert words in next_of(ws, "error")["message"]
        ws.send(b"\x00\x01")
        assert "binary" in next_of(ws, "error")["message"]
        ws.send(json.dumps({"type": "poke", "pop": "exc", "id": 1}))
        assert next_of(ws, "poked")["id"] == 1
        t0 = next_of(ws, "frame")["t"]
        assert next_of(ws, "frame")["t"] > t0            # still simulating and streaming
    with connect(ws_url(server)) as ws:                  # past the transport limit: that connection closes...
        next_of(ws, "hello")
        ws.send("y" * (2 << 20))
        with pytest.raises(ConnectionClosed):
            for _ in range(500):
                ws.recv(timeout=5)
    with connect(ws_url(server)) as ws:                  # ...and the server still serves
        assert next_of(ws, "hello")["type"] == "hello"


def test_binds_loopback_only_by_default(server):
    assert server.host == "127.0.0.1"
    assert server._server.sockets[0].getsockname()[0] == "127.0.0.1"
    page = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=5).read().decode()
    assert "board.js" in page
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/static/../session.py", timeout=5)
    others = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    try:                                                 # the address of the outward interface, if any
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect(("10.255.255.255", 1))             # UDP: sends nothing
        others.add(probe.getsockname()[0])
        probe.close()
    except OSError:
        pass
    others = {a for a in others if not a.startswith("127.") and a != "0.0.0.0"}
    for address in others:                               # not reachable from another interface
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=2).close()


def test_controls_change_state_for_every_page(server):
    with connect(ws_url(server)) as a, connect(ws_url(server)) as b:
        next_of(a, "state")
        next_of(b, "state")
        a.send(json.dumps({"type": "speed", "value": "max"}))
        assert next_of(b, "state")["speed"] == "max"
        a.send(json.dumps({"type": "pause", "paused": True}))
        assert next_of(b, "state")["paused"] is True
        a.send(json.dumps({"type": "step", "ms": 5.0}))
        f = next_of(b, "frame")
        assert f["t"] - f["t0"] == pytest.approx(5.0)
        a.send(json.dumps({"type": "learning", "on": True}))
        assert "learning on" in next_of(b, "notice")["message"]
        assert server.board.sim.learning is True
        a.send(json.dumps({"type": "reset"}))
        assert next_of(b, "reset")["t"] == pytest.approx(0.0)
        a.send(json.dumps({"type": "select", "pop": "exc", "id": 2}))
        assert next_of(a, "selected") == {"type": "selected", "pop": "exc", "id": 2}
        a.send(json.dumps({"type": "speed", "value": 1.0}))
        a.send(json.dumps({"type": "pause", "paused": False}))
        assert next_of(a, "frame")["traces"]["exc/2"]


def test_parse_accepts_the_documented_messages():
    assert parse('{"type": "speed", "value": 0.1}')["value"] == 0.1
    assert parse('{"type": "select", "pop": null}') == {"type": "select", "pop": None, "id": None}
    assert parse('{"type": "step"}')["ms"] is None
    with pytest.raises(ProtocolError, match="step.ms"):
        parse('{"type": "step", "ms": 0}')


def test_poke_makes_a_resting_neuron_fire_within_the_pulse():
    board = LiveBoard(demos.recurrent(rate_hz=0.0))
    board.advance(50.0)
    quiet = board.advance(20.0)
    assert quiet["spikes"] == []
    board.poke("exc", 4)
    frame = board.advance(board.poke_ms + 1.0)
    fired = [(s["p"], i) for s in frame["spikes"] for i in s["i"]]
    assert (1, 4) in fired
    # the amplitude: a LIF at rest driven by I crosses threshold at t = -tau ln(1 - (V_th - E_L) / (I R))
    p = demos.LIF
    amp = poke_amplitude(p, board.poke_ms)
    t_cross = -p["tau_m"] * math.log(1 - (p["V_th"] - p["E_L"]) / (amp * p["tau_m"] / p["C_m"]))
    assert t_cross < board.poke_ms


def test_current_and_rate_controls_change_activity():
    board = LiveBoard(demos.recurrent(rate_hz=0.0))
    count = lambda f, k: sum(len(s["i"]) for s in f["spikes"] if s["p"] == k)
    assert count(board.advance(300.0), 1) == 0
    board.set_current("exc", 600.0)                  # above the 375 pA rheobase: every neuron fires
    assert count(board.advance(300.0), 1) >= 12
    board.set_current("exc", 0.0)
    board.set_rate("touch", 200.0)
    assert count(board.advance(300.0), 0) > 60      # 3 sources at 200 Hz for 0.3 s: about 180
    with pytest.raises(ConfigError):
        board.set_rate("touch", -1.0)


def test_weights_are_read_from_the_engine_every_frame():
    board = LiveBoard(demos.recurrent(rate_hz=0.0))
    first = board.advance(10.0)
    assert [len(w) for w in first["weights"]] == [len(e["a"]) for e in board.layout["edges"]]
    assert "weights" not in board.advance(10.0)
    board.compiled.projections[1].weights[:] *= 0.5   # what a learning rule will do
    changed = board.advance(10.0)["weights"]
    assert changed[1] == pytest.approx((board.compiled.projections[1].weights[board._masks[1]]).tolist())
    assert changed[1][0] == pytest.approx(1000.0)


def test_layout_boxes_up_to_200_neurons_then_led_grids():
    small = demos.recurrent(n_input=20, n_exc=144, n_inh=36)
    layout, _ = board_layout(compile_network(small))
    assert sum(p["n"] for p in layout["populations"]) == BOX_LIMIT
    assert {p["mode"] for p in layout["populations"]} == {"boxes"}
    assert all(e["mode"] == "wires" for e in layout["edges"])
    big = demos.recurrent(n_input=20, n_exc=400, n_inh=100)
    layout, masks = board_layout(compile_network(big))
    assert {p["mode"] for p in layout["populations"]} == {"grid"}
    assert len(layout["nodes"]["x"]) == 520
    assert all(e["mode"] == "bundle" for e in layout["edges"]) and masks == [None] * 4


def test_led_colours_follow_the_shared_led_map():
    p = demos.LIF
    rgb = screen_colours(p, np.array([-70.0, -55.0, -85.0, -60.0]), np.array([False, False, False, True]))
    assert rgb[0].tolist() == [0, 255, 0]        # rest: green
    assert rgb[1].tolist() == [255, 0, 0]        # threshold: red
    assert rgb[2].tolist() == [0, 0, 255]        # inhibited by the full span: blue
    assert rgb[3].tolist() == [255, 255, 255]    # fired: white
    assert screen_colours(None, None, np.array([False, True]))[1].tolist() == [255, 255, 255]
    assert led_range({"E_L": -70.0, "V_th": -50.4, "V_reset": -60.0, "V_peak": 0.0}) == (-70.0, -50.4, -60.0)
    assert led_range({"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0, "V_th": 30.0}) == (-65.0, -50.0, -65.0)


def test_gap_demo_right_membrane_follows_left():
    board = LiveBoard(demos.gap_pair())
    board.select("t", "right", 0)
    board.select("u", "left", 0)
    frames = [board.advance(50.0) for _ in range(20)]
    left = np.array([v for f in frames for _, v in f["traces"]["left/0"]])
    right = np.array([v for f in frames for _, v in f["traces"]["right/0"]])
    assert right.max() > -68.0                    # pulled up by the left neuron, with no input of its own
    assert np.corrcoef(left, right)[0, 1] > 0.5


def test_learning_demos_feed_their_tasks():
    xor = demos.build_demo("xor")
    board = LiveBoard(xor.net, driver=xor.driver)
    for _ in range(60):                       # 3 s: ten trials of 300 ms
        board.advance(50.0)
    inputs = board.sim.spikes_between(0.0, board.time)["input"][0]
    assert inputs.size >= 16                   # two input spikes per trial
    assert xor.driver.rewards > 0 or board.sim.spikes_between(0.0, board.time)["output"][0].size == 0
    w0 = board.sim.weights("hidden_output")[2].copy()
    for _ in range(200):
        board.advance(50.0)
    assert xor.driver.rewards > 0
    assert not np.array_equal(w0, board.sim.weights("hidden_output")[2])   # it learns while shown
    board.reset()
    assert xor.driver.next_onset == 0.0 and board.time < 1.0


def test_demo_errors():
    with pytest.raises(ConfigError, match="recurrent, gap, digits, xor"):
        demos.build_demo("tetris")
    assert isinstance(demos.build_demo("gap").net, nb.Network)


def test_digits_demo_shows_test_digits_to_a_trained_network():
    digits = demos.build_demo("digits")
    board = LiveBoard(digits.net, driver=digits.driver)
    for _ in range(20):
        board.advance(50.0)                    # 1 s: about seven digits
    spikes = board.sim.spikes_between(0.0, board.time)
    assert spikes["input"][0].size > 200
    assert np.unique(spikes["exc"][1]).size >= 3   # different digits wake different neurons
