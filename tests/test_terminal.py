"""What a person reads on a terminal: progress (shown on a terminal, silent with --quiet and in CI), counts
singular or plural, user units, every loss cause explained, missing files named, the gallery's classes;
and the fault sweep runs the healthy network through the training set once."""
from __future__ import annotations

import io
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from neurobox.cli import main
from neurobox.engine import progress as progress_module
from neurobox.engine.progress import Progress, for_cli
from neurobox.text import noun, plural


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """stderr a terminal, outside CI, progress shown at once."""
    tty = FakeTTY()
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress_module, "SHOW_AFTER_S", 0.0)
    # progress writes to sys.stderr as it is when a bar starts (pytest's capture sets it again for each test)
    monkeypatch.setattr(progress_module, "sys", SimpleNamespace(stderr=tty))
    return tty


# -- progress ------------------------------------------------------------------------------------------------
def test_progress_shows_phases_and_a_bar_on_a_terminal(terminal):
    with Progress() as bar:
        bar.phase("synth", "yosys")
        bar.count(1, 4, "cells")
    text = terminal.getvalue()
    assert "synth" in text and "yosys" in text          # a phase without a count: its name
    assert "[#######" in text and "1/4 cells" in text and " 25.0%" in text


def test_progress_is_silent_in_ci_on_a_pipe_with_quiet_and_inside_another_bar(terminal, monkeypatch):
    class Args:
        quiet, json = True, False
    with for_cli(Args()) as bar:
        bar.phase("train")
        bar.update(0.5)
    pipe = io.StringIO()
    with Progress(stream=pipe) as bar:
        bar.phase("train")
        bar.update(0.5)
    assert terminal.getvalue() == "" and pipe.getvalue() == ""
    with Progress() as outer:
        outer.phase("outer")
        with Progress() as inner:
            inner.phase("inner")
            inner.update(0.5)
    assert "outer" in terminal.getvalue() and "inner" not in terminal.getvalue()
    monkeypatch.setenv("CI", "true")
    before = terminal.getvalue()
    with Progress() as bar:
        bar.phase("train")
        bar.update(0.5)
    assert terminal.getvalue() == before


def test_a_command_shows_its_phases_on_a_terminal_and_nothing_with_quiet(terminal, capsys):
    assert main(["drift", "board", "--duration", "50"]) == 0
    shown = terminal.getvalue()
    assert "float" in shown and "fixed" in shown and "\r" in shown
    terminal.seek(0), terminal.truncate()
    assert main(["drift", "board", "--duration", "50", "--quiet"]) == 0
    assert terminal.getvalue() == ""
    assert "float vs fixed" in capsys.readouterr().out


# -- counts, units, causes -----------------------------------------------------------------------------------
def test_singular_and_plural():
    assert plural(1, "neuron") == "1 neuron" and plural(0, "neuron") == "0 neurons"
    assert plural(2, "neuron") == "2 neurons" and plural(1.0, "tick") == "1 tick"
    assert plural(2, "delivery", "deliveries") == "2 deliveries" and plural(1, "delivery", "deliveries") == "1 delivery"
    assert plural(3, "cell", width=4) == "   3 cells" and noun(1, "fires", "fire") == "fires"


