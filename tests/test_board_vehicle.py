"""`neurobox board --demo vehicle`: the vehicle's arena in the frames, the vehicle moving, dragging the light and
the obstacles (checked messages, refused places), 2a fleeing a dragged light, the twin, the CLI, and the page in
headless Chromium drawing the arena and dragging the light."""
from __future__ import annotations

import json
import math
from io import BytesIO

import pytest
from conftest import next_of as conftest_next_of
from PIL import Image
from test_board import browser, open_page, screenshot  # noqa: F401  (browser: the fixture)
from websockets.sync.client import connect

from neurobox.board import demos
from neurobox.board.protocol import ProtocolError, parse
from neurobox.board.server import BoardServer
from neurobox.board.session import LiveBoard
from neurobox.board.vehicle import START_LIGHT, START_POSE, vehicle_demo
from neurobox.errors import ConfigError
from neurobox.tasks.vehicle.world import Arena

OPEN = Arena(obstacles=())


def board_of(demo, target="engine"):
    return LiveBoard(demo.net, title="vehicle", task=demo.task, target=target)


@pytest.fixture(scope="module")
def server():
    srv = BoardServer(board_of(demos.build_demo("vehicle")))
    srv.start_background()
    yield srv
    srv.stop()


def next_of(ws, kind):
    """conftest's next_of with more messages and a longer wait: the vehicle's frames are bigger and slower."""
    return conftest_next_of(ws, kind, limit=400, timeout=10)


def test_frames_carry_the_arena_and_the_vehicle_drives():
    board = board_of(demos.build_demo("vehicle"))
    hello = board.hello()
    s = hello["task_state"]
    assert hello["task"] == "vehicle" and s["vehicle"] == "fear"
    assert s["pose"] == [pytest.approx(v, abs=0.1) for v in START_POSE] and s["light"] == list(START_LIGHT)
    assert s["obstacles"] == [list(ob) for ob in Arena().obstacles] and s["arena"]["radius"] == Arena().radius
    assert s["sensors"] == ["light_left", "light_right", "whisker_left", "whisker_right"]
    assert {c["pop"] for c in hello["controls"]}.isdisjoint(s["sensors"])   # the world sets them, no slider
    poses, t = [], []
    for _ in range(25):                                    # 25 frames of 40 ms: 50 chunks of the loop
        frame = board.advance(40.0)
        poses.append(frame["task"]["pose"])
        t.append(frame["t"])
    assert len({tuple(p) for p in poses}) == len(poses)     # it moves every frame
    top = Arena().max_speed
    for (x0, y0, _), (x1, y1, _), t0, t1 in zip(poses, poses[1:], t, t[1:]):
        assert math.hypot(x1 - x0, y1 - y0) <= top * (t1 - t0) * 1e-3 + 0.2   # never faster than its wheels
    last = board.advance(20.0)["task"]
    assert last["t_s"] == pytest.approx(1.02) and len(last["path"]) == 52       # one pose a chunk, and the start
    assert last["path"][0] == [300, 300] and max(last["speeds_mm_s"]) > 0
    # the same demo again: the same drive
    again = board_of(demos.build_demo("vehicle"))
    for _ in range(25):
        frame = again.advance(40.0)
    assert frame["task"]["pose"] == poses[-1]


def test_a_drag_moves_the_light_and_the_next_frames_show_it(server):
    with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
        next_of(ws, "hello")
        ws.send(json.dumps({"type": "pause", "paused": False}))
        next_of(ws, "frame")
        ws.send(json.dumps({"type": "drag", "what": "light", "x_mm": 212.5, "y_mm": 640.0}))
        assert next_of(ws, "task")["task"]["light"] == [212.5, 640.0]             # at once, also when paused
        for _ in range(3):
            assert next_of(ws, "frame")["task"]["light"] == [212.5, 640.0]
        ws.send(json.dumps({"type": "drag", "what": "obstacle", "index": 2, "x_mm": 820.0, "y_mm": 500.0}))
        moved = next_of(ws, "task")["task"]
        assert moved["obstacles"][2] == [820.0, 500.0, 55.0] and moved["drags"] >= 2
        ws.send(json.dumps({"type": "reset"}))                                     # everything back
        next_of(ws, "reset")
        state = next_of(ws, "frame")["task"]
        assert state["light"] == list(START_LIGHT) and state["obstacles"][2] == list(Arena().obstacles[2])


