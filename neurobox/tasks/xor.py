"""XOR learned by reward-modulated STDP alone (no backpropagation).

Inputs (latency code): one neuron per bit, `latency_encode` with a window
of `late_ms`: bit 1 fires at the trial's onset, bit 0 fires `late_ms` later
(plus a Gaussian jitter of `jitter_ms` per spike and trial).

Network:

    input   2 spike_generator neurons (bits a, b)
    hidden  n_hidden iaf_psc_exp coincidence detectors, fixed (not learned):
            neuron k hears a after delay d_a[k] and b after d_b[k] (random,
            seeded, the difference d_b - d_a spread over +-max_skew_ms); one
            input alone stays below threshold, two coincident ones fire it,
            so it answers to the patterns with t_a - t_b ~ d_b - d_a
    output  one iaf_psc_exp neuron; hidden -> output is plastic with rule
            "rstdp" (eligibility trace per synapse, dopamine broadcast by
            `Network.reward`)

Decision: the output fires (any spike in the trial) = 1, silent = 0.
Reward, given `reward_after_ms` after the onset: +reward when the output
fired on an XOR = 1 trial, -punishment when it fired on an XOR = 0 trial,
nothing when it stayed silent (no spike, no eligibility). Which hidden
neurons answer to which pattern is never told to the network; the
output's synapses learn it from reward alone.

Score: after training, learning is frozen (`learning = False` on the run handle) and
`test_trials` fresh jittered trials (equal numbers of the four patterns)
are scored; the learning curve is the fraction correct in each block of
training trials.
"""
from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from neurobox.errors import ConfigError
from neurobox.tasks.checkpointing import check_checkpoint_options
from neurobox.files import json_text
from neurobox.targets import open_handle

PATTERNS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
TARGETS = PATTERNS[:, 0] ^ PATTERNS[:, 1]


@dataclass(frozen=True)
class XorConfig:
    """Sizes, times (ms), weights (pA) and learning constants of the XOR task."""

    n_hidden: int = 60            # coincidence detectors
    epochs: int = 100             # training passes over the 4 patterns (shuffled)
    test_trials: int = 100        # trials scored after training (25 per pattern)
    dt: float = 0.1               # ms
    late_ms: float = 8.0          # ms, latency of a 0 bit (a 1 bit fires at the onset)
    jitter_ms: float = 0.3        # ms, s.d. of the Gaussian jitter of each input spike
    max_skew_ms: float = 11.0     # ms, hidden delay differences d_b - d_a are uniform in +-this
    min_delay_ms: float = 1.0     # ms, smallest hidden delay
    w_hidden: float = 9000.0      # pA, input -> hidden (one alone is sub-threshold, two coincident fire)
    hidden_tau_m: float = 2.0     # ms, short: a narrow coincidence window
    hidden_tau_syn: float = 0.5   # ms
    w_out_max: float = 5000.0     # pA, bound of hidden -> output weights
    w_out_init: float = 0.2       # initial hidden -> output weights, as a fraction of w_out_max (+-20 %)
    A_plus: float = 10.0          # pA, eligibility per causal pair at zero lag
    A_minus: float = 3.0          # pA, eligibility per anti-causal pair at zero lag
    tau_c: float = 50.0           # ms, eligibility trace
    tau_d: float = 20.0           # ms, dopamine
    reward: float = 1.0           # dopamine added after a correct spike (1/ms per unit eligibility)
    punishment: float = 1.0       # dopamine removed after a wrong spike
    trial_ms: float = 40.0        # ms, from onset to the reward
    rest_ms: float = 260.0        # ms, after the reward, before the next onset
    block: int = 20               # training trials per point of the learning curve
    skews: str = "random"         # hidden delay differences: "random" (seeded) or "grid" (evenly spaced)
    w_out_spread: float = 0.2     # initial hidden -> output weights vary by +- this fraction
    precision: str = "float"      # "fixed": the units' integer arithmetic (engine or twin)
    hidden_I_lsb: float = 0.0     # pA per integer current step of the hidden units in fixed point (0: chosen)
    output_I_lsb: float = 0.0     # pA per integer current step of the output unit in fixed point (0: chosen)

    def check(self) -> "XorConfig":
        choices = {"skews": ("random", "grid"), "precision": ("float", "fixed")}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in choices:
                if v not in choices[f.name]:
                    raise ConfigError(f"xor.{f.name}", f"must be one of {', '.join(choices[f.name])}, got {v!r}")
            elif f.name in ("n_hidden", "epochs", "test_trials", "block"):
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                    raise ConfigError(f"xor.{f.name}", f"must be a whole number >= 1, got {v!r}")
            elif not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ConfigError(f"xor.{f.name}", f"must be a finite number >= 0, got {v!r}")
        if self.trial_ms < self.late_ms + self.max_skew_ms + self.min_delay_ms + 10.0:
            raise ConfigError("xor.trial_ms", "too short for the latest input, delays and the output's answer")
        return self


