"""Sweeps over Dask (neurobox.cluster): the grid, runs equal to the same runs one by one, failed and killed
runs, resuming from the table, the command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import require_module
from neurobox.cluster.grid import apply, parse_seeds, parse_setting, runs
from neurobox.errors import ConfigError

for _module in ("distributed", "pandas", "pyarrow"):
    require_module(_module, "cluster")

DURATION_MS = 150.0
WEIGHT = "projections.exc_exc.weight"


def cuba():
    from neurobox.examples import resolve
    from neurobox.network.modelfile import load

    return load(resolve("cuba"))


def test_values_and_seeds_parse_as_documented():
    assert parse_setting("a.b=0.5:2:0.25").values == (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
    assert parse_setting("a.b=1,2,5").values == (1.0, 2.0, 5.0)
    assert parse_seeds("0:16") == tuple(range(16))
    assert parse_seeds("3,1") == (3, 1)
    grid = runs([parse_setting("x=1,2"), parse_setting("y=3,4,5")], (0, 1))
    assert len(grid) == 12 and [r["run"] for r in grid] == list(range(12))
    assert {(r["x"], r["y"], r["seed"]) for r in grid} == {(x, y, s) for x in (1, 2) for y in (3, 4, 5)
                                                           for s in (0, 1)}


@pytest.mark.parametrize("text, words", [("nothing", "PATH=start:stop:step"), ("a=1:2", "start:stop:step"),
                                         ("a=2:1:0.5", "stop >= start"), ("a=1,x", "'x' is not a number"),
                                         ("a=1:2:0", "step > 0")])
def test_bad_settings_name_the_field(text, words):
    with pytest.raises(ConfigError, match="--set") as err:
        parse_setting(text)
    assert words in str(err.value)


def test_bad_seeds_and_paths_name_the_field():
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds("4:2")
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds("-1,2")
    from neurobox.network.modelfile import to_dict

    doc = to_dict(cuba())
    with pytest.raises(ConfigError, match="no projections named 'nope'; names: exc_exc"):
        apply(doc, "projections.nope.weight", 1.0)
    with pytest.raises(ConfigError, match="not a number"):
        apply(doc, "populations.exc.model", 1.0)
    assert apply(doc, "populations.exc.params.tau_syn_ex", 3.0)["populations"]["exc"]["params"]["tau_syn_ex"] == 3.0
    assert doc["populations"]["exc"]["params"].get("tau_syn_ex") != 3.0   # apply copies


def _one_by_one(weight: float, seed: int) -> dict[str, float]:
    """The run made by hand with the Network API, in this process: rate per population (Hz)."""
    from neurobox.engine.simulation import Simulation

    net = cuba()
    net.projections["exc_exc"].weight = weight
    net.seed = seed
    with Simulation(net, progress=False, threads=1) as sim:
        res = sim.run(DURATION_MS)
    return {name: len(s) / s.n / (DURATION_MS / 1000.0) for name, s in res.spikes.items()}


def dying_once(marker: str, model_toml: str, run: dict) -> dict:
    """A run whose worker process dies the first time run 1 starts (a machine lost mid-sweep)."""
    from neurobox.cluster.runs import model_run

    if run["run"] == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return model_run(model_toml, run, duration_ms=DURATION_MS)


def failing(model_toml: str, run: dict) -> dict:
    """A run that raises for weight 0.0 (always: it fails after its retries), runs normally otherwise."""
    from neurobox.cluster.runs import model_run

    if run[WEIGHT] == 0.0:
        raise ValueError("this run cannot work")
    return model_run(model_toml, run, duration_ms=DURATION_MS)


def test_a_sweep_equals_the_runs_one_by_one_and_resumes(tmp_path):
    from neurobox.cluster.sweep import sweep_model
    from neurobox.cluster.table import read

    out = tmp_path / "sweep.parquet"
    settings = [parse_setting(f"{WEIGHT}=0.2,0.6")]
    report = sweep_model(cuba(), settings, (0, 1), out, duration_ms=DURATION_MS, workers=2)
    assert report.failed == 0 and report.ran == 4 and report.workers == 2
    rows = read(out)
    assert [r["run"] for r in rows] == [0, 1, 2, 3]
    for row in rows:
        alone = _one_by_one(row[WEIGHT], row["seed"])
        for name, rate in alone.items():
            assert row[f"rate_hz.{name}"] == pytest.approx(rate, rel=1e-12), (row, name)
    assert len({row["pid"] for row in rows}) == 2          # both workers ran
    by_key = {(r[WEIGHT], r["seed"]): r["rate_hz.exc"] for r in rows}
    assert by_key[(0.2, 0)] != by_key[(0.2, 1)]            # the seed reaches the run
    # the loop is compiled once per worker: a worker's later runs load nothing
    assert report.compile_s["later_runs"] < 0.05 < report.compile_s["first_run_of_worker"]

    # a larger grid on the same table runs only the new runs
    more = sweep_model(cuba(), [parse_setting(f"{WEIGHT}=0.2,0.6,1.0")], (0, 1), out, duration_ms=DURATION_MS,
                       workers=2, resume=True)
    assert (more.resumed, more.ran) == (4, 2)
    again = {(r[WEIGHT], r["seed"]): r["rate_hz.exc"] for r in read(out)}
    assert len(again) == 6 and all(again[k] == v for k, v in by_key.items())


def test_a_killed_worker_and_a_failing_run_lose_no_finished_run(tmp_path):
    import functools

    from neurobox.cluster.sweep import sweep
    from neurobox.cluster.table import read
    from neurobox.network.modelfile import dumps

    text = dumps(cuba())
    grid = runs([parse_setting(f"{WEIGHT}=0.0,0.3")], (0, 1))
    out = tmp_path / "sweep.csv"
    marker = tmp_path / "died"
    report = sweep(functools.partial(failing, text), grid, [WEIGHT], out, workers=2, retries=1)
    rows = read(out)
    assert [r["status"] for r in rows] == ["failed", "failed", "ok", "ok"]
    assert "ValueError: this run cannot work" in rows[0]["error"] and report.failed == 2
    assert np.isfinite([r["rate_hz.exc"] for r in rows[2:]]).all()

    grid = runs([parse_setting(f"{WEIGHT}=0.3")], (0, 1, 2))
    report = sweep(functools.partial(dying_once, str(marker), text), grid, [WEIGHT], out, workers=2)
    assert marker.exists(), "the worker of run 1 was meant to die"
    assert report.failed == 0 and [r["status"] for r in read(out)] == ["ok", "ok", "ok"]


def test_the_command_writes_the_table_and_the_figure(tmp_path):
    out, plot = tmp_path / "s.csv", tmp_path / "s.png"
    cmd = [sys.executable, "-m", "neurobox", "sweep", "cuba", "--set", f"{WEIGHT}=0.2,0.4", "--seeds", "0:2",
           "--duration", str(DURATION_MS), "--workers", "2", "--out", str(out), "--plot", str(plot), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["runs"] == 4 and summary["failed"] == 0 and summary["swept"] == [WEIGHT]
    assert plot.read_bytes().startswith(b"\x89PNG") and out.read_text().startswith("run,seed," + WEIGHT)
    bad = subprocess.run(cmd[:-1] + ["--out", str(tmp_path / "s.xlsx")], capture_output=True, text=True)
    assert bad.returncode == 2 and "--out" in bad.stderr and ".parquet or .csv" in bad.stderr
    exists = subprocess.run(cmd, capture_output=True, text=True)
    assert exists.returncode == 2 and "use --force" in exists.stderr


def test_xor_seeds_trained_on_the_cluster_equal_the_seeds_trained_here():
    from dataclasses import replace

    from neurobox.cluster.sweep import map_runs
    from neurobox.tasks import xor

    config = replace(xor.XorConfig(), epochs=20)
    here = xor.run_seeds(3, config, first_seed=5)
    there = xor.run_seeds(3, config, first_seed=5,
                          mapper=lambda work, seeds: map_runs(work, seeds, workers=2, label="seed"))
    assert [r.seed for r in there["runs"]] == [5, 6, 7]
    assert there["per_seed"] == here["per_seed"]
    for a, b in zip(here["runs"], there["runs"]):
        np.testing.assert_array_equal(a.final_weights, b.final_weights)
        np.testing.assert_array_equal(a.curve, b.curve)
    with pytest.raises(ConfigError, match="checkpoint"):
        xor.run_seeds(2, config, checkpoint_every=8, checkpoint_dir="unused", mapper=lambda w, s: [])


@pytest.mark.slow  # (the default suite keeps under 15 minutes; make test-slow runs it)
def test_a_fault_sweep_on_the_cluster_equals_the_sweep_here():
    from neurobox.cluster.sweep import map_runs
    from neurobox.tasks import digits

    trained = digits.train(digits.QUICK, 0)
    healthy = digits.evaluate(trained)
    cases = {"p_losses": (0.1,), "dead_fractions": (0.25,)}
    here = digits.fault_sweep(trained, healthy, **cases)
    there = digits.fault_sweep(trained, healthy, **cases,
                               mapper=lambda work, items: map_runs(work, items, workers=2, label="fault case"))
    assert there == here and set(here) >= {"loss", "dead_fraction"}
