"""The neurobox command: JSON output, saved files, clear errors without tracebacks."""
import json
import subprocess
import sys

import pytest

from neurobox.results import Results


def neurobox(*args, check=True):
    out = subprocess.run([sys.executable, "-m", "neurobox", *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise AssertionError(out.stderr)
    return out


def test_run_json_and_out(tmp_path):
    f = tmp_path / "r.npz"
    out = neurobox("run", "cuba", "--duration", "200", "--json", "--seed", "3", "--out", str(f), "--quiet")
    summary = json.loads(out.stdout)
    assert set(summary) >= {"populations", "bio_ms", "wall_s", "synapses"}
    assert 0.9 * 320_000 < summary["synapses"] < 1.1 * 320_000
    assert summary["bio_ms"] == 200.0 and summary["seed"] == 3
    assert set(summary["populations"]) == {"exc", "inh"}
    exc = summary["populations"]["exc"]
    assert exc["n"] == 3200 and exc["spikes"] > 0
    assert exc["rate_hz"] == pytest.approx(exc["spikes"] / 3200 / 0.2, rel=1e-3)
    res = Results.load(f)
    assert len(res.spikes["exc"]) == exc["spikes"]


def test_run_threads_same_spikes_and_checked():
    import numba
    most = str(min(2, numba.config.NUMBA_NUM_THREADS))
    runs = [json.loads(neurobox("run", "cuba", "--duration", "100", "--json", "--quiet", "--threads", t).stdout)
            for t in ("1", most)]
    assert runs[0]["populations"] == runs[1]["populations"]
    assert runs[0]["threads"] == 1  # 4000 neurons: below the size where threads pay, so one
    bad = neurobox("run", "cuba", "--duration", "100", "--threads", "0", check=False)
    assert bad.returncode != 0 and "--threads" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_demo_writes_pictures(tmp_path):
    out = neurobox("demo", "--out", str(tmp_path), "--duration", "300", "--quick", "--quiet")
    assert "exc" in out.stdout
    assert "digits: test accuracy" in out.stdout
    for name in ("raster.png", "traces.png", "digits/weights.png", "digits/test_raster.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[populations.a]\nn = 3\nmodel = "nope"\n')
    out = neurobox("run", str(bad), check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "populations.a.model" in out.stderr and "valid models" in out.stderr
    out = neurobox("run", str(tmp_path / "missing.toml"), check=False)
    assert out.returncode == 2 and "not found" in out.stderr and "Traceback" not in out.stderr