PHYSICAL = XorConfig(n_hidden=13, dt=1.0, skews="grid", w_out_init=0.6, w_out_spread=0.0, A_plus=40.0,
                     A_minus=0.0, precision="fixed", hidden_I_lsb=1.0, output_I_lsb=0.25)
"""XOR on the units (a board a maker can wire: 2 inputs, 13 hidden units, one output with 15 pins): ticks of
1 ms, hidden delay differences on a grid over +-11 ms (each hidden unit's delay line holds up to 12 ticks),
the units' integer reward-modulated rule (no anti-causal term; A_plus 4x the float rule's, as the
fixed-point exploration found faster and surer), and the output's weights starting just above the
weight at which one hidden spike fires it (3000 pA), so that every pattern is answered, rewarded or
punished from the first trials. 9000 pA fit the hidden units' int16 at I_lsb = 1 pA with room for two."""


@dataclass
class XorRun:
    """One seed's outcome: final accuracy, learning curve (fraction correct per block), timing."""

    seed: int
    accuracy: float
    curve: np.ndarray
    final_weights: np.ndarray
    seconds: float
    model_ms: float = 0.0
    """Model time the seed ran (training and test trials), ms."""


def build_network(config: XorConfig, seed: int):
    """Input (2) -> fixed coincidence detectors (n_hidden) -> plastic rstdp -> output (1)."""
    import neurobox as nb

    rng = np.random.default_rng([seed, 101])
    n = config.n_hidden
    if config.skews == "grid":
        skew = np.round(np.linspace(-config.max_skew_ms, config.max_skew_ms, n) / config.dt) * config.dt
    else:
        skew = rng.uniform(-config.max_skew_ms, config.max_skew_ms, n)   # d_b - d_a
    d_a = config.min_delay_ms + np.maximum(-skew, 0.0)
    d_b = config.min_delay_ms + np.maximum(skew, 0.0)
    d_a = np.round(d_a / config.dt) * config.dt
    d_b = np.round(d_b / config.dt) * config.dt
    net = nb.Network(dt=config.dt, seed=seed, precision=config.precision)
    net.population("input", 2, "spike_generator", {"spike_times": [[], []]})
    hidden_params = {"tau_m": config.hidden_tau_m, "tau_syn_ex": config.hidden_tau_syn, "t_ref": 5.0,
                     "V_th": -55.0, "E_L": -70.0, "V_reset": -70.0}
    scale = lambda lsb: {"I_lsb": lsb} if lsb > 0 else None  # noqa: E731
    net.population("hidden", n, "iaf_psc_exp", hidden_params, fixed_point=scale(config.hidden_I_lsb))
    net.population("output", 1, "iaf_psc_exp", {"tau_m": 10.0, "tau_syn_ex": 2.0, "t_ref": 20.0},
                   fixed_point=scale(config.output_I_lsb))
    pre = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    post = np.concatenate([np.arange(n), np.arange(n)])
    net.connect("input", "hidden", "explicit", pre_ids=pre, post_ids=post, weight=config.w_hidden,
                delay=np.concatenate([d_a, d_b]), receptor="excitatory", name="input_hidden")
    w0 = config.w_out_max * config.w_out_init * rng.uniform(1.0 - config.w_out_spread, 1.0 + config.w_out_spread, n)
    net.connect("hidden", "output", "all_to_all", weight=w0, delay=1.0, receptor="excitatory",
                name="hidden_output",
                plasticity={"rule": "rstdp", "A_plus": config.A_plus, "A_minus": config.A_minus,
                            "tau_plus": 10.0, "tau_minus": 10.0, "tau_c": config.tau_c, "tau_d": config.tau_d,
                            "w_min": 0.0, "w_max": config.w_out_max})
    return net


