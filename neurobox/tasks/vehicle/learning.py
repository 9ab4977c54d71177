"""A vehicle that learns to approach the light and to turn away from obstacles by reward-modulated STDP,
from one broadcast reward.

Network (the populations of neurobox.tasks.vehicle.loop):

    light_left, light_right, whisker_left, whisker_right   n_sensor Poisson neurons each (rates set by the world)
    motor_left, motor_right                                n_motor iaf_psc_exp neurons each, a steady drive I_e
    each light sensor -> both motor populations            all to all, excitatory, plastic (rule "rstdp");
                                                           initial weights uniform in w_init (1 +- w_spread)
    each whisker -> both motor populations                 all to all, excitatory, plastic (rule "rstdp");
                                                           every weight w_whisker at the start: no turning
                                                           reflex is pre-wired

Nothing says which sensor should drive which wheel. Each chunk the
learner gets one reward, broadcast to every plastic projection
(`Simulation.reward`):

    reward = gain * seen + release_gain * freed - bump_penalty * bumped - baseline

`seen` is how much brighter the light has become for the vehicle's own
light sensors during the chunk (the change of the mean of the two
readings: it grows as the vehicle gets closer to the light and as it turns
towards it); `freed` is how much the sum of the two whisker readings
dropped (the vehicle turning away from what it touches); `bumped` is 1
when the vehicle was stopped by a wall or an obstacle in the chunk;
`baseline` is the running mean of the other terms (time constant
`baseline_s`), so that only a chunk better or worse than usual is rewarded
or punished.

Exploration: during training an extra current x(t) goes into the left
motor neurons and -x(t) into the right ones (x: Gaussian, spread
`explore_pA`, correlation time `explore_ms`, redrawn every chunk), so that
the vehicle weaves. The eligibility of a synapse counts its pre-before-post
pairs, so the wheel that the noise made run faster holds the larger
eligibility of every active sensor's synapses, and the reward that follows
the turn credits it (Izhikevich 2007). Turning towards the light brightens
it: the synapses from the sensor on the light's side (the brighter, the
more pairs) into the wheel away from it grow, crossed excitation,
Braitenberg's 2b, which heads for the light. Turning away from what a
whisker touches frees it (and ends the bumps): the synapses from that
whisker into the wheel on its own side grow, same-side excitation, which
turns away from obstacles. With A_minus = 0 every active synapse is
eligible, so the reward also moves a whole sensor's or a whole wheel's
synapses together; synaptic scaling (`scale_weights`, every `scale_every`
chunks) takes that back, keeping each motor neuron's incoming and each
sensor neuron's outgoing sums of each pathway (light, whisker), so that
what the reward teaches is only crossed against same-side.

Training: `episodes` drives of at most `episode_s` from random starts
(random light, random pose; neurobox.tasks.vehicle.world.random_world with
seeds of the training stream). Score: the fraction of `test_starts` held-out
starts (seeds 10_000 + k, never trained on) in which the vehicle reaches
the light (within Arena.reach_mm of its centre) within `episode_s`, with
learning frozen, each start from the same network state (a checkpoint),
for the untrained network and for the trained one.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields

import numpy as np

from neurobox.errors import ConfigError
from neurobox.tasks.vehicle.loop import MOTORS, Episode, LoopConfig, VehicleLoop, drive, drive_starts
from neurobox.tasks.vehicle.world import SENSORS, Arena, random_world

LIGHTS = ("light_left", "light_right")
WHISKERS = ("whisker_left", "whisker_right")
TEST_SEED_BASE = 10_000
"""Held-out starts are the worlds of seeds TEST_SEED_BASE + k; training uses seeds from a stream of its own."""

MOTOR_PARAMS = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0, "E_L": -70.0,
                "V_reset": -70.0, "V_th": -55.0}
"""The motor neurons (iaf_psc_exp; pF, ms, mV): the same as the hand-wired vehicles'."""


