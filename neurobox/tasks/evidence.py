"""Evidence accumulation learned by e-prop: count the cues, decide after a delay (Bellec et al. 2020, Fig. 3;
the sizes and parameters of NEST 3.10's example
eprop_supervised_classification_evidence-accumulation_bsshslm_2020.py).

Trial (1 ms steps, `steps` = 7 x (50 + 100) + 1050 + 150 = 2250 ms): seven cues, each 100 ms after a
50 ms pause, each a left or a right cue; then 1050 ms of background noise; then a 150 ms recall. One side
is the likely one in a trial (each cue is on it with probability 0.7, chosen per trial with equal odds),
and the answer is the side that got the majority of the cues.

Inputs (n_in = 40 channels in four groups of 10): left cue, right cue, recall, noise. A channel of the
cue's group fires with probability 0.04 per step during the cue, the recall group during the recall, the
noise group with 0.01 per step throughout; no input fires in a trial's first step.

Network: 50 LIF (`eprop_iaf`) + 50 adaptive (`eprop_iaf_adapt`, threshold adaptation over 2 s: the memory
of the cues) recurrent neurons, two leaky readouts (left, right) trained with cross entropy on their
softmax during the recall only; Adam (eta 5e-3), one step per batch of 32 trials, firing rates
regularised towards 10 Hz.

Validation and early stopping as in NEST's example: every 10 iterations one fresh batch is scored without
learning; when its error is below 0.07, 8 more are, and training ends when their mean error is below 0.07
too.

Score: the training batches' cross entropy and error rate per iteration, and the error rate on a held-out
test set of fresh trials (never trained on, nor used for stopping). A trial's decision is the readout whose softmax has the larger
mean over the recall.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from neurobox.errors import ConfigError

GROUPS = ("left", "right", "recall", "noise")
"""The input groups, in channel order."""


@dataclass(frozen=True)
class EvidenceConfig:
    """Sizes, times (ms at dt = 1 ms), probabilities and learning constants of the task."""

    n_in: int = 40                 # input channels: four groups of n_in / 4
    n_reg: int = 50                # LIF recurrent neurons (eprop_iaf)
    n_ad: int = 50                 # adaptive recurrent neurons (eprop_iaf_adapt)
    n_cues: int = 7
    cue_ms: int = 100
    spacing_ms: int = 50           # pause before each cue
    bg_noise_ms: int = 1050        # delay between the last cue and the recall
    recall_ms: int = 150
    prob_group: float = 0.3        # probability of a cue on the less likely side
    spike_prob: float = 0.04       # per step, of a cue's or the recall's channels while on
    noise_prob: float = 0.01       # per step, of the noise channels, always
    batch: int = 32                # trials per training iteration (one optimizer step)
    iterations: int = 1000         # training iterations at most (early stopping may end sooner)
    test_trials: int = 256         # held-out trials scored after training
    validate_every: int = 10       # NEST's example's early stopping: every this many iterations, one fresh
    stop_error: float = 0.07       # batch is scored; below this error, early_stop_batches more are, and
    early_stop_batches: int = 8    # training stops when their mean error is below it too (0: never stop early)
    eta: float = 5e-3              # Adam's learning rate
    tau_m: float = 20.0            # ms, recurrent and readout membranes
    V_th: float = 0.6              # mV
    t_ref: float = 5.0             # ms
    adapt_tau: float = 2000.0      # ms
    adapt_strength: float = 1.7    # threshold jump per spike, in units of V_th's scale (see `adapt_beta`)
    c_reg: float = 300.0           # firing-rate regularisation
    f_target: float = 10.0         # Hz
    surrogate_height: float = 0.3  # pseudo-derivative's height x V_th (NEST's example divides by V_th)
    surrogate_width: float = 1.0   # pseudo-derivative's width / V_th

    @property
    def steps(self) -> int:
        """Steps (ms) of one trial."""
        return self.n_cues * (self.spacing_ms + self.cue_ms) + self.bg_noise_ms + self.recall_ms

    @property
    def group_size(self) -> int:
        return self.n_in // len(GROUPS)

    @property
    def adapt_beta(self) -> float:
        """NEST's example's prefactor of the adaptive threshold: 1.7 x (1 - e^(-dt/adapt_tau)) /
        (1 - e^(-dt/tau_m)), dt = 1 ms."""
        return self.adapt_strength * (-math.expm1(-1.0 / self.adapt_tau)) / (-math.expm1(-1.0 / self.tau_m))

    def check(self) -> "EvidenceConfig":
        for f in ("n_in", "n_reg", "n_cues", "cue_ms", "recall_ms", "batch", "iterations", "test_trials"):
            if int(getattr(self, f)) < 1:
                raise ConfigError(f, f"must be >= 1, got {getattr(self, f)}")
        for f in ("n_ad", "spacing_ms", "bg_noise_ms", "validate_every", "early_stop_batches"):
            if int(getattr(self, f)) < 0:
                raise ConfigError(f, f"must be >= 0, got {getattr(self, f)}")
        if self.n_in % len(GROUPS):
            raise ConfigError("n_in", f"must be a multiple of {len(GROUPS)} (left, right, recall, noise), "
                                      f"got {self.n_in}")
        if self.n_cues % 2 == 0:
            raise ConfigError("n_cues", f"must be odd (a majority decides), got {self.n_cues}")
        for f in ("prob_group", "spike_prob", "noise_prob"):
            if not 0.0 <= getattr(self, f) <= 1.0:
                raise ConfigError(f, f"must be a probability in [0, 1], got {getattr(self, f)}")
        return self


QUICK = EvidenceConfig(n_in=20, n_reg=10, n_ad=10, n_cues=3, cue_ms=40, spacing_ms=20, bg_noise_ms=50,
                       recall_ms=40, batch=16, iterations=100, test_trials=128, spike_prob=0.2, noise_prob=0.02,
                       adapt_tau=300.0, eta=0.02, early_stop_batches=0)
"""A small version for tests and --quick: 3 cues, 50 ms of delay, 20 neurons, stronger cues, a larger step,
all its iterations."""


def cue_onsets(config: EvidenceConfig) -> np.ndarray:
    """The first step of each cue."""
    return np.arange(config.n_cues) * (config.spacing_ms + config.cue_ms) + config.spacing_ms


def trials(config: EvidenceConfig, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`n` fresh trials: input spikes (n, steps, n_in) uint8, the cues (n, n_cues) (0 left, 1 right) and
    the answers (n,) (1: right got the majority)."""
    g = config.group_size
    likely_left = rng.random(n) < 0.5
    p_left = np.where(likely_left, 1.0 - config.prob_group, config.prob_group)
    cues = (rng.random((n, config.n_cues)) >= p_left[:, None]).astype(np.int64)
    prob = np.zeros((n, config.steps, config.n_in), np.float32)
    for k, onset in enumerate(cue_onsets(config)):
        for side in (0, 1):
            on = cues[:, k] == side
            prob[on, onset:onset + config.cue_ms, side * g:(side + 1) * g] = config.spike_prob
    prob[:, config.steps - config.recall_ms:, 2 * g:3 * g] = config.spike_prob
    prob[:, :, 3 * g:] = config.noise_prob
    spikes = (rng.random(prob.shape, dtype=np.float32) < prob).astype(np.uint8)
    spikes[:, 0, :] = 0
    answers = (cues.sum(axis=1) > config.n_cues // 2).astype(np.int64)
    return spikes, cues, answers


def targets(config: EvidenceConfig, answers: np.ndarray) -> np.ndarray:
    """One-hot targets per step (n, steps, 2): the answer's readout is 1 throughout."""
    y = np.zeros((answers.size, config.steps, 2), dtype=np.float32)
    y[np.arange(answers.size), :, answers] = 1.0
    return y


def recall_mask(config: EvidenceConfig) -> np.ndarray:
    """(steps,) bool: the steps where the loss and the learning signal count (the recall)."""
    mask = np.zeros(config.steps, dtype=bool)
    mask[config.steps - config.recall_ms:] = True
    return mask


def softmax(readout: np.ndarray) -> np.ndarray:
    """The readouts' softmax per step (..., steps, 2): what the cross entropy scores."""
    y = np.asarray(readout, dtype=np.float64)
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def decisions(config: EvidenceConfig, readout: np.ndarray) -> np.ndarray:
    """Each trial's decision (0 left, 1 right): the readout whose softmax has the larger mean over the recall
    (NEST's example's rule)."""
    return np.argmax(softmax(np.asarray(readout)[:, -config.recall_ms:, :]).mean(axis=1), axis=1)


def initial_weights(config: EvidenceConfig, seed: int) -> dict[str, np.ndarray]:
    """NEST's example's initial weights, (n_pre, n_post) each, recurrent neurons LIF first: input and recurrent
    normal / sqrt(fan-in) (no autapses), readout Glorot-uniform (limit sqrt(3 / max(1, (n_rec + 2) / 2))),
    `feedback` (n_rec, 2) normal: the random matrix that carries the learning signal."""
    from neurobox.random import generator

    rng = generator(seed, "evidence", "weights")
    n_in, n_rec = config.n_in, config.n_reg + config.n_ad
    w_in = rng.standard_normal((n_in, n_rec)) / math.sqrt(n_in)
    w_rec = rng.standard_normal((n_rec, n_rec)) / math.sqrt(n_rec)
    np.fill_diagonal(w_rec, 0.0)
    limit = math.sqrt(3.0 / max(1.0, (n_rec + 2) / 2.0))
    w_out = rng.uniform(-limit, limit, (n_rec, 2))
    feedback = rng.standard_normal((n_rec, 2))
    return {"in_rec": w_in, "rec_rec": w_rec, "rec_out": w_out, "feedback": feedback}


def build_network(config: EvidenceConfig, seed: int, weights: dict[str, np.ndarray], demo: np.ndarray):
    """input (spike_generator playing the trial `demo` (steps, n_in) once) -> reg (eprop_iaf) + ad
    (eprop_iaf_adapt) -> out (2 eprop_readout: left, right); every projection among them plastic (rule eprop,
    variant bsshslm_2020, Adam, random feedback through the static projections out -> reg, out -> ad)."""
    import neurobox as nb
    from neurobox.tasks.sine_waves import input_times

    recurrent = {"C_m": 1.0, "E_L": 0.0, "I_e": 0.0, "V_th": config.V_th, "tau_m": config.tau_m,
                 "t_ref": config.t_ref, "c_reg": config.c_reg, "f_target": config.f_target,
                 "regular_spike_arrival": 1.0, "surrogate_gradient_height": config.surrogate_height / config.V_th,
                 "surrogate_gradient_width": config.surrogate_width * config.V_th}
    net = nb.Network(dt=1.0, seed=seed, duration=float(config.steps))
    net.population("input", config.n_in, "spike_generator", {"spike_times": input_times(demo)})
    groups = {"reg": (0, config.n_reg), "ad": (config.n_reg, config.n_reg + config.n_ad)}
    net.population("reg", config.n_reg, "eprop_iaf", recurrent)
    if config.n_ad:
        net.population("ad", config.n_ad, "eprop_iaf_adapt", {**recurrent, "adapt_tau": config.adapt_tau,
                                                              "adapt_beta": config.adapt_beta})
    else:
        del groups["ad"]
    net.population("out", 2, "eprop_readout", {"C_m": 1.0, "E_L": 0.0, "I_e": 0.0, "tau_m": config.tau_m,
                                               "regular_spike_arrival": 0.0})
    rule = {"rule": "eprop", "variant": "bsshslm_2020", "optimizer": "adam", "eta": config.eta, "beta_1": 0.9,
            "beta_2": 0.999, "epsilon": 1e-8, "Wmin": -100.0, "Wmax": 100.0, "batch_size": float(config.batch),
            "average_gradient": 1.0, "feedback": "random"}
    for post, (a, b) in groups.items():
        net.connect("input", post, "all_to_all", weight=weights["in_rec"][:, a:b].ravel(), delay=1.0,
                    name=f"in_{post}", plasticity=rule)
        for pre, (c, d) in groups.items():
            block = weights["rec_rec"][c:d, a:b]
            if pre == post:
                block = block[~np.eye(b - a, dtype=bool)]
            net.connect(pre, post, "all_to_all", weight=block.ravel(), delay=1.0, name=f"{pre}_{post}",
                        plasticity=rule, **({"allow_autapses": False} if pre == post else {}))
        net.connect(post, "out", "all_to_all", weight=weights["rec_out"][a:b].ravel(), delay=1.0,
                    name=f"{post}_out", plasticity=rule)
        net.connect("out", post, "all_to_all", weight=weights["feedback"][a:b].T.ravel(), delay=1.0,
                    name=f"feedback_{post}")
    return net


@dataclass
class EvidenceRun:
    """A trained network and how it got there (times in s of this machine's wall clock)."""

    config: EvidenceConfig
    seed: int
    loss: list[float]            # per training iteration: the batch's cross entropy (summed over the recall)
    error: list[float]           # per training iteration: the batch's error rate
    test_loss: float
    test_error: float            # on config.test_trials held-out trials, after training
    test_trials: int
    validation: list[tuple[int, float]]  # (iterations done, error of a fresh batch) at each validation
    stopped_early: bool
    example: dict[str, Any]      # one test trial: inputs, readout, answer
    setup_s: float
    first_iteration_s: float
    per_iteration_s: float       # median over the training iterations
    train_s: float
    trainer: Any


def held_out(config: EvidenceConfig, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The held-out trials, in batches of config.batch: (inputs, answers) each; their own random stream,
    never used for training."""
    from neurobox.random import generator

    rng = generator(seed, "evidence", "test")
    batches, left = [], config.test_trials
    while left > 0:
        x, _, answers = trials(config, min(left, config.batch), rng)
        batches.append((x, answers))
        left -= answers.size
    return batches


def evaluate(trainer, config: EvidenceConfig, batches) -> tuple[float, float, dict[str, Any]]:
    """(mean cross entropy, error rate, the first trial) of the trained network on `batches`, without learning."""
    mask = recall_mask(config)
    losses, wrong, n, example = [], 0, 0, None
    for x, answers in batches:
        out = trainer.run(x, targets(config, answers), loss="cross_entropy", mask=mask, learn=False)
        losses.append(float(out.loss) * answers.size)
        wrong += int((decisions(config, out.readout) != answers).sum())
        n += answers.size
        if example is None:
            example = {"inputs": x[0], "readout": np.asarray(out.readout)[0], "answer": int(answers[0])}
    return sum(losses) / n, wrong / n, example


def train(config: EvidenceConfig, seed: int = 0, *, progress: Callable[[int, int], None] | None = None,
          threads: int | None = None) -> EvidenceRun:
    """Train by e-prop on batches of fresh trials, `config.iterations` at most, validating and stopping early as
    the module text says (the validation trials come from a stream of their own); then score the trained
    network on the held-out test set."""
    from neurobox.engine.eprop import EpropTrainer
    from neurobox.random import generator

    config.check()
    tests = held_out(config, seed)
    t0 = time.perf_counter()
    trainer = EpropTrainer(build_network(config, seed, initial_weights(config, seed), tests[0][0][0]),
                           threads=threads)
    setup_s = time.perf_counter() - t0
    rng = generator(seed, "evidence", "train")
    fresh = generator(seed, "evidence", "validation")
    mask = recall_mask(config)
    losses, errors, times, validation = [], [], [], []
    stopped = False
    t0 = time.perf_counter()
    for k in range(config.iterations):
        if config.validate_every and k and k % config.validate_every == 0:
            error, stopped = _validate(trainer, config, fresh)
            validation.append((k, error))
            if stopped:
                break
        x, _, answers = trials(config, config.batch, rng)
        t1 = time.perf_counter()
        out = trainer.run(x, targets(config, answers), loss="cross_entropy", mask=mask)
        times.append(time.perf_counter() - t1)
        losses.append(float(out.loss))
        errors.append(float(np.mean(decisions(config, out.readout) != answers)))
        if progress:
            progress(k + 1, config.iterations)
    train_s = time.perf_counter() - t0
    test_loss, test_error, example = evaluate(trainer, config, tests)
    return EvidenceRun(config, seed, losses, errors, test_loss, test_error, config.test_trials, validation, stopped,
                       example, setup_s, times[0], float(np.median(times)), train_s, trainer)


def _validate(trainer, config: EvidenceConfig, rng) -> tuple[float, bool]:
    """The error on one fresh batch, and NEST's example's stopping criterion: that error below stop_error, and
    then the mean error of early_stop_batches more fresh batches too (never with early_stop_batches = 0)."""
    def error() -> float:
        x, _, answers = trials(config, config.batch, rng)
        return evaluate(trainer, config, [(x, answers)])[1]

    first = error()
    if first >= config.stop_error or not config.early_stop_batches:
        return first, False
    return first, float(np.mean([error() for _ in range(config.early_stop_batches)])) < config.stop_error


MODEL_FILE = "evidence_model.toml"
CURVE_FILE = "evidence_curve.json"
CURVES_PNG = "evidence_curves.png"
TRIAL_PNG = "evidence_trial.png"
RESULT_FILES = (MODEL_FILE, CURVE_FILE, CURVES_PNG, TRIAL_PNG)
"""What an evidence results folder holds: written as one set, replacing the earlier one."""


def configure(quick: bool = False, iterations: int | None = None) -> EvidenceConfig:
    """The configuration `neurobox train evidence` runs (QUICK with --quick)."""
    config = QUICK if quick else EvidenceConfig()
    return (replace(config, iterations=iterations) if iterations is not None else config).check()


def train_and_report(config: EvidenceConfig, seed: int, out, bar, threads: int | None = None
                     ) -> tuple[dict, list[Path]]:
    """Train and test, then write into `out` (as one set, neurobox.files.atomic_folder) the trained model (its
    input one test trial), the curves as JSON and the figures; the summary and the files written."""
    from neurobox.files import atomic_folder, json_text
    from neurobox.viz.eprop_plots import evidence_curves, evidence_trial

    out = Path(out)
    t0 = time.perf_counter()
    bar.phase("train")
    run = train(config, seed, progress=bar.count, threads=threads)
    bar.close()
    wall = time.perf_counter() - t0
    summary = {"task": "evidence", "seed": seed, "config": asdict(config), "iterations": config.iterations,
               "loss": [round(v, 6) for v in run.loss], "error": run.error, "final_loss": run.loss[-1],
               "final_error": run.error[-1], "test_error": run.test_error, "test_loss": round(run.test_loss, 6),
               "test_trials": run.test_trials, "trained_iterations": len(run.loss),
               "stopped_early": run.stopped_early, "validation": run.validation, "wall_s": round(wall, 3), "setup_s": round(run.setup_s, 3),
               "train_s": round(run.train_s, 3), "per_iteration_s": round(run.per_iteration_s, 4),
               "first_iteration_s": round(run.first_iteration_s, 4), "out": str(out)}
    g = config.group_size
    with atomic_folder(out, replaces=RESULT_FILES) as tmp:
        run.trainer.network().save(tmp / MODEL_FILE)
        (tmp / CURVE_FILE).write_text(json_text(summary) + "\n")
        evidence_curves(run.loss, run.error, tmp / CURVES_PNG, test_error=run.test_error,
                        title=f"evidence accumulation by e-prop, batch {config.batch}")
        ex = run.example
        evidence_trial(ex["inputs"], softmax(ex["readout"]), {name: (k * g, (k + 1) * g) for k, name in enumerate(GROUPS)},
                       tmp / TRIAL_PNG, window=(config.steps - config.recall_ms, config.steps), target=ex["answer"])
    summary["model"] = str(out / MODEL_FILE)
    return summary, [out / name for name in RESULT_FILES]


def summary_line(summary: dict) -> str:
    """One line for the terminal."""
    c = summary["config"]
    stop = ", stopped early" if summary["stopped_early"] else ""
    return (f"evidence accumulation: test error {summary['test_error']:.3f} on {summary['test_trials']} held-out "
            f"trials after {summary['trained_iterations']} iterations of {c['batch']} trials{stop} (last batch: error "
            f"{summary['final_error']:.3f}, cross entropy {summary['final_loss']:.3f}), {c['n_reg']} LIF + "
            f"{c['n_ad']} ALIF neurons, {summary['per_iteration_s']:.2f} s per iteration, {summary['wall_s']:.1f} s "
            f"in all, seed {summary['seed']}")
