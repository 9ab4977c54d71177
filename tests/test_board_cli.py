"""`neurobox board` and `neurobox render` from the command line; the replay page in headless Chromium."""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import require_tool
from neurobox.errors import NeuroboxError

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CLI = ("import argparse, sys; from neurobox.cli import board; p = argparse.ArgumentParser(); "
       "board.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")


def run_cli(*argv):
    parser = argparse.ArgumentParser()
    from neurobox.cli import board
    board.register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_board_command_prints_the_url_and_serves_the_page():
    proc = subprocess.Popen([sys.executable, "-c", CLI, "board", "--demo", "gap", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
        page = urllib.request.urlopen(url.group(0), timeout=10).read().decode()
        assert "<canvas id=\"board\">" in page
        js = urllib.request.urlopen(url.group(0) + "static/board.js", timeout=10)
        assert js.headers["Content-Type"].startswith("text/javascript")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url.group(0) + "static/missing.js", timeout=10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_board_needs_a_model_or_a_demo():
    with pytest.raises(NeuroboxError, match="either a model file or --demo"):
        run_cli("board", "--no-browser")


def test_render_writes_a_replay_that_plays_without_a_server(tmp_path):
    out = tmp_path / "replay.html"
    model = Path(__file__).resolve().parent.parent / "neurobox" / "examples" / "board.toml"
    assert run_cli("render", str(model), "--out", str(out), "--duration", "400") == 0
    html = out.read_text()
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)   # nothing to fetch: all inlined
    data = json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', html, re.S)
                      .group(1).replace("<\\/", "</"))
    assert len(data["frames"]) == 20 and data["t_end"] == pytest.approx(400.0)
    assert sum(len(s["i"]) for f in data["frames"] for s in f["spikes"]) > 0
    with replay_page(out) as (page, problems):
        page.wait_for_function("window.neuroboard && neuroboard.stats.frames >= 5", timeout=10000)
        assert page.evaluate("neuroboard.n") == 6
        assert page.evaluate("neuroboard.stats.spikes.touch") > 0
        assert problems == []


@contextmanager
def replay_page(out):
    """A headless Chromium page showing the replay file `out`, with no network; yields (page, problems)."""
    path = require_tool("chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 640})
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                   else route.continue_())
        page.goto(out.as_uri())
        yield page, problems
        browser.close()


def test_render_a_demo_carries_its_overlay_and_faces(tmp_path):
    out = tmp_path / "xor.html"
    assert run_cli("render", "--demo", "xor", "--out", str(out), "--duration", "6000") == 0
    html = out.read_text()
    data = json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', html, re.S)
                      .group(1).replace("<\\/", "</"))
    tasks = [f["task"] for f in data["frames"] if "task" in f]
    assert tasks and tasks[-1]["task"] == "xor" and tasks[-1]["trials"] >= 15
    assert all(len(f["moods"]) == 16 for f in data["frames"]) and any("l" in f["moods"] for f in data["frames"])
    with replay_page(out) as (page, problems):
        page.fill("#speed", "20")                                 # 10x: the 6 s run in well under a second
        page.wait_for_function("window.neurooverlay && neurooverlay.state && neurooverlay.state.trials >= 10",
                               timeout=15000)
        assert page.is_visible("#overlay") and page.inner_text("#task-accuracy").endswith("%")
        assert page.evaluate("neuroboard.mood.some((m) => m !== 99)")   # the faces follow the recorded moods
        assert problems == []


def test_board_command_options():
    with pytest.raises(NeuroboxError, match="not an origin"):
        run_cli("board", "--demo", "gap", "--no-browser", "--allow-origin", "lab.example")
    proc = subprocess.Popen([sys.executable, "-c", CLI, "board", "--demo", "xor", "--twin", "wire", "--no-browser",
                             "--port", "0", "--allow-origin", "http://lab.example:9000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
        from websockets.sync.client import connect
        with connect(f"ws://127.0.0.1:{port}/ws", origin="http://lab.example:9000") as ws:
            hello = json.loads(ws.recv(timeout=10))
        assert hello["target"] == "twin" and hello["transport"] == "wire" and hello["task"] == "xor"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