@pytest.mark.parametrize("side", [1, -1])
def test_2a_turns_away_from_a_light_dragged_close_to_one_side(side):
    """Braitenberg's 2a, "fear": a light close on its left drives its left wheel harder, so it turns right,
    away from the light (and the other way round), and the closer the light, the faster it goes (3b, the
    explorer, turns away too, but slows down)."""
    demo = vehicle_demo("fear", arena=OPEN, start=(500.0, 500.0, 0.0), light=(150.0, 850.0))
    board, world = board_of(demo), demo.task.world
    board.advance(200.0)                                   # the light far away: it creeps on
    heading, creeping = world.pose.theta, sum(demo.task.speeds) / 2
    board.drag("light", None, 580.0, 500.0 + side * 110.0)  # 110 mm to its side, a little ahead
    bearing = world.bearing()
    assert side * bearing == pytest.approx(math.radians(60), abs=0.25)
    fleeing = []
    for _ in range(10):
        board.advance(100.0)
        fleeing.append(sum(demo.task.speeds) / 2)
    assert min(fleeing[:3]) > 2 * creeping, (creeping, fleeing)          # it speeds up, away
    turned = math.atan2(math.sin(world.pose.theta - heading), math.cos(world.pose.theta - heading))
    assert side * turned < -0.6                                         # turned away: right from a left light
    assert side * world.bearing() > math.radians(120)                   # the light is now behind it


def state_of(board):
    s = board.task.state()
    return json.dumps({k: s[k] for k in ("light", "obstacles", "pose", "drags")})


BAD_MESSAGES = [
    ({"type": "drag", "what": "vehicle", "x_mm": 500, "y_mm": 500}, "drag.what"),
    ({"type": "drag", "what": "light", "x_mm": "500", "y_mm": 500}, "drag.x_mm"),
    ({"type": "drag", "what": "light", "x_mm": 500}, "drag.y_mm"),
    ({"type": "drag", "what": "light", "x_mm": 500, "y_mm": True}, "drag.y_mm"),
    ({"type": "drag", "what": "light", "x_mm": 1e300, "y_mm": 500}, "drag.x_mm"),
    ({"type": "drag", "what": "obstacle", "index": -1, "x_mm": 500, "y_mm": 500}, "drag.index"),
    ({"type": "drag", "what": "obstacle", "index": 1.0, "x_mm": 500, "y_mm": 500}, "drag.index"),
    ({"type": "drag", "what": "light", "x_mm": 500, "y_mm": 500, "colour": "red"}, "unknown field"),
]
REFUSED = [
    (("light", None, -10.0, 500.0), "outside the arena"),
    (("light", None, 900.0, 900.0), "outside the arena"),            # in the square, beyond the round wall
    (("light", 2, 500.0, 500.0), "one light"),
    (("obstacle", None, 500.0, 500.0), "numbered 0 to 2"),
    (("obstacle", 3, 500.0, 500.0), "numbered 0 to 2"),
    (("obstacle", 0, 960.0, 500.0), "stick out of the arena"),
    (("obstacle", 0, 330.0, 310.0), "cover the vehicle"),             # the vehicle starts at (300, 300)
    (("wall", 0, 500.0, 500.0), "drag"),
]


def test_bad_drags_are_refused_and_change_nothing(server):
    for msg, where in BAD_MESSAGES:
        with pytest.raises(ProtocolError, match=where):
            parse(json.dumps(msg))
    with pytest.raises(ProtocolError, match="finite"):
        parse('{"type": "drag", "what": "light", "x_mm": NaN, "y_mm": 500}')
    board = board_of(demos.build_demo("vehicle"))
    board.advance(100.0)
    before = state_of(board)
    for args, why in REFUSED:
        with pytest.raises(ConfigError, match=why):
            board.drag(*args)
        assert state_of(board) == before, args
    with pytest.raises(ConfigError, match="only the vehicle demo"):          # no arena on another demo
        LiveBoard(demos.gap_pair()).drag("light", None, 1.0, 1.0)
    # through the server: an error comes back, the world is as it was (paused at the start: the vehicle
    # stays where REFUSED's obstacle would cover it)
    with connect(f"ws://127.0.0.1:{server.port}/ws") as ws:
        next_of(ws, "hello")
        ws.send(json.dumps({"type": "pause", "paused": True}))
        ws.send(json.dumps({"type": "reset"}))
        next_of(ws, "reset")
        start = server.board.task.state()
        for raw in [json.dumps(m) for m, _ in BAD_MESSAGES] + [json.dumps(
                {"type": "drag", "what": a[0], **({} if a[1] is None else {"index": a[1]}), "x_mm": a[2],
                 "y_mm": a[3]}) for a, _ in REFUSED]:
            ws.send(raw)
            assert next_of(ws, "error")["message"]
        ws.send(json.dumps({"type": "step", "ms": 20.0}))
        after = next_of(ws, "frame")["task"]
        assert after["light"] == start["light"] and after["obstacles"] == start["obstacles"]
        assert after["drags"] == start["drags"]


