"""Unsupervised digit recognition with STDP and lateral inhibition (Diehl & Cook 2015 style).

Data: scikit-learn's bundled 8x8 digits (1797 images, intensities 0..16),
split 70/30 into training and test sets (stratified, seeded).

Network (built by `build_network`):

    input  64 spike_generator neurons, one per pixel: Poisson spikes at
           pixel/16 * max_rate_hz during `present_ms` (eval_rate_hz when
           labelling and testing), then `rest_ms` of
           silence so that the network relaxes between images
    exc    n_exc iaf_cond_exp neurons with an adaptive threshold
           (theta_plus mV per spike, homeostasis) and a slow membrane
           (tau_m = 100 ms), so that a neuron integrates its input
    input -> exc   all-to-all, plastic: additive pair STDP (all-to-all
                   pairing, potentiation only by default) plus weight
                   normalisation (each neuron's incoming weights sum to
                   `w_sum` nS), which depresses the inputs a neuron did
                   not use; the amplitudes fall linearly during training
                   (`anneal`), changed between engine runs
    exc -> exc     all-to-all without autapses, inhibitory receptor with a
                   slow conductance (10 ms): direct lateral inhibition, the
                   first neuron to fire silences the others (winner-take-all)

Training presents every training image `epochs` times (shuffled, seeded),
`batch` images per engine run. An image that makes no exc neuron fire is
shown again with a stronger input (`boost_hz` more per repetition, at most
`max_repeats` times), as Diehl & Cook do. Learning then stops: a fresh
network is built from the learned weights and thresholds alone
(`evaluate`; thresholds frozen); it is shown the training images once to
assign each neuron the class it answers most to (per-class mean spike
count), then the test images: the predicted class is the one whose
neurons fire most on average. Every input spike train comes from a seeded
stream per (seed, phase, epoch, image, repetition), so a run is
deterministic for a seed, and evaluating a saved and reloaded network
gives exactly the same answers.

The physical network (`UnitDigitsConfig`, built by the same `build_network`)
is what the units run and learn on their own, in their integer arithmetic
(dt = 1 ms): `iaf_psc_exp` learning units whose adaptive threshold grows
with every spike and never decays, potentiation-only pair STDP whose
amplitude each unit halves after a number of its own spikes (a schedule
local to the unit: no host changes a rule or a weight) and whose weights
each unit scales down to `w_sum` after its spikes, and lateral inhibition
from every peer. It trains in the fixed-point engine or on the twin's
units (`target`); labelling and testing run on fresh units loaded with
what was learned (their state at rest, as after a power-up).
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
from neurobox.neurons.lif_fixed import INT16_MAX
from neurobox.targets import open_handle

N_PIXELS = 64
N_CLASSES = 10
TEST_FRACTION = 0.3
MODEL_FILE = "digits_model.toml"
DEMO_IMAGES = 16
"""Test images (the first of the test split) whose input spikes a saved model carries, so that running it shows
the network answer; on the units that is 16 x 140 ms = 2240 ticks."""
META_FILE = "digits_meta.json"
PHASES = {"train": 0, "label": 1, "test": 2}
FROZEN_TAU_THETA = 1e15      # ms: the thresholds of a trained network do not decay


@dataclass(frozen=True)
class DigitsConfig:
    """Sizes, timings (ms), rates (Hz), weights (nS) and learning constants of the digits task."""

    n_exc: int = 400              # excitatory (learning) neurons
    epochs: int = 6               # passes over the training set
    dt: float = 0.5               # ms, simulation step
    present_ms: float = 100.0     # ms, duration of one image
    rest_ms: float = 40.0         # ms, silence after each image
    max_rate_hz: float = 120.0    # Hz, rate of a pixel of intensity 16
    boost_hz: float = 60.0        # Hz, added to max_rate_hz per repetition of a silent image
    max_repeats: int = 3          # repetitions of an image that drew no spike
    w_sum: float = 15.0           # nS, sum of each exc neuron's incoming weights (normalisation)
    w_max: float = 8.0            # nS, upper bound of one input weight
    w_inh: float = 15.0           # nS, lateral inhibition from each exc neuron to every other
    tau_syn_ex: float = 2.0       # ms
    tau_syn_in: float = 10.0      # ms, long: the first neuron to fire keeps the others down
    tau_m: float = 100.0          # ms, membrane time constant (C_m = 250 pF)
    theta_plus: float = 1.0       # mV per spike, adaptive threshold during training
    tau_theta: float = 1e7        # ms, decay of the adaptive threshold during training
    A_plus: float = 0.5           # nS, potentiation at zero lag (start of training)
    A_minus: float = 0.0          # nS, depression at zero lag (normalisation does the depressing)
    tau_plus: float = 20.0        # ms
    tau_minus: float = 20.0       # ms
    normalize_every_ms: float = 20.0  # ms
    pairing: str = "all_to_all"   # STDP pairing: "nearest" or "all_to_all"
    anneal: float = 0.95          # A_plus, A_minus fall linearly by this fraction over training (0: constant)
    anneal_theta: bool = False    # theta_plus falls with them
    batch: int = 25               # images per engine run (Python acts only between runs)
    eval_rate_hz: float = 1200.0  # Hz, rate of a pixel of intensity 16 when labelling and testing
                                  # (thresholds frozen; 0: max_rate_hz): more spikes per image, a less noisy vote
    eval_boost_hz: float = 60.0   # Hz, added per repetition of a silent image when labelling and testing
    eval_max_repeats: int = 3     # repetitions of a silent image when labelling and testing

    def check(self) -> "DigitsConfig":
        return _check_config(self)


def _check_config(config):
    """Every field of a digits configuration in its range (ConfigError naming it otherwise); returns it."""
    whole = ("n_exc", "epochs", "max_repeats", "batch", "eval_max_repeats", "halvings")
    may_be_zero = ("A_minus", "boost_hz", "rest_ms", "theta_plus", "anneal", "eval_rate_hz", "eval_boost_hz")
    for f in fields(config):
        v = getattr(config, f.name)
        if f.name in whole:
            low = 0 if f.name in ("max_repeats", "eval_max_repeats", "halvings") else 1
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ConfigError(f"digits.{f.name}", f"must be a whole number >= {low}, got {v!r}")
        elif f.name == "anneal_theta":
            if not isinstance(v, bool):
                raise ConfigError("digits.anneal_theta", f"must be true or false, got {v!r}")
        elif f.name == "pairing":
            if v not in ("nearest", "all_to_all"):
                raise ConfigError("digits.pairing", f"must be nearest or all_to_all, got {v!r}")
        elif not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0 or (v == 0 and f.name not in may_be_zero):
            raise ConfigError(f"digits.{f.name}", f"must be a finite number > 0, got {v!r}")
    if getattr(config, "anneal", 0.0) > 1.0:
        raise ConfigError("digits.anneal", f"must be in [0, 1], got {config.anneal!r}")
    if isinstance(config, DigitsConfig) and config.w_max * N_PIXELS < config.w_sum:
        raise ConfigError("digits.w_max", f"w_max * 64 must be >= w_sum ({config.w_sum:g} nS)")
    return config


QUICK = DigitsConfig(n_exc=40, epochs=2, theta_plus=0.3)
"""A reduced configuration for tests (well under a minute)."""


@dataclass(frozen=True)
class UnitDigitsConfig:
    """The digits network the units learn on their own (module docstring): ms, mV, pA, Hz; dt = one tick."""

    n_exc: int = 50               # learning units (with 64 pixel inputs they fit one bus)
    epochs: int = 6
    dt: float = 1.0               # ms, the units' tick
    present_ms: float = 100.0
    rest_ms: float = 40.0
    max_rate_hz: float = 120.0
    boost_hz: float = 60.0
    max_repeats: int = 3
    eval_rate_hz: float = 120.0   # Hz; labelling and testing start at the training rate ...
    eval_boost_hz: float = 30.0   # ... and raise it by this per repetition ...
    eval_max_repeats: int = 30    # ... until the units answer
    batch: int = 1                # images per engine run: 1 = the host waits for the answer to each image
    tau_m: float = 100.0          # ms
    tau_syn_ex: float = 2.0       # ms
    tau_syn_in: float = 10.0      # ms
    threshold_mV: float = 13.0    # mV, V_th - E_L
    t_ref: float = 5.0            # ms
    theta_per_unit: float = 0.01  # mV: each spike raises a unit's threshold by this times n_exc
    w_sum: float = 900.0          # pA, what a unit scales its 64 input weights down to after its spikes
    w_inh: float = 600.0          # pA, lateral inhibition from each peer spike
    A_plus: float = 30.0          # pA, potentiation at zero lag (at the start)
    tau_plus: float = 16.0        # ms
    halve_after: float = 2000.0   # a unit halves A_plus after every halve_after / n_exc of its own spikes ...
    halvings: int = 4             # ... at most this many times
    V_lsb: float = 2.0 ** -7      # mV per membrane step
    I_lsb: float = 0.25           # pA per current and weight step

    def check(self) -> "UnitDigitsConfig":
        return _check_config(self)


UNITS_QUICK = UnitDigitsConfig(n_exc=25, epochs=1)
"""A reduced physical configuration for tests."""


@dataclass
class TrainedDigits:
    """What training learned: weights (64, n_exc) nS, thresholds theta (n_exc,) mV, and how."""

    config: DigitsConfig
    seed: int
    weights: np.ndarray
    theta: np.ndarray
    train_seconds: float = 0.0
    model_ms: float = 0.0
    """Model time training ran (every presentation and rest, repeats included), ms."""


# -- data ---------------------------------------------------------------------------------
def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): intensities in [0, 1] (n, 64), labels 0..9; 30 % test, stratified."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_FRACTION, stratify=y, random_state=seed)
    return x_tr, y_tr, x_te, y_te


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError("seed", f"must be a whole number >= 0, got {seed!r}")
    return int(seed)


# -- network ------------------------------------------------------------------------------
def exc_params(config: DigitsConfig, theta_plus: float) -> dict[str, float]:
    """Parameters of the excitatory neurons (iaf_cond_exp, NEST units)."""
    c_m = 250.0
    return {"C_m": c_m, "g_L": c_m / config.tau_m, "E_L": -65.0, "V_reset": -65.0, "V_th": -52.0,
            "t_ref": 5.0, "E_ex": 0.0, "E_in": -100.0, "tau_syn_ex": config.tau_syn_ex,
            "tau_syn_in": config.tau_syn_in, "theta_plus": theta_plus, "tau_theta": config.tau_theta}


def build_network(config: DigitsConfig | UnitDigitsConfig, seed: int, *, weights: np.ndarray | None = None,
                  theta: np.ndarray | None = None, learning: bool = True, unreliable: bool = False,
                  resume: bool = False):
    """The digits network: plastic with random weights (learning=True), or frozen with given arrays.

    weights: (64, n_exc) nS (pA for the units), input -> exc; theta: (n_exc,) mV, initial thresholds;
    unreliable: frozen projections get a transmission probability (1.0 to start) that faults can lower;
    resume (units): plastic at the learning rate the units' schedule ends with, as a trained board
    that keeps learning.
    """
    if isinstance(config, UnitDigitsConfig):
        return _unit_network(config, seed, weights, theta, learning, unreliable, resume)
    import neurobox as nb

    n = config.n_exc
    net = nb.Network(dt=config.dt, seed=seed)
    net.population("input", N_PIXELS, "spike_generator", {"spike_times": [[] for _ in range(N_PIXELS)]},
                   record_spikes=True)
    initial = {"V_m": -65.0}
    if theta is not None:
        initial["theta"] = np.asarray(theta, dtype=np.float64)
    # A frozen network keeps its learned thresholds: no growth (theta_plus = 0) and no decay.
    params = exc_params(config, config.theta_plus if learning else 0.0)
    if not learning:
        params["tau_theta"] = FROZEN_TAU_THETA
    net.population("exc", n, "iaf_cond_exp", params, initial=initial)
    if weights is None:
        w = _initial_weights(config, seed)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (N_PIXELS, n):
            raise ConfigError("weights", f"expected shape ({N_PIXELS}, {n}), got {w.shape}")
    pre, post = np.meshgrid(np.arange(N_PIXELS), np.arange(n), indexing="ij")
    plasticity = None
    if learning:
        plasticity = {"rule": "stdp", "A_plus": config.A_plus, "A_minus": config.A_minus,
                      "tau_plus": config.tau_plus, "tau_minus": config.tau_minus, "w_min": 0.0,
                      "w_max": config.w_max, "mode": "additive", "pairing": config.pairing,
                      "normalize_to": config.w_sum, "normalize_every_ms": config.normalize_every_ms}
    p_transmit = 1.0 if (unreliable and not learning) else None
    net.connect("input", "exc", "explicit", pre_ids=pre.ravel(), post_ids=post.ravel(), weight=w.ravel(),
                delay=config.dt, receptor="excitatory", plasticity=plasticity, name="input_exc",
                p_transmit=p_transmit)
    net.connect("exc", "exc", "all_to_all", allow_autapses=False, weight=config.w_inh, delay=config.dt,
                receptor="inhibitory", name="lateral", p_transmit=p_transmit)
    return net


def _initial_weights(config, seed: int) -> np.ndarray:
    """(64, n_exc) random weights, each neuron's summing to w_sum (seeded)."""
    w = np.random.default_rng([seed, 7]).uniform(0.2, 1.0, (N_PIXELS, config.n_exc))
    return w * (config.w_sum / w.sum(axis=0, keepdims=True))


