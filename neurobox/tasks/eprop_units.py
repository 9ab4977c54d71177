"""The sine-wave task trained by e-prop in the twin: the units learn in fixed point on the bus, the host is the readout.

The task is neurobox.tasks.sine_waves's (its frozen input noise and its sum of sines, `frozen_input` and
`target_signal`, drawn from the same seed) at a size the units take: n_in inputs, n_rec units, one readout.

    board    (`board`: the units described directly, as neurobox.hardware.board.units_from_network would map a
             network under rule eprop; a Network's iaf_psc_exp takes no negative weight on its excitatory
             receptor, the units' receptor does, and tau_syn_ex = tau_syn_in here)
        input  n_in stimulus neurons (spike_generator) playing the frozen input once per iteration (iteration
               i's step s fires in tick i * steps + s)
        rec    n_rec iaf_psc_exp units: each hears every input and n_hear other units, all plastic under rule
               eprop (plain steps eta, weights N(0, w_in_pA) and N(0, w_rec_pA) clipped to +-w_bound_pA; its
               own random feedback weight B_j, an int8 of 1/64: neurobox.plasticity.eprop_fixed)
        out    one eprop_readout, the host (`Board.readouts`), its initial W_out N(0, 0.1 / sqrt(n_rec))
    host     (`Host`) after tick k it has heard, on the bus, the units' spikes of tick t = k - 1; it steps
             y(t) = kappa y(t - 1) + sum_j W_out_j z_j(t) (float; kappa = 1 - 2**-k_kappa, the units'
             eligibility decay), sends the error byte round((y - y*) err_scale) clipped to -64 .. 63, and after
             the last tick of an iteration the apply pulse (every unit steps its weights by its own gradient)
             and steps W_out by Adam (eta_out; beta 0.9, 0.999) on sum_t (y - y*) zk (zk: z filtered with
             kappa): the host is a computer, the units are not
    loss     0.5 sum_t (y - y*)**2 over an iteration (NEST's, as sine_waves)

`train` runs it through the twin (neurobox.twin.session.TwinSession on the bus, the board as built: the planner
checks every unit's SRAM, its busiest tick and the bus): the units see the error of tick t in tick t + 2, because
a spike byte goes out in its slot during its tick, after the host's bytes of that tick (the session's docstring).
Next to it, with the same network, host and latency on an ideal synchronous bus (`reference`):

    "fixed"   the twin's UnitBank stepped directly: with ideal clocks and no faults the same curve as the twin
    "float"   the quantisation reference: the same units and rule in float (float iaf_psc_exp, z-bar, psi,
              eligibility, an unquantised error): what the integers cost, nothing else

and `engine`: the engine's float e-prop (neurobox.engine.eprop.EpropTrainer through sine_waves.train) on the
same input, target and sizes, with its own network (eprop_iaf: delta synapses, NEST's example's parameters,
all-to-all recurrence; its readout weights learned by gradient descent too, firing rates regularised towards
10 Hz; its own learning rate), so it differs in the network as well as in the arithmetic.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from neurobox.errors import ConfigError
from neurobox.plasticity import eprop_fixed

NEURON = {"C_m": 250.0, "tau_m": 20.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0, "t_ref": 2.0, "E_L": -70.0,
          "V_reset": -70.0, "V_th": -55.0, "I_e": 0.0}
"""The units' iaf_psc_exp (ms, pF, mV, pA)."""


@dataclass(frozen=True)
class UnitSineConfig:
    """The task's sizes (steps of 1 ms) and the units' and host's constants (pA, ms)."""

    n_in: int = 20
    n_rec: int = 30
    n_hear: int = 7
    """other units each unit hears (27 plastic inputs with n_in = 20: the most a 1 ms tick allows, plan.py)."""
    steps: int = 1000
    w_in_pA: float = 500.0
    """standard deviation of the initial input weights."""
    w_rec_pA: float = 250.0
    w_bound_pA: float = 4000.0
    eta: float = 60.0
    """the units' learning rate (neurobox.plasticity.eprop_fixed: pA per unit of the float gradient)."""
    eta_out: float = 0.03
    tau_m_readout: float = 20.0
    engine_eta: float = 1e-5
    """the engine's gradient-descent rate: the best of 1e-6, 3e-6, 1e-5 and 3e-5 (which diverges) over 60
    iterations at these sizes; NEST's example's 9e-8 barely moves in 60 iterations."""
    seed: int = 1

    def task(self, iterations: int = 1):
        """sine_waves's configuration of the same size."""
        from neurobox.tasks import sine_waves

        return sine_waves.SineConfig(n_in=self.n_in, n_rec=self.n_rec, steps=self.steps, iterations=iterations,
                                     eta=self.engine_eta).check()