def _trial(sim, config: XorConfig, pattern: np.ndarray, rng: np.random.Generator) -> bool:
    """Present one pattern (latency code + jitter); True when the output fired within the trial."""
    from neurobox.coding import latency_encode

    onset = sim.time + 1.0
    t, ids = latency_encode(pattern.astype(float), config.late_ms, threshold=None, t_start_ms=onset)
    # a 0 bit is below the linear code's threshold: it fires at the end of the window, late_ms
    times = np.full(2, onset + config.late_ms)
    times[ids] = t
    times = times + rng.normal(0.0, config.jitter_ms, 2)
    times = np.maximum(times, sim.time + config.dt)
    sim.set_params("input", spike_times=[[float(times[0])], [float(times[1])]])
    t0 = sim.time
    sim.advance(config.trial_ms)
    fired = sim.spikes_between(t0, sim.time)["output"][1].size > 0
    return bool(fired)


def run_seed(config: XorConfig = XorConfig(), seed: int = 0, target: str = "engine", *,
             checkpoint_every: int = 0, on_checkpoint: Callable[[dict, dict], None] | None = None,
             resume: tuple[dict, dict] | None = None) -> XorRun:
    """Train one network from scratch with R-STDP on `target` and score it (see the module docstring).

    checkpoint_every: after the epoch in which every this many training trials are reached, call
    on_checkpoint(arrays, progress) with the complete state (the simulation's arrays,
    Simulation.checkpoint, and where training stands: epoch, the trials' random generator, the answers so
    far); resume: such a pair to continue from (training then ends bit for bit as without the break).
    The test trials after training are not checkpointed: a break there repeats them from the end of
    training (the last checkpoint before it).
    """
    config.check()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError("seed", f"must be a whole number >= 0, got {seed!r}")
    start = time.perf_counter()
    sim = open_handle(build_network(config, int(seed)), target, progress=False)
    rng = np.random.default_rng([int(seed), 202])
    correct: list[bool] = []
    first_epoch, earlier_s = 0, 0.0
    if resume is not None:
        arrays, where = resume
        sim.restore(arrays)
        rng.bit_generator.state = where["rng"]
        correct = [bool(c) for c in where["correct"]]
        first_epoch, earlier_s = int(where["epoch"]), float(where["seconds"])
    for epoch in range(first_epoch, config.epochs):
        for p in rng.permutation(len(PATTERNS)):
            fired = _trial(sim, config, PATTERNS[p], rng)
            correct.append(fired == bool(TARGETS[p]))
            if fired:
                sim.reward(config.reward if TARGETS[p] else -config.punishment)
            sim.advance(config.rest_ms)
        trials = len(correct)
        if checkpoint_every and on_checkpoint is not None and epoch + 1 < config.epochs \
                and trials // checkpoint_every > (trials - len(PATTERNS)) // checkpoint_every:
            on_checkpoint(sim.checkpoint(), {"seed": int(seed), "epoch": epoch + 1, "rng": rng.bit_generator.state,
                                             "correct": correct,
                                             "seconds": earlier_s + time.perf_counter() - start})
    n_blocks = len(correct) // config.block
    curve = np.array([np.mean(correct[k * config.block:(k + 1) * config.block]) for k in range(n_blocks)])
    sim.learning = False
    test_rng = np.random.default_rng([int(seed), 303])
    order = test_rng.permutation(np.resize(np.arange(len(PATTERNS)), config.test_trials))
    hits = 0
    for p in order:
        fired = _trial(sim, config, PATTERNS[p], test_rng)
        hits += fired == bool(TARGETS[p])
        sim.advance(config.rest_ms)
    weights = sim.weights("hidden_output")[2].astype(np.float64)
    return XorRun(int(seed), hits / config.test_trials, curve, weights, earlier_s + time.perf_counter() - start,
                  sim.time)