def _unit_network(config: UnitDigitsConfig, seed: int, weights, theta, learning: bool, unreliable: bool,
                  resume: bool):
    """The physical digits network (see UnitDigitsConfig and the module docstring)."""
    import neurobox as nb

    n = config.n_exc
    net = nb.Network(dt=config.dt, seed=seed, precision="fixed")
    net.population("input", N_PIXELS, "spike_generator", {"spike_times": [[] for _ in range(N_PIXELS)]})
    rest = -65.0
    params = {"C_m": 250.0, "tau_m": config.tau_m, "tau_syn_ex": config.tau_syn_ex, "tau_syn_in": config.tau_syn_in,
              "E_L": rest, "V_reset": rest, "V_th": rest + config.threshold_mV, "t_ref": config.t_ref,
              "theta_plus": config.theta_per_unit * n if learning else 0.0, "tau_theta": FROZEN_TAU_THETA}
    initial = {} if theta is None else {"theta": np.asarray(theta, dtype=np.float64)}
    net.population("exc", n, "iaf_psc_exp", params, initial=initial,
                   fixed_point={"V_lsb": config.V_lsb, "I_lsb": config.I_lsb})
    w = _initial_weights(config, seed) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (N_PIXELS, n):
        raise ConfigError("weights", f"expected shape ({N_PIXELS}, {n}), got {w.shape}")
    pre, post = np.meshgrid(np.arange(N_PIXELS), np.arange(n), indexing="ij")
    plasticity = None
    if learning:
        plasticity = {"rule": "stdp", "A_plus": config.A_plus, "A_minus": 0.0, "tau_plus": config.tau_plus,
                      "tau_minus": config.tau_plus, "w_min": 0.0, "w_max": INT16_MAX * config.I_lsb,
                      "halve_every": float(max(1, round(config.halve_after / n))), "halvings": float(config.halvings),
                      "normalize_to": config.w_sum, "normalize_every_ms": 0.0}
        if resume:  # the rate after the last halving, in whole weight steps as the units hold it
            steps = int(round(config.A_plus / config.I_lsb)) >> config.halvings
            plasticity.update(A_plus=steps * config.I_lsb, halve_every=0.0, halvings=0.0)
    p_transmit = 1.0 if (unreliable and not learning) else None
    net.connect("input", "exc", "explicit", pre_ids=pre.ravel(), post_ids=post.ravel(), weight=w.ravel(),
                delay=config.dt, receptor="excitatory", plasticity=plasticity, name="input_exc",
                p_transmit=p_transmit)
    net.connect("exc", "exc", "all_to_all", allow_autapses=False, weight=-config.w_inh, delay=config.dt,
                receptor="inhibitory", name="lateral", p_transmit=p_transmit)
    return net