@dataclass
class Training:
    """A run: the loss of every iteration (fixed point, in the twin), the time per iteration, the units' mean rate
    (Hz), their last weights (I_lsb); float_loss: the quantisation reference's, engine_loss: the engine's e-prop's
    (None unless asked for), with their times per iteration."""

    loss: list[float]
    ms_per_iteration: float
    rate_hz: float
    weights: list = field(default_factory=list, repr=False)
    float_loss: list[float] | None = None
    float_ms_per_iteration: float | None = None
    engine_loss: list[float] | None = None
    engine_ms_per_iteration: float | None = None

    def as_dict(self) -> dict:
        out = {"loss": self.loss, "final_loss": _final(self.loss), "ms_per_iteration": self.ms_per_iteration,
               "rate_hz": self.rate_hz}
        for name in ("float", "engine"):
            curve = getattr(self, f"{name}_loss")
            if curve is not None:
                out[name] = {"loss": curve, "final_loss": _final(curve),
                             "ms_per_iteration": getattr(self, f"{name}_ms_per_iteration")}
        return out


def _final(curve: list[float]) -> float:
    """The loss reached: the mean of the last five iterations."""
    return float(np.mean(curve[-5:]))


def board(cfg: UnitSineConfig, iterations: int):
    """The task's board (module docstring), its input played for `iterations` iterations, and the host's initial
    W_out (one per unit, in board order)."""
    import neurobox as nb
    from neurobox.hardware.board import Board
    from neurobox.hardware.unit import Input, UnitDescription
    from neurobox.tasks import sine_waves

    rng = np.random.default_rng(cfg.seed)
    inputs = sine_waves.frozen_input(cfg.task(), cfg.seed)
    ticks = np.arange(iterations)[:, None] * cfg.steps
    times = [((ticks + np.flatnonzero(inputs[:, i])[None, :] + 1).ravel() * 1.0).tolist() for i in range(cfg.n_in)]
    net = nb.Network(dt=1.0, seed=cfg.seed, duration=float(iterations * cfg.steps + 1))
    net.population("input", cfg.n_in, "spike_generator", {"spike_times": times})
    net.population("rec", cfg.n_rec, "iaf_psc_exp", dict(NEURON))
    net.population("out", 1, "eprop_readout", {"tau_m": cfg.tau_m_readout})
    rule = {"rule": "eprop", "eta": cfg.eta, "tau_m_readout": cfg.tau_m_readout, "w_min": -cfg.w_bound_pA,
            "w_max": cfg.w_bound_pA}
    B = np.clip(np.round(rng.normal(0.0, 1.0, cfg.n_rec) * eprop_fixed.B_ONE), -eprop_fixed.FB_MAX,
                eprop_fixed.FB_MAX) / eprop_fixed.B_ONE
    bound = cfg.w_bound_pA

    def weight(std: float) -> float:
        return float(np.clip(rng.normal(0.0, std), -bound, bound))

    units = []
    for j in range(cfg.n_rec):
        heard = rng.choice([k for k in range(cfg.n_rec) if k != j], cfg.n_hear, replace=False)
        plastic = [Input(f"input.{i}", "excitatory", weight(cfg.w_in_pA), True, projection="in_rec")
                   for i in range(cfg.n_in)]
        plastic += [Input(f"rec.{k}", "excitatory", weight(cfg.w_rec_pA), True, projection="rec_rec")
                    for k in sorted(heard)]
        units.append(UnitDescription(f"rec.{j}", NEURON, 1.0, tuple(plastic), rule, j, feedback=(float(B[j]),)))
    sources = {f"input.{i}": ("input", i) for i in range(cfg.n_in)}
    addresses = {u.name: u.address for u in units} | {name: cfg.n_rec + i for i, name in enumerate(sources)}
    w_out = rng.normal(0.0, 0.1 / math.sqrt(cfg.n_rec), cfg.n_rec)
    return Board(dt=1.0, units=units, addresses=addresses, sources=sources, network=net,
                 neurons={u.name: ("rec", j) for j, u in enumerate(units)}, readouts={"out": ("out", 0)}), w_out


