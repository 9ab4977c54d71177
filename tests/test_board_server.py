"""The board server and session without a browser: protocol, errors, safety, fairness, touches, tasks, the twin,
weights, layout, colours."""
from __future__ import annotations

import json
import math
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import next_of
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import neurobox as nb
from neurobox.engine import compile_network
from neurobox.errors import ConfigError
from neurobox.board import demos
from neurobox.board.colours import led_range, screen_colours
from neurobox.board.inputs import BURST_HZ, HOLD_MS
from neurobox.board.layout import BOX_LIMIT, GRID_LIMIT, board_layout
from neurobox.board.protocol import MAX_MESSAGE, ProtocolError, parse
from neurobox.board.server import QUEUE_SIZE, BoardServer
from neurobox.board.session import LiveBoard, poke_amplitude


@pytest.fixture(scope="module")
def server():
    srv = BoardServer(LiveBoard(demos.recurrent(rate_hz=0.0)))
    srv.start_background()
    yield srv
    srv.stop()


def ws_url(srv):
    return f"ws://127.0.0.1:{srv.port}/ws"


BAD = [
    ("{not json", "not JSON"),
    ("x" * (MAX_MESSAGE + 10), "too large"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"type": "explode"}), "unknown message type"),
    (json.dumps({"type": "poke", "pop": "exc"}), "poke.id"),
    (json.dumps({"type": "poke", "pop": "exc", "id": 99}), "not in exc"),
    (json.dumps({"type": "poke", "pop": "touch", "id": 7}), "not in touch"),
    (json.dumps({"type": "poke", "pop": "nobody", "id": 0}), "no population"),
    (json.dumps({"type": "rate", "pop": "exc", "value": 5.0}), "not a Poisson source"),
    ('{"type": "current", "pop": "exc", "value": NaN}', "finite"),
    (json.dumps({"type": "speed", "value": 50}), "speed must be"),
    (json.dumps({"type": "pause", "paused": "yes"}), "true or false"),
    (json.dumps({"type": "reset", "extra": 1}), "unknown field"),
    ("[" * 2000 + "]" * 2000, "nested too deeply"),                   # under the size limit, deeper than json allows
    ("[" * 1500 + '{"type": "reset"}' + "]" * 1500, "nested too deeply"),
    ('{"a":' * 600 + "1" + "}" * 600, "unknown message type"),          # deep, but within what json parses
    (json.dumps({"type": "touch", "pop": "touch", "id": 0, "down": "yes"}), "touch.down"),
    (json.dumps({"type": "draw", "pop": "touch", "ids": []}), "draw.ids"),
    (json.dumps({"type": "draw", "pop": "touch", "ids": [0, 9]}), "not in touch"),
    (json.dumps({"type": "draw", "pop": "exc", "ids": [0]}), "not an input"),
    (json.dumps({"type": "reward", "value": 0.5}), "reward.value"),
    (json.dumps({"type": "reward"}), "rstdp"),                          # nothing here learns from rewards
    (json.dumps({"type": "learning", "on": True}), "nothing in this network is plastic"),
    (json.dumps({"type": "target", "name": "fpga"}), "target.name"),
    (json.dumps({"type": "target", "name": "twin"}), "cannot run this network"),   # initial values: not units
    (json.dumps({"type": "fault", "kind": "kill", "pop": "exc", "id": 0}), "switch the board to the twin"),
    (json.dumps({"type": "fault", "kind": "melt"}), "fault.kind"),
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
        a.send(json.dumps({"type": "learning", "on": False}))
        assert "learning off" in next_of(b, "notice")["message"]
        assert server.board.sim.learning is False
        a.send(json.dumps({"type": "reset"}))
        assert next_of(b, "reset")["t"] == pytest.approx(0.0)
        a.send(json.dumps({"type": "select", "pop": "exc", "id": 2}))
        assert next_of(a, "selected") == {"type": "selected", "pop": "exc", "id": 2}
        a.send(json.dumps({"type": "speed", "value": 1.0}))
        a.send(json.dumps({"type": "pause", "paused": False}))
        frame = next_of(a, "frame")
        assert frame["traces"]["exc/2"] and frame["thresholds"]["exc/2"] == pytest.approx(-55.0)


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
    board.sim.compiled.projections[1].weights[:] *= 0.5   # what a learning rule will do
    changed = board.advance(10.0)["weights"]
    assert changed[1] == pytest.approx((board.sim.compiled.projections[1].weights[board.view._masks[1]]).tolist())
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


def test_demo_errors():
    with pytest.raises(ConfigError, match="recurrent, gap, digits, xor"):
        demos.build_demo("tetris")
    assert isinstance(demos.build_demo("gap").net, nb.Network)


