"""The live board in a real headless Chromium: loading, touching inputs, drawing a digit, the XOR overlay, the
twin and its faults, the flash's clamp, the guide, sliders, several pages, frame rate; a screenshot of each demo
goes to test-artifacts/."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import require_tool
from neurobox.board import demos
from neurobox.board.server import BoardServer
from neurobox.board.session import LiveBoard

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    path = require_tool("chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def quiet_board():
    """The recurrent demo with its inputs off: every neuron rests until poked or driven."""
    server = BoardServer(LiveBoard(demos.recurrent(rate_hz=0.0), title="quiet"))
    url = server.start_background()
    yield server, url
    server.stop()


@pytest.fixture()
def demo_server():
    """Start a demo's board server: demo_server(name, target="engine") -> url; stopped after the test."""
    servers = []

    def start(name, target="engine"):
        demo = demos.build_demo(name)
        server = BoardServer(LiveBoard(demo.net, title=f"demo: {name}", task=demo.task, target=target))
        servers.append(server)
        return server.start_background()
    yield start
    for server in servers:
        server.stop()


def open_page(browser, url, guide=False, viewport=(960, 640)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    if not guide:                          # the first-run guide was dismissed before
        page.add_init_script("localStorage.setItem('neurobox-guide', 'done')")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.neuroboard && window.neuroboard.stats.frames > 3", timeout=20000)
    return page, problems


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    assert (ARTIFACTS / name).stat().st_size > 1000


def click_node(page, pop, i):
    xy = page.evaluate(f"neuroboard.nodeClientXY({json.dumps(pop)}, {i})")
    page.mouse.click(xy["x"], xy["y"])


def spikes(page):
    return page.evaluate("Object.assign({}, neuroboard.stats.spikes)")


def led(page, pop, i):
    return page.evaluate(f"neuroboard.pixelOf({json.dumps(pop)}, {i})")


def wait_bio(page, ms):
    t0 = page.evaluate("neuroboard.stats.t")
    page.wait_for_function(f"neuroboard.stats.t >= {t0 + ms}", timeout=10000)


def test_page_loads_without_errors_and_draws_resting_leds(browser, quiet_board):
    page, problems = open_page(browser, quiet_board[1])
    assert page.title() == "neurobox board"
    assert page.locator("#title").inner_text() == "quiet"
    assert page.evaluate("neuroboard.n") == 19
    wait_bio(page, 100.0)
    r, g, b = led(page, "inh", 0)          # at rest: the LED map's green
    assert g > 200 and r < 60 and b < 60, (r, g, b)
    assert page.evaluate("document.getElementById('twin').disabled")      # the units cannot run it: why
    assert "initial" in page.get_attribute("#twin-label", "title")
    assert page.evaluate("!learning.checked && learning.disabled")     # nothing plastic: unchecked, disabled
    assert "nothing in this network is plastic" in page.get_attribute("#learning-label", "title")
    screenshot(page, "board.png")
    assert problems == []
    page.close()


def test_poking_a_neuron_changes_its_led_within_a_second(browser, quiet_board):
    page, problems = open_page(browser, quiet_board[1])
    wait_bio(page, 100.0)
    before = led(page, "exc", 3)
    for _ in range(5):                     # steady while nobody pokes
        time.sleep(0.1)
        assert led(page, "exc", 3) == before
    xy = page.evaluate("neuroboard.nodeClientXY('exc', 3)")
    start = time.monotonic()
    page.mouse.click(xy["x"], xy["y"])
    changed = None
    while time.monotonic() - start < 1.0:
        now = led(page, "exc", 3)
        if sum(abs(a - b) for a, b in zip(now, before)) > 100:
            changed = time.monotonic() - start
            break
        time.sleep(0.02)
    assert changed is not None, f"LED stayed {before} for 1 s after the poke"
    assert page.evaluate("neuroboard.stats.spikes.exc") >= 1
    assert problems == []
    page.close()


def test_rate_slider_changes_the_firing_rate(browser, quiet_board):
    page, problems = open_page(browser, quiet_board[1])

    def rate_hz(pop, n, ms):
        s0, t0 = page.evaluate(f"[neuroboard.stats.spikes.{pop}, neuroboard.stats.t]")
        wait_bio(page, ms)
        s1, t1 = page.evaluate(f"[neuroboard.stats.spikes.{pop}, neuroboard.stats.t]")
        return (s1 - s0) / n / ((t1 - t0) / 1000.0)

    assert rate_hz("touch", 3, 500.0) == 0.0
    page.fill("#slider-rate-touch", "100")
    wait_bio(page, 100.0)
    measured = rate_hz("touch", 3, 1500.0)
    assert 60.0 < measured < 140.0, measured          # Poisson at 100 Hz, 3 sources, 1.5 s
    assert rate_hz("exc", 12, 500.0) > 0.0            # and the network answers
    page.fill("#slider-rate-touch", "0")              # back to quiet, and known to be there before the page
    wait_bio(page, 100.0)                             # closes (the board is shared by the tests that follow)
    assert rate_hz("touch", 3, 300.0) == 0.0
    assert problems == []
    page.close()


def test_two_pages_watch_one_board(browser, quiet_board):
    a, problems_a = open_page(browser, quiet_board[1])
    b, problems_b = open_page(browser, quiet_board[1])
    assert len(quiet_board[0].clients) >= 2
    a.fill("#speed", "15")                            # 10 ** 0.5 x real time
    b.wait_for_function("document.getElementById('speed-out').textContent === '3.2x'", timeout=2000)
    xy = b.evaluate("neuroboard.nodeClientXY('exc', 5)")
    b.mouse.click(xy["x"], xy["y"])                   # a poke on one page shows on the other
    a.wait_for_function("neuroboard.stats.pokes >= 1", timeout=2000)
    ta, tb = a.evaluate("neuroboard.stats.t"), b.evaluate("neuroboard.stats.t")
    assert abs(ta - tb) < 1000.0                      # the same simulation clock
    a.fill("#speed", "10")
    assert problems_a == [] and problems_b == []
    a.close()
    b.close()


def test_frame_rate_of_a_200_neuron_board(browser):
    server = BoardServer(LiveBoard(demos.recurrent(n_input=20, n_exc=144, n_inh=36), title="200 neurons"))
    url = server.start_background()
    try:
        page, problems = open_page(browser, url)
        assert page.evaluate("neuroboard.n") == 200
        time.sleep(0.5)
        r0, f0, t0 = page.evaluate("[neuroboard.stats.rafFrames, neuroboard.stats.frames, performance.now()]")
        time.sleep(3.0)
        r1, f1, t1 = page.evaluate("[neuroboard.stats.rafFrames, neuroboard.stats.frames, performance.now()]")
        seconds = (t1 - t0) / 1000.0
        result = {"neurons": 200, "seconds": round(seconds, 2), "page_fps": round((r1 - r0) / seconds, 1),
                  "server_frames_per_s": round((f1 - f0) / seconds, 1),
                  "spikes": page.evaluate("neuroboard.stats.spikes")}
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "board-fps.json").write_text(json.dumps(result, indent=1))
        print("board frame rate:", result)
        assert r1 > r0 and f1 > f0                        # the page draws and frames keep arriving
        assert sum(result["spikes"].values()) > 0
        assert problems == []
        page.close()
    finally:
        server.stop()


