"""A liquid-state machine: a spiking E/I reservoir with linear readouts (Maass et al. 2002).

Pipeline (all in `SpikingReservoir.run`):

1. Input encoding. Each input sample u(t) in [0, 1] holds for
   `sample_ms`. An input population of `n_inputs` spike_generator
   neurons codes it: "linear" (default) on/off cells firing regularly at
   ``rate_max_hz * u`` and ``rate_max_hz * (1 - u)``, or "gaussian" tuning
   curves centred over [0, 1]. Spike times come from a phase accumulator
   with a random start phase, so the code is deterministic given the seed
   and the whole input is one table of spike times (one engine run, no
   return to Python per sample).
2. Reservoir. `n_neurons` iaf_psc_exp neurons, 80 % excitatory and 20 %
   inhibitory, connected at random (fixed in-degree) or as a small world
   (Watts-Strogatz ring lattice with rewiring probability), with
   heterogeneous initial potentials and constant bias currents. The input
   population projects onto every reservoir neuron with `input_indegree`
   random synapses of random sign whose conduction delays are whole
   numbers of samples, 0..`input_delay_samples`: each neuron thresholds a
   random mixture of present and past inputs. This delay line is where
   the memory NARMA-10 and Mackey-Glass need comes from; the recurrent
   weights (`weight_scale` multiplies them all, the spiking analogue of
   the spectral radius) change the score little (see `sweep`).
3. Features. Every reservoir neuron's spike train filtered by
   exp(-t / tau) for each tau in `filter_ms`, read at the end of each
   sample, plus the input u itself (the ESN baseline reads [x, u] too).
4. Readouts. `evaluate_readout` (ridge, offline, regularisation chosen on
   a validation block, the same scoring as the ESN) and `RLSReadout`
   (online recursive least squares, FORCE-style: weights updated after
   every training sample, then frozen for the test block).

Task runners `lsm_narma10`, `lsm_mackey_glass`, `lsm_patterns` return
plain dicts with the test scores and the ESN of the same size on the same
data. Units: ms, pA, Hz.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

import neurobox as nb
from neurobox.errors import ConfigError
from neurobox.random import generator
from neurobox.tasks.esn import EchoStateNetwork
from neurobox.tasks.readout import RidgeReadout, RLSReadout, evaluate_readout, nrmse
from neurobox.tasks.reservoir_data import (fit_normalisation, mackey_glass, narma10_task, temporal_patterns)


@dataclass
class LSMConfig:
    """Parameters of the spiking reservoir (units in the names).

    n_neurons        reservoir size (excitatory + inhibitory)
    frac_exc         fraction of excitatory neurons
    connectivity     "random" (fixed in-degree) or "small_world"
    indegree         recurrent synapses per neuron (random), or lattice
                     degree (small world, even)
    rewire_p         rewiring probability of the small world
    weight_exc_pA    excitatory recurrent weight before `weight_scale`
    g_inh            inhibitory weight = -g_inh * weight_exc_pA
    weight_scale     multiplies every recurrent weight
    delay_ms         (min, max) of the uniform recurrent delays
    n_inputs         input neurons
    input_encoding   "gaussian": tuning curves centred over [0, 1];
                     "linear": half the inputs fire at rate_max * u, half
                     at rate_max * (1 - u) (on and off cells)
    input_rate_hz    peak rate of an input neuron
    input_width      tuning width (in units of u)
    input_indegree   input synapses per reservoir neuron
    input_weight_pA  magnitude of an input synapse (random sign)
    input_delay_ms   (min, max) of the uniform input delays (conduction
                     delays spread over several samples give the
                     reservoir a delay-line memory of past inputs)
    input_delay_samples  if > 0: input delays are instead k * sample_ms + dt_ms
                     with k uniform in 0..input_delay_samples (whole samples)
    bias_pA          (low, high) of the uniform constant current per neuron
    sample_ms        time each input sample is held
    filter_ms        time constants of the readout's spike-train filters
    dt_ms            simulation step
    tau_m_ms         membrane time constant
    tau_syn_ms       synaptic current time constant (recurrent and input)
    """

    n_neurons: int = 500
    frac_exc: float = 0.8
    connectivity: str = "random"
    indegree: int = 50
    rewire_p: float = 0.2
    weight_exc_pA: float = 30.0
    g_inh: float = 4.0
    weight_scale: float = 1.0
    delay_ms: tuple[float, float] = (1.0, 3.0)
    n_inputs: int = 50
    input_encoding: str = "linear"
    input_rate_hz: float = 800.0
    input_width: float = 0.1
    input_indegree: int = 30
    input_weight_pA: float = 100.0
    input_delay_ms: tuple[float, float] = (0.5, 0.5)
    input_delay_samples: int = 10
    bias_pA: tuple[float, float] = (0.0, 200.0)
    sample_ms: float = 20.0
    filter_ms: tuple[float, ...] = (10.0, 30.0)
    dt_ms: float = 0.5
    tau_m_ms: float = 20.0
    tau_syn_ms: float = 5.0

    def check(self) -> None:
        if self.n_neurons < 10:
            raise ConfigError("n_neurons", f"must be >= 10, got {self.n_neurons}")
        if self.connectivity not in ("random", "small_world"):
            raise ConfigError("connectivity", f"must be 'random' or 'small_world', got {self.connectivity!r}")
        if self.sample_ms < 2 * self.dt_ms:
            raise ConfigError("sample_ms", f"must be at least two steps ({2 * self.dt_ms:g} ms)")
        if self.input_encoding not in ("linear", "gaussian"):
            raise ConfigError("input_encoding", f"must be 'linear' or 'gaussian', got {self.input_encoding!r}")
        if not self.filter_ms or min(self.filter_ms) <= 0:
            raise ConfigError("filter_ms", "needs at least one time constant > 0 ms")


def encode_population(u: np.ndarray, *, n_inputs: int, rate_max_hz: float, width: float,
                      sample_ms: float, rng: np.random.Generator, encoding: str = "gaussian") -> list[np.ndarray]:
    """Spike times (ms, one array per input neuron) coding u (T,) in [0, 1], sample k held in [k, k+1) sample_ms.

    `encoding` "gaussian" (tuning curves of `width`) or "linear" (on/off
    cells, rate_max * u and rate_max * (1 - u)). Regular firing at that
    rate; a phase accumulator carries over from sample to sample. Times > 0.
    """
    if encoding == "linear":
        on = (np.arange(n_inputs) % 2 == 0)[None, :]
        rates = rate_max_hz * np.where(on, u[:, None], 1.0 - u[:, None])
    else:
        centres = np.linspace(0.0, 1.0, n_inputs)
        rates = rate_max_hz * np.exp(-(u[:, None] - centres[None, :]) ** 2 / (2.0 * width ** 2))  # (T, n_in)
    dphase = rates * sample_ms * 1e-3                       # spikes per sample
    start = rng.random(n_inputs)
    cum = start[None, :] + np.cumsum(dphase, axis=0)       # phase at the end of each sample
    before = np.vstack([start[None, :], cum[:-1]])
    out = []
    for k in range(n_inputs):
        a, b = before[:, k], cum[:, k]
        first = np.floor(a).astype(np.int64) + 1          # next whole phase
        last = np.floor(b).astype(np.int64)
        counts = np.maximum(last - first + 1, 0)
        if counts.sum() == 0:
            out.append(np.zeros(0))
            continue
        samp = np.repeat(np.arange(u.size), counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        level = np.repeat(first, counts) + offs
        frac = (level - a[samp]) / np.maximum(b[samp] - a[samp], 1e-12)
        t = (samp + frac) * sample_ms
        out.append(np.maximum(t, 1e-3))
    return out


def small_world_edges(n: int, k: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Directed Watts-Strogatz graph: each node gets inputs from its k nearest ring neighbours,
    each input rewired to a random source with probability p (no autapses). Returns (pre, post)."""
    half = max(1, k // 2)
    post = np.repeat(np.arange(n), 2 * half)
    offs = np.tile(np.r_[np.arange(-half, 0), np.arange(1, half + 1)], n)
    pre = (post + offs) % n
    rewire = rng.random(pre.size) < p
    new = rng.integers(0, n - 1, rewire.sum())
    new = new + (new >= post[rewire])                      # skip the node itself
    pre = pre.copy()
    pre[rewire] = new
    return pre, post


def filtered_features(t_ms: np.ndarray, ids: np.ndarray, n: int, n_samples: int, sample_ms: float,
                      tau_ms: float) -> np.ndarray:
    """Spike trains filtered by exp(-t/tau), read at the end of every sample: (n_samples, n)."""
    k = np.minimum((t_ms / sample_ms - 1e-9).astype(np.int64), n_samples - 1)   # sample holding each spike
    k = np.maximum(k, 0)
    end = (k + 1) * sample_ms
    contrib = np.exp(-(end - t_ms) / tau_ms)
    binned = np.zeros((n_samples, n))
    np.add.at(binned, (k, ids.astype(np.int64)), contrib)
    decay = np.exp(-sample_ms / tau_ms)
    out = np.empty_like(binned)
    acc = np.zeros(n)
    for s in range(n_samples):
        acc = acc * decay + binned[s]
        out[s] = acc
    return out


class SpikingReservoir:
    """A recurrent E/I network of iaf_psc_exp neurons driven by a population-coded input.

    `run(u)` simulates the whole input sequence in one engine run and
    returns the readout features (T, n_neurons * len(filter_ms)).
    """

    def __init__(self, config: LSMConfig | None = None, *, seed: int = 0):
        self.config = config or LSMConfig()
        self.config.check()
        self.seed = int(seed)
        self.last_rate_hz = float("nan")
        self.last_sim_s = float("nan")

    @property
    def n_exc(self) -> int:
        return int(round(self.config.n_neurons * self.config.frac_exc))

    def build(self, input_times: list[np.ndarray], n_inputs: int) -> nb.Network:
        """The network for one input table (spike times per input neuron)."""
        c = self.config
        rng = generator(self.seed, "lsm", "structure")
        net = nb.Network(dt=c.dt_ms, seed=self.seed)
        n = c.n_neurons
        ne = self.n_exc
        net.population("res", n, "iaf_psc_exp", {"tau_m": c.tau_m_ms, "C_m": 250.0, "t_ref": 2.0,
                                                 "tau_syn_ex": c.tau_syn_ms, "tau_syn_in": c.tau_syn_ms},
                       initial={"V_m": {"distribution": "uniform", "low": -70.0, "high": -55.0}})
        times = [t if t.size else np.array([]) for t in input_times]
        net.add(nb.SpikeSource(times, n_inputs, name="inp"))
        # constant bias, heterogeneous: a few StepCurrents with one level each
        levels = 8
        groups = rng.integers(0, levels, n)
        amps = np.linspace(c.bias_pA[0], c.bias_pA[1], levels)
        for g in range(levels):
            who = np.flatnonzero(groups == g)
            if who.size:
                net.add(nb.StepCurrent("res", [0.0], [float(amps[g])], neurons=who.tolist(), name=f"bias{g}"))
        # recurrent synapses
        if c.connectivity == "random":
            k = min(c.indegree, n - 1)
            post = np.repeat(np.arange(n), k)
            pre = np.concatenate([_choose_without(rng, n, k, i) for i in range(n)])
        else:
            pre, post = small_world_edges(n, c.indegree, c.rewire_p, rng)
        lo, hi = c.delay_ms
        delays = rng.uniform(lo, hi, pre.size)
        exc = pre < ne
        w_e = c.weight_scale * c.weight_exc_pA
        if exc.any():
            net.connect("res", "res", "explicit", pre_ids=pre[exc], post_ids=post[exc],
                        weight=w_e, delay=delays[exc], receptor="excitatory", name="ee")
        if (~exc).any():
            net.connect("res", "res", "explicit", pre_ids=pre[~exc], post_ids=post[~exc],
                        weight=-c.g_inh * w_e, delay=delays[~exc], receptor="inhibitory", name="ie")
        # input synapses, random sign
        k_in = min(c.input_indegree, n_inputs)
        ipost = np.repeat(np.arange(n), k_in)
        ipre = np.concatenate([rng.choice(n_inputs, k_in, replace=False) for _ in range(n)])
        sign = rng.random(ipre.size) < 0.5
        if c.input_delay_samples > 0:
            idelay = rng.integers(0, c.input_delay_samples + 1, ipre.size) * c.sample_ms + c.dt_ms
        else:
            idelay = np.maximum(rng.uniform(c.input_delay_ms[0], c.input_delay_ms[1], ipre.size), c.dt_ms)
        if sign.any():
            net.connect("inp", "res", "explicit", pre_ids=ipre[sign], post_ids=ipost[sign],
                        weight=c.input_weight_pA, delay=idelay[sign], receptor="excitatory", name="in_ex")
        if (~sign).any():
            net.connect("inp", "res", "explicit", pre_ids=ipre[~sign], post_ids=ipost[~sign],
                        weight=-c.input_weight_pA, delay=idelay[~sign], receptor="inhibitory", name="in_in")
        return net

    def run(self, u: Any) -> np.ndarray:
        """Features (T, n_neurons * len(filter_ms)) for the input sequence u (T,) in [0, 1]."""
        c = self.config
        u = np.clip(np.asarray(u, dtype=float).ravel(), 0.0, 1.0)
        times = encode_population(u, n_inputs=c.n_inputs, rate_max_hz=c.input_rate_hz, width=c.input_width,
                                  sample_ms=c.sample_ms, rng=generator(self.seed, "lsm", "encoding"),
                                  encoding=c.input_encoding)
        return self.run_spikes(times, c.n_inputs, u.size)

    def run_spikes(self, input_times: list[np.ndarray], n_inputs: int, n_samples: int) -> np.ndarray:
        """Features for a given input spike table covering n_samples samples of sample_ms."""
        c = self.config
        net = self.build(input_times, n_inputs)
        start = time.perf_counter()
        res = nb.run(net, n_samples * c.sample_ms, progress=False)
        self.last_sim_s = time.perf_counter() - start
        s = res.spikes["res"]
        self.last_rate_hz = s.rate_hz(n_samples * c.sample_ms)
        self.last_spikes = (s.t_ms, s.ids)
        return np.hstack([filtered_features(s.t_ms, s.ids, c.n_neurons, n_samples, c.sample_ms, tau)
                          for tau in c.filter_ms])


def _choose_without(rng: np.random.Generator, n: int, k: int, skip: int) -> np.ndarray:
    pick = rng.choice(n - 1, k, replace=False)
    return pick + (pick >= skip)


def _with_input(features: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.hstack([features, np.asarray(u, dtype=float).reshape(len(u), -1)])


def rls_score(features: np.ndarray, targets: np.ndarray, *, washout: int, n_train: int, alpha: float = 10.0,
              test_from: int | None = None, chunk: int = 50) -> float:
    """Test NRMSE of an RLS readout trained online on rows washout..washout+n_train, then frozen.

    Features are z-scored with the training block's statistics first
    (constant features dropped). P starts at I / alpha; it is
    re-symmetrised every `chunk` samples, which keeps the recursion stable
    over thousands of updates of ~1000 correlated features. The test block
    starts at `test_from` (default: right after training).
    """
    a, b = washout, washout + n_train
    mu = features[a:b].mean(axis=0)
    sd = features[a:b].std(axis=0)
    keep = sd > 1e-12
    x = (features[:, keep] - mu[keep]) / sd[keep]
    rls = RLSReadout(x.shape[1], 1, alpha=alpha)
    for s in range(a, b, chunk):
        e = min(b, s + chunk)
        rls.train(np.ascontiguousarray(x[s:e]), np.ascontiguousarray(targets[s:e]))
        rls.p = 0.5 * (rls.p + rls.p.T)
    start = b if test_from is None else test_from
    return nrmse(rls.predict(x[start:]), targets[start:])


# ---------------------------------------------------------------- tasks

def lsm_narma10(config: LSMConfig | None = None, *, seed: int = 0, n_train: int = 4000, n_val: int = 1000,
                n_test: int = 2000, washout: int = 200, esn: bool = True, rls: bool = True) -> dict:
    """NARMA-10 one step ahead with the spiking reservoir (and the ESN of equal size on the same data).

    u in [0, 0.5] is scaled by 2 into [0, 1] for the encoder. Returns
    {"task", "nrmse" (ridge), "rls_nrmse", "esn_nrmse", "linear_nrmse"
    (ridge on [u(t), 1] alone), "neurons", "rate_hz", "sim_s", "_test":
    (test targets, test predictions) for plots}.
    """
    config = config or LSMConfig()
    total = washout + n_train + n_val + n_test
    u, y = narma10_task(total, seed=generator(seed, "data", "narma10"))
    out = {"task": "narma10", "neurons": config.n_neurons}
    res = _score_regression(out, SpikingReservoir(config, seed=seed), 2.0 * u, u, y, washout=washout,
                            n_train=n_train, n_val=n_val, rls=rls)
    if esn:
        from neurobox.tasks.esn import esn_narma10
        out["esn_nrmse"] = esn_narma10(config.n_neurons, seed=seed, n_train=n_train, n_val=n_val,
                                       n_test=n_test, washout=washout)["nrmse"]
    out["rate_hz"] = res.last_rate_hz
    out["sim_s"] = res.last_sim_s
    return out


def _score_regression(out: dict, res: SpikingReservoir, drive: np.ndarray, u: np.ndarray, y: np.ndarray, *,
                      washout: int, n_train: int, n_val: int, rls: bool) -> SpikingReservoir:
    """Run `res` on `drive` (u mapped into [0, 1]) and put the ridge, linear and RLS scores into `out`."""
    feats = _with_input(res.run(drive), u)
    out["nrmse"], readout = evaluate_readout(feats, y, washout=washout, n_train=n_train, n_val=n_val)
    first_test = washout + n_train + n_val
    out["_test"] = (y[first_test:], readout.predict(feats[first_test:]))
    out["linear_nrmse"], _ = evaluate_readout(u[:, None], y, washout=washout, n_train=n_train, n_val=n_val)
    if rls:
        out["rls_nrmse"] = rls_score(feats, y, washout=washout, n_train=n_train + n_val)
    return res


def lsm_mackey_glass(config: LSMConfig | None = None, *, horizon: int = 84, seed: int = 0,
                     n_train: int = 4000, n_val: int = 1000, n_test: int = 2000, washout: int = 200,
                     esn: bool = True, rls: bool = True) -> dict:
    """Mackey-Glass (tau 17) `horizon` samples ahead, open loop, spiking reservoir vs ESN.

    The series is min-max normalised to [-1, 1] on the training block (as
    `esn_mackey_glass`) and mapped to [0, 1] for the encoder. Returns the
    keys of `lsm_narma10` plus "horizon".
    """
    config = config or LSMConfig()
    h = int(horizon)
    if h < 1:
        raise ConfigError("horizon", f"must be >= 1 step, got {horizon}")
    total = washout + n_train + n_val + n_test
    series = mackey_glass(total + h)
    norm = fit_normalisation(series[washout:washout + n_train])
    z = norm.apply(series)
    u, y = z[:-h], z[h:]
    out = {"task": "mackey-glass", "horizon": h, "neurons": config.n_neurons}
    res = _score_regression(out, SpikingReservoir(config, seed=seed), 0.5 * (u + 1.0), u, y, washout=washout,
                            n_train=n_train, n_val=n_val, rls=rls)
    if esn:
        from neurobox.tasks.esn import esn_mackey_glass
        out["esn_nrmse"] = esn_mackey_glass(config.n_neurons, horizon=h, seed=seed, n_train=n_train,
                                            n_val=n_val, n_test=n_test, washout=washout)["nrmse"]
    out["rate_hz"] = res.last_rate_hz
    out["sim_s"] = res.last_sim_s
    return out


def default_config(task: str, n_neurons: int = 500) -> LSMConfig:
    """The tuned configuration for `task` ("narma10", "mackey-glass", "patterns").

    NARMA-10 needs 10 samples of memory: input delays span 0..10 samples.
    Mackey-Glass 84 steps ahead needs a longer embedding: 0..30 samples.
    Patterns are spike inputs already: short input delays, slower
    membranes (40 ms) and a 100 ms readout filter hold the early part of
    a pattern until it is read at the end.
    """
    if task == "narma10":
        return LSMConfig(n_neurons=n_neurons, input_delay_samples=10)
    if task == "mackey-glass":
        return LSMConfig(n_neurons=n_neurons, input_delay_samples=30)
    if task == "patterns":
        return LSMConfig(n_neurons=n_neurons, input_delay_samples=0, input_delay_ms=(0.5, 5.0),
                         input_indegree=20, input_weight_pA=300.0, bias_pA=(100.0, 200.0),
                         tau_m_ms=40.0, filter_ms=(100.0,))
    raise ConfigError("task", f"unknown task {task!r}; valid: narma10, mackey-glass, patterns")


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def _classify(feats: np.ndarray, labels: np.ndarray, n_classes: int, n_train: int, n_val: int) -> float:
    """Test accuracy of a ridge classifier (one-hot targets, argmax), alpha chosen on the validation block."""
    mu = feats[:n_train].mean(axis=0)
    sd = feats[:n_train].std(axis=0)
    sd[sd == 0] = 1.0
    x = (feats - mu) / sd
    y = _onehot(labels, n_classes)
    a, b = n_train, n_train + n_val
    best, best_acc = None, -1.0
    for alpha in (1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4):
        r = RidgeReadout(alpha).fit(x[:a], y[:a])
        acc = float(np.mean(r.predict(x[a:b]).argmax(axis=1) == labels[a:b]))
        if acc > best_acc:
            best, best_acc = alpha, acc
    r = RidgeReadout(best).fit(x[:b], y[:b])
    return float(np.mean(r.predict(x[b:]).argmax(axis=1) == labels[b:]))


def lsm_patterns(config: LSMConfig | None = None, *, seed: int = 0, n_classes: int = 8,
                 samples_per_class: int = 40, n_inputs: int = 20, duration_ms: float = 200.0,
                 gap_ms: float = 50.0, snapshots: int = 1, jitter_ms: float = 4.0,
                 deletion_prob: float = 0.2, noise_rate_hz: float = 5.0, esn: bool = True) -> dict:
    """Classify noisy spike patterns (`temporal_patterns`) with the spiking reservoir.

    The samples are streamed back to back (`gap_ms` of silence between)
    into the reservoir through `n_inputs` spike-source inputs. Features of
    a sample: the filtered spike trains at `snapshots` evenly spaced times
    inside its window (default 1: only at its end, so the early part of
    the pattern must be remembered). Split 60/20/20 (train/validation/test) in stream
    order. Baselines on the same data: the same readout of the filtered
    input spikes themselves ("input_accuracy"), and an ESN of the same
    size driven by the inputs' spike counts in `sample_ms` bins
    ("esn_accuracy"). Returns {"task", "accuracy", "input_accuracy",
    "esn_accuracy", "neurons", "chance", "rate_hz", "sim_s"}.
    """
    config = config or default_config("patterns")
    data = temporal_patterns(n_classes, n_inputs, duration_ms=duration_ms, samples_per_class=samples_per_class,
                             jitter_ms=jitter_ms, deletion_prob=deletion_prob, noise_rate_hz=noise_rate_hz,
                             seed=generator(seed, "data", "patterns"))
    spikes, onsets = data.stream(gap_ms)
    snap_ms = duration_ms / snapshots
    period = duration_ms + gap_ms
    grid_ms = 10.0                                        # features are computed every 10 ms
    for name, v in (("duration_ms / snapshots", snap_ms), ("duration_ms + gap_ms", period)):
        if abs(v / grid_ms - round(v / grid_ms)) > 1e-9:
            raise ConfigError("snapshots", f"{name} = {v:g} ms must be a whole number of {grid_ms:g} ms")
    per_sample = int(round(period / grid_ms))
    n_grid = len(data) * per_sample
    t_in = spikes.t_ms + config.dt_ms                     # spike sources need t > 0
    ids = spikes.neuron_id.astype(np.int64)
    times = [np.sort(t_in[ids == k]) for k in range(n_inputs)]
    cfg = replace(config, sample_ms=grid_ms)
    res = SpikingReservoir(cfg, seed=seed)
    feats = res.run_spikes(times, n_inputs, n_grid)
    snap_rows = np.round((np.arange(1, snapshots + 1) * snap_ms) / grid_ms).astype(np.int64) - 1
    rows = np.arange(len(data))[:, None] * per_sample + snap_rows[None, :]
    x = feats[rows].reshape(len(data), -1)
    n_tr = int(0.6 * len(data))
    n_va = int(0.2 * len(data))
    labels = np.asarray(data.labels)
    out = {"task": "patterns", "neurons": cfg.n_neurons, "chance": 1.0 / n_classes}
    out["accuracy"] = _classify(x, labels, n_classes, n_tr, n_va)
    fin = np.hstack([filtered_features(t_in, ids, n_inputs, n_grid, grid_ms, tau) for tau in cfg.filter_ms])
    out["input_accuracy"] = _classify(fin[rows].reshape(len(data), -1), labels, n_classes, n_tr, n_va)
    if esn:
        counts = np.zeros((n_grid, n_inputs))            # spike counts in the grid's 10 ms bins
        np.add.at(counts, (np.minimum((t_in / grid_ms).astype(np.int64), n_grid - 1), ids), 1.0)
        net = EchoStateNetwork(cfg.n_neurons, n_inputs, spectral_radius=0.9, input_scaling=1.0, leak_rate=0.3,
                               seed=generator(seed, "esn", "reservoir"))
        states = net.run(counts)
        out["esn_accuracy"] = _classify(states[rows].reshape(len(data), -1), labels, n_classes, n_tr, n_va)
    out["rate_hz"] = res.last_rate_hz
    out["sim_s"] = res.last_sim_s
    out["_spikes"] = res.last_spikes
    return out


def run_task(task: str, *, n_neurons: int = 500, seed: int = 0, horizon: int = 84, esn: bool = True,
             rls: bool = True, config: LSMConfig | None = None) -> dict:
    """Run one task by name with its `default_config` (or `config`)."""
    cfg = config or default_config(task, n_neurons)
    if task == "narma10":
        return lsm_narma10(cfg, seed=seed, esn=esn, rls=rls)
    if task == "mackey-glass":
        return lsm_mackey_glass(cfg, horizon=horizon, seed=seed, esn=esn, rls=rls)
    if task == "patterns":
        return lsm_patterns(cfg, seed=seed, esn=esn)
    raise ConfigError("task", f"unknown task {task!r}; valid: narma10, mackey-glass, patterns")


def sweep(*, scales: Sequence[float] = (0.0, 1.0, 2.0, 4.0, 6.0, 9.0, 12.0),
          sizes: Sequence[int] = (100, 200, 300, 500),
          seed: int = 0, n_train: int = 4000, n_val: int = 1000, n_test: int = 2000) -> dict:
    """NARMA-10 NRMSE against recurrent weight scale (at 500 neurons) and against size (weight scale 1),
    with the ESN against spectral radius and size on the same data.

    Returns {"scales", "scale_nrmse", "scale_rate_hz", "sizes", "size_nrmse", "esn_radii",
    "esn_radius_nrmse", "esn_size_nrmse"}.
    """
    from neurobox.tasks.esn import esn_narma10
    split = {"n_train": n_train, "n_val": n_val, "n_test": n_test}
    out = {"scales": list(map(float, scales)), "sizes": list(map(int, sizes))}
    sc, rates = [], []
    for s in scales:
        r = lsm_narma10(replace(default_config("narma10"), weight_scale=float(s)), seed=seed, esn=False,
                        rls=False, **split)
        sc.append(r["nrmse"])
        rates.append(r["rate_hz"])
    out["scale_nrmse"], out["scale_rate_hz"] = sc, rates
    out["size_nrmse"] = [lsm_narma10(default_config("narma10", int(n)), seed=seed, esn=False, rls=False,
                                     **split)["nrmse"] for n in sizes]
    radii = (0.0, 0.3, 0.6, 0.9, 1.2, 1.5)
    out["esn_radii"] = list(radii)
    out["esn_radius_nrmse"] = [esn_narma10(500, seed=seed, spectral_radius=r, **split)["nrmse"] for r in radii]
    out["esn_size_nrmse"] = [esn_narma10(int(n), seed=seed, **split)["nrmse"] for n in sizes]
    return out
