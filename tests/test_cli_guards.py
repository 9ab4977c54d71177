"""The command checks its inputs, outputs, bounds and memory before it starts any work (issue 16, item 2).

Every refused case comes out as one line on stderr, exit status 2, no traceback, and quickly: the
checks run before a network is built, trained or simulated.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from neurobox.cli import main
from neurobox.engine.memory import check_memory, estimate
from neurobox.errors import ConfigError
from neurobox.limits import MAX_DURATION_MS, check_duration
from neurobox.network.modelfile import load, loads
from neurobox.paths import MARKER, MAX_MODEL_BYTES, output_file, output_folder, read_text_limited

TINY = """
[network]
dt = 0.1
duration = 20.0
[populations.a]
n = 4
model = "iaf_psc_exp"
params = { I_e = 600.0 }
"""

BIG = """
[network]
dt = 0.1
duration = 100.0
[populations.a]
n = 1414214
model = "iaf_psc_exp"
[[projections]]
pre = "a"
post = "a"
rule = "all_to_all"
weight = 1.0
"""
"""2 * 10^12 synapses (1414214^2): 48 TB in the engine (24 bytes a synapse while all_to_all draws its pairs)."""


def refused(capsys, *argv, within=2.0):
    """Run the command in this process; assert it is refused at once with one line; return that line."""
    start = time.perf_counter()
    code = main(list(argv))
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert elapsed < within, f"{argv} took {elapsed:.2f} s before refusing"
    return err.strip()


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


# -- model files ----------------------------------------------------------------
def test_a_folder_as_the_model_is_refused(capsys, tmp_path):
    assert "is a folder, not a model file" in refused(capsys, "run", str(tmp_path))


def test_a_link_to_dev_zero_is_refused_before_reading(capsys, tmp_path):
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    line = refused(capsys, "run", str(link))
    assert "character device" in line
    with pytest.raises(ConfigError, match="character device"):
        load(link)


def test_a_fifo_is_refused_without_blocking(capsys, tmp_path):
    fifo = tmp_path / "model.toml"
    os.mkfifo(fifo)
    assert "a FIFO" in refused(capsys, "run", str(fifo))


def test_a_model_file_over_the_limit_is_refused(capsys, tmp_path):
    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as f:
        f.truncate(MAX_MODEL_BYTES + 1)  # sparse: nothing is written
    line = refused(capsys, "run", str(huge))
    assert "at most 64 MiB" in line
    small = tmp_path / "small.toml"
    small.write_text(TINY)
    assert read_text_limited(small) == TINY


def test_a_module_file_that_is_a_device_is_refused(tmp_path):
    (tmp_path / "dev.toml").symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="character device"):
        loads(TINY + '[modules.m]\nfile = "dev.toml"\n', base_dir=tmp_path)


# -- outputs ----------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ("run", "MODEL", "--out", "DIR"),
    ("run", "MODEL", "--plot", "DIR"),
    ("render", "MODEL", "--out", "DIR"),
    ("probe", "iaf_psc_alpha", "--current", "400", "--plot", "DIR"),
    ("fi", "iaf_psc_alpha", "--currents", "0:400:100", "--plot", "DIR"),
    ("reservoir", "narma10", "--plot", "DIR"),
])
def test_a_folder_given_as_an_output_file_is_refused(capsys, tmp_path, tiny, argv):
    argv = [str(tiny) if a == "MODEL" else str(tmp_path) if a == "DIR" else a for a in argv]
    assert "is a folder; give a file name" in refused(capsys, *argv)


def test_an_output_file_nobody_can_write_is_refused(capsys, tiny):
    if not os.path.exists("/proc/version"):
        pytest.skip("no /proc")
    assert "cannot write /proc/version" in refused(capsys, "run", str(tiny), "--out", "/proc/version")
    assert "is not a regular file" in refused(capsys, "run", str(tiny), "--plot", "/dev/null")


@pytest.mark.parametrize("argv", [
    ("train", "digits", "--out", "FILE"),
    ("train", "xor", "--out", "FILE"),
    ("firmware", "build", "board", "--out", "FILE"),
    ("fpga", "build", "board", "--out", "FILE"),
    ("gallery", "--out", "FILE"),
    ("motifs", "--out", "FILE"),
    ("demo", "--out", "FILE"),
    ("twin", "board", "--plot", "FILE"),
])
def test_an_existing_file_where_a_folder_goes_is_refused_at_once(capsys, tmp_path, argv):
    existing = tmp_path / "existing"
    existing.write_text("keep me")
    line = refused(capsys, *[str(existing) if a == "FILE" else a for a in argv],
                   within=1.0 if argv[:2] == ("train", "digits") else 2.0)
    assert "is a file; give a folder" in line
    assert existing.read_text() == "keep me"
    # the same with --force: a file is never replaced by a folder
    line = refused(capsys, *[str(existing) if a == "FILE" else a for a in argv], "--force")
    assert existing.read_text() == "keep me"


def test_an_existing_file_is_overwritten_only_with_force_or_when_neurobox_wrote_it(capsys, tmp_path, tiny):
    plot, out = tmp_path / "raster.png", tmp_path / "r.npz"
    plot.write_bytes(b"someone else's picture")
    out.write_bytes(b"someone else's data")
    assert "exists; use --force" in refused(capsys, "run", str(tiny), "--plot", str(plot))
    assert "exists; use --force" in refused(capsys, "run", str(tiny), "--out", str(out))
    assert plot.read_bytes() == b"someone else's picture"
    assert main(["run", str(tiny), "--plot", str(plot), "--out", str(out), "--force", "--quiet"]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    # re-running onto its own files needs no --force (a neurobox PNG, a neurobox results file)
    assert main(["run", str(tiny), "--plot", str(plot), "--out", str(out), "--quiet"]) == 0
    # but a neurobox file of another kind is not taken for its own
    assert "exists; use --force" in refused(capsys, "run", str(tiny), "--plot", str(out))
    assert "both name" in refused(capsys, "run", str(tiny), "--plot", str(plot), "--out", str(plot))


def test_output_folders_are_claimed_and_reused_only_by_their_command(tmp_path):
    fresh = tmp_path / "a" / "b"
    assert output_folder(fresh, "--out", "train xor") == fresh
    assert json.loads((fresh / MARKER).read_text()) == {"command": "train xor"}
    (fresh / "xor_model.toml").write_text("")
    assert output_folder(fresh, "--out", "train xor") == fresh  # its own: reused
    with pytest.raises(ConfigError, match=r"holds the output of `neurobox train xor`; use --force"):
        output_folder(fresh, "--out", "gallery")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("")
    with pytest.raises(ConfigError, match="is not empty and was not made by `neurobox gallery`; use --force"):
        output_folder(foreign, "--out", "gallery")
    assert output_folder(foreign, "--out", "gallery", force=True) == foreign
    assert output_folder(foreign, "--out", "gallery") == foreign  # claimed by --force
    empty = tmp_path / "empty"
    empty.mkdir()
    assert output_folder(empty, "--out", "motifs") == empty
    checked = tmp_path / "later"
    output_folder(checked, "--out", "fpga build", claim=False)
    assert not checked.exists()  # claim=False: nothing is made until the command claims it


def test_a_folder_command_refuses_a_foreign_folder_before_working(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("")
    assert "use --force" in refused(capsys, "train", "digits", "--out", str(tmp_path))
    assert "use --force" in refused(capsys, "gallery", "--out", str(tmp_path))


def test_a_typo_in_the_model_leaves_no_output_folder(capsys, tmp_path):
    out = tmp_path / "cells"
    line = refused(capsys, "fpga", "build", str(tmp_path / "missing.toml"), "--out", str(out))
    assert "not found" in line and not out.exists()


def test_output_file_rules(tmp_path):
    assert output_file(None, "--plot") is None
    assert output_file(tmp_path / "new" / "deeper" / "x.png", "--plot", kind="png").name == "x.png"
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="blocker is a file, not a folder"):
        output_file(blocker / "x.png", "--plot", kind="png")


# -- bounds ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ("run", "MODEL", "--duration", "1e12"),
    ("run", "MODEL", "--duration", "inf"),
    ("drift", "MODEL", "--duration", "1e12"),
    ("render", "MODEL", "--out", "OUT", "--duration", "1e12"),
    ("twin", "board", "--duration", "1e12"),
    ("probe", "iaf_psc_alpha", "--current", "400", "--duration", "1e12"),
    ("demo", "--out", "OUT", "--duration", "1e12"),
])
def test_a_duration_beyond_the_bound_is_refused(capsys, tmp_path, tiny, argv):
    argv = [str(tiny) if a == "MODEL" else str(tmp_path / "o") if a == "OUT" else a for a in argv]
    assert "--duration" in refused(capsys, *argv)


def test_a_model_file_duration_beyond_the_bound_is_refused(capsys, tmp_path):
    long = tmp_path / "long.toml"
    long.write_text(TINY.replace("duration = 20.0", "duration = 1e12"))
    assert "network.duration: must be at most" in refused(capsys, "run", str(long))
    small_dt = tmp_path / "fine.toml"  # within the duration bound, over the step bound
    small_dt.write_text(TINY.replace("duration = 20.0", "duration = 1e7").replace("dt = 0.1", "dt = 0.001"))
    assert "steps" in refused(capsys, "run", str(small_dt))


def test_the_engine_bounds_steps_too(tiny):
    import neurobox as nb

    net = load(tiny)
    net.dt = 0.001
    with pytest.raises(ConfigError, match="at most 1e"):
        nb.Simulation(net, progress=False).run(MAX_DURATION_MS)
    assert check_duration(MAX_DURATION_MS) == MAX_DURATION_MS
    with pytest.raises(ConfigError):
        check_duration(MAX_DURATION_MS * 1.01)


@pytest.mark.parametrize("argv, flag", [
    (("train", "xor", "--seeds", "100000"), "--seeds"),
    (("train", "digits", "--units", "1000000"), "--units"),
    (("reservoir", "narma10", "--neurons", "1000000"), "--neurons"),
    (("reservoir", "mackey-glass", "--horizon", "10000000"), "--horizon"),
    (("motifs", "--trials", "10000000"), "--trials"),
    (("firmware", "build", "board", "--out", "OUT", "--steps", "1000000000"), "--steps"),
    (("firmware", "verify", "board", "--steps", "1000000000"), "--steps"),
    (("drift", "board", "--tolerance", "-1"), "--tolerance"),
])
def test_sizes_have_upper_bounds(capsys, tmp_path, argv, flag):
    line = refused(capsys, *[str(tmp_path / "o") if a == "OUT" else a for a in argv])
    assert flag in line


# -- memory -----------------------------------------------------------------------------
def test_a_network_of_2e12_synapses_is_refused_with_its_numbers(capsys, tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(BIG)
    line = refused(capsys, "run", str(big), within=5.0)
    assert "projections.a_a.rule: needs 48 TB of memory, this machine has" in line
    assert "2e+12" in line and "smaller populations" in line
    net = load(big)
    est = estimate(net)
    assert est.synapses == 1414214 ** 2
    import neurobox as nb
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="needs 48 TB"):
        nb.Simulation(net, progress=False)  # the library refuses too, before drawing a synapse
    assert time.perf_counter() - start < 5.0


def test_the_memory_message_names_the_largest_part(tmp_path):
    net = loads(TINY + '[[recorders]]\npopulation = "a"\nvariables = ["V_m"]\n')
    est = check_memory(net, 10_000, available=10 ** 12)
    assert est.recording_bytes == 2 * 8 * 4 * 10_000 + 8 * 10_000
    with pytest.raises(ConfigError, match=r"needs .* GB of memory, this machine has .* available .*record fewer neurons"):
        check_memory(net, 10 ** 9, available=10 ** 9)


@pytest.mark.parametrize("rule, options, n_pre, n_post", [
    ("all_to_all", "", 300, 200),
    ("one_to_one", "", 300, 300),
    ("fixed_probability", "p = 0.1", 300, 200),
    ("fixed_indegree", "indegree = 7", 300, 200),
    ("fixed_outdegree", "outdegree = 9", 300, 200),
])
def test_expected_synapse_counts_match_what_is_drawn(rule, options, n_pre, n_post):
    import neurobox as nb

    net = loads(f"""
[populations.a]
n = {n_pre}
model = "iaf_psc_exp"
[populations.b]
n = {n_post}
model = "iaf_psc_exp"
[[projections]]
pre = "a"
post = "b"
rule = "{rule}"
{options}
""")
    drawn = nb.Simulation(net, progress=False).compiled.n_synapses
    assert estimate(net).synapses == pytest.approx(drawn, rel=0.05)


def test_from_a_shell_the_refusal_is_one_line(tmp_path):
    existing = tmp_path / "existing"
    existing.write_text("")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "neurobox", "train", "digits", "--out", str(existing)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (f"neurobox train: error: --out: {existing} is a file; give a folder "
                                  "(it is created if it does not exist)")
    assert time.perf_counter() - start < 30  # the interpreter's start, nothing more