class Host:
    """The readout and trainer on the host (module docstring): `heard(t, fired)` once per tick t, in order."""

    def __init__(self, cfg: UnitSineConfig, w_out: np.ndarray, kappa: float, target: np.ndarray, send, apply,
                 quantise: bool = True):
        self.cfg, self.w_out, self.kappa, self.target = cfg, w_out.astype(float).copy(), kappa, target
        self.send, self.apply, self.quantise = send, apply, quantise
        self.zk = np.zeros(w_out.size)
        self.y = 0.0
        self.grad = np.zeros(w_out.size)
        self.m, self.s2, self.n = np.zeros(w_out.size), np.zeros(w_out.size), 0
        self.loss = 0.0
        self.losses: list[float] = []
        self.spikes = 0

    def heard(self, t: int, fired: np.ndarray) -> None:
        """The units `fired` (indices) fired in tick t: step y, send the error; apply after an iteration's end."""
        self.spikes += fired.size
        self.zk *= self.kappa
        self.zk[fired] += 1.0
        self.y = self.kappa * self.y + float(self.w_out[fired].sum())
        phase = t % self.cfg.steps
        err = self.y - self.target[phase]
        self.loss += 0.5 * err * err
        self.grad += err * self.zk
        self.send(eprop_fixed.error_to_fixed(err, eprop_fixed.ERR_SCALE) if self.quantise else err)
        if phase == self.cfg.steps - 1:
            self.losses.append(float(self.loss))
            self.loss = 0.0
            self.n += 1
            self.m = 0.9 * self.m + 0.1 * self.grad
            self.s2 = 0.999 * self.s2 + 0.001 * self.grad ** 2
            self.w_out -= self.cfg.eta_out * (self.m / (1 - 0.9 ** self.n)) / (
                np.sqrt(self.s2 / (1 - 0.999 ** self.n)) + 1e-8)
            self.grad[:] = 0.0
            self.apply()


def _setup(cfg: UnitSineConfig, iterations: int):
    """The board, the host's initial W_out (per unit, board order), kappa and the target."""
    from neurobox.hardware.unit import fixed_unit
    from neurobox.tasks import sine_waves

    if not 1 <= iterations <= 100_000:
        raise ConfigError("iterations", f"must be in [1, 100000], got {iterations}")
    the_board, w_out = board(cfg, iterations)
    kappa = 1.0 - 2.0 ** -fixed_unit(the_board.units[0]).eprop.k_kappa
    return the_board, w_out, kappa, sine_waves.target_signal(cfg.task(), cfg.seed)


def train(cfg: UnitSineConfig = UnitSineConfig(), iterations: int = 60, compare: tuple[str, ...] = (),
          progress=None) -> Training:
    """Train `iterations` iterations in the twin (ideal clocks, no faults); compare: "float" (the quantisation
    reference) and/or "engine" (the engine's e-prop), run on the same task and sizes; progress(done, total)."""
    from neurobox.twin.session import TwinSession

    unknown = set(compare) - {"float", "engine"}
    if unknown:
        raise ConfigError("compare", f"unknown comparison {min(unknown)!r}; allowed: float, engine")
    units_board, w_out, kappa, target = _setup(cfg, iterations)
    session = TwinSession(units_board, transport="bus")
    host = Host(cfg, w_out, kappa, target, lambda e: session.send_errors([e]), session.apply)

    def each_tick(k: int, heard: np.ndarray) -> None:
        if k > 0:
            host.heard(k - 1, heard)

    start = time.perf_counter()
    for i in range(iterations):
        session.advance(cfg.steps, each_tick=each_tick)
        if progress:
            progress(i + 1, iterations)
    session.advance(1.0, each_tick=each_tick)      # the host hears the last tick
    wall = time.perf_counter() - start
    out = Training(host.losses, 1e3 * wall / iterations, host.spikes / (cfg.n_rec * iterations * cfg.steps * 1e-3),
                   [session.bank.weights(u).tolist() for u in range(session.bank.n)])
    if "float" in compare:
        ref = reference(cfg, iterations, "float")
        out.float_loss, out.float_ms_per_iteration = ref.loss, ref.ms_per_iteration
    if "engine" in compare:
        out.engine_loss, out.engine_ms_per_iteration = engine(cfg, iterations)
    return out