@dataclass(frozen=True)
class LearnerConfig:
    """Sizes, weights (pA), learning constants and the length of training and scoring."""

    n_sensor: int = 10            # Poisson neurons per sensor
    n_motor: int = 10             # neurons per motor population
    drive_pA: float = 300.0       # pA, steady current into every motor neuron (below the rheobase, 375 pA)
    w_init: float = 100.0         # pA, mean initial light -> motor weight
    w_spread: float = 0.5         # initial weights uniform in w_init * (1 +- w_spread)
    w_max: float = 300.0          # pA, upper weight bound (lower: 0)
    w_whisker: float = 30.0       # pA, initial whisker -> motor weight, the same to both wheels (not pre-wired)
    release_gain: float = 3.0     # reward per unit drop of the summed whisker readings (getting free)
    explore_pA: float = 200.0     # pA, spread of the exploration current (+ into one motor, - into the other)
    explore_ms: float = 100.0     # ms, correlation time of the exploration current
    A_plus: float = 0.03          # pA of eligibility per causal pair at zero lag
    A_minus: float = 0.0          # pA of eligibility per anti-causal pair at zero lag
    tau_c: float = 200.0          # ms, eligibility trace
    tau_d: float = 20.0           # ms, dopamine
    gain: float = 40.0            # reward per unit of brightening beyond the baseline
    bump_penalty: float = 0.2     # punishment of a chunk that ends in a bump
    baseline_s: float = 1.0       # s, time constant of the baseline (the running mean of the reward terms)
    scale_every: int = 10         # chunks between two synaptic scalings (0: none; see scale_weights)
    episodes: int = 60            # training drives
    episode_s: float = 20.0       # s, length of a drive (training and scoring)
    test_starts: int = 50         # held-out starts scored before and after training

    def check(self) -> "LearnerConfig":
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "scale_every":
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                    raise ConfigError(f"learner.{f.name}", f"must be a whole number >= 0, got {v!r}")
            elif f.name in ("n_sensor", "n_motor", "episodes", "test_starts"):
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                    raise ConfigError(f"learner.{f.name}", f"must be a whole number >= 1, got {v!r}")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"learner.{f.name}", f"must be a finite number >= 0, got {v!r}")
        if self.w_spread > 1.0:
            raise ConfigError("learner.w_spread", f"must be at most 1 (weights stay >= 0), got {self.w_spread!r}")
        if self.w_init * (1.0 + self.w_spread) > self.w_max:
            raise ConfigError("learner.w_init", "the initial weights must lie below w_max")
        if self.w_whisker > self.w_max:
            raise ConfigError("learner.w_whisker", "the initial weights must lie below w_max")
        return self


QUICK = LearnerConfig(episodes=6, test_starts=6, episode_s=10.0)
"""A reduced configuration for tests and --quick (seconds, not minutes)."""


def plastic_names() -> list[str]:
    """The names of the learner's plastic projections: SENSOR_MOTOR for every sensor and motor."""
    return [f"{s}_{m}" for s in SENSORS for m in MOTORS]


def build_network(config: LearnerConfig, seed: int):
    """The untrained learner (see the module docstring); its initial weights drawn from `seed`."""
    import neurobox as nb

    rng = np.random.default_rng([int(seed), 31])
    net = nb.Network(dt=1.0, seed=int(seed), duration=config.episode_s * 1e3)
    for s in SENSORS:
        net.population(s, config.n_sensor, "poisson_generator", {"rate": 5.0}, record_spikes=False)
    for m in MOTORS:
        net.population(m, config.n_motor, "iaf_psc_exp", {**MOTOR_PARAMS, "I_e": config.drive_pA})
    rule = {"rule": "rstdp", "A_plus": config.A_plus, "A_minus": config.A_minus, "tau_plus": 20.0,
            "tau_minus": 20.0, "tau_c": config.tau_c, "tau_d": config.tau_d, "w_min": 0.0, "w_max": config.w_max}
    for s in WHISKERS:  # every whisker neuron -> every motor neuron with one weight: nothing pre-wired
        for m in MOTORS:
            net.connect(s, m, "all_to_all", weight=config.w_whisker, delay=1.0, receptor="excitatory",
                        name=f"{s}_{m}", plasticity=rule)
    for s in LIGHTS:
        for m in MOTORS:
            w = config.w_init * rng.uniform(1.0 - config.w_spread, 1.0 + config.w_spread,
                                            config.n_sensor * config.n_motor)
            net.connect(s, m, "all_to_all", weight=w, delay=1.0, receptor="excitatory", name=f"{s}_{m}",
                        plasticity=rule)
    return net


def held_out(arena: Arena, n: int) -> list:
    """The worlds of the held-out starts: seeds TEST_SEED_BASE + k, k < n."""
    return [random_world(arena, TEST_SEED_BASE + k) for k in range(n)]


def score(net, config: LearnerConfig, arena: Arena = Arena(), loop_config: LoopConfig = LoopConfig(), *,
          starts: int | None = None) -> tuple[float, list[Episode]]:
    """The fraction of held-out starts in which `net` reaches the light within episode_s (learning frozen,
    each start from the network's initial state: neurobox.tasks.vehicle.loop.drive_starts), and the drives."""
    episodes = drive_starts(net, held_out(arena, config.test_starts if starts is None else starts),
                            config.episode_s, loop_config)
    return sum(e.reached for e in episodes) / len(episodes), episodes


@dataclass
class Training:
    """What training did: the trained network, per episode whether it reached the light, its bumps and
    its length (s), and the wall-clock seconds."""

    network: object
    reached: list[bool]
    bumps: list[int]
    seconds: list[float]
    wall_s: float


