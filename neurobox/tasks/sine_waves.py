"""A recurrent spiking network learns to produce a sum of sines with e-prop (Bellec et al. 2020, Fig. 2; the
sizes and parameters of NEST 3.10's example eprop_supervised_regression_sine-waves.py).

Input: 100 channels of frozen noise, each firing in a 1 ms step with probability 0.05; the same 1000 ms
pattern in every iteration. Target: one 1000 ms signal, the sum of four sines of periods 1000, 500, 333
and 200 ms, amplitudes drawn in [0.5, 2] and phases in [0, 2 pi), shifted to start at 0 and scaled to a
largest magnitude of 1.

Network: 100 LIF neurons (`eprop_iaf`, tau_m 30 ms, V_th 0.03 mV, no refractory time), all to all
without autapses, one leaky readout (`eprop_readout`, tau_m 30 ms). Input, recurrent and readout weights
learn by e-prop (gradient descent, eta = 1e-4 (1 - kappa)^2, one step per iteration), with a random
feedback matrix for the learning signal and firing rates regularised towards 10 Hz. The initial weights
are drawn as in NEST's example: normal / sqrt(fan-in), times 1 - kappa.

Score: the loss per iteration, 0.5 sum_t (y_t - y*_t)^2 over the 1000 ms sequence (NEST's definition).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from neurobox.errors import ConfigError


@dataclass(frozen=True)
class SineConfig:
    """Sizes, times (ms at dt = 1 ms) and learning constants of the task."""

    n_in: int = 100
    n_rec: int = 100
    steps: int = 1000                              # ms, one sequence
    iterations: int = 200                          # NEST's shipped example (2000 in Bellec et al.)
    input_prob: float = 0.05                       # spike probability per input channel and step
    periods: tuple[int, ...] = (1000, 500, 333, 200)  # ms
    tau_m: float = 30.0                            # ms, recurrent and readout membranes
    V_th: float = 0.03                             # mV
    kappa: float = 0.97                            # low-pass filter of the eligibility traces
    c_reg: float = 0.3                             # firing-rate regularisation (NEST: 300 / sequence ms)
    f_target: float = 10.0                         # Hz
    surrogate_height: float = 10.0
    surrogate_width: float = 1.0 / 33.3
    eta: float = 1e-4 * (1.0 - 0.97) ** 2          # gradient descent's learning rate
    optimizer: str = "gradient_descent"

    @property
    def scale(self) -> float:
        """1 - kappa: NEST's example scales the initial weights and eta by it (eta by its square)."""
        return 1.0 - self.kappa

    def check(self) -> "SineConfig":
        for f in ("n_in", "n_rec", "steps", "iterations"):
            if int(getattr(self, f)) < 1:
                raise ConfigError(f, f"must be >= 1, got {getattr(self, f)}")
        if not 0.0 <= self.input_prob <= 1.0:
            raise ConfigError("input_prob", f"must be a probability in [0, 1], got {self.input_prob}")
        if not self.periods or min(self.periods) < 1:
            raise ConfigError("periods", f"expected periods >= 1 ms, got {self.periods}")
        return self


QUICK = SineConfig(n_rec=50, steps=500, periods=(500, 250, 166, 100), iterations=20, eta=1e-6)
"""A small, fast-learning version for tests and --quick: 50 recurrent neurons, 500 ms, a larger step."""


def frozen_input(config: SineConfig, seed: int) -> np.ndarray:
    """(steps, n_in) uint8: the frozen input noise, the same in every iteration."""
    from neurobox.random import generator

    rng = generator(seed, "sine_waves", "input")
    return (rng.random((config.steps, config.n_in)) < config.input_prob).astype(np.uint8)


