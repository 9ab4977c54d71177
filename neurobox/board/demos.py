"""Demo networks for `neurobox board --demo NAME`.

`build_demo` returns a Demo: a fresh Network and, for demos that feed it
a task, a driver that the board calls before each chunk it runs (with the
running Simulation and the time reached, ms) to schedule inputs and give
rewards.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import neurobox as nb

LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
"""iaf_psc_exp parameters of the demo neurons (pF, ms, mV): rheobase 375 pA."""


@dataclass
class Demo:
    """A board demo: its network and, optionally, the driver that feeds it (see the module docstring)."""

    net: nb.Network
    driver: object | None = None  # called as driver(sim, t_ms) before each chunk; driver.reset() on reset


def recurrent(n_input: int = 3, n_exc: int = 12, n_inh: int = 4, rate_hz: float = 15.0,
              seed: int = 1) -> nb.Network:
    """Poisson touch inputs -> a recurrent excitatory group with an inhibitory brake.

    n_input, n_exc, n_inh: neurons per population; rate_hz: input rate, Hz.
    """
    net = nb.Network(dt=0.1, seed=seed, duration=2000.0)
    net.add(nb.PoissonSource(n_input, rate_hz, name="touch"))
    net.population("exc", n_exc, "iaf_psc_exp", LIF,
                   initial={"V_m": {"distribution": "uniform", "low": -70.0, "high": -60.0}})
    net.population("inh", n_inh, "iaf_psc_exp", LIF)
    net.connect("touch", "exc", "fixed_outdegree", outdegree=max(1, n_exc // 3), weight=2500.0, delay=1.0)
    net.connect("exc", "exc", "fixed_probability", p=min(1.0, 2.5 / n_exc), weight=2000.0, delay=2.0)
    net.connect("exc", "inh", "fixed_probability", p=min(1.0, 4.0 / n_exc), weight=1500.0, delay=1.0)
    net.connect("inh", "exc", "fixed_probability", p=0.5, weight=-3000.0, delay=1.0)
    return net


def gap_pair(weight_nS: float = 20.0, rate_hz: float = 20.0, seed: int = 1) -> nb.Network:
    """Two neurons coupled by a gap junction of `weight_nS`; only the left one gets Poisson input (Hz).

    The right LED follows the left membrane below threshold (each left spike
    resets both); raise the right current slider or poke it to make it fire.
    """
    net = nb.Network(dt=0.1, seed=seed, duration=2000.0)
    net.add(nb.PoissonSource(1, rate_hz, name="drive"))
    net.population("left", 1, "iaf_psc_exp", LIF)
    net.population("right", 1, "iaf_psc_exp", LIF)
    net.connect("drive", "left", "one_to_one", weight=2500.0, delay=1.0)
    net.add(nb.GapJunction("left", "right", "one_to_one", weight=weight_nS, name="gap"))
    return net


class DigitsDriver:
    """Shows held-out test digits to a trained digits network, one after the other, for ever."""

    def __init__(self, config, images: np.ndarray, seed: int = 0, batch: int = 20):
        self.config, self.images, self.seed, self.batch = config, images, seed, batch
        self.rate_hz = config.eval_rate_hz or config.max_rate_hz
        """Hz, a pixel of full intensity: the input rate the evaluation uses."""
        self.reset()

    def reset(self) -> None:
        self.next_image = 0
        self.scheduled_until = 0.0

    def __call__(self, sim: nb.Simulation, t_ms: float) -> None:
        if t_ms < self.scheduled_until:
            return
        from neurobox.coding import poisson_encode
        from neurobox.tasks.digits import N_PIXELS

        c = self.config
        slot = c.present_ms + c.rest_ms
        start = max(t_ms, self.scheduled_until)
        ts, ids = [], []
        for b in range(self.batch):
            image = self.images[(self.next_image + b) % len(self.images)]
            rng = np.random.default_rng([self.seed, self.next_image + b])
            t, i = poisson_encode(image, c.present_ms - c.dt, self.rate_hz, seed=rng, dt_ms=c.dt,
                                  t_start_ms=start + b * slot + c.dt)
            ts.append(t)
            ids.append(i)
        t, i = np.concatenate(ts), np.concatenate(ids)
        sim.set_params("input", spike_times=[t[i == p] for p in range(N_PIXELS)])
        self.next_image += self.batch
        self.scheduled_until = start + self.batch * slot


def digits(seed: int = 0) -> Demo:
    """The digits network, trained first (the reduced configuration, a few seconds), then shown test digits."""
    from neurobox.tasks import digits as task

    trained = task.train(task.QUICK, seed)
    net = task.build_network(task.QUICK, seed, weights=trained.weights, theta=trained.theta, learning=False)
    _, _, x_test, _ = task.load_split(seed)
    return Demo(net, DigitsDriver(task.QUICK, x_test, seed))


class XorDriver:
    """Presents XOR trials (latency-coded bits) and rewards the output's answers while learning is on."""

    def __init__(self, config, seed: int = 0):
        self.config, self.seed = config, seed
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng([self.seed, 404])
        self.trial: tuple[float, float, int] | None = None   # (start, end, pattern)
        self.next_onset = 0.0
        self.rewards = 0

    def __call__(self, sim: nb.Simulation, t_ms: float) -> None:
        from neurobox.tasks.xor import PATTERNS, TARGETS

        c = self.config
        if self.trial is not None and t_ms >= self.trial[1]:
            start, end, p = self.trial
            fired = sim.spikes_between(start, t_ms)["output"][1].size > 0
            if fired and sim.learning:
                sim.reward(c.reward if TARGETS[p] else -c.punishment)
                self.rewards += 1
            self.trial = None
            self.next_onset = end + c.rest_ms
        if self.trial is None and t_ms >= self.next_onset:
            p = int(self.rng.integers(len(PATTERNS)))
            onset = t_ms + 1.0
            times = onset + np.where(PATTERNS[p] == 1, 0.0, c.late_ms) + self.rng.normal(0.0, c.jitter_ms, 2)
            times = np.maximum(times, t_ms + c.dt)
            sim.set_params("input", spike_times=[[float(times[0])], [float(times[1])]])
            self.trial = (t_ms, t_ms + c.trial_ms, p)


def xor(seed: int = 0) -> Demo:
    """The XOR learner, untrained: it learns by reward-modulated STDP while you watch."""
    from neurobox.tasks import xor as task

    return Demo(task.build_network(task.XorConfig(), seed), XorDriver(task.XorConfig(), seed))


DEMOS: dict[str, Callable[[], nb.Network | Demo]] = {
    "recurrent": recurrent,
    "gap": gap_pair,
    "digits": digits,
    "xor": xor,
}
"""Every demo name the board knows, with its builder."""


def build_demo(name: str) -> Demo:
    """The demo `name`, or a clear error for unknown demos."""
    if name not in DEMOS:
        from neurobox.errors import ConfigError
        raise ConfigError("--demo", f"unknown demo {name!r}; demos: {', '.join(DEMOS)}")
    built = DEMOS[name]()
    return built if isinstance(built, Demo) else Demo(built)