def run_seeds(n_seeds: int = 10, config: XorConfig = XorConfig(), *, first_seed: int = 0,
              progress: Callable[[float, str], None] | None = None, target: str = "engine",
              checkpoint_every: int = 0, checkpoint_dir: str | os.PathLike | None = None,
              resume: str | os.PathLike | None = None, mapper: Callable | None = None) -> dict[str, Any]:
    """Train and score seeds first_seed .. first_seed + n_seeds - 1.

    checkpoint_every: write the complete state into `checkpoint_dir` after every this many training trials
    of a seed (at the end of the epoch that reaches them) and after every finished seed; resume: a
    checkpoint folder to continue from (same seeds, configuration and target). Not on the twin.
    mapper: None (the seeds one after another here), or mapper(train, seeds) -> [XorRun] that runs
    train(seed) for every seed elsewhere, in order (neurobox.cluster.sweep.map_runs: a Dask cluster; each
    seed is deterministic, so the runs are the same); not with checkpoints.
    Returns {"accuracy" (mean), "min", "max", "per_seed" [accuracies], "curves" (n_seeds, blocks), "runs"}.
    """
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
        raise ConfigError("seeds", f"must be a whole number >= 1, got {n_seeds!r}")
    check_checkpoint_options(checkpoint_every, checkpoint_dir, resume, target, "trials")
    if mapper is not None:
        if checkpoint_every or resume is not None:
            raise ConfigError("checkpoint_every", "checkpoints are written by one process; a training spread "
                                                  "over a cluster keeps every finished seed instead")
        seeds = list(range(first_seed, first_seed + n_seeds))
        return _summary(mapper(functools.partial(run_seed, config, target=target), seeds))
    ident = {"config": json.loads(json_text(asdict(config))), "first_seed": int(first_seed), "seeds": int(n_seeds),
             "target": target}
    runs: list[XorRun] = []
    inner = None
    if resume is not None:
        runs, inner = read_checkpoint(resume, ident)

    def save(arrays, where):
        write_checkpoint(checkpoint_dir, ident, runs, arrays, where)

    for k in range(len(runs), n_seeds):
        runs.append(run_seed(config, first_seed + k, target, checkpoint_every=checkpoint_every,
                             on_checkpoint=save if checkpoint_every else None, resume=inner))
        inner = None
        if checkpoint_every and k + 1 < n_seeds:
            save(None, None)
        if progress is not None:
            progress((k + 1) / n_seeds, f"seed {first_seed + k}")
    return _summary(runs)


def _summary(runs: list[XorRun]) -> dict[str, Any]:
    acc = np.array([r.accuracy for r in runs])
    return {"accuracy": float(acc.mean()), "min": float(acc.min()), "max": float(acc.max()),
            "per_seed": [float(a) for a in acc], "curves": np.stack([r.curve for r in runs]), "runs": runs}


# -- checkpoints ---------------------------------------------------------------------------------
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.npz"
PROGRESS_FILE = "progress.json"