def train(config: LearnerConfig, seed: int = 0, arena: Arena = Arena(),
          loop_config: LoopConfig = LoopConfig(), progress=None) -> Training:
    """Train the learner of `seed` over config.episodes random starts (see the module docstring).

    progress(fraction, text): called after every episode."""
    import neurobox as nb

    config.check()
    start = time.perf_counter()
    net = build_network(config, seed)
    sim = nb.Simulation(net, progress=False)
    starts = np.random.default_rng([int(seed), 53]).integers(0, 2**31, config.episodes)
    loop = VehicleLoop(sim, random_world(arena, int(starts[0])), loop_config)
    keep = math.exp(-loop_config.chunk_ms * 1e-3 / config.baseline_s) if config.baseline_s > 0 else 0.0
    state = {"baseline": 0.0}

    def reward(lp: VehicleLoop, chunk) -> None:
        seen = (lp.readings["light_left"] + lp.readings["light_right"]
                - chunk.readings["light_left"] - chunk.readings["light_right"]) / 2.0
        freed = (chunk.readings["whisker_left"] + chunk.readings["whisker_right"]
                 - lp.readings["whisker_left"] - lp.readings["whisker_right"])
        raw = config.gain * seen + config.release_gain * freed - config.bump_penalty * chunk.bumped
        amount = raw - state["baseline"]
        state["baseline"] = keep * state["baseline"] + (1.0 - keep) * raw
        if amount:
            lp.sim.reward(amount)

    noise = np.random.default_rng([int(seed), 71])
    hold = math.exp(-loop_config.chunk_ms / config.explore_ms) if config.explore_ms > 0 else 0.0

    def explore(lp: VehicleLoop) -> None:
        state["explore"] = hold * state["explore"] + math.sqrt(1 - hold * hold) * config.explore_pA * noise.normal()
        lp.sim.set_params("motor_left", I_e=config.drive_pA + state["explore"])
        lp.sim.set_params("motor_right", I_e=config.drive_pA - state["explore"])

    def step(lp: VehicleLoop, chunk) -> None:
        reward(lp, chunk)
        if config.explore_pA:
            explore(lp)
        state["chunks"] += 1
        if config.scale_every and state["chunks"] % config.scale_every == 0:
            scale_weights(lp.sim, config)

    state["chunks"] = 0
    state["explore"] = 0.0
    reached, bumps, seconds = [], [], []
    for k in range(config.episodes):
        if k:
            loop.reset(random_world(arena, int(starts[k])))
        episode = drive(loop, config.episode_s, after_chunk=step)
        reached.append(episode.reached)
        bumps.append(episode.bumps)
        seconds.append(episode.time_s)
        if progress is not None:
            progress((k + 1) / config.episodes, f"episode {k + 1}")
    for m in MOTORS:  # the exploration current is for training only
        sim.set_params(m, I_e=config.drive_pA)
    trained = net.copy()
    for name in plastic_names():
        trained.projections[name].weight = sim.weights(name)[2].astype(np.float64)
    return Training(trained, reached, bumps, seconds, time.perf_counter() - start)


def scale_weights(sim, config: LearnerConfig, rounds: int = 4) -> None:
    """Synaptic scaling of the light -> motor and, apart, of the whisker -> motor weights, both ways: every
    motor neuron's incoming and every sensor neuron's outgoing weights of a pathway are scaled back to the
    sums they had at the start (2 n w_init, 2 n w_whisker; a few alternating rounds), then clipped to
    [0, w_max]. Reward-modulated STDP moves synapses together as much
    as apart; the scaling keeps only how they move apart: which light sensor drives which wheel more (the
    crossed pair against the same-side pair), not how loud a sensor or a wheel grows or fades. Done
    through the run handle's checkpoint (weights out, weights in)."""
    arrays = sim.checkpoint()
    n_s, n_m = config.n_sensor, config.n_motor
    for sensors, mean in ((LIGHTS, config.w_init), (WHISKERS, config.w_whisker)):
        keys = [[f"projection/{s}_{m}/weights" for m in MOTORS] for s in sensors]
        # one matrix: rows the sensor neurons (left, then right), columns the motor neurons (left, then right)
        w = np.block([[arrays[k].astype(np.float64).reshape(n_s, n_m) for k in row] for row in keys])
        for _ in range(rounds):
            w *= (2 * n_m * mean) / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
            w *= (2 * n_s * mean) / np.maximum(w.sum(axis=0, keepdims=True), 1e-12)
        w = np.clip(w, 0.0, config.w_max)
        for i, row in enumerate(keys):
            for j, k in enumerate(row):
                arrays[k] = w[i * n_s:(i + 1) * n_s, j * n_m:(j + 1) * n_m].reshape(-1).astype(arrays[k].dtype)
    sim.restore(arrays)


def weight_table(net) -> dict[str, float]:
    """The mean weight (pA; negative: inhibitory) of every projection of a vehicle network."""
    return {name: float(np.mean(np.asarray(proj.weight, dtype=np.float64)))
            for name, proj in net.projections.items()}
