"""`neurobox kit MODEL --out DIR` (neurobox.kit.build, neurobox.cli.kit): the whole folder, written as one
set, with the guide linking every picture. The cases, circuits and bill of materials come from their own
modules; most tests here put small stand-ins in their place, the last one runs the real ones."""
from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
import types
from pathlib import Path

import pytest
from conftest import require_module, require_tool

from neurobox.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "examples" / "board.toml"
UNITS = ["sense.0", "sense.1", "relay", "brake"]
PNG = b"\x89PNG\r\n\x1a\n"


def _fake_modules(calls: dict, fail: str | None = None) -> dict[str, types.ModuleType]:
    """Stand-ins for neurobox.kit.case, .circuit and .bom: files named after each kind, reports in their
    shape; `fail`: the one that raises."""
    def write_cases(kit, folder):
        if fail == "case":
            raise RuntimeError("the case failed")
        calls["case_folder"] = folder
        out = []
        for kind, boxes in kit.kinds().items():
            (folder / f"{kind.name}.stl").write_text("solid x\nendsolid x\n")
            (folder / f"{kind.name}.png").write_bytes(PNG)
            out.append({"kind": kind.name, "boxes": [b.name for b in boxes], "stl": folder / f"{kind.name}.stl",
                        "step": None, "png": str(folder / f"{kind.name}.png"), "size_mm": [60.0, 60.0, 30.0],
                        "volume_cm3": 40.0, "watertight": True})
        return out

    def write_circuits(kit, folder):
        out = []
        for kind, boxes in kit.kinds().items():
            (folder / f"{kind.name}.net").write_text("(export)\n")
            (folder / f"{kind.name}.png").write_bytes(PNG)
            out.append({"kind": kind.name, "boxes": [b.name for b in boxes], "netlist": str(folder / f"{kind.name}.net"),
                        "schematic": str(folder / f"{kind.name}.png"), "erc_errors": 0, "erc_warnings": 0,
                        "parts": 20})
        return out

    def write_bom(kit, circuits, cables, folder):
        calls["bom"] = (circuits, len(cables))
        (folder / "bom.csv").write_text("part,count\nATmega8,4\n")
        return {"boxes": len(kit.boxes), "parts": 99, "cost_eur": 42.5, "files": ["bom.csv"],
                "kinds": {"input": {"boxes": 2, "parts": 12}}}

    mods = {}
    for name, fn in (("case", write_cases), ("circuit", write_circuits), ("bom", write_bom)):
        mod = types.ModuleType(f"neurobox.kit.{name}")
        setattr(mod, fn.__name__, fn)
        mods[name] = mod
    return mods


def _use(monkeypatch, mods):
    import neurobox.kit
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, f"neurobox.kit.{name}", mod)
        monkeypatch.setattr(neurobox.kit, name, mod, raising=False)


@pytest.fixture(scope="module")
def tools():
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")


@pytest.fixture(scope="module")
def wired(tools, tmp_path_factory):
    """The board example's kit (wired, layers, 80 mm) with the stand-ins: (folder, summary, calls)."""
    out = tmp_path_factory.mktemp("k") / "kit"
    calls = {}
    with pytest.MonkeyPatch.context() as mp:
        _use(mp, _fake_modules(calls))
        assert cli_main(["kit", str(BOARD), "--out", str(out), "--mode", "wired", "--json", "--quiet"]) == 0
    return out, json.loads((out / "kit.json").read_text()), calls