def write_checkpoint(folder, ident: dict, runs: list[XorRun], arrays: dict | None, where: dict | None) -> Path:
    """One set in `folder`: progress.json (what the run is, the seeds finished, and for the seed in training
    its epoch, random generator and answers) and, within a seed, state.npz (its simulation's arrays; the
    SHA-256 of state.npz is recorded in progress.json)."""
    from neurobox.files import atomic_folder, sha256_file, write_arrays

    with atomic_folder(folder) as tmp:
        body = {"task": "xor", **ident,
                "runs": [{"seed": r.seed, "accuracy": r.accuracy, "curve": r.curve, "final_weights": r.final_weights,
                          "seconds": r.seconds, "model_ms": r.model_ms} for r in runs],
                "within": where, "files": {}}
        if arrays is not None:
            write_arrays(tmp / STATE_FILE, arrays)
            body["files"][STATE_FILE] = sha256_file(tmp / STATE_FILE)
        (tmp / PROGRESS_FILE).write_text(json_text(body) + "\n")
    return Path(folder)


def read_checkpoint(folder, ident: dict) -> tuple[list[XorRun], tuple[dict, dict] | None]:
    """The seeds finished and the state of the one in training (or None) in checkpoint `folder` (or its
    `checkpoint` folder), after checking that its parts agree and that it belongs to this run."""
    from neurobox.files import read_arrays, recover_folder, sha256_file

    folder = Path(folder)
    if not (folder / PROGRESS_FILE).exists() and (folder / CHECKPOINT_DIR / PROGRESS_FILE).exists():
        folder = folder / CHECKPOINT_DIR
    recover_folder(folder)
    path = folder / PROGRESS_FILE
    if not path.exists():
        raise ConfigError(str(path), "no xor checkpoint here (train with --checkpoint-every N; the checkpoint is "
                                     f"the folder {CHECKPOINT_DIR} in the results folder)")
    try:
        body = json.loads(path.read_text())
        if body.get("task") != "xor":
            raise ValueError(f"a checkpoint of task {body.get('task')!r}")
        runs = [XorRun(int(r["seed"]), float(r["accuracy"]), np.asarray(r["curve"], dtype=np.float64),
                       np.asarray(r["final_weights"], dtype=np.float64), float(r["seconds"]), float(r["model_ms"]))
                for r in body["runs"]]
        within, files = body["within"], body["files"]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(str(path), f"not an xor checkpoint ({err})") from None
    theirs = {k: body.get(k) for k in ident}
    if theirs != ident:
        differ = ", ".join(k for k in ident if theirs[k] != ident[k])
        raise ConfigError("--resume", f"{folder} was made by a run with another {differ}; resume with the options "
                                      "it was made with (--quick, --seeds, --target)")
    inner = None
    if within is not None:
        if within.get("seed") != ident["first_seed"] + len(runs):
            raise ConfigError(str(path), f"its seed in training ({within.get('seed')!r}) does not follow the "
                                         f"{len(runs)} seeds finished")
        state = folder / STATE_FILE
        if not state.exists() or sha256_file(state) != files.get(STATE_FILE):
            raise ConfigError(str(state), f"missing, or does not belong with {PROGRESS_FILE} (its SHA-256 differs "
                                          "from the one recorded there)")
        inner = (read_arrays(state), within)
    return runs, inner


MODEL_FILE = "xor_model.toml"
DEMO_TRIALS = 8
"""Trials (every pattern twice) whose input spikes a saved model carries, so that running the file shows it answer."""


def trained_network(config: XorConfig, run: XorRun):
    """The network of `run` with its learned hidden -> output weights, its inputs a demo of DEMO_TRIALS trials."""
    net = build_network(config, run.seed)
    net.projections["hidden_output"].weight = np.asarray(run.final_weights, dtype=np.float64)
    rng = np.random.default_rng([run.seed, 505])
    slot = config.trial_ms + config.rest_ms
    times: list[list[float]] = [[], []]
    for k in range(DEMO_TRIALS):
        bits = PATTERNS[k % len(PATTERNS)]
        onset = k * slot + 1.0
        for j in range(2):
            t = onset + (0.0 if bits[j] else config.late_ms) + rng.normal(0.0, config.jitter_ms)
            times[j].append(float(round(max(t, k * slot + config.dt), 6)))
    net.populations["input"].set(spike_times=times)
    net.duration = DEMO_TRIALS * slot
    return net