def test_the_vehicle_drives_on_the_twins_units_too():
    board = board_of(demos.build_demo("vehicle"), target="twin")
    assert board.target == "twin"
    poses = [board.advance(100.0)["task"]["pose"] for _ in range(5)]
    assert len({tuple(p) for p in poses}) == 5
    board.drag("light", None, 400.0, 400.0)
    assert board.advance(20.0)["task"]["light"] == [400.0, 400.0]


def test_cli_picks_the_vehicle_and_refuses_choices_elsewhere(tmp_path):
    from neurobox.board.replay import record, render_html
    from neurobox.cli.board import _network

    demo, title = _network("explorer", "vehicle")
    assert title == "demo: vehicle (explorer)" and demo.task.vehicle == "explorer"
    assert _network(None, "vehicle")[1] == "demo: vehicle (fear)"
    with pytest.raises(ConfigError, match="file not found"):
        _network("tetris", "vehicle")
    with pytest.raises(ConfigError, match="the gap demo takes no choice"):
        _network("fear", "gap")                                           # neurobox board --demo gap fear
    from neurobox.tasks.vehicle.learning import QUICK, build_network

    build_network(QUICK, 0).save(tmp_path / "learner.toml")                # a vehicle model file: the learner
    learner, title = _network(str(tmp_path / "learner.toml"), "vehicle")
    board = board_of(learner)
    assert title == "demo: vehicle (learner)" and board.hello()["rewardable"]   # the reward button teaches it
    assert len({tuple(board.advance(60.0)["task"]["pose"]) for _ in range(3)}) == 3
    data = record(demo.net, 100.0, task=demo.task)                        # `neurobox render --demo vehicle`
    assert data["hello"]["task"] == "vehicle" and all(f["task"]["task"] == "vehicle" for f in data["frames"])
    assert "class ArenaView" in render_html(data)


# -- the page (the browser fixture and the page helpers are test_board's) -------------------------------
def test_the_page_draws_the_arena_and_a_drag_moves_the_light(browser):
    srv = BoardServer(board_of(demos.build_demo("vehicle")))
    url = srv.start_background()
    try:
        page, problems = open_page(browser, url, viewport=(1200, 800))
        page.wait_for_function("neurooverlay.arena && neurooverlay.arena.stats.draws > 3", timeout=10000)
        assert page.is_visible("canvas#arena") and page.inner_text("#veh-name") == "2a, fear"
        box = page.locator("canvas#arena").bounding_box()
        assert box["width"] > 300 and abs(box["width"] - box["height"]) < 2
        lamp = page.evaluate(f"neurooverlay.arena.clientXY({START_LIGHT[0]}, {START_LIGHT[1]})")
        shot = page.screenshot(clip={"x": lamp["x"] - 2, "y": lamp["y"] - 2, "width": 4, "height": 4})
        r, g, b = Image.open(BytesIO(shot)).convert("RGB").getpixel((2, 2))
        assert r > 200 and g > 170 and b < 140, (r, g, b)                   # the lamp is drawn where it is
        pose = page.evaluate("neurooverlay.state.pose")
        page.wait_for_function(f"neurooverlay.state.pose[0] !== {pose[0]}", timeout=5000)   # it drives
        to = page.evaluate("neurooverlay.arena.clientXY(700, 520)")
        page.mouse.move(lamp["x"], lamp["y"])
        page.mouse.down()
        page.mouse.move(to["x"], to["y"], steps=8)
        page.mouse.up()
        page.wait_for_function("Math.hypot(neurooverlay.state.light[0] - 700, neurooverlay.state.light[1] - 520) < 8",
                               timeout=5000)
        assert page.evaluate("neurooverlay.arena.stats.sent") >= 2
        assert srv.board.task.world.light == pytest.approx(page.evaluate("neurooverlay.state.light"), abs=0.05)
        ob = page.evaluate("neurooverlay.arena.clientXY(330, 680)")
        to = page.evaluate("neurooverlay.arena.clientXY(250, 800)")
        page.mouse.move(ob["x"], ob["y"])                                  # obstacle 0, up and left
        page.mouse.down()
        page.mouse.move(to["x"], to["y"], steps=6)
        page.mouse.up()
        page.wait_for_function("Math.hypot(neurooverlay.state.obstacles[0][0] - 250, "
                               "neurooverlay.state.obstacles[0][1] - 800) < 8", timeout=5000)
        screenshot(page, "board-vehicle.png")
        assert problems == []
        page.close()
    finally:
        srv.stop()
