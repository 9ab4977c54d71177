"""Checkpoints: a Simulation's whole state round-trips bit for bit; a training run killed at a random point and
resumed from its last checkpoint ends exactly where an uninterrupted one does; saved results are written as
one set, and `load` refuses parts that do not belong together."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import neurobox as nb
from neurobox.errors import ConfigError
from neurobox.files import read_arrays, recover_folder, write_arrays

ROOT = Path(__file__).resolve().parents[1]


def busy_network(precision: str = "float", seed: int = 3) -> nb.Network:
    """Poisson inputs onto learning neurons (pair STDP with an adaptive threshold), unreliable lateral
    inhibition with per-synapse delays, and a reward-modulated readout: every kind of state that changes."""
    fixed = precision == "fixed"
    net = nb.Network(dt=1.0 if fixed else 0.1, seed=seed, precision=precision)
    net.population("px", 20, "poisson_generator", {"rate": 80.0})
    net.population("exc", 6, "iaf_psc_exp", {"tau_m": 20.0, "t_ref": 2.0, "theta_plus": 0.5,
                                                "tau_theta": 1e15 if fixed else 500.0})
    net.population("out", 2, "iaf_psc_exp", {"tau_m": 10.0})
    stdp = {"rule": "stdp", "A_plus": 20.0, "A_minus": 0.0 if fixed else 10.0, "tau_plus": 15.0, "tau_minus": 15.0, "w_min": 0.0,
            "w_max": 1500.0}
    if fixed:  # the units' rule: potentiation, a halving schedule and normalisation after own spikes
        stdp.update(w_max=8000.0, halve_every=4.0, halvings=3.0, normalize_to=3000.0, normalize_every_ms=0.0)
    net.connect("px", "exc", "all_to_all", weight=np.random.default_rng(1).uniform(300.0, 900.0, 120),
                delay=1.0, receptor="excitatory", plasticity=stdp, name="plastic")
    net.connect("exc", "exc", "all_to_all", allow_autapses=False, weight=-400.0,
                delay=[1.0, 2.0, 3.0, 4.0, 5.0, 2.0] * 5, receptor="inhibitory", name="lateral", p_transmit=0.7)
    net.connect("exc", "out", "all_to_all", weight=600.0, delay=1.0, receptor="excitatory", name="readout",
                plasticity={"rule": "rstdp", "A_plus": 5.0, "A_minus": 0.0 if fixed else 2.0, "tau_plus": 10.0, "tau_minus": 10.0,
                            "tau_c": 50.0, "tau_d": 20.0, "w_min": 0.0, "w_max": 2000.0})
    return net


def _spikes(sim, t0, t1):
    return {k: (t.tolist(), i.tolist()) for k, (t, i) in sim.spikes_between(t0, t1).items()}


def _continue(sim):
    """What happens after the checkpoint: handle changes and runs (the same for both simulations)."""
    sim.reward(1.0)
    sim.set_plasticity("plastic", A_plus=12.0)
    sim.advance(150.0)
    sim.set_params("px", rate=40.0)
    sim.advance(150.0)
    return _spikes(sim, 300.0, 600.0), {p: sim.weights(p)[2].tolist() for p in ("plastic", "lateral", "readout")}


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_a_restored_simulation_continues_bit_for_bit(precision, tmp_path):
    a = nb.Simulation(busy_network(precision), progress=False)
    a.advance(150.0)
    a.set_params("px", rate=120.0)        # changed through the handle before the checkpoint
    a.set_plasticity("plastic", A_plus=30.0)
    a.reward(-1.0)
    a.advance(150.0)
    write_arrays(tmp_path / "state.npz", a.checkpoint())
    weights_before = a.weights("plastic")[2].copy()
    spikes_a, weights_a = _continue(a)
    assert not np.array_equal(weights_before, weights_a["plastic"])    # it kept learning
    assert sum(len(t) for t, _ in spikes_a.values()) > 100

    b = nb.Simulation(busy_network(precision), progress=False)      # a fresh one, as after a restart
    b.restore(read_arrays(tmp_path / "state.npz"))
    assert b.time == 300.0
    spikes_b, weights_b = _continue(b)
    assert spikes_b == spikes_a
    assert weights_b == weights_a
    assert np.array_equal(a.state("exc", "theta"), b.state("exc", "theta"))
    assert a.state("exc", "theta").max() > 0                          # the thresholds adapted
    assert np.array_equal(a.compiled.populations[1].state, b.compiled.populations[1].state)


def test_a_checkpoint_of_another_network_is_refused():
    a = nb.Simulation(busy_network(seed=3), progress=False)
    a.advance(10.0)
    b = nb.Simulation(busy_network(seed=4), progress=False)
    with pytest.raises(ConfigError, match="another network"):
        b.restore(a.checkpoint())
    with pytest.raises(ConfigError, match="not a simulation checkpoint"):
        b.restore({})


def _train(args, out, **popen):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "neurobox", "train", *args, "--quiet", "--out", str(out)],
                            env=env, cwd=str(out.parent), stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def _kill_after_a_checkpoint(proc, checkpoint: Path, rnd: random.Random, timeout_s: float = 60.0) -> int:
    """Wait for the checkpoint (a new one when one is there already), then SIGKILL the run at a random point
    within the next ~2 s; the number of images the checkpoint it leaves had done (or -1 when it ended first)."""
    progress = checkpoint / "progress.json"
    before = progress.stat().st_mtime_ns if progress.exists() else None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if progress.exists() and progress.stat().st_mtime_ns != before:
            break
        if proc.poll() is not None:
            return -1
        time.sleep(0.02)
    else:
        proc.kill()
        pytest.fail("no checkpoint appeared")
    time.sleep(rnd.uniform(0.0, 2.0))
    if proc.poll() is not None:
        return -1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    recover_folder(checkpoint)     # as the resumed run does: a kill between two renames leaves it beside
    return json.loads(progress.read_text())["done"]


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".tmp" in p.name or ".new-" in p.name
                  or ".old-" in p.name)


@pytest.mark.slow
def test_a_killed_training_resumes_bit_identical_to_an_uninterrupted_one(tmp_path):
    """`train digits --quick --target fixed --checkpoint-every 200`, killed (SIGKILL) twice at random points,
    each time resumed from its checkpoint: the model file at the end is byte for byte the one of an
    uninterrupted run of the same seed, and no temporary file or folder is left."""
    from neurobox.tasks import digits

    seed = int(os.environ.get("NEUROBOX_KILL_SEED", random.randrange(1 << 30)))
    rnd = random.Random(seed)
    out = tmp_path / "run"
    options = ["digits", "--quick", "--target", "fixed", "--seed", "2", "--checkpoint-every", "200"]
    kills = []
    proc = _train(options, out)
    print(f"kill seed {seed}")
    for _ in range(2):
        done = _kill_after_a_checkpoint(proc, out / "checkpoint", rnd)
        if done < 0:
            break
        kills.append(done)
        assert (out / "checkpoint" / "state.npz").exists()
        proc = _train(options + ["--resume", str(out / "checkpoint")], out)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"kill seed {seed}: {stderr.decode()}"
    assert kills, f"kill seed {seed}: the run ended before it could be killed"

    reference = digits.train(digits.UNITS_QUICK, seed=2)     # uninterrupted, in this process
    digits.save(reference, tmp_path / "reference")
    assert (out / digits.MODEL_FILE).read_bytes() == (tmp_path / "reference" / digits.MODEL_FILE).read_bytes(), \
        f"kill seed {seed}, killed after checkpoints at {kills} images"
    resumed = digits.load(out)
    assert np.array_equal(resumed.weights, reference.weights) and np.array_equal(resumed.theta, reference.theta)
    assert sorted(p.name for p in out.iterdir()) == [".neurobox-output", "digits_meta.json", "digits_model.toml",
                                                     "test_raster.png", "weights.png"]  # the checkpoint went with the old set
    assert _leftovers(tmp_path) == []
    print(f"killed after the checkpoints at {kills} images; resumed bit-identical")


def test_xor_resumed_from_any_checkpoint_ends_as_an_uninterrupted_run(tmp_path, monkeypatch):
    """Within a seed (every 8 trials) and between seeds: each checkpoint, resumed, gives the same runs."""
    from neurobox.tasks import xor

    config = xor.XorConfig(n_hidden=12, epochs=6, test_trials=8, block=4)
    snapshots = []
    write = xor.write_checkpoint

    def keep(folder, *args):
        out = write(folder, *args)
        snap = tmp_path / f"snap{len(snapshots)}"
        snap.mkdir()
        for f in Path(folder).iterdir():
            (snap / f.name).write_bytes(f.read_bytes())
        snapshots.append(snap)
        return out
    monkeypatch.setattr(xor, "write_checkpoint", keep)
    full = xor.run_seeds(2, config, first_seed=4, checkpoint_every=8, checkpoint_dir=tmp_path / "ck")
    monkeypatch.setattr(xor, "write_checkpoint", write)
    assert len(snapshots) == 5     # after trials 8 and 16 of each seed (24 ends it), and between the seeds
    for snap in snapshots:
        again = xor.run_seeds(2, config, first_seed=4, resume=snap)
        assert again["per_seed"] == full["per_seed"]
        assert np.array_equal(again["curves"], full["curves"])
        for a, b in zip(again["runs"], full["runs"]):
            assert np.array_equal(a.final_weights, b.final_weights) and a.model_ms == b.model_ms
    with pytest.raises(ConfigError, match="another seeds"):
        xor.run_seeds(3, config, first_seed=4, resume=snapshots[0])


def test_checkpoints_are_refused_on_the_twin(tmp_path):
    from neurobox.tasks import digits, xor

    with pytest.raises(ConfigError, match="twin's run handle cannot export"):
        digits.train(digits.UNITS_QUICK, 0, target="twin", checkpoint_every=100, checkpoint_dir=tmp_path / "ck")
    with pytest.raises(ConfigError, match="twin's run handle cannot export"):
        xor.run_seeds(1, xor.PHYSICAL, target="twin", checkpoint_every=8, checkpoint_dir=tmp_path / "ck")


def test_a_checkpoint_of_another_configuration_or_with_foreign_parts_is_refused(tmp_path):
    from neurobox.tasks import digits

    a = nb.Simulation(busy_network(), progress=False)
    rng = np.random.default_rng(0)
    ck = tmp_path / "ck"
    digits.write_checkpoint(ck, a, digits.UNITS_QUICK, 0, "engine", order=np.arange(5), order_rng=rng, epoch=0,
                            position=1, done=1, train_seconds=0.0)
    with pytest.raises(ConfigError, match="another seed"):
        digits.read_checkpoint(ck, digits.UNITS_QUICK, 1, "engine")
    with pytest.raises(ConfigError, match=r"another configuration \(n_exc=25"):
        digits.read_checkpoint(ck, replace(digits.UNITS_QUICK, n_exc=30), 0, "engine")
    write_arrays(ck / "state.npz", {"meta": np.array("{}")})      # a part of another checkpoint
    with pytest.raises(ConfigError, match="state.npz: does not belong with progress.json"):
        digits.read_checkpoint(ck, digits.UNITS_QUICK, 0, "engine")