def measuring_network(config: XorConfig, seed: int = 0):
    """The network driven as in training, for measuring the units' cycles (neurobox.hardware.speed): the four
    patterns in turn, one trial every trial_ms (without the rest between trials), no jitter."""
    net = build_network(config, seed)
    n_trials = 32
    times: list[list[float]] = [[], []]
    for k in range(n_trials):
        onset = k * config.trial_ms + 1.0
        for j in range(2):
            times[j].append(onset + (0.0 if PATTERNS[k % 4][j] else config.late_ms))
    net.populations["input"].set(spike_times=times)
    return net


def board_speed(config: XorConfig, runs: list[XorRun], fmax_mhz="cached") -> Any:
    """How fast the physical board would run what `runs` ran (neurobox.hardware.speed.BoardSpeed)."""
    from neurobox.hardware.board import units_from_network
    from neurobox.hardware.speed import board_speed as speed

    ticks = int(round(sum(r.model_ms for r in runs) / config.dt))
    board = units_from_network(build_network(config, runs[0].seed))
    return speed(board, ticks, fmax_mhz=fmax_mhz, stimulus=units_from_network(measuring_network(config)))


RESULT_FILES = (MODEL_FILE, "xor_learning_curve.png", CHECKPOINT_DIR)
"""What an xor results folder holds: written as one set, replacing the earlier one; other files are kept."""


def train_and_report(n_seeds: int, config: XorConfig, out: str | os.PathLike, bar,
                     target: str = "engine", first_seed: int = 0, fmax_mhz="cached", checkpoint_every: int = 0,
                     resume: str | os.PathLike | None = None, mapper: Callable | None = None) -> tuple[dict, list[Path]]:
    """Train and score `n_seeds` seeds on `target`, save the first seed's trained network as a model file and
    draw the learning curves into `out`; the summary and the files written. On the twin the summary also has
    `board_speed`: how long the physical board would take for the same ticks (`fmax_mhz`: see
    neurobox.hardware.speed.board_speed). checkpoint_every, resume: see `run_seeds` (the checkpoint is kept
    in out/checkpoint until the results are in place); mapper: see `run_seeds`. The files are put in place as one set
    (neurobox.files.atomic_folder)."""
    from neurobox.files import atomic_folder
    from neurobox.viz.task_plots import learning_curve

    out = Path(out)
    bar.phase("train")
    result = run_seeds(n_seeds, config, progress=bar.update, target=target, first_seed=first_seed,
                       checkpoint_every=checkpoint_every, checkpoint_dir=out / CHECKPOINT_DIR, resume=resume,
                       mapper=mapper)
    bar.close()
    where = {"engine": "the engine", "twin": "the twin's units"}[target]
    with atomic_folder(out, replaces=RESULT_FILES) as tmp:
        trained_network(config, result["runs"][0]).save(tmp / MODEL_FILE)
        learning_curve(result["curves"], config.block, tmp / "xor_learning_curve.png",
                       title=f"XOR by R-STDP on {where}, {n_seeds} seeds")
    model, png = out / MODEL_FILE, out / "xor_learning_curve.png"
    summary = {"accuracy": round(result["accuracy"], 4), "min": result["min"], "max": result["max"],
               "per_seed": result["per_seed"], "seeds": [r.seed for r in result["runs"]], "target": target, "precision": config.precision,
               "units": config.n_hidden + 1, "train_seconds": round(sum(r.seconds for r in result["runs"]), 2),
               "model_seconds": round(sum(r.model_ms for r in result["runs"]) / 1000.0, 3),
               "model": str(model), "out": str(out)}
    if target == "twin":
        summary["board_speed"] = board_speed(config, result["runs"], fmax_mhz).as_dict()
    return summary, [model, png]