def test_a_tap_on_an_input_fires_it_and_the_wave_goes_downstream(browser, quiet_board):
    page, problems = open_page(browser, quiet_board[1])
    wait_bio(page, 100.0)
    before = spikes(page)
    click_node(page, "touch", 1)                                   # a tap: one spike, at that input
    page.wait_for_function(f"neuroboard.stats.spikes.touch >= {before['touch'] + 1} && "
                           f"neuroboard.stats.spikes.exc > {before['exc']}", timeout=3000)
    wait_bio(page, 200.0)
    assert spikes(page)["touch"] == before["touch"] + 1
    assert page.evaluate("neuroboard.stats.pokes") >= 1            # the touch rippled
    xy = page.evaluate("neuroboard.nodeClientXY('touch', 0)")       # held: a burst while the finger stays
    page.mouse.move(xy["x"], xy["y"])
    page.mouse.down()
    time.sleep(0.8)
    page.mouse.up()
    wait_bio(page, 100.0)
    burst = spikes(page)["touch"] - before["touch"] - 1
    assert burst >= 10, burst
    wait_bio(page, 300.0)
    assert spikes(page)["touch"] - before["touch"] - 1 == burst     # and it stops when released
    assert problems == []
    page.close()


def test_flashes_stay_within_their_lifetime(browser, quiet_board):
    page, problems = open_page(browser, quiet_board[1])
    assert page.evaluate("[lifeLeft(100, 100, 140), lifeLeft(50, 100, 140), lifeLeft(240, 100, 140), "
                         "lifeLeft(170, 100, 140)]") == [1, 0, 0, 0.5]
    wait_bio(page, 100.0)
    rest = led(page, "exc", 2)
    # a flash stamped in the future (a frame clock ahead of the drawing clock) must not brighten anything
    page.evaluate("for (let i = 0; i < neuroboard.n; i++) neuroboard.flashAt[i] = performance.now() + 60000")
    time.sleep(0.3)
    assert led(page, "exc", 2) == rest, "a flash from the future lit the LED"
    page.evaluate("neuroboard.flashAt.fill(-1e9)")
    page.fill("#slider-rate-touch", "200")                         # plenty of spikes to flash
    wait_bio(page, 1500.0)
    page.fill("#slider-rate-touch", "0")
    levels = page.evaluate("[neuroboard.stats.maxFlash, neuroboard.stats.maxLevel]")
    assert 0.5 < levels[0] <= 1.0 and levels[1] <= 1.0, levels
    assert problems == []
    page.close()