def _weight_matrix(sim, n_exc: int) -> np.ndarray:
    pre, post, w, _ = sim.weights("input_exc")
    out = np.zeros((N_PIXELS, n_exc))
    out[pre, post] = w
    return out


def _spike_trains(image: np.ndarray, rate_hz: float, window_ms: float, t0: float, dt: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel Poisson spikes (t_ms, pixel) in (t0, t0 + window_ms], at most one per step."""
    from neurobox.coding import poisson_encode

    t, ids = poisson_encode(image, window_ms - dt, rate_hz, seed=rng, dt_ms=dt, t_start_ms=t0 + dt)
    return t, ids


def _present_batch(sim, config: DigitsConfig, images: np.ndarray, rngs: list[np.random.Generator],
                   rate_hz: float) -> np.ndarray:
    """Show `images` one after the other in one run (each present_ms, then rest_ms of silence).

    Returns the spike counts (n_images, n_exc) of the exc neurons during each presentation.
    """
    slot = config.present_ms + config.rest_ms
    t_start = sim.time
    ts, ids = [], []
    for b, (image, rng) in enumerate(zip(images, rngs)):
        t, i = _spike_trains(image, rate_hz, config.present_ms, t_start + b * slot, config.dt, rng)
        ts.append(t)
        ids.append(i)
    t = np.concatenate(ts)
    i = np.concatenate(ids)
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    bounds = np.searchsorted(i, np.arange(N_PIXELS + 1))
    sim.set_params("input", spike_times=[t[bounds[p]:bounds[p + 1]] for p in range(N_PIXELS)])
    sim.advance(len(images) * slot)
    st, sid = sim.spikes_between(t_start, sim.time)["exc"]
    rel = st - t_start - 1e-9
    which = np.floor(rel / slot).astype(np.int64)
    inside = (rel - which * slot) < config.present_ms
    counts = np.zeros((len(images), config.n_exc), dtype=np.int64)
    np.add.at(counts, (which[inside], sid[inside]), 1)
    return counts


def _present_all(sim, config: DigitsConfig, images: np.ndarray, seed: int, phase: str, indices: np.ndarray,
                 epoch: int = 0, onsets: list | None = None) -> np.ndarray:
    """Show images (in batches); those that drew no exc spike are shown again with a stronger input.

    indices: each image's index in its split (names its seeded input stream); onsets: if a list, gets
    (index, onset ms) of every presentation, repeats included.
    """
    training = phase == "train"
    base = config.eval_rate_hz if (not training and config.eval_rate_hz > 0) else config.max_rate_hz
    boost = config.boost_hz if training else config.eval_boost_hz
    repeats = config.max_repeats if training else config.eval_max_repeats
    slot = config.present_ms + config.rest_ms
    if onsets is not None:
        onsets.extend((int(k), sim.time + b * slot) for b, k in enumerate(indices))
    counts = _present_batch(sim, config, images, [_image_rng(seed, phase, int(k), epoch, 0) for k in indices],
                            base)
    for rep in range(1, repeats + 1):
        silent = np.flatnonzero(counts.sum(axis=1) == 0)
        if silent.size == 0:
            break
        if onsets is not None:
            onsets.extend((int(indices[k]), sim.time + b * slot) for b, k in enumerate(silent))
        counts[silent] = _present_batch(sim, config, images[silent],
                                        [_image_rng(seed, phase, int(indices[s]), epoch, rep) for s in silent],
                                        base + rep * boost)
    return counts


def _image_rng(seed: int, phase: str, index: int, epoch: int = 0, repeat: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, PHASES[phase], epoch, index, repeat])


def _batches(n: int, size: int):
    for a in range(0, n, size):
        yield np.arange(a, min(n, a + size))


# -- training and evaluation ------------------------------------------------------------------
def train(config: DigitsConfig | UnitDigitsConfig = DigitsConfig(), seed: int = 0, *,
          progress: Callable[[float, str], None] | None = None, target: str = "engine",
          target_options: dict | None = None, checkpoint_every: int = 0,
          checkpoint_dir: str | os.PathLike | None = None,
          resume: str | os.PathLike | None = None) -> TrainedDigits:
    """Learn weights and thresholds from the training split (unsupervised; labels are not used).

    progress: called with (fraction done, detail) after each image; target: where it learns
    ("engine", or "twin" for the physical network: the units on their own clocks, over the bus),
    target_options: what the target's run handle takes (e.g. the twin's transport).
    checkpoint_every: after every this many training images (at the end of the batch that reaches
    them), write the complete state of training into `checkpoint_dir` (a folder, put in place as one
    set: neurobox.files.atomic_folder); resume: a checkpoint folder to continue from (made with the same
    configuration, seed and target): the run then ends bit for bit where an uninterrupted one ends.
    Checkpoints need the engine's run handle (targets engine and fixed), not the twin's.
    """
    config.check()
    seed = _check_seed(seed)
    check_checkpoint_options(checkpoint_every, checkpoint_dir, resume, target, "images")
    x_tr, _, _, _ = load_split(seed)
    start = time.perf_counter()
    sim = open_handle(build_network(config, seed), target, progress=False, **(target_options or {}))
    anneal = getattr(config, "anneal", 0.0)
    order_rng = np.random.default_rng([seed, 11])
    total = config.epochs * len(x_tr)
    epoch, position, done, order, earlier_s = 0, 0, 0, None, 0.0
    if resume is not None:
        state, where = read_checkpoint(resume, config, seed, target)
        sim.restore(state)
        epoch, position, done = where["epoch"], where["position"], where["done"]
        order = np.asarray(state["task/order"], dtype=np.int64)
        order_rng.bit_generator.state = where["order_rng"]
        earlier_s = float(where.get("train_seconds", 0.0))
    mark = done // checkpoint_every if checkpoint_every else 0
    while epoch < config.epochs:
        if order is None:
            order = order_rng.permutation(len(x_tr))
        while position < len(order):
            idx = order[position:position + config.batch]
            if anneal:  # the float network's schedule, from the host (the units keep their own)
                factor = 1.0 - anneal * done / total
                sim.set_plasticity("input_exc", A_plus=config.A_plus * factor, A_minus=config.A_minus * factor)
                if config.anneal_theta:
                    sim.set_params("exc", theta_plus=config.theta_plus * factor)
            _present_all(sim, config, x_tr[idx], seed, "train", idx, epoch)
            done += len(idx)
            position += len(idx)
            if progress is not None:
                progress(done / total, f"epoch {epoch + 1}/{config.epochs}")
            if checkpoint_every and done // checkpoint_every > mark and done < total:
                mark = done // checkpoint_every
                write_checkpoint(checkpoint_dir, sim, config, seed, target, order=order, order_rng=order_rng,
                                 epoch=epoch, position=position, done=done,
                                 train_seconds=earlier_s + time.perf_counter() - start)
        epoch, position, order = epoch + 1, 0, None
    weights = _weight_matrix(sim, config.n_exc)
    return TrainedDigits(config, seed, weights, _theta_mV(sim, config),
                         earlier_s + time.perf_counter() - start, sim.time)


# -- checkpoints ----------------------------------------------------------------------------------
CHECKPOINT_DIR = "checkpoint"
"""The folder (inside the results folder) where `train_and_report` keeps the checkpoint of a running training."""
STATE_FILE = "state.npz"
PROGRESS_FILE = "progress.json"


def _network_kind(config) -> str:
    return "units" if isinstance(config, UnitDigitsConfig) else "float"


def write_checkpoint(folder, sim, config, seed: int, target: str, *, order: np.ndarray, order_rng, epoch: int,
                     position: int, done: int, train_seconds: float) -> Path:
    """The complete state of a training (see `train`) as one set: state.npz (the simulation's every array,
    neurobox.engine.simulation.Simulation.checkpoint, and this epoch's order of the images) and
    progress.json (where training stands: epoch, position in the order, images done, the order's random
    generator; the configuration, seed and target; the SHA-256 of state.npz)."""
    from neurobox.files import atomic_folder, json_text, sha256_file, write_arrays

    arrays = sim.checkpoint()
    arrays["task/order"] = np.asarray(order, dtype=np.int64)
    with atomic_folder(folder) as tmp:
        write_arrays(tmp / STATE_FILE, arrays)
        where = {"task": "digits", "network": _network_kind(config), "config": asdict(config), "seed": seed,
                 "target": target, "epoch": epoch, "position": position, "done": done,
                 "order_rng": order_rng.bit_generator.state, "train_seconds": train_seconds,
                 "files": {STATE_FILE: sha256_file(tmp / STATE_FILE)}}
        (tmp / PROGRESS_FILE).write_text(json_text(where) + "\n")
    return Path(folder)


def read_checkpoint(folder, config, seed: int, target: str) -> tuple[dict, dict]:
    """The arrays and the progress of the checkpoint in `folder` (or in its `checkpoint` folder), after
    checking that its parts agree and that it was made with this configuration, seed and target."""
    from neurobox.files import read_arrays, recover_folder, sha256_file

    folder = Path(folder)
    if not (folder / PROGRESS_FILE).exists() and (folder / CHECKPOINT_DIR / PROGRESS_FILE).exists():
        folder = folder / CHECKPOINT_DIR
    recover_folder(folder)
    progress_path, state_path = folder / PROGRESS_FILE, folder / STATE_FILE
    for p in (progress_path, state_path):
        if not p.exists():
            raise ConfigError(str(p), "no digits checkpoint here (train with --checkpoint-every N; the "
                                      f"checkpoint is the folder {CHECKPOINT_DIR} in the results folder)")
    try:
        where = json.loads(progress_path.read_text())
        digest = where["files"][STATE_FILE]
        for key in ("epoch", "position", "done", "order_rng", "config", "seed", "target"):
            where[key]
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(str(progress_path), f"not a digits checkpoint ({err})") from None
    if where.get("task") != "digits":
        raise ConfigError(str(progress_path), f"a checkpoint of task {where.get('task')!r}, not digits")
    if sha256_file(state_path) != digest:
        raise ConfigError(str(state_path), f"does not belong with {progress_path.name} (its SHA-256 differs from "
                                           "the one recorded there): parts of two checkpoints")
    mine = {"network": _network_kind(config), "config": json.loads(json.dumps(asdict(config))), "seed": seed,
            "target": target}
    theirs = {k: where.get(k) for k in mine}
    if mine != theirs:
        differ = [k if k != "config" else "configuration (" + ", ".join(
                      f"{f}={theirs['config'].get(f)!r}" for f in mine["config"]
                      if (theirs["config"] or {}).get(f) != mine["config"][f]) + ")"
                  for k in mine if mine[k] != theirs[k]]
        raise ConfigError("--resume", f"{folder} was made by a run with another {', '.join(differ)}; resume "
                                      "with the options it was made with (--quick, --units, --seed, --target)")
    return read_arrays(state_path), where


def _theta_mV(sim, config) -> np.ndarray:
    """The thresholds' adaptive part now, mV (the units and the fixed engine hold it in V_lsb)."""
    theta = np.asarray(sim.state("exc", "theta"), dtype=np.float64)
    return theta * config.V_lsb if isinstance(config, UnitDigitsConfig) else theta


@dataclass
class Labelled:
    """The healthy network labelled on the training set: each neuron's class and the counts it came from.

    state: the float network's complete state after labelling (Simulation.checkpoint), where its test goes on
    from there (the units' networks are tested on fresh units instead: None). A fault sweep tests every case
    from this one labelling: the healthy network runs through the training set once.
    """

    neuron_labels: np.ndarray        # class assigned to each exc neuron (-1: never fired)
    train_counts: np.ndarray         # (n_train, n_exc) spike counts while labelling
    state: dict | None = None


@dataclass
class Evaluation:
    """Scores of a trained network: accuracies, neuron labels, predictions, the test run."""

    test_accuracy: float
    train_accuracy: float
    neuron_labels: np.ndarray        # class assigned to each exc neuron (-1: never fired)
    predictions: np.ndarray          # predicted class per test image
    y_test: np.ndarray
    test_counts: np.ndarray          # (n_test, n_exc) spike counts
    test_results: Any = None         # Results of the test phase (spikes of input and exc)
    test_start_ms: float = 0.0       # biological time at which the test phase began
    seconds: float = 0.0
    test_onsets_ms: np.ndarray | None = None    # onset (biological ms) of every test presentation, repeats included
    test_onset_images: np.ndarray | None = None  # the test image shown at each of those onsets
    labelled: Labelled | None = None  # the labelling the test used (a fault sweep reuses it)


def assign_labels(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each neuron's class: the one with the highest mean spike count over its images (-1 if silent)."""
    mean = np.stack([counts[labels == c].mean(axis=0) if np.any(labels == c) else np.zeros(counts.shape[1])
                     for c in range(N_CLASSES)])  # (10, n)
    out = np.argmax(mean, axis=0)
    out[mean.max(axis=0) <= 0] = -1
    return out


def predict(counts: np.ndarray, neuron_labels: np.ndarray) -> np.ndarray:
    """Per image, the class whose assigned neurons fire most on average (ties: lowest class)."""
    scores = np.zeros((counts.shape[0], N_CLASSES))
    for c in range(N_CLASSES):
        members = neuron_labels == c
        if members.any():
            scores[:, c] = counts[:, members].mean(axis=1)
    return np.argmax(scores, axis=1)


LOSS_PROJECTIONS = {"both": ("input_exc", "lateral"), "inputs": ("input_exc",), "lateral": ("lateral",)}
"""The projections whose spikes TestFaults.p_transmit drops, by TestFaults.loss_on."""


@dataclass(frozen=True)
class TestFaults:
    """Faults of a physical digits board during the test phase (labels were assigned before, healthy).

    p_transmit: probability that a spike reaches a synapse (1 - packet loss), on the projections
    LOSS_PROJECTIONS[loss_on] (the engine only can single out the inputs or the lateral inhibition);
    dead_fraction: fraction of the learning units that never fire again;
    on the twin also reset_fraction: learning units that reset once during the test (their state is
    lost; what they learned comes back from flash and EEPROM), and drift_ppm: every learning unit's
    crystal off by a seeded amount within +-drift_ppm parts per million.
    """

    p_transmit: float = 1.0
    dead_fraction: float = 0.0
    reset_fraction: float = 0.0
    drift_ppm: float = 0.0
    loss_on: str = "both"

    def check(self) -> "TestFaults":
        for name in ("p_transmit", "dead_fraction", "reset_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"faults.{name}", f"must be in [0, 1], got {v!r}")
        if self.loss_on not in LOSS_PROJECTIONS:
            raise ConfigError("faults.loss_on", f"must be one of {', '.join(LOSS_PROJECTIONS)}, got {self.loss_on!r}")
        if not (np.isfinite(self.drift_ppm) and 0.0 <= self.drift_ppm <= 1e5):
            raise ConfigError("faults.drift_ppm", f"must be in [0, 100000] ppm, got {self.drift_ppm!r}")
        return self


DEAD_THETA = 1e6  # mV: a threshold no input reaches (a dead unit)
DEAD_THETA_LSB = 65535  # the largest threshold of a unit (uint16): no input reaches it either


def label(trained: TrainedDigits, *, progress: Callable[[float, str], None] | None = None,
          target: str = "engine", target_options: dict | None = None, unreliable: bool = False,
          _total: int | None = None) -> tuple[Labelled, Any]:
    """Freeze the learned arrays into a fresh network and label its neurons on the training set.

    Returns the labelling and the run handle it used (the float network's test goes on with it);
    unreliable: the frozen projections get a transmission probability (1.0: nothing lost) that faults lower.
    """
    config, seed = trained.config, trained.seed
    x_tr, y_tr, _, _ = load_split(seed)
    sim = open_handle(_frozen(trained, unreliable), target, progress=False, **dict(target_options or {}))
    total = _total or len(x_tr)
    train_counts = np.zeros((len(x_tr), config.n_exc), dtype=np.int64)
    for part in _batches(len(x_tr), config.batch):
        train_counts[part] = _present_all(sim, config, x_tr[part], seed, "label", part)
        if progress is not None:
            progress((part[-1] + 1) / total, "labelling")
    state = None if isinstance(config, UnitDigitsConfig) else sim.checkpoint()
    return Labelled(assign_labels(train_counts, y_tr), train_counts, state), sim


def _frozen(trained: TrainedDigits, unreliable: bool):
    return build_network(trained.config, trained.seed, weights=trained.weights, theta=trained.theta,
                         learning=False, unreliable=unreliable)


def evaluate(trained: TrainedDigits, *, progress: Callable[[float, str], None] | None = None,
             faults: TestFaults | None = None, target: str = "engine", target_options: dict | None = None,
             labelled: Labelled | None = None) -> Evaluation:
    """Freeze the learned arrays into a fresh network; label neurons on the training set; score the test set.

    faults: applied after labelling, for the test phase only (see TestFaults); target: where it runs
    ("engine", or "twin" for the physical network); the physical network is labelled and tested on
    fresh units (at rest), as a board switched on again. labelled: a labelling made before (`label`, or
    an earlier Evaluation's `labelled`): only the test runs, from where that labelling ended.
    """
    start = time.perf_counter()
    config, seed = trained.config, trained.seed
    faults = None if faults is None else faults.check()
    if faults is not None and target not in ("engine", "twin"):
        raise ConfigError("target", f"test faults run on the engine or the twin, not on {target!r}")
    x_tr, y_tr, x_te, y_te = load_split(seed)
    options = dict(target_options or {})
    on_engine_faults = faults is not None and target == "engine"
    done = 0 if labelled is not None else len(x_tr)
    total = done + len(x_te)
    sim = None
    if labelled is None:
        labelled, sim = label(trained, progress=progress, target=target, target_options=options,
                              unreliable=on_engine_faults, _total=total)
    if isinstance(config, UnitDigitsConfig):   # a board switched on again for the test
        if faults is not None and target == "twin":
            options["faults"] = list(options.get("faults", ())) + _twin_faults(faults, config, seed, len(x_te))
        sim = open_handle(_frozen(trained, on_engine_faults), target, progress=False, **options)
    elif sim is None:   # the float network goes on from where its labelling ended
        sim = open_handle(_frozen(trained, on_engine_faults), target, progress=False, **options)
        # the labelling's state; a network that may lose spikes keeps its own transmission streams
        sim.restore({**sim.checkpoint(), **labelled.state})
    if on_engine_faults:
        _apply_faults(sim, faults, config, seed)
    neuron_labels = labelled.neuron_labels
    test_start = sim.time
    test_counts = np.zeros((len(x_te), config.n_exc), dtype=np.int64)
    onsets: list[tuple[int, float]] = []
    for part in _batches(len(x_te), config.batch):
        test_counts[part] = _present_all(sim, config, x_te[part], seed, "test", part, onsets=onsets)
        if progress is not None:
            progress((done + part[-1] + 1) / total, "testing")
    predictions = predict(test_counts, neuron_labels)
    train_pred = predict(labelled.train_counts, neuron_labels)
    return Evaluation(test_accuracy=float(np.mean(predictions == y_te)),
                      train_accuracy=float(np.mean(train_pred == y_tr)),
                      neuron_labels=neuron_labels, predictions=predictions, y_test=y_te,
                      test_counts=test_counts, test_results=sim.results(), test_start_ms=test_start,
                      seconds=time.perf_counter() - start,
                      test_onsets_ms=np.array([t for _, t in onsets], dtype=np.float64),
                      test_onset_images=np.array([k for k, _ in onsets], dtype=np.int64), labelled=labelled)


def _dead_units(fraction: float, n_exc: int, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, 505]).permutation(n_exc)[:int(round(fraction * n_exc))]


def _apply_faults(sim, faults: TestFaults, config, seed: int) -> None:
    """Loss and dead units in the engine: transmission probabilities, thresholds no input reaches."""
    if faults.reset_fraction or faults.drift_ppm:
        raise ConfigError("faults", "resets and clock drift are faults of the physical units: test on the twin")
    for name in LOSS_PROJECTIONS[faults.loss_on]:
        sim.set_p_transmit(name, faults.p_transmit)
    theta = sim.state("exc", "theta")
    theta[_dead_units(faults.dead_fraction, config.n_exc, seed)] = \
        DEAD_THETA_LSB if isinstance(config, UnitDigitsConfig) else DEAD_THETA
    sim.set_state("exc", "theta", theta)


def _twin_faults(faults: TestFaults, config: UnitDigitsConfig, seed: int, n_images: int) -> list[str]:
    """The test faults as the twin's fault specs (neurobox.twin.faults), seeded."""
    if faults.loss_on != "both":
        raise ConfigError("faults.loss_on", "the twin's faults drop spikes on every link: choose both")
    rng = np.random.default_rng([seed, 606])
    specs = [] if faults.p_transmit >= 1.0 else [f"drop:{1.0 - faults.p_transmit:.6g}"]
    specs += [f"dead:exc.{u}@0ms" for u in _dead_units(faults.dead_fraction, config.n_exc, seed)]
    test_ms = n_images * (config.present_ms + config.rest_ms)
    reset = rng.permutation(config.n_exc)[:int(round(faults.reset_fraction * config.n_exc))]
    specs += [f"reset:exc.{u}@{rng.uniform(0.0, test_ms):.0f}ms" for u in reset]
    if faults.drift_ppm:
        specs += [f"drift:exc.{u}={ppm:.3f}ppm"
                  for u, ppm in enumerate(rng.uniform(-faults.drift_ppm, faults.drift_ppm, config.n_exc))]
    return specs


def fault_sweep(trained: TrainedDigits, healthy: "Evaluation | float", *, p_losses=(0.05, 0.1, 0.2, 0.4),
                dead_fractions=(0.1, 0.25, 0.5), reset_fractions=(), drift_ppms=(), target: str = "engine",
                target_options: dict | None = None,
                progress: Callable[[float, str], None] | None = None,
                mapper: Callable | None = None) -> dict[str, Any]:
    """Test accuracy of a trained network against packet loss, dead units (and on the twin resets and
    clock drift). healthy: its evaluation without faults (`evaluate`: its labelling is reused), or its test
    accuracy alone (then the network is labelled here). Either way the healthy network runs through the
    training set once for the whole sweep, and every case runs only the test. mapper: None (the cases one
    after another here), or mapper(test, cases) -> [accuracy] running test(case) for every case elsewhere,
    in order (neurobox.cluster.sweep.map_runs: each case is deterministic, so the accuracies are the same)."""
    cases = [("loss", p, TestFaults(p_transmit=1.0 - p)) for p in p_losses]
    cases += [("dead_fraction", f, TestFaults(dead_fraction=f)) for f in dead_fractions]
    cases += [("reset_fraction", f, TestFaults(reset_fraction=f)) for f in reset_fractions]
    cases += [("drift_ppm", d, TestFaults(drift_ppm=d)) for d in drift_ppms]
    for _, _, faults in cases:      # every case checked before any runs
        faults.check()
    if isinstance(healthy, Evaluation) and healthy.labelled is not None:
        accuracy, labelled = healthy.test_accuracy, healthy.labelled
    else:
        accuracy = healthy.test_accuracy if isinstance(healthy, Evaluation) else float(healthy)
        labelled = label(trained, target=target, target_options=target_options)[0] if cases else None
    out: dict[str, Any] = {"seed": trained.seed, "neurons": trained.config.n_exc, "target": target,
                           "healthy": accuracy}
    if mapper is not None:
        test = functools.partial(_faulty_accuracy, trained, target, target_options, labelled)
        for (kind, value, _), acc in zip(cases, mapper(test, [faults for _, _, faults in cases])):
            out.setdefault(kind, []).append({kind: value, "test_accuracy": acc})
        return out
    for k, (kind, value, faults) in enumerate(cases):
        def step(fraction: float, detail: str, k=k, kind=kind, value=value) -> None:
            if progress is not None:
                progress((k + fraction) / len(cases), f"{kind} {value:g} ({k + 1}/{len(cases)})")
        acc = evaluate(trained, faults=faults, target=target, target_options=target_options, labelled=labelled,
                       progress=step).test_accuracy
        out.setdefault(kind, []).append({kind: value, "test_accuracy": acc})
    return out


def _faulty_accuracy(trained: TrainedDigits, target: str, target_options: dict | None, labelled,
                     faults: TestFaults) -> float:
    """The test accuracy of one fault case (what a worker runs for `fault_sweep`)."""
    return evaluate(trained, faults=faults, target=target, target_options=target_options,
                    labelled=labelled).test_accuracy


# -- files ----------------------------------------------------------------------------------
RESULT_FILES = (MODEL_FILE, META_FILE, "weights.png", "test_raster.png", "faults.png", "checkpoint")
"""What a digits results folder holds (`save`, `train_and_report`): written as one set, these replace the
earlier set as a whole; the folder's other files are kept."""


def save(trained: TrainedDigits, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write the trained network: a model file (learned weights, thresholds) and the task's settings.

    digits_model.toml: the network of `trained_network` (explicit input -> exc weights in nS,
    or pA for the units' network; `initial.theta` in mV), loadable with
    neurobox.network.modelfile.load; digits_meta.json: the configuration
    (with the kind of network: "float" or "units"), seed, training time, the
    number of learning neurons and the model file's SHA-256 (`load` checks
    that the two belong together). Both are put in place as one set
    (neurobox.files.atomic_folder); pictures of an earlier set are dropped.
    """
    from neurobox.files import atomic_folder

    out = Path(out_dir)
    with atomic_folder(out, replaces=RESULT_FILES) as tmp:
        write_model(trained, tmp)
    return out / MODEL_FILE, out / META_FILE


def write_model(trained: TrainedDigits, folder: Path) -> tuple[Path, Path]:
    """The model file and the settings beside it, in `folder` as it is (the part of `save` inside its set)."""
    from neurobox.files import atomic_write_text, sha256_file

    net, labels = trained_network(trained)
    model = Path(folder) / MODEL_FILE
    net.save(model)
    meta = Path(folder) / META_FILE
    atomic_write_text(meta, json.dumps({"task": "digits", "network": _network_kind(trained.config),
                                        "seed": trained.seed, "n_exc": trained.config.n_exc,
                                        "config": asdict(trained.config), "train_seconds": trained.train_seconds,
                                        "demo_labels": labels, "files": {MODEL_FILE: sha256_file(model)}},
                                       indent=1) + "\n")
    return model, meta


def trained_network(trained: TrainedDigits):
    """The network to save: the learned weights and thresholds, its inputs a demo of the first DEMO_IMAGES test
    images (each at the test rate for present_ms, then rest_ms of silence). The float network is frozen; the
    units keep learning, as a trained board does, at the rate their schedule ended with. Returns it and the
    demo images' labels."""
    config = trained.config
    units = isinstance(config, UnitDigitsConfig)
    net = build_network(config, trained.seed, weights=trained.weights, theta=trained.theta, learning=units,
                        resume=units)
    _, _, x_te, y_te = load_split(trained.seed)
    rate = config.eval_rate_hz if config.eval_rate_hz > 0 else config.max_rate_hz
    slot = config.present_ms + config.rest_ms
    rng = np.random.default_rng([trained.seed, 505])
    trains = [_spike_trains(x_te[k], rate, config.present_ms, k * slot, config.dt, rng) for k in range(DEMO_IMAGES)]
    t = np.concatenate([tr[0] for tr in trains])
    ids = np.concatenate([tr[1] for tr in trains])
    net.populations["input"].set(spike_times=[np.sort(t[ids == p]).tolist() for p in range(N_PIXELS)])
    net.duration = DEMO_IMAGES * slot
    return net, [int(y) for y in y_te[:DEMO_IMAGES]]


def load(out_dir: str | os.PathLike) -> TrainedDigits:
    """Read back what `save` wrote (weights and thresholds from the model file)."""
    from neurobox.network.modelfile import load as load_model

    from neurobox.files import recover_folder

    out = Path(out_dir)
    try:
        recover_folder(out)   # a save killed while it put its set in place is finished (or undone) first
    except OSError:
        pass
    meta_path, model_path = out / META_FILE, out / MODEL_FILE
    for p in (meta_path, model_path):
        if not p.exists():
            raise ConfigError(str(p), "no saved digits network here (run `neurobox train digits --out DIR`)")
    try:
        meta = json.loads(meta_path.read_text())
        kinds = {"float": DigitsConfig, "units": UnitDigitsConfig}
        config = kinds[meta.get("network", "float")](**meta["config"]).check()
        seed = _check_seed(meta["seed"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(str(meta_path), f"not a digits settings file ({err})") from None
    recorded = meta.get("files", {}).get(MODEL_FILE) if isinstance(meta.get("files"), dict) else None
    if recorded is not None:
        from neurobox.files import sha256_file
        if sha256_file(model_path) != recorded:
            raise ConfigError(str(model_path), f"does not belong with {META_FILE} (its SHA-256 differs from the one "
                                               "recorded there): parts of two saves; train or save again")
    if "n_exc" in meta and meta["n_exc"] != config.n_exc:
        raise ConfigError(str(meta_path), f"says n_exc = {meta['n_exc']} and its configuration {config.n_exc}")
    net = load_model(model_path)
    if "input_exc" not in net.projections or "exc" not in net.populations:
        raise ConfigError(str(model_path), "not a digits model: needs population exc and projection input_exc")
    if net.populations["exc"].n != config.n_exc or net.populations.get("input") is None \
            or net.populations["input"].n != N_PIXELS:
        raise ConfigError(str(model_path), f"has {net.populations['exc'].n} learning neurons; {META_FILE} beside "
                                           f"it says {config.n_exc}: the two do not belong together")
    proj = net.projections["input_exc"]
    pre = np.asarray(proj.rule_options["pre_ids"], dtype=np.int64)
    post = np.asarray(proj.rule_options["post_ids"], dtype=np.int64)
    if pre.size and (pre.min() < 0 or pre.max() >= N_PIXELS or post.min() < 0 or post.max() >= config.n_exc):
        raise ConfigError(str(model_path), "input_exc reaches neurons outside the 64 inputs and the learning neurons")
    weights = np.zeros((N_PIXELS, config.n_exc))
    weights[pre, post] = np.asarray(proj.weight, dtype=np.float64)
    theta = np.asarray(net.populations["exc"].initial.get("theta", np.zeros(config.n_exc)), dtype=np.float64)
    if theta.ndim == 0:
        theta = np.full(config.n_exc, float(theta))
    if theta.shape != (config.n_exc,):
        raise ConfigError(str(model_path), f"holds {theta.size} thresholds for {config.n_exc} learning neurons")
    return TrainedDigits(config, seed, weights, theta, float(meta.get("train_seconds", 0.0)))


# -- the physical board's speed ------------------------------------------------------------------
def measuring_network(config: UnitDigitsConfig, seed: int = 0, images: int = 3):
    """The physical network driven as in training, for measuring the units' cycles (neurobox.hardware.speed):
    the first training images, each at its highest training rate (that of the last repeat of a silent
    image, max_rate_hz + max_repeats * boost_hz), present_ms each with rest_ms between them."""
    net = build_network(config, seed)
    x_tr = load_split(seed)[0][:images]
    rate = config.max_rate_hz + config.max_repeats * config.boost_hz
    slot = config.present_ms + config.rest_ms
    ts, ids = [], []
    for k, image in enumerate(x_tr):
        t, i = _spike_trains(image, rate, config.present_ms, k * slot, config.dt,
                             _image_rng(seed, "train", k, 0, config.max_repeats))
        ts.append(t)
        ids.append(i)
    t, i = np.concatenate(ts), np.concatenate(ids)
    net.populations["input"].set(spike_times=[np.sort(t[i == p]) for p in range(N_PIXELS)])
    return net


def board_speed(trained: TrainedDigits, fmax_mhz="cached"):
    """How fast the physical board would have trained `trained` (neurobox.hardware.speed.BoardSpeed): the
    ticks of its training on the board of its network."""
    from neurobox.hardware.board import units_from_network
    from neurobox.hardware.speed import board_speed as speed

    config = trained.config
    board = units_from_network(build_network(config, trained.seed))
    return speed(board, int(round(trained.model_ms / config.dt)), fmax_mhz=fmax_mhz,
                 stimulus=units_from_network(measuring_network(config, trained.seed)))


# -- the whole workflow ------------------------------------------------------------------------
def train_and_report(config: DigitsConfig | UnitDigitsConfig, seed: int, out: str | os.PathLike, bar,
                     target: str = "engine", target_options: dict | None = None,
                     faults: bool = False, fmax_mhz="cached", checkpoint_every: int = 0,
                     resume: str | os.PathLike | None = None, mapper: Callable | None = None) -> tuple[dict, list[Path]]:
    """Train and evaluate the digits network on `target`, save it, draw its weights and test raster into `out`.

    bar: a neurobox.engine.progress.Progress; faults: also sweep test faults (loss, dead units; on
    the twin resets and clock drift too; `mapper`: see `fault_sweep`). checkpoint_every: write a checkpoint of the training into
    out/checkpoint after every this many images (`train`); resume: a checkpoint folder to continue
    from. Everything `out` gets (model, settings, pictures) is written as one set and put in place when
    it is complete (neurobox.files.atomic_folder; the checkpoint goes with the earlier set). Returns the
    summary (test_accuracy, train_seconds, learning_units, ...; on the twin `board_speed`, how long the
    physical board would have trained: neurobox.hardware.speed, `fmax_mhz` as there) and the files written.
    """
    from neurobox.files import atomic_folder
    from neurobox.viz.task_plots import digits_test_raster, weight_images
    from neurobox.viz.task_plots import fault_sweep as fault_plot

    out = Path(out)
    bar.phase("train")
    trained = train(config, seed, progress=bar.update, target=target, target_options=target_options,
                    checkpoint_every=checkpoint_every, checkpoint_dir=out / CHECKPOINT_DIR, resume=resume)
    bar.phase("test")
    evaluation = evaluate(trained, progress=bar.update, target=target, target_options=target_options)
    sweep = None
    if faults:
        bar.phase("faults")
        twin = target == "twin"
        sweep = fault_sweep(trained, evaluation, target=target, target_options=target_options,
                            reset_fractions=(0.1, 0.25) if twin else (), drift_ppms=(100.0, 1000.0) if twin else (),
                            progress=bar.update, mapper=mapper)
    bar.close()
    names = [MODEL_FILE, META_FILE, "weights.png", "test_raster.png"] + (["faults.png"] if faults else [])
    with atomic_folder(out, replaces=RESULT_FILES) as tmp:
        write_model(trained, tmp)
        unit = "pA" if isinstance(config, UnitDigitsConfig) else "nS"
        weight_images(trained.weights, tmp / "weights.png", labels=evaluation.neuron_labels,
                      title=f"digits: learned input weights ({unit}) of the {config.n_exc} learning neurons, "
                            f"seed {seed}")
        digits_test_raster(evaluation, tmp / "test_raster.png", present_ms=config.present_ms, window_ms=3000.0,
                           title=f"digits, {config.n_exc} learners on {target}, test phase")
        if sweep is not None:
            where = "the twin's units" if target == "twin" else "the engine"
            fault_plot(sweep, tmp / "faults.png", title=f"faults on the trained digits network, "
                                                        f"{config.n_exc} learning units, on {where}")
    model = out / MODEL_FILE
    summary = {"test_accuracy": round(evaluation.test_accuracy, 4), "accuracy": round(evaluation.test_accuracy, 4),
               "train_seconds": round(trained.train_seconds, 2), "neurons": config.n_exc + N_PIXELS,
               "learning_units": config.n_exc, "target": target,
               "network": _network_kind(config),
               "train_accuracy": round(evaluation.train_accuracy, 4), "seed": seed,
               "evaluate_seconds": round(evaluation.seconds, 2), "model_seconds": round(trained.model_ms / 1000, 3),
               "model": str(model), "out": str(out)}
    if target == "twin" and isinstance(config, UnitDigitsConfig):
        summary["board_speed"] = board_speed(trained, fmax_mhz).as_dict()
    if sweep is not None:
        summary["faults"] = sweep
    return summary, [out / name for name in names]