def target_signal(config: SineConfig, seed: int) -> np.ndarray:
    """(steps,) float: the sum of sines, starting at 0, largest magnitude 1. A sine of period T makes
    steps // T whole cycles over the sequence (NEST's example's construction)."""
    from neurobox.random import generator

    rng = generator(seed, "sine_waves", "target")
    n = len(config.periods)
    amplitudes = rng.uniform(0.5, 2.0, n)
    phases = rng.uniform(0.0, 2.0 * math.pi, n)
    y = np.zeros(config.steps)
    for a, phi, period in zip(amplitudes, phases, config.periods):
        y += a * np.sin(np.linspace(phi, phi + 2.0 * math.pi * (config.steps // period), config.steps))
    y -= y[0]
    return y / max(np.abs(y).max(), 1e-6)


def initial_weights(config: SineConfig, seed: int) -> dict[str, np.ndarray]:
    """NEST's example's initial weights, (n_pre, n_post) each: normal / sqrt(fan-in) x (1 - kappa); no
    autapses; `feedback` (n_rec, 1) is the random matrix that carries the learning signal."""
    from neurobox.random import generator

    rng = generator(seed, "sine_waves", "weights")
    s = config.scale
    w_in = rng.standard_normal((config.n_in, config.n_rec)) / math.sqrt(config.n_in) * s
    w_rec = rng.standard_normal((config.n_rec, config.n_rec)) / math.sqrt(config.n_rec) * s
    np.fill_diagonal(w_rec, 0.0)
    w_out = rng.standard_normal((config.n_rec, 1)) / math.sqrt(config.n_rec) * s
    feedback = rng.standard_normal((config.n_rec, 1)) / math.sqrt(config.n_rec) * s
    return {"in_rec": w_in, "rec_rec": w_rec, "rec_out": w_out, "feedback": feedback}


def input_times(inputs: np.ndarray, dt: float = 1.0) -> list[list[float]]:
    """The spike_generator times (ms) of an input pattern (steps, n): a spike of step s is emitted in the step
    that ends at (s + 1) dt."""
    return [((np.flatnonzero(inputs[:, i]) + 1) * dt).tolist() for i in range(inputs.shape[1])]


def build_network(config: SineConfig, seed: int, weights: dict[str, np.ndarray], inputs: np.ndarray):
    """input (spike_generator playing `inputs` once) -> rec (eprop_iaf) -> out (eprop_readout), the three
    plastic (rule eprop, variant online, random feedback through the static projection out -> rec)."""
    import neurobox as nb

    n_in, n_rec = config.n_in, config.n_rec
    net = nb.Network(dt=1.0, seed=seed, duration=float(config.steps))
    net.population("input", n_in, "spike_generator", {"spike_times": input_times(inputs)})
    net.population("rec", n_rec, "eprop_iaf", {
        "C_m": 1.0, "E_L": 0.0, "I_e": 0.0, "V_th": config.V_th, "tau_m": config.tau_m, "t_ref": 0.0,
        "c_reg": config.c_reg, "f_target": config.f_target, "kappa": config.kappa, "kappa_reg": config.kappa,
        "surrogate_gradient_height": config.surrogate_height, "surrogate_gradient_width": config.surrogate_width,
        "eprop_isi_trace_cutoff": 100.0})
    net.population("out", 1, "eprop_readout", {"C_m": 1.0, "E_L": 0.0, "I_e": 0.0,
                                               "tau_m": config.tau_m, "eprop_isi_trace_cutoff": 100.0})
    rule = {"rule": "eprop", "variant": "online", "optimizer": config.optimizer, "eta": config.eta,
            "Wmin": -100.0, "Wmax": 100.0, "feedback": "random"}
    off_diagonal = ~np.eye(n_rec, dtype=bool)
    net.connect("input", "rec", "all_to_all", weight=weights["in_rec"].ravel(), delay=1.0, name="in_rec",
                plasticity=rule)
    net.connect("rec", "rec", "all_to_all", allow_autapses=False, weight=weights["rec_rec"][off_diagonal],
                delay=1.0, name="rec_rec", plasticity=rule)
    net.connect("rec", "out", "all_to_all", weight=weights["rec_out"].ravel(), delay=1.0, name="rec_out",
                plasticity=rule)
    net.connect("out", "rec", "all_to_all", weight=weights["feedback"].T.ravel(), delay=1.0, name="feedback")
    return net


@dataclass
class SineRun:
    """A trained network and how it got there (times in s of this machine's wall clock)."""

    config: SineConfig
    seed: int
    loss: list[float]            # after each training iteration, the loss of that iteration's sequence
    final_loss: float            # the trained network's loss (one more sequence, without learning)
    readout: np.ndarray          # (steps,) the trained network's readout y
    target: np.ndarray           # (steps,) y*
    inputs: np.ndarray           # (steps, n_in) the frozen input
    setup_s: float               # building the trainer (and compiling or loading its code)
    first_iteration_s: float
    per_iteration_s: float       # median over the training iterations
    train_s: float               # all training iterations
    trainer: Any


def train(config: SineConfig, seed: int = 0, *, start: dict[str, np.ndarray] | None = None,
          progress: Callable[[int, int], None] | None = None, threads: int | None = None) -> SineRun:
    """Train `config.iterations` iterations by e-prop. start: the initial condition (weights as
    `initial_weights` gives them, `inputs` (steps, n_in), `target` (steps,)): NEST's example's own draw, to
    compare the two iteration by iteration; None draws it from `seed`."""
    from neurobox.engine.eprop import EpropTrainer

    config.check()
    start = dict(start or {})
    inputs = np.asarray(start.pop("inputs"), np.uint8) if "inputs" in start else frozen_input(config, seed)
    target = np.asarray(start.pop("target"), float) if "target" in start else target_signal(config, seed)
    weights = start or initial_weights(config, seed)
    if inputs.shape != (config.steps, config.n_in) or target.shape != (config.steps,):
        raise ConfigError("start", f"expected inputs ({config.steps}, {config.n_in}) and target ({config.steps},), "
                                   f"got {inputs.shape} and {target.shape}")
    t0 = time.perf_counter()
    trainer = EpropTrainer(build_network(config, seed, weights, inputs), threads=threads)
    setup_s = time.perf_counter() - t0
    x, y = inputs[None], target[None, :, None].astype(np.float32)
    losses, times = [], []
    t0 = time.perf_counter()
    for k in range(config.iterations):
        t1 = time.perf_counter()
        losses.append(float(trainer.run(x, y, loss="mean_squared_error").loss))
        times.append(time.perf_counter() - t1)
        if progress:
            progress(k + 1, config.iterations)
    train_s = time.perf_counter() - t0
    final = trainer.run(x, y, loss="mean_squared_error", learn=False)
    return SineRun(config, seed, losses, float(final.loss), np.asarray(final.readout)[0, :, 0], target, inputs,
                   setup_s, times[0], float(np.median(times)), train_s, trainer)


MODEL_FILE = "sine_waves_model.toml"
CURVE_FILE = "sine_waves_curve.json"
LOSS_PNG = "sine_waves_loss.png"
AFTER_PNG = "sine_waves_after_training.png"
RESULT_FILES = (MODEL_FILE, CURVE_FILE, LOSS_PNG, AFTER_PNG)
"""What a sine-waves results folder holds: written as one set, replacing the earlier one."""


def configure(quick: bool = False, iterations: int | None = None) -> SineConfig:
    """The configuration `neurobox train sine-waves` runs: NEST's example's (QUICK with --quick)."""
    config = QUICK if quick else SineConfig()
    return (replace(config, iterations=iterations) if iterations is not None else config).check()


def train_and_report(config: SineConfig, seed: int, out, bar, threads: int | None = None) -> tuple[dict, list[Path]]:
    """Train, then write into `out` (as one set, neurobox.files.atomic_folder) the trained model (its input the
    frozen noise, so that running the file replays the sequence), the loss curve as JSON and the figures (the
    readout and the spikes of the model run in the ordinary engine: `replay_loss` is its loss); the summary and
    the files written."""
    from neurobox.files import atomic_folder, json_text
    from neurobox.viz.eprop_plots import loss_curve, sine_after_training

    out = Path(out)
    t0 = time.perf_counter()
    bar.phase("train")
    run = train(config, seed, progress=bar.count, threads=threads)
    bar.close()
    wall = time.perf_counter() - t0
    net = run.trainer.network()
    replay = _replay(net, config)
    summary = {"task": "sine-waves", "seed": seed, "config": asdict(config), "iterations": config.iterations,
               "loss": [round(v, 6) for v in run.loss], "first_loss": run.loss[0], "final_loss": run.final_loss,
               "wall_s": round(wall, 3), "setup_s": round(run.setup_s, 3), "train_s": round(run.train_s, 3),
               "per_iteration_s": round(run.per_iteration_s, 5),
               "first_iteration_s": round(run.first_iteration_s, 4),
               "rec_rate_hz": round(float(replay["spikes"].sum() / config.n_rec / (config.steps / 1000.0)), 3),
               "replay_loss": float(0.5 * np.sum((replay["readout"] - run.target) ** 2)),
               "out": str(out)}
    with atomic_folder(out, replaces=RESULT_FILES) as tmp:
        net.save(tmp / MODEL_FILE)
        (tmp / CURVE_FILE).write_text(json_text(summary) + "\n")
        loss_curve({"neurobox": run.loss}, tmp / LOSS_PNG, ylabel="loss  0.5 Σ$_t$ (y - y*)$^2$",
                   title=f"sine waves by e-prop, {config.n_rec} LIF neurons")
        sine_after_training(run.target, replay["readout"], replay["spikes"], tmp / AFTER_PNG,
                            title=f"after {config.iterations} iterations: loss {run.final_loss:.2f}")
    summary["model"] = str(out / MODEL_FILE)
    return summary, [out / name for name in RESULT_FILES]


def _replay(net, config: SineConfig) -> dict[str, np.ndarray]:
    """The trained network run once in the ordinary engine (the saved model as `neurobox run` runs it): the
    recurrent spikes per step (steps, n_rec) and the readout (steps,)."""
    from neurobox.targets import open_handle

    net = net.copy()
    net.record("out", ["V_m"])
    res = open_handle(net, "engine", progress=False).run(float(config.steps))
    s = res.spikes["rec"]
    spikes = np.zeros((config.steps, config.n_rec), np.uint8)
    np.add.at(spikes, (np.round(s.t_ms).astype(int) - 1, s.ids), 1)
    return {"spikes": spikes, "readout": np.asarray(res.trace("out", "V_m").values, float).ravel()}


def summary_line(summary: dict) -> str:
    """One line for the terminal."""
    return (f"sine waves: loss {summary['first_loss']:.2f} -> {summary['final_loss']:.2f} in "
            f"{summary['iterations']} iterations (0.5 Σ_t (y - y*)², {summary['config']['n_rec']} LIF neurons), "
            f"{1000 * summary['per_iteration_s']:.1f} ms per iteration, {summary['wall_s']:.1f} s in all, "
            f"seed {summary['seed']}")