def reference(cfg: UnitSineConfig, iterations: int, arithmetic: str = "fixed") -> Training:
    """The same network and host on an ideal synchronous bus with the twin's latency (a spike of tick t received
    in t + 1, heard by the host after tick t + 1, its error and apply pulse seen in the tick after that), the units
    stepped directly: "fixed" the twin's UnitBank, "float" the quantisation reference (module docstring)."""
    from neurobox.hardware.unit import fixed_unit
    from neurobox.tasks import sine_waves

    if arithmetic not in ("fixed", "float"):
        raise ConfigError("arithmetic", f"must be fixed or float, got {arithmetic!r}")
    units_board, w_out, kappa, target = _setup(cfg, iterations)
    units = [fixed_unit(d) for d in units_board.units]
    names = [u.name for u in units] + list(units_board.sources)
    index = {name: k for k, name in enumerate(names)}
    src = np.array([index[s] for u in units for s in u.sources], dtype=np.int64)
    stim = sine_waves.frozen_input(cfg.task(), cfg.seed).astype(bool)
    stim = stim[:, [units_board.sources[s][1] for s in units_board.sources]]
    runner = _FixedUnits(units) if arithmetic == "fixed" else _FloatUnits(units, units_board.units)
    pending = {"err": 0, "apply": False}
    host = Host(cfg, w_out, kappa, target, lambda e: pending.__setitem__("err", e),
                lambda: pending.__setitem__("apply", True), quantise=arithmetic == "fixed")
    sent = np.zeros(len(names), dtype=bool)
    n = len(units)
    start = time.perf_counter()
    for k in range(iterations * cfg.steps + 1):
        err, apply = pending["err"], pending["apply"]
        pending["err"], pending["apply"] = 0, False
        heard = np.flatnonzero(sent[:n])
        z = runner.step(sent[src], err, apply)
        sent[:n] = z
        sent[n:] = stim[k % cfg.steps]
        if k > 0:
            host.heard(k - 1, heard)
    wall = time.perf_counter() - start
    return Training(host.losses, 1e3 * wall / iterations, host.spikes / (n * iterations * cfg.steps * 1e-3),
                    runner.weights())


def engine(cfg: UnitSineConfig, iterations: int) -> tuple[list[float], float]:
    """The engine's float e-prop on the same input, target and sizes (module docstring): (loss per iteration,
    ms per iteration)."""
    from neurobox.tasks import sine_waves

    run = sine_waves.train(cfg.task(iterations), cfg.seed)
    return run.loss, 1e3 * run.per_iteration_s


class _FixedUnits:
    """The units in fixed point: the twin's UnitBank, every unit each tick."""

    def __init__(self, units):
        from neurobox.twin.units import UnitBank

        self.bank = UnitBank(units)
        self.all = np.arange(len(units), dtype=np.int64)

    def step(self, received: np.ndarray, err_byte: int, apply: bool) -> np.ndarray:
        bank = self.bank
        bank.error[0] = err_byte
        bank.reward[:] = 1 if apply else 0
        bank.step(self.all, received, 0)
        return bank.spiked.copy()

    def weights(self) -> list:
        return [self.bank.weights(u).tolist() for u in range(self.bank.n)]