def test_run_counts_one_neuron_in_the_singular(capsys):
    assert main(["run", "board", "--precision", "fixed", "--duration", "20", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 neurons" not in out and re.search(r"\b1 neuron\b", out)
    assert re.search(r"\b2 neurons\b", out)


@pytest.mark.parametrize("name, hint", [("nosuch.toml", False), ("nosuch", True), ("some/dir/nosuch.toml", False),
                                        ("nosuch.txt", False)])
def test_a_missing_model_file_is_named_as_not_found(name, hint, capsys):
    assert main(["run", name]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{name}: file not found" in err
    assert ("built-in models: board" in err) == hint
    assert "no built-in model '" not in err


def test_twin_prints_reset_weights_in_pA(capsys):
    argv = ["twin", "board", "--fault", "reset:brake@500ms", "--cycles", "none", "--no-engine", "--duration", "800"]
    assert main(argv + ["--json"]) == 0
    reset = json.loads(capsys.readouterr().out)["resets"][0]
    assert reset["I_lsb_pA"] > 0
    assert reset["weights_before_pA"] == [round(w * reset["I_lsb_pA"], 6) for w in reset["weights_before"]]
    assert main(argv + ["--quiet"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "reset brake" in x)
    pA = ", ".join(f"{w:g}" for w in reset["weights_before_pA"])
    assert f"weights [{pA}] pA -> [" in line and line.endswith("pA (from EEPROM)")
    assert reset["weights_before"] != reset["weights_before_pA"]    # raw integers are not printed as pA


def test_twin_explains_every_loss_cause_it_names(capsys):
    assert main(["twin", "board", "--transport", "wire", "--fault", "drop:0.1", "--cycles", "none",
                 "--no-engine", "--quiet", "--duration", "1000"]) == 0
    out = capsys.readouterr().out
    causes = re.search(r"lost by cause: (.*)", out).group(1)
    named = [c.split()[0] for c in causes.split(", ")]
    assert "wire_gap" in named and "dropped" in named
    for cause in named:
        explained = [x for x in out.splitlines() if x.strip().startswith(f"{cause}:")]
        assert len(explained) == 1, cause
    assert "closer than 3 ticks" in out


def test_every_loss_cause_the_transports_count_has_an_explanation():
    from pathlib import Path

    from neurobox.twin import transport

    source = Path(transport.__file__).read_text()
    counted = set(re.findall(r"\blose\(\"(\w+)\"", source)) | set(re.findall(r"_lose\(\"(\w+)\"", source))
    assert counted and counted | {"undelivered"} <= set(transport.LOSS_CAUSES)


# -- gallery -------------------------------------------------------------------------------------------------
def test_gallery_prints_each_presets_class(tmp_path, monkeypatch, capsys):
    from neurobox.tasks import probe

    cases = {"lif": [probe.GalleryCase("iaf_psc_exp", None, 500.0, 20.0, 200.0, "tonic", "test"),
                     probe.GalleryCase("iaf_psc_exp", None, 0.0, 20.0, 200.0, "tonic", "test")]}
    monkeypatch.setattr(probe, "gallery_cases", lambda: cases)
    assert main(["gallery", "--out", str(tmp_path / "g"), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [x for x in out if x.startswith("lif")]
    assert len(rows) == 2 and "tonic" in rows[0] and "silent  (expected tonic)" in rows[1]
    assert "1 of 2 presets fire as their source describes" in out
    assert any(x.startswith("wrote ") and x.endswith("lif.png") for x in out)


# -- the fault sweep -----------------------------------------------------------------------------------------
def test_the_fault_sweep_runs_the_healthy_network_once(tmp_path, monkeypatch, capsys):
    from neurobox.tasks import digits

    split = digits.load_split

    def small(seed):
        x_tr, y_tr, x_te, y_te = split(seed)
        return x_tr[:30], y_tr[:30], x_te[:digits.DEMO_IMAGES], y_te[:digits.DEMO_IMAGES]

    calls = {"label": 0, "evaluate": 0, "labelled_images": 0}
    label, evaluate, present = digits.label, digits.evaluate, digits._present_all

    def counting_label(*a, **k):
        calls["label"] += 1
        return label(*a, **k)

    def counting_evaluate(*a, **k):
        calls["evaluate"] += 1
        return evaluate(*a, **k)

    def counting_present(sim, config, images, seed, phase, *a, **k):
        if phase == "label":
            calls["labelled_images"] += len(images)
        return present(sim, config, images, seed, phase, *a, **k)

    monkeypatch.setattr(digits, "load_split", small)
    monkeypatch.setattr(digits, "label", counting_label)
    monkeypatch.setattr(digits, "evaluate", counting_evaluate)
    monkeypatch.setattr(digits, "_present_all", counting_present)
    monkeypatch.setattr(digits, "QUICK", digits.DigitsConfig(n_exc=10, epochs=1))
    assert main(["train", "digits", "--quick", "--fault-sweep", "--json", "--out", str(tmp_path / "d")]) == 0
    summary = json.loads(capsys.readouterr().out)
    faults = summary["faults"]
    assert len(faults["loss"]) == 4 and len(faults["dead_fraction"]) == 3
    assert calls["label"] == 1 and calls["labelled_images"] == 30     # the healthy network labelled once
    assert calls["evaluate"] == 1 + 7                                 # the healthy test, then each case's test
    assert np.isclose(faults["healthy"], summary["test_accuracy"], atol=1e-4)


def test_a_bar_left_open_where_it_cannot_draw_does_not_silence_later_ones(terminal, monkeypatch):
    """A bar opened under CI (or on a pipe) and never closed is not counted as an outer bar later."""
    monkeypatch.setenv("CI", "true")
    left_open = Progress()
    left_open.phase("left open")
    monkeypatch.delenv("CI")
    with Progress() as bar:
        bar.phase("later")
    assert "later" in terminal.getvalue() and "left open" not in terminal.getvalue()
    left_open.close()