def test_first_run_guide_steps_and_is_dismissed_for_good(browser, quiet_board):
    page, problems = open_page(browser, quiet_board[1], guide=True)
    steps = page.locator(".guide-step")
    assert page.is_visible("#guide") and steps.nth(0).is_visible() and not steps.nth(1).is_visible()
    click_node(page, "touch", 0)                                   # step 1 done by doing it
    page.wait_for_function("!document.querySelectorAll('.guide-step')[1].hidden", timeout=2000)
    page.click("#guide-close")
    assert not page.is_visible("#guide")
    page.reload()
    page.wait_for_function("window.neuroboard && neuroboard.stats.frames > 1", timeout=15000)
    assert not page.is_visible("#guide")
    page.keyboard.press("?")                                       # and comes back on demand
    assert page.is_visible("#guide")
    page.keyboard.press(" ")                                       # space pauses
    page.wait_for_function("document.getElementById('pause').textContent === 'play'", timeout=2000)
    page.keyboard.press(" ")
    page.wait_for_function("document.getElementById('pause').textContent === 'pause'", timeout=2000)
    page.keyboard.press("m")                                       # a click per spike, off by default
    assert page.evaluate("neuroboard.audio !== null") and page.inner_text("#sound") == "sound on"
    page.keyboard.press("m")
    assert problems == []
    page.close()


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_xor_accuracy_overlay_rises_at_max_speed(browser, demo_server):
    page, problems = open_page(browser, demo_server("xor"), viewport=(1100, 720))
    assert page.is_visible("#overlay") and int(page.inner_text("#task-trials")) <= 3
    assert not page.evaluate("document.getElementById('twin').disabled")
    page.fill("#speed", "21")                                      # max
    page.wait_for_function("neurooverlay.state && neurooverlay.state.curve.length >= 4", timeout=60000)
    page.fill("#speed", "10")
    state = page.evaluate("neurooverlay.state")
    assert state["curve"][-1] > state["curve"][0] and state["accuracy"] >= 0.9, state
    assert int(page.inner_text("#task-accuracy").rstrip(" %")) >= 90
    assert page.inner_text("#task-answer") in ("fires (1)", "silent (0)")
    page.click("#reward")                                          # teach it by hand
    page.wait_for_function("neurooverlay.state.by_hand >= 1", timeout=3000)
    wait_bio(page, 600.0)
    screenshot(page, "board-xor.png")
    assert problems == []
    page.close()


def test_a_killed_unit_goes_dark_and_its_spikes_are_lost(browser, demo_server):
    page, problems = open_page(browser, demo_server("xor"), viewport=(1100, 720))
    page.check("#twin")                                            # the same demo on the twin's units
    page.wait_for_function("document.getElementById('where').textContent.includes('units')", timeout=15000)
    assert page.is_visible("#faults")
    page.wait_for_function("document.getElementById('twin-lost') !== null", timeout=10000)
    assert page.inner_text("#twin-lost") == "0"
    wait_bio(page, 500.0)
    assert sum(led(page, "hidden", 6)) > 60                       # lit
    page.click("[data-tool=kill]")
    click_node(page, "hidden", 6)
    page.wait_for_function("neuroboard.pixelOf('hidden', 6).reduce((a, b) => a + b) < 40", timeout=5000)
    page.wait_for_function("+document.getElementById('twin-lost').textContent > 0", timeout=20000)
    assert "undelivered" in page.inner_text("#twin-panel")
    wait_bio(page, 300.0)
    assert sum(led(page, "hidden", 6)) < 40                       # and stays dark
    screenshot(page, "board-twin.png")
    assert problems == []
    page.close()


def test_draw_a_digit_and_the_network_answers(browser, demo_server):
    page, problems = open_page(browser, demo_server("digits"), viewport=(1100, 720))
    assert page.evaluate("document.getElementById('twin').disabled")
    assert "iaf_cond_exp" in page.get_attribute("#twin-label", "title")
    page.fill("#speed", "21")                                      # learn a while at full speed
    page.wait_for_function("neurooverlay.state && neurooverlay.state.shown >= 60", timeout=60000)
    page.fill("#speed", "10")
    colours = {tuple(led(page, "exc", i)) for i in range(40)}
    assert len(colours) >= 3, colours                              # the digits LEDs are not all one colour
    stroke = [2, 3, 4, 5, 13, 21, 28, 35, 42, 50]                  # a 7, dragged across the 8x8 pixels
    start = page.evaluate(f"neuroboard.nodeClientXY('input', {stroke[0]})")
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    for k in stroke[1:]:
        xy = page.evaluate(f"neuroboard.nodeClientXY('input', {k})")
        page.mouse.move(xy["x"], xy["y"], steps=4)
    page.mouse.up()
    page.wait_for_function("neurooverlay.state.drawn !== null", timeout=15000)
    drawn = page.evaluate("neurooverlay.state.drawn")
    assert drawn["image"].count("f") == len(stroke), drawn          # the pattern that was drawn
    answer = page.inner_text("#drawn-answer")
    assert answer.isdigit() or answer.startswith("?"), answer
    screenshot(page, "board-digits.png")
    assert problems == []
    page.close()


def test_gap_demo_screenshot(browser, demo_server):
    page, problems = open_page(browser, demo_server("gap"))
    wait_bio(page, 300.0)
    assert page.is_hidden("#overlay")
    screenshot(page, "board-gap.png")
    assert problems == []
    page.close()