# -- safety: who may ask, what may be read --------------------------------------------------------
def raw_get(port, path, host=None):
    """Status line and body of a GET sent byte for byte (no client normalises the path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body.decode(errors="replace")


@pytest.mark.parametrize("path", ["/static/../session.py", "/static/..%2fsession.py", "/../server.py",
                                  "/static/%2e%2e/%2e%2e/pyproject.toml", "//etc/passwd", "/static//etc/passwd",
                                  "/static/../../../../../../etc/passwd", "/static/board.js/../../session.py"])
def test_path_traversal_is_refused(server, path):
    status, body = raw_get(server.port, path)
    assert " 404 " in status, (path, status)
    assert "import" not in body and "root:" not in body


def test_host_and_origin_are_checked(server):
    port = server.port
    assert " 200 " in raw_get(port, "/")[0]
    assert " 200 " in raw_get(port, "/", host=f"localhost:{port}")[0]
    status, body = raw_get(port, "/", host=f"attacker.example:{port}")       # DNS rebinding
    assert " 403 " in status and "host name" in body
    assert " 403 " in raw_get(port, "/", host="127.0.0.1:1")[0]              # another port
    with connect(ws_url(server), origin=f"http://localhost:{port}") as ws:   # the board's own page
        assert next_of(ws, "hello")["type"] == "hello"
    for origin in ("http://attacker.example", f"http://attacker.example:{port}", "null",
                   f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"):
        with pytest.raises(InvalidStatus) as refused:                        # cross-site WebSocket hijacking
            connect(ws_url(server), origin=origin, open_timeout=5)
        assert refused.value.response.status_code == 403, origin
    with pytest.raises(InvalidStatus):
        connect(ws_url(server), additional_headers={"Host": f"attacker.example:{port}"}, open_timeout=5)


def test_allow_origin_lets_one_more_site_in():
    srv = BoardServer(LiveBoard(demos.gap_pair()), allow_origins=["https://lab.example:8443/"])
    srv.start_background()
    try:
        with connect(ws_url(srv), origin="https://lab.example:8443") as ws:
            assert next_of(ws, "hello")["type"] == "hello"
        with pytest.raises(InvalidStatus):
            connect(ws_url(srv), origin="https://lab.example:9999", open_timeout=5)
        assert srv.host_allowed("lab.example:" + str(srv.port)) and not srv.host_allowed("other.example")
    finally:
        srv.stop()
    with pytest.raises(ValueError, match="not an origin"):
        BoardServer(LiveBoard(demos.gap_pair()), allow_origins=["lab.example"])


def test_one_page_flooding_steps_does_not_stall_another():
    """A page that sends `step` as fast as it can (each up to 1 s of a 200-neuron network) delays only itself:
    another page's frames keep coming and its own command is answered at once."""
    srv = BoardServer(LiveBoard(demos.recurrent(n_input=20, n_exc=144, n_inh=36)))
    srv.start_background()
    try:
        with connect(ws_url(srv)) as flood, connect(ws_url(srv)) as calm:
            next_of(flood, "state")
            next_of(calm, "state")
            stop = threading.Event()
            refused, sent = [], [0]

            def reader():
                while not stop.is_set():
                    try:
                        msg = json.loads(flood.recv(timeout=0.2))
                    except (TimeoutError, ConnectionClosed):
                        continue
                    if msg["type"] == "error":
                        refused.append(msg["message"])

            def flooder():
                while not stop.is_set():
                    flood.send(json.dumps({"type": "step", "ms": 1000.0}))
                    sent[0] += 1

            threads = [threading.Thread(target=reader), threading.Thread(target=flooder)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            arrivals, answered = [], None
            asked = time.monotonic()
            calm.send(json.dumps({"type": "select", "pop": "exc", "id": 1}))
            while time.monotonic() - asked < 3.0:
                msg = json.loads(calm.recv(timeout=5))
                if msg["type"] == "frame":
                    arrivals.append(time.monotonic())
                elif msg["type"] == "selected" and answered is None:
                    answered = time.monotonic() - asked
            stop.set()
            for t in threads:
                t.join(timeout=10)
        gaps = np.diff(arrivals)
        assert sent[0] > 1000                                      # it did flood
        assert answered is not None and answered < 1.0, answered    # the other page's command went through at once
        assert len(arrivals) > 30 and gaps.max() < 0.5, (len(arrivals), gaps.max())
        assert any(f"too many commands waiting ({QUEUE_SIZE})" in m for m in refused)
    finally:
        srv.stop()


# -- a finger on the board ----------------------------------------------------------------------
def count(frame, k, neuron=None):
    return sum(1 for s in frame["spikes"] if s["p"] == k for i in s["i"] if neuron is None or i == neuron)


def test_a_tap_fires_an_input_once_and_the_wave_goes_downstream():
    board = LiveBoard(demos.recurrent(rate_hz=0.0))
    assert count(board.advance(100.0), 0) == 0
    assert board.touch("touch", 1) == "spike"
    frame = board.advance(30.0)
    assert count(frame, 0) == 1 and count(frame, 0, 1) == 1       # the touched input, once, in the next step
    assert frame["spikes"][0]["t"][0] == pytest.approx(100.0 + board.dt)
    assert count(frame, 1) >= 1                                   # and the excitatory neurons it reaches fire


def test_holding_an_input_fires_a_burst_until_released():
    board = LiveBoard(demos.recurrent(rate_hz=0.0))
    board.advance(10.0)
    assert board.touch("touch", 0, True) == "burst"
    held = board.advance(500.0)
    expected = 1 + int((500.0 - HOLD_MS) * BURST_HZ / 1000.0)
    assert abs(count(held, 0, 0) - expected) <= 1
    board.touch("touch", 0, False)
    assert count(board.advance(300.0), 0) == 0


def test_touches_work_the_same_on_the_twin():
    xor = demos.build_demo("xor")
    board = LiveBoard(xor.net, target="twin")                  # no task: only the finger drives it
    board.advance(20.0)
    board.touch("input", 0)
    frame = board.advance(30.0)
    assert count(frame, 0, 0) == 1 and frame["twin"]["lost"] == 0
    with pytest.raises(ConfigError, match="units take no current"):
        board.touch("hidden", 2)
    with pytest.raises(ConfigError, match="units take no current"):
        board.set_current("hidden", 100.0)
    assert {c["kind"] for c in board.controls()} <= {"rate"}     # no current sliders for units


# -- learning you can see -------------------------------------------------------------------------
def test_xor_task_state_rises_and_rewards_reach_the_synapses():
    xor = demos.build_demo("xor")
    board = LiveBoard(xor.net, task=xor.task)
    first = board.advance(10.0)
    assert first["task"]["task"] == "xor" and first["task"]["trials"] == 0
    w0 = board.sim.weights("hidden_output")[2].copy()
    states = [f["task"] for f in (board.advance(500.0) for _ in range(60)) if "task" in f]
    last = states[-1]
    assert last["trials"] >= 90 and len(last["curve"]) >= 4
    assert last["curve"][-1] > last["curve"][0] and last["accuracy"] >= 0.9
    assert last["last"]["answer"] in (0, 1) and last["rewards"] > 0
    assert not np.array_equal(w0, board.sim.weights("hidden_output")[2])
    assert "reward sent" in board.reward(1)                       # the reward button, by hand
    assert board.task.state()["by_hand"] == 1
    board.reset()
    assert board.task.state()["trials"] == 0 and board.time < 1.0


def test_learning_switch_and_violet_while_learning():
    xor = demos.build_demo("xor")
    board = LiveBoard(xor.net, task=xor.task)
    moods = "".join(f.get("moods", "") for f in (board.advance(100.0) for _ in range(40)))
    assert "l" in moods                                           # a rewarded output learns: violet
    assert "learning off for hidden_output" in board.set_learning(False)
    assert board.handle.learning is False
    moods = "".join(f.get("moods", "") for f in (board.advance(100.0) for _ in range(20)))
    assert "l" not in moods


def test_digits_learn_on_the_page_and_answer_a_drawn_digit():
    digits = demos.build_demo("digits")
    board = LiveBoard(digits.net, task=digits.task)
    w0 = board.sim.weights("input_exc")[2].copy()
    for _ in range(40):
        board.advance(500.0)                                      # 20 s: about 140 digits
    state = board.task.state()
    assert state["shown"] > 100 and state["trials"] > 100
    assert len(state["fields"]) == 64 * 40 and max(state["neurons"]["labels"]) >= 0
    assert not np.array_equal(w0, board.sim.weights("input_exc")[2])          # it learns while shown
    seven = [1, 2, 3, 4, 5, 6, 13, 20, 27, 34, 41, 49]            # a 7 drawn on the 8x8 pixels
    assert "drawn" in board.draw("input", seven)
    w1 = board.sim.weights("input_exc")[2].copy()
    for _ in range(4):
        board.advance(100.0)
    drawn = board.task.state()["drawn"]
    assert drawn is not None and drawn["spikes"] > 0 and drawn["answer"] in range(10)
    assert board.sim.learning is True                             # paused for the drawing only
    assert w1.size == board.sim.weights("input_exc")[2].size


def test_leds_and_traces_use_the_effective_threshold():
    digits = demos.build_demo("digits")
    board = LiveBoard(digits.net, task=digits.task)
    board.advance(10.0)
    theta = np.linspace(0.0, 20.0, 40)
    board.sim.set_state("exc", "theta", theta)
    board.sim.set_state("exc", "V_m", -53.0)                    # above V_th = -52 mV less 1: near it for theta 0
    board.select("me", "exc", 39)
    frame = board.advance(board.dt)
    assert frame["thresholds"]["exc/39"] == pytest.approx(-52.0 + 20.0, abs=0.1)
    leds = np.frombuffer(bytes.fromhex(frame["leds"]), dtype=np.uint8).reshape(-1, 3)[64:]
    red = leds[:, 0].astype(int) - leds[:, 1]
    assert red[0] > 150 and red[-1] < 0                           # red near its own threshold only
    assert len({tuple(c) for c in leds}) > 10


# -- the physical board on screen --------------------------------------------------------------------
def test_twin_switch_kill_reset_cut_and_drop():
    xor = demos.build_demo("xor")
    board = LiveBoard(xor.net, task=xor.task)
    assert board.hello()["twin"] == {"ok": True, "why": None}
    assert "units of the twin over the bus" in board.set_target("twin", "bus")
    board.advance(1000.0)
    assert "hidden.6 is dead" in board.fault("kill", "hidden", 6)
    frame = board.advance(2000.0)
    leds = np.frombuffer(bytes.fromhex(frame["leds"]), dtype=np.uint8).reshape(-1, 3)
    assert leds[2 + 6].tolist() == [0, 0, 0] and frame["moods"][2 + 6] == "x"      # dark, and its face says so
    assert leds[2 + 5].any()
    assert frame["twin"]["lost"] > 0 and frame["twin"]["lost_by_cause"]["undelivered"] > 0
    assert 0.0 < frame["twin"]["bus_load"] < 1.0
    assert "EEPROM" in board.fault("reset", "hidden", 2)
    assert board.advance(board.dt)["moods"][2 + 2] == "x"
    board.advance(200.0)
    assert board.advance(board.dt)["moods"][2 + 2] != "x"       # booted again
    assert "the bus is cut" in board.fault("cut")
    lost = board.advance(1000.0)["twin"]["lost_by_cause"]
    assert lost.get("stuck_bus", 0) > 0
    with pytest.raises(ConfigError, match="input, not a unit"):
        board.fault("kill", "input", 0)
    board.set_target("twin", "wire")
    board.advance(100.0)
    assert "input.0 -> hidden.3 is cut" in board.fault("cut", "input", 0, "hidden", 3)
    assert "probability 0.5" in board.fault("drop", value=0.5)
    assert board.advance(2000.0)["twin"]["lost"] > 0
    board.set_target("engine")
    with pytest.raises(ConfigError, match="switch the board to the twin"):
        board.fault("kill", "hidden", 0)


def test_networks_the_units_cannot_run_say_why():
    board = LiveBoard(demos.recurrent())
    why = board.hello()["twin"]["why"]
    assert not board.hello()["twin"]["ok"] and "initial" in why
    with pytest.raises(ConfigError, match="cannot run"):
        board.set_target("twin")
    from neurobox.tasks import xor as task
    float_xor = LiveBoard(task.build_network(task.XorConfig(), 0)).hello()["twin"]
    assert not float_xor["ok"] and "delay line holds 1 to 16 ticks" in float_xor["why"]
    assert "iaf_cond_exp cannot be built" in LiveBoard(demos.build_demo("digits").net).hello()["twin"]["why"]


def test_large_networks_are_sampled_evenly_and_dense_projections_are_bundles():
    net = demos.recurrent(n_input=20, n_exc=3000, n_inh=100)
    layout, masks = board_layout(compile_network(net))
    exc = layout["populations"][1]
    assert exc["stride"] == 3 and exc["shown"] == 1000 <= GRID_LIMIT
    board = LiveBoard(net)
    board.set_current("exc", 2000.0)
    frame = board.advance(20.0)
    spikes = [s for s in frame["spikes"] if s["p"] == 1][0]
    assert max(spikes["i"]) < exc["shown"]                        # sample positions
    from neurobox.tasks import digits as task
    layout, masks = board_layout(compile_network(task.build_network(task.QUICK, 0)))
    assert [e["mode"] for e in layout["edges"]] == ["bundle", "bundle"] and masks == [None, None]
