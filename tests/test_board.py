"""The live board in a real headless Chromium: loading, poking, sliders, several pages, frame rate."""
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


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 960, "height": 640})
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.neuroboard && window.neuroboard.stats.frames > 3", timeout=15000)
    return page, problems


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
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "board.png"))
    assert (ARTIFACTS / "board.png").stat().st_size > 1000
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
    page.fill("#slider-rate-touch", "0")
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