def links(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


def test_the_folder_holds_every_part(wired):
    out, summary, calls = wired
    assert summary["mode"] == "wired" and summary["units"] == 4 and summary["boxes"] == 6
    for unit in UNITS:
        assert (out / "firmware" / f"{unit}.hex").read_text().startswith(":")
    for name in ("wiring.csv", "wiring.png", "flash.sh", "flash.txt", "bom.csv", "ASSEMBLY.md", "kit.json"):
        assert (out / name).is_file(), name
    assert not (out / "bus_addresses.csv").exists()
    # the parts wrote into the set's temporary folder; the summary names the files in the kit
    assert calls["case_folder"].name == "cases" and calls["case_folder"].parent != out
    for report in summary["cases"]:
        assert (out / report["stl"]).is_file() and (out / report["png"]).is_file()
    for report in summary["circuits"]:
        assert (out / report["netlist"]).is_file()
    rows = list(csv.DictReader((out / "wiring.csv").open()))
    assert len(rows) == summary["wiring"]["cables"] == 11 == calls["bom"][1]
    assert summary["flashing"]["fuses"] == {"lfuse": "0x3F", "hfuse": "0xC1"}


def test_the_guide_links_what_is_there(wired):
    out, summary, _ = wired
    guide = (out / "ASSEMBLY.md").read_text()
    targets = links(guide)
    assert "wiring.png" in targets and "bom.csv" in targets
    assert {c["png"] for c in summary["cases"]} | {c["schematic"] for c in summary["circuits"]} <= set(targets)
    for target in targets:
        assert (out / target).exists(), target
    for unit in UNITS:
        assert f"-U flash:w:{unit}.hex:i -U lfuse:w:0x3F:m -U hfuse:w:0xC1:m" in guide
    assert "- parts: 99" in guide and "- cost eur: 42.5" in guide     # the BOM's summary
    assert "| kinds | boxes | parts |" in guide and "| input | 2 | 12 |" in guide
    assert "11 cables" in guide and "relay (3 cables)" in guide       # wiring summary, split axons
    kinds = [k for k in summary["kinds"]]
    assert all(f"### {k}:" in guide for k in kinds)


def test_bus_mode_and_a_new_set_replacing_the_old(wired, tmp_path, monkeypatch, capsys):
    out = tmp_path / "kit"
    _use(monkeypatch, _fake_modules({}))
    mine = out / "notes.txt"
    assert cli_main(["kit", str(BOARD), "--out", str(out), "--mode", "bus", "--layout", "grid", "--quiet"]) == 0
    assert "bus mode" in capsys.readouterr().out
    assert (out / "bus_addresses.csv").is_file()
    assert json.loads((out / "kit.json").read_text())["wiring"]["cables"] == 6
    mine.write_text("my notes")
    # a failing part leaves the earlier kit as it was
    _use(monkeypatch, _fake_modules({}, fail="case"))
    with pytest.raises(RuntimeError, match="the case failed"):
        cli_main(["kit", str(BOARD), "--out", str(out), "--mode", "wired", "--quiet"])
    assert json.loads((out / "kit.json").read_text())["mode"] == "bus"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kit"]       # no temporary folder left
    # a wired kit in its place drops the bus's address table, keeps the user's file
    _use(monkeypatch, _fake_modules({}))
    assert cli_main(["kit", str(BOARD), "--out", str(out), "--mode", "wired", "--quiet"]) == 0
    assert not (out / "bus_addresses.csv").exists() and mine.read_text() == "my notes"


@pytest.mark.parametrize("argv, message", [
    (["--spacing-mm", "5"], "--spacing-mm"),
    (["--programmer", "a b"], "--programmer"),
    (["--mode", "bus", "--layout", "grid"], None),
])
def test_refusals_come_before_any_file(tmp_path, capsys, argv, message):
    out = tmp_path / "kit"
    if message is None:                       # a unit given to a kit, not to flash
        argv, message = [], "unit"
        assert cli_main(["kit", str(BOARD), "relay", "--out", str(out)]) == 2
    else:
        assert cli_main(["kit", str(BOARD), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


def test_a_folder_of_something_else_is_refused(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("x")
    assert cli_main(["kit", str(BOARD), "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_the_whole_kit_for_the_board_example(tools, tmp_path):
    for library in ("build123d", "trimesh", "skidl", "schemdraw"):   # the extra neurobox[kit]
        if importlib.util.find_spec(library) is None:
            require_module(library, "kit")
    out = tmp_path / "kit"
    assert cli_main(["kit", "examples/board.toml" if (Path.cwd() / "examples").is_dir() else str(BOARD),
                     "--out", str(out), "--json", "--quiet"]) == 0
    summary = json.loads((out / "kit.json").read_text())
    assert summary["units"] == 4
    for report in summary["cases"]:                  # one STL per printed part
        stls = report["stl"]
        assert stls and all((out / stl).stat().st_size > 0 for stl in stls)
        assert (out / report["png"]).read_bytes()[:8] == PNG and report["watertight"]
    for report in summary["circuits"]:
        assert (out / report["netlist"]).stat().st_size > 0 and report["erc_errors"] == 0
        assert (out / report["schematic"]).read_bytes()[:8] == PNG
    for unit in UNITS:
        assert (out / "firmware" / f"{unit}.hex").read_text().startswith(":")
    for name in ("wiring.csv", "wiring.png", "flash.sh", "flash.txt", "bom.csv", "ASSEMBLY.md"):
        assert (out / name).stat().st_size > 0, name
    for target in links((out / "ASSEMBLY.md").read_text()):
        assert (out / target).exists(), target
