"""Saved together: one file or a set of files is put in place whole or not at all; a failed write leaves no
temporary file; what a killed write left is cleaned up (or finished) by the next write; `digits.load` refuses
a model and settings that do not belong together."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.files import atomic_folder, atomic_write, atomic_write_text, recover_folder

ROOT = Path(__file__).resolve().parents[1]


def dead_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_a_failed_write_leaves_no_temporary_file_and_the_old_file_intact(tmp_path):
    f = tmp_path / "a.txt"
    atomic_write_text(f, "old")

    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError):
        atomic_write(f, fail)
    assert f.read_text() == "old" and names(tmp_path) == ["a.txt"]


def test_a_temporary_file_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    """A writer killed (SIGKILL) in the middle of its write leaves its temporary file; the next write of the
    same file removes it, and leaves a live writer's alone."""
    f = tmp_path / "big.bin"
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); from neurobox.files import atomic_write\n"
            "def slow(fh):\n    fh.write(b'x' * 1000); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
            "atomic_write(sys.argv[1], slow)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(f), str(ROOT)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"writing"
    live = tmp_path / f".big.bin.{os.getpid()}.live.tmp"      # this process is alive: not stale
    live.write_bytes(b"")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = [n for n in names(tmp_path) if n.endswith(".tmp") and n != live.name]
    assert len(left) == 1 and left[0].startswith(".big.bin.")
    atomic_write_text(f, "new")
    assert names(tmp_path) == sorted(["big.bin", live.name])
    assert f.read_text() == "new"


def test_a_set_replaces_the_earlier_set_and_keeps_the_users_files(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out, replaces=("model", "picture", "extra")) as tmp:
        (tmp / "model").write_text("1")
        (tmp / "picture").write_text("1")
        (tmp / "extra").write_text("1")
    (out / "notes.txt").write_text("mine")
    with atomic_folder(out, replaces=("model", "picture", "extra")) as tmp:
        assert (out / "model").read_text() == "1"       # the old set stays in place while the new is written
        (tmp / "model").write_text("2")
        (tmp / "picture").write_text("2")
    assert names(out) == ["model", "notes.txt", "picture"]      # extra belonged to the old set only
    assert (out / "model").read_text() == "2" and (out / "notes.txt").read_text() == "mine"
    assert names(tmp_path) == ["out"]


def test_a_failed_set_leaves_the_old_set_and_no_temporary_folder(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as tmp:
        (tmp / "model").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as tmp:
            (tmp / "model").write_text("2")
            raise RuntimeError("killed by a bug")
    assert names(tmp_path) == ["out"] and (out / "model").read_text() == "1"


@pytest.mark.parametrize("stage", ["writing", "complete", "moving", "between_renames", "removing_old"])
def test_whatever_a_killed_set_left_the_next_write_puts_right(tmp_path, stage):
    """Each stage at which a kill can stop `atomic_folder`, laid out as it leaves the disk: the next write (or
    `recover_folder`) leaves one folder holding the newest complete set and the user's files, nothing beside."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "model").write_text("old")
    (out / "notes.txt").write_text("mine")
    (out / "more.txt").write_text("mine too")
    pid = dead_pid()
    new = tmp_path / f".out.{'tmp' if stage == 'writing' else 'new'}-{pid}-abc"
    new.mkdir()
    (new / "model").write_text("killed")
    if stage in ("moving", "between_renames", "removing_old"):
        os.rename(out / "notes.txt", new / "notes.txt")
    if stage in ("between_renames", "removing_old"):
        os.rename(out / "more.txt", new / "more.txt")
    if stage in ("between_renames", "removing_old"):
        os.rename(out, tmp_path / f".out.old-{pid}-def")
    if stage == "removing_old":
        os.rename(new, out)
    recover_folder(out)
    assert names(tmp_path) == ["out"]
    assert names(out) == ["model", "more.txt", "notes.txt"] and (out / "notes.txt").read_text() == "mine"
    assert (out / "model").read_text() == ("old" if stage == "writing" else "killed")


def test_a_set_is_not_swapped_in_place_of_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="current folder"):
        with atomic_folder("."):
            pass


# -- the digits results ----------------------------------------------------------------------------
def trained(n_exc: int, seed: int = 0):
    from neurobox.tasks import digits

    config = digits.UnitDigitsConfig(n_exc=n_exc, epochs=1)
    rng = np.random.default_rng(n_exc)
    return digits.TrainedDigits(config, seed, np.round(rng.uniform(0, 40, (64, n_exc))) * 0.25,
                                np.round(rng.uniform(0, 50, n_exc)) * 2.0 ** -7)


def test_load_refuses_a_model_and_settings_that_do_not_belong_together(tmp_path):
    """The reported case: a 40-neuron model beside settings saying 400 (a kill between the two files of the
    old writer); and a model of the right size that is not the one the settings were saved with."""
    from neurobox.tasks import digits

    small, big = tmp_path / "small", tmp_path / "big"
    digits.save(trained(4), small)
    digits.save(trained(6), big)
    loaded = digits.load(small)
    assert np.array_equal(loaded.weights, trained(4).weights) and np.array_equal(loaded.theta, trained(4).theta)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / digits.META_FILE).write_bytes((big / digits.META_FILE).read_bytes())
    (mixed / digits.MODEL_FILE).write_bytes((small / digits.MODEL_FILE).read_bytes())
    with pytest.raises(ConfigError, match="digits_model.toml: does not belong with digits_meta.json"):
        digits.load(mixed)
    meta = json.loads((mixed / digits.META_FILE).read_text())    # settings of an older save, without a digest
    del meta["files"]
    (mixed / digits.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="has 4 learning neurons; digits_meta.json beside it says 6"):
        digits.load(mixed)
    other = trained(4, seed=1)                                     # same size, another save
    digits.save(other, tmp_path / "other")
    (small / digits.MODEL_FILE).write_bytes((tmp_path / "other" / digits.MODEL_FILE).read_bytes())
    with pytest.raises(ConfigError, match="SHA-256"):
        digits.load(small)


def test_save_leaves_no_temporary_file_when_it_fails(tmp_path, monkeypatch):
    from neurobox.tasks import digits

    out = tmp_path / "out"
    digits.save(trained(4), out)
    before = {n: (out / n).read_bytes() for n in names(out)}

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(digits, "trained_network", broken)
    with pytest.raises(OSError):
        digits.save(trained(6), out)
    assert names(tmp_path) == ["out"]
    assert {n: (out / n).read_bytes() for n in names(out)} == before