class _FloatUnits:
    """The quantisation reference: the units' iaf_psc_exp in float (exact integration, NEST's order as lif_fixed)
    and the rule of neurobox.plasticity.eprop_fixed without its integers (its module docstring's float meaning),
    with the units' own decays, feedback weights and initial weights (pA)."""

    def __init__(self, units, descs):
        from neurobox.neurons.lif import _propagator_32

        p, dt = NEURON, units[0].dt
        self.n = len(units)
        self.ptr = np.cumsum([0] + [u.n_inputs for u in units])
        self.owner = np.repeat(np.arange(self.n), [u.n_inputs for u in units])
        self.w = np.array([i.weight for d in descs for i in d.inputs])
        self.B = np.array([u.feedback[0] for u in units]) / eprop_fixed.B_ONE
        self.P22 = math.exp(-dt / p["tau_m"])
        self.P11 = math.exp(-dt / p["tau_syn_ex"])
        self.P21 = _propagator_32(p["tau_syn_ex"], p["tau_m"], p["C_m"], dt)
        self.P20 = p["tau_m"] / p["C_m"] * (1 - self.P22)
        self.th = p["V_th"] - p["E_L"]
        self.v_reset = p["V_reset"] - p["E_L"]
        self.ref_steps = round(p["t_ref"] / dt)
        e = units[0].eprop
        self.az = 1.0 - 2.0 ** -e.k_z          # the units' decays, so that only the arithmetic differs
        self.ak = 1.0 - 2.0 ** -e.k_kappa
        self.R = p["tau_syn_ex"] / p["C_m"]
        rule = descs[0].rule
        self.eta, self.w_min, self.w_max = rule["eta"], rule["w_min"], rule["w_max"]
        self.v = np.zeros(self.n)
        self.i = np.zeros(self.n)
        self.ref = np.zeros(self.n, dtype=np.int64)
        m = len(self.w)
        self.zbar, self.e, self.g = np.zeros(m), np.zeros(m), np.zeros(m)

    def step(self, received: np.ndarray, err: float, apply: bool) -> np.ndarray:
        arrived = received.astype(float)
        free = self.ref == 0
        self.v = np.where(free, self.P22 * self.v + self.P21 * self.i + self.P20 * NEURON["I_e"], self.v)
        self.ref = np.where(free, self.ref, self.ref - 1)
        self.i = self.P11 * self.i + np.bincount(self.owner, weights=self.w * arrived, minlength=self.n)
        fired = self.v >= self.th
        psi = np.where(fired, 1.0, np.where(self.ref > 0, 0.0, np.maximum(0.0, 1 - np.abs(self.v - self.th) / self.th)))
        psi *= eprop_fixed.GAMMA / self.th
        self.v = np.where(fired, self.v_reset, self.v)
        self.ref = np.where(fired, self.ref_steps, self.ref)
        if apply:
            self.w = np.clip(self.w - self.eta * self.g, self.w_min, self.w_max)
            self.g[:] = 0.0
        self.zbar *= self.az
        self.e = self.ak * self.e + psi[self.owner] * self.zbar
        self.g += (self.B[self.owner] * err) * self.e * self.R
        self.zbar += arrived
        return fired

    def weights(self) -> list:
        return [self.w[a:b].tolist() for a, b in zip(self.ptr[:-1], self.ptr[1:])]


CURVE_FILE = "sine_waves_units_curve.json"
LOSS_PNG = "sine_waves_units_loss.png"
RESULT_FILES = (CURVE_FILE, LOSS_PNG)
"""What `neurobox train sine-waves --target twin` writes: one set, replacing the earlier one."""


def train_and_report(iterations: int, seed: int, out, bar) -> tuple[dict, list]:
    """Train in the twin with both comparisons, then write into `out` (as one set, neurobox.files.atomic_folder)
    the curves as JSON and their figure; the summary and the files written."""
    from pathlib import Path

    from neurobox.files import atomic_folder, json_text
    from neurobox.viz.eprop_plots import loss_curve

    cfg = UnitSineConfig(seed=seed)
    out = Path(out)
    start = time.perf_counter()
    bar.phase("train")
    result = train(cfg, iterations, compare=("float", "engine"), progress=bar.count)
    bar.close()
    summary = {"task": "sine-waves", "target": "twin", "seed": seed, "iterations": iterations,
               "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}, **result.as_dict(),
               "wall_s": round(time.perf_counter() - start, 3), "out": str(out)}
    with atomic_folder(out, replaces=RESULT_FILES) as tmp:
        (tmp / CURVE_FILE).write_text(json_text(summary) + "\n")
        loss_curve({"units, fixed point (twin)": result.loss, "units in float": result.float_loss,
                    "engine e-prop (eprop_iaf)": result.engine_loss}, tmp / LOSS_PNG,
                   ylabel="loss  0.5 Σ$_t$ (y - y*)$^2$",
                   title=f"sine waves, {cfg.n_in} inputs, {cfg.n_rec} units")
    return summary, [out / name for name in RESULT_FILES]


def summary_text(summary: dict) -> str:
    """One line for the terminal (a train_and_report summary): the twin's loss next to the comparisons'."""
    line = (f"sine waves on {summary['config']['n_rec']} units (twin, fixed point): loss {summary['loss'][0]:.2f} -> "
            f"{summary['final_loss']:.2f} in {summary['iterations']} iterations, "
            f"{summary['ms_per_iteration']:.0f} ms per iteration")
    if "float" in summary:
        line += f"; the same units in float {summary['float']['final_loss']:.2f}"
    if "engine" in summary:
        line += (f"; the engine's e-prop (eprop_iaf) {summary['engine']['final_loss']:.2f}, "
                 f"{summary['engine']['ms_per_iteration']:.1f} ms per iteration")
    return line + f" (loss: mean of the last 5 iterations, seed {summary['seed']})"
