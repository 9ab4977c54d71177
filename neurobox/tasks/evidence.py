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

Score: the training batches' cross entropy and error rate per iteration, and the error rate on a held-out
test set of fresh trials (never trained on). A trial's decision is the readout with the larger mean over
the recall.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from neurobox.checks import given
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
    iterations: int = 300          # training iterations
    test_trials: int = 256         # held-out trials scored after training
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
        for f in ("n_ad", "spacing_ms", "bg_noise_ms"):
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


QUICK = EvidenceConfig(n_in=20, n_reg=10, n_ad=10, n_cues=3, cue_ms=40, spacing_ms=20, bg_noise_ms=100,
                       recall_ms=40, batch=16, iterations=30, test_trials=64, spike_prob=0.1, noise_prob=0.02,
                       adapt_tau=300.0)
"""A small version for tests and --quick: 3 cues, a short delay, 20 neurons."""


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
    prob = np.zeros((n, config.steps, config.n_in))
    for k, onset in enumerate(cue_onsets(config)):
        for side in (0, 1):
            on = cues[:, k] == side
            prob[on, onset:onset + config.cue_ms, side * g:(side + 1) * g] = config.spike_prob
    prob[:, config.steps - config.recall_ms:, 2 * g:3 * g] = config.spike_prob
    prob[:, :, 3 * g:] = config.noise_prob
    spikes = (rng.random(prob.shape) < prob).astype(np.uint8)
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


def decisions(config: EvidenceConfig, readout: np.ndarray) -> np.ndarray:
    """Each trial's decision (0 left, 1 right): the readout with the larger mean over the recall."""
    return np.argmax(np.asarray(readout)[:, -config.recall_ms:, :].mean(axis=1), axis=1)
