"""e-prop training (Bellec et al. 2020, as NEST 3.10 computes it) of a recurrent network in dense float32 arrays.

The network: one source population (the inputs), one or more populations
of eprop_iaf / eprop_iaf_adapt (the recurrent neurons, in network order),
one eprop_readout population; projections input -> recurrent, recurrent
-> recurrent (no autapses), recurrent -> readout under rule "eprop"
(neurobox.plasticity.rules), and with feedback = "random" static
projections readout -> recurrent (the feedback weights B). The synapses
are drawn as for every target (`Projection.connections`, the network's
seed) and kept as dense matrices; a missing synapse stays 0 and never
learns.

Time (dt of the network; step t ends at (t + 1) dt): inputs[b, t, i] is a
spike the source emits in step t (a spike_generator time (t + 1) dt); it
reaches the recurrent neurons d_in steps later (the input projections'
delay). Recurrent spikes z(t) reach the recurrent neurons and the
readouts in step t + 1 (those projections must have a delay of one
step). readout[b, t] is y(t), the readouts' V_m after step t. Each
sequence starts from the populations' initial state.

The gradient is NEST's (per sequence, summed over time; the batch's
sequences averaged; one optimizer step per `run`)::

    z_bar_i(t) = exp(-dt/tau_m) z_bar_i(t-1) + P_z z_i(arriving in t)    (pre trace, tau_m of the post neurons)
    psi_j(t)   = height max(0, 1 - |v_j(t) - V_th,j(t)| / width), 0 while refractory
    e_ji(t)    = psi_j(t) (z_bar_i(t) - adapt_beta eps_ji(t-1))           (eligibility trace)
    eps_ji(t)  = exp(-dt/adapt_tau) eps_ji(t-1) + e_ji(t)                  (ALIF; eps = 0 for LIF)
    e_bar(t)   = kappa e_bar(t-1) + f e(t)              (online: f = 1; bsshslm_2020: f = 1 - kappa)
    L_j(t)     = sum_k B_jk err_k(t + 1)                (err = y - y* (MSE) or softmax(y) - y* (cross entropy),
                                                         0 outside the mask; B = W_out^T when symmetric)
    g_ji       = sum_t L_j(t) e_bar_ji(t) + regularisation
    g_kj(out)  = sum_t err_k(t) z_bar_out_j(t)          (z_bar_out filtered with the readout's tau_m)

Regularisation (c_reg, f_target of the recurrent neurons): online, as
eprop_iaf: f_av = kappa_reg f_av + (1 - kappa_reg) z / dt, r_j(t) =
c_reg (f_av - f_target dt) (f_target in spikes/ms), added as sum_t r_j(t)
e_bar_reg(t) with e_bar_reg = kappa_reg e_bar_reg + (1 - kappa_reg) e;
bsshslm_2020: r_j = c_reg (n_j / T - f_target dt) / T from the sequence's
spike count, added as r_j sum_t e_ji(t).

The sum over synapses is not run step by step: the filters on e are
linear, so the forward pass (one compiled function, `prange` over the
sequences) records each neuron's spikes, psi and errors; the second
compiled function runs, per sequence, a backward pass over these
per-neuron signals giving the coefficient G_j(t) with g_ji = sum_t G_j(t)
z_bar_i(t) exactly (the kappa filters move onto the learning signal, the
adaptation's eligibility becomes an adjoint of eps), then adds that up
BLOCK steps at a time (blocks where every psi is 0 skipped). Each
sequence keeps its own gradient, summed over the batch in a fixed order:
the result does not depend on the threads. The online form
(`eligibility_traces`) is the reference the tests compare against.

Where this differs from NEST: NEST applies online e-prop's updates at
each presynaptic spike (here once per `run`; on NEST's sine-wave example
with NEST's weights and inputs the loss stays within 3 % of NEST's); its eprop_isi_trace_cutoff
also drops the terms L e_bar after the cutoff (here only e is zeroed, a
difference below kappa^cutoff; the cutoff is refused for ALIF); NEST's
online neurons carry their state from one sequence to the next and its
_bsshslm_2020 readout normalises the softmax with a one-step lag.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from neurobox.checks import whole
from neurobox.engine.compile import initial_state
from neurobox.errors import ConfigError
from neurobox.network.network import Network
from neurobox.network.projection import GapJunction
from neurobox.neurons.eprop import NO_CUTOFF

RECURRENT = ("eprop_iaf", "eprop_iaf_adapt")
READOUT = "eprop_readout"
LOSSES = ("mean_squared_error", "cross_entropy")

# rows of the per-neuron constants (recurrent neurons)
(N_DECAY, N_PZ, N_GAIN, N_VTH, N_VMIN, N_REF, N_HEIGHT, N_WIDTH, N_BETA, N_ADAPT, N_KAPPA, N_KAPPA_REG, N_CREG,
 N_FTARGET, N_CUTOFF, N_IE) = range(16)
# rows of the readout constants
R_DECAY, R_PZ, R_GAIN, R_VMIN, R_EL, R_CUTOFF, R_IE = range(7)
# rows of the initial state: as the models' state (neurobox.neurons.eprop), V_m relative to E_L
S_V, S_CURRENT, S_REF, S_Z, S_ADAPTATION = range(5)
BLOCK = 8
"""Steps whose traces the gradient pass adds to the gradient matrices at once (_add_block is unrolled for 8)."""


@dataclass
class EpropBatch:
    """What one `EpropTrainer.run` gives."""

    loss: float            # MSE: 0.5 sum_t sum_k (y - y*)^2; cross entropy: -sum_t sum_k y* log softmax(y);
    #                        over the masked steps, mean over the batch
    readout: np.ndarray    # (batch, steps, n_out) float32: the readout signal y
    rates_hz: np.ndarray   # (n_rec,) mean firing rate of each recurrent neuron over the batch, spikes/s
    wall_s: float          # seconds this call took


@dataclass
class _Block:
    """One e-prop projection inside a dense matrix ("in", "rec" or "out")."""

    label: str
    matrix: str
    rows: slice
    cols: slice
    pre: np.ndarray        # the drawn synapses (indices inside the populations)
    post: np.ndarray
    rule: object           # neurobox.plasticity.rules.Plasticity
    m: np.ndarray | None = None
    v: np.ndarray | None = None
    beta_1_power: float = 1.0
    beta_2_power: float = 1.0


class EpropTrainer:
    """e-prop for one network description (see the module text); `run` trains or infers on a batch."""

    def __init__(self, net: Network, *, threads: int | None = None):
        self.net = net = net.copy()  # a snapshot: later edits of the description do not reach the trainer
        self.dt = float(net.dt)
        self.threads = None if threads is None else whole(threads, "threads", 1, what="a number of threads")
        sources, recurrent, readouts = [], [], []
        for name, pop in net.populations.items():
            if pop.model.is_source:
                sources.append(pop)
            elif pop.model.name in RECURRENT:
                recurrent.append(pop)
            elif pop.model.name == READOUT:
                readouts.append(pop)
            else:
                raise ConfigError(f"populations.{name}.model", f"e-prop trains networks of a source, "
                                                               f"{' / '.join(RECURRENT)} and {READOUT} populations; "
                                                               f"got {pop.model.name}")
        for found, what in ((sources, "source population (the inputs)"), (readouts, f"{READOUT} population")):
            if len(found) != 1:
                names = ", ".join(p.name for p in found) or "none"
                raise ConfigError("populations", f"e-prop needs exactly one {what}, got {names}")
        if not recurrent:
            raise ConfigError("populations", f"e-prop needs at least one population of {' or '.join(RECURRENT)}")
        self.source, self.readout_pop = sources[0], readouts[0]
        self.recurrent = recurrent
        self.n_in, self.n_out = self.source.n, self.readout_pop.n
        self.offset = {}
        n = 0
        for pop in recurrent:
            self.offset[pop.name] = n
            n += pop.n
        self.n_rec = n
        self._neuron_constants()
        self._projections()

    # -- description -> arrays ---------------------------------------------------------------------------
    def _neuron_constants(self) -> None:
        dt = self.dt
        c = np.zeros((16, self.n_rec))
        init = np.zeros((5, self.n_rec))
        for pop in self.recurrent:
            p, cols = pop.params, slice(self.offset[pop.name], self.offset[pop.name] + pop.n)
            decay = math.exp(-dt / p["tau_m"])
            el = p["E_L"]
            c[N_DECAY, cols] = decay
            c[N_PZ, cols] = 1.0 if p["regular_spike_arrival"] >= 0.5 else 1.0 - decay
            c[N_GAIN, cols] = p["tau_m"] / p["C_m"] * (1.0 - decay)
            c[N_IE, cols] = p["I_e"]
            c[N_VTH, cols] = p["V_th"] - el
            c[N_VMIN, cols] = max(p["V_min"] - el, -1e300)
            c[N_REF, cols] = round(p["t_ref"] / dt)
            c[N_HEIGHT, cols] = p["surrogate_gradient_height"]
            c[N_WIDTH, cols] = p["surrogate_gradient_width"]
            c[N_BETA, cols] = p.get("adapt_beta", 0.0)
            c[N_ADAPT, cols] = math.exp(-dt / p["adapt_tau"]) if "adapt_tau" in p else 0.0
            c[N_KAPPA, cols] = p["kappa"]
            c[N_KAPPA_REG, cols] = p["kappa_reg"]
            c[N_CREG, cols] = p["c_reg"]
            c[N_FTARGET, cols] = p["f_target"] / 1000.0
            c[N_CUTOFF, cols] = p["eprop_isi_trace_cutoff"]
            if pop.model.name == "eprop_iaf_adapt" and p["eprop_isi_trace_cutoff"] < NO_CUTOFF:
                raise ConfigError(f"populations.{pop.name}.params.eprop_isi_trace_cutoff",
                                  "the trainer supports a trace cutoff for eprop_iaf only; allowed: the default "
                                  f"({NO_CUTOFF:g}, no cutoff) for eprop_iaf_adapt")
            state = initial_state(pop, self.net.seed)
            init[:state.shape[0], cols] = state
            init[S_V, cols] -= el
        for row, what in ((N_DECAY, "tau_m"), (N_PZ, "regular_spike_arrival"), (N_CUTOFF, "eprop_isi_trace_cutoff")):
            if np.any(c[row] != c[row, 0]):
                raise ConfigError(f"populations.{self.recurrent[-1].name}.params.{what}",
                                  f"the recurrent populations must share {what} (one presynaptic trace each)")
        self.nc, self.init = c, init
        p = self.readout_pop.params
        decay = math.exp(-dt / p["tau_m"])
        self.rc = np.array([decay, 1.0 if p["regular_spike_arrival"] >= 0.5 else 1.0 - decay,
                            p["tau_m"] / p["C_m"] * (1.0 - decay), max(p["V_min"] - p["E_L"], -1e300),
                            p["E_L"], p["eprop_isi_trace_cutoff"], p["I_e"]])
        self.init_out = initial_state(self.readout_pop, self.net.seed)
        self.init_out[S_V] -= p["E_L"]

    def _kind(self, pop) -> str:
        if pop is self.source:
            return "source"
        return "readout" if pop is self.readout_pop else "recurrent"

    def _projections(self) -> None:
        net = self.net
        self.w = {"in": np.zeros((self.n_in, self.n_rec), np.float32),
                  "rec": np.zeros((self.n_rec, self.n_rec), np.float32),
                  "out": np.zeros((self.n_rec, self.n_out), np.float32)}
        feedback = np.zeros((self.n_rec, self.n_out), np.float32)
        self.blocks: list[_Block] = []
        self.d_in = None
        has_feedback = False
        options = None
        for name, proj in net.projections.items():
            field = f"projections.{name}"
            if isinstance(proj, GapJunction):
                raise ConfigError(field, "e-prop networks have no gap junctions")
            kinds = (self._kind(proj.pre), self._kind(proj.post))
            matrix = {("source", "recurrent"): "in", ("recurrent", "recurrent"): "rec",
                      ("recurrent", "readout"): "out", ("readout", "recurrent"): "feedback"}.get(kinds)
            if matrix is None:
                raise ConfigError(field, f"e-prop connects source -> recurrent -> readout (and readout -> recurrent "
                                         f"for feedback); got {kinds[0]} -> {kinds[1]}")
            conns = proj.connections(net.seed, net.dt, field)
            pre, post = conns.pre(), conns.targets.astype(np.int64)
            if conns.delays is not None:
                raise ConfigError(f"{field}.delay", "e-prop projections have one delay for all their synapses")
            if matrix != "in" and conns.delay != 1 and len(conns):
                raise ConfigError(f"{field}.delay", f"must be one step ({self.dt:g} ms) for e-prop's recurrent, "
                                                    f"readout and feedback synapses, got {conns.delay} steps")
            if np.unique(pre.astype(np.int64) * proj.post.n + post).size != pre.size:
                raise ConfigError(f"{field}.allow_multapses", "e-prop keeps one synapse per pair; allowed: false")
            if matrix == "rec" and proj.pre is proj.post and np.any(pre == post):
                raise ConfigError(f"{field}.allow_autapses", "e-prop's recurrent synapses have no autapses; "
                                                             "allowed: false")
            rows = slice(0, self.n_in) if matrix == "in" else slice(self.offset.get(proj.pre.name, 0),
                                                                      self.offset.get(proj.pre.name, 0) + proj.pre.n)
            cols = slice(self.offset.get(proj.post.name, 0), self.offset.get(proj.post.name, 0) + proj.post.n)
            if matrix == "feedback":
                if proj.plasticity is not None:
                    raise ConfigError(f"{field}.plasticity", "the feedback projection readout -> recurrent is "
                                                             "static (its weights are B); allowed: none")
                # B[j, k]: recurrent j receives the error of readout k
                feedback[cols.start + post, pre] = conns.weights
                has_feedback = True
                continue
            rule = proj.plasticity
            if rule is None or rule.rule != "eprop":
                raise ConfigError(f"{field}.plasticity.rule", "e-prop's projections learn with rule \"eprop\"; "
                                                              f"got {'none' if rule is None else rule.rule}")
            if options is None:
                options = dict(rule.options)
            for key in ("variant", "feedback"):
                if rule.options[key] != options[key]:
                    raise ConfigError(f"{field}.plasticity.{key}", f"every eprop projection gives the same {key}; "
                                                                   f"got {rule.options[key]!r} and {options[key]!r}")
            if matrix == "in":
                if self.d_in is not None and conns.delay != self.d_in:
                    raise ConfigError(f"{field}.delay", "every input projection has the same delay")
                self.d_in = conns.delay
            w = self.w[matrix]
            w[rows.start + pre, cols.start + post] = conns.weights
            self.blocks.append(_Block(name, matrix, rows, cols, pre, post, rule))
        if options is None:
            raise ConfigError("projections", "e-prop needs projections under rule \"eprop\"")
        self.options = options
        if options["feedback"] == "random" and not has_feedback:
            raise ConfigError("projections", "feedback = \"random\" takes B from a projection readout -> recurrent; "
                                             "none found (or choose feedback = \"symmetric\")")
        if options["feedback"] == "symmetric" and has_feedback:
            raise ConfigError("projections", "feedback = \"symmetric\" uses W_out transposed; remove the readout -> "
                                             "recurrent projection")
        self.feedback = feedback
        self.d_in = self.d_in or 1

    # -- training ----------------------------------------------------------------------------------------
    def run(self, inputs: np.ndarray, targets: np.ndarray, *, loss: str = "mean_squared_error",
            mask: np.ndarray | None = None, learn: bool = True) -> EpropBatch:
        """One batch: inputs (batch, steps, n_in) spikes, targets (batch, steps, n_out); learn: one optimizer
        step at the end (see the module text)."""
        start = time.perf_counter()
        x, y_star, counted = self._check(inputs, targets, loss, mask)
        batch, steps = x.shape[0], x.shape[1]
        threads = self.threads or numba.config.NUMBA_NUM_THREADS
        previous = numba.get_num_threads()
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS, batch)))
        try:
            z = np.zeros((batch, steps, self.n_rec), np.uint8)
            psi = np.zeros((batch, steps, self.n_rec), np.float32)
            y = np.zeros((batch, steps, self.n_out), np.float32)
            err = np.zeros((batch, steps, self.n_out), np.float32)
            losses = np.zeros(batch)
            cross_entropy = loss == "cross_entropy"
            _forward(x, self.d_in, self.w["in"], self.w["rec"], self.w["out"], self.nc, self.rc, self.init, self.init_out,
                     y_star, counted, cross_entropy, z, psi, y, err, losses)
            if learn:
                self._learn(x, z, psi, err, counted)
        finally:
            numba.set_num_threads(previous)
        rates = z.mean(axis=(0, 1), dtype=np.float64) * (1000.0 / self.dt)
        return EpropBatch(float(losses.mean()), y, rates, time.perf_counter() - start)

    def _check(self, inputs, targets, loss, mask):
        if loss not in LOSSES:
            raise ConfigError("loss", f"unknown loss {loss!r}; valid: {', '.join(LOSSES)}")
        x = np.asarray(inputs)
        if x.ndim != 3 or x.shape[2] != self.n_in or x.shape[0] < 1 or x.shape[1] < 1:
            raise ConfigError("inputs", f"expected an array (batch, steps, {self.n_in}) of spikes per step, got "
                                        f"shape {x.shape}")
        if not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_) or x.min() < 0 or x.max() > 255:
            raise ConfigError("inputs", "expected spike counts per step (0 or 1, uint8)")
        y_star = np.asarray(targets, dtype=np.float32)
        if y_star.shape != (x.shape[0], x.shape[1], self.n_out):
            raise ConfigError("targets", f"expected shape {(x.shape[0], x.shape[1], self.n_out)} (batch, steps, "
                                         f"n_out), got {y_star.shape}")
        if not np.all(np.isfinite(y_star)):
            raise ConfigError("targets", "expected finite numbers")
        if mask is None:
            counted = np.ones(x.shape[1], np.bool_)
        else:
            counted = np.asarray(mask)
            if counted.shape != (x.shape[1],) or counted.dtype != np.bool_:
                raise ConfigError("mask", f"expected a bool array of {x.shape[1]} steps, got {counted.dtype} "
                                          f"shape {counted.shape}")
        return np.ascontiguousarray(x, dtype=np.uint8), np.ascontiguousarray(y_star), counted

    def _learn(self, x, z, psi, err, counted) -> None:
        batch, steps = x.shape[0], x.shape[1]
        bsshslm = self.options["variant"] == "bsshslm_2020"
        feedback = self.w["out"] if self.options["feedback"] == "symmetric" else self.feedback
        kappa_out = float(self.rc[R_DECAY])
        g = np.zeros((batch, steps, self.n_rec), np.float32)
        grads = {"in": np.zeros((batch, self.n_in, self.n_rec), np.float32),
                 "rec": np.zeros((batch, self.n_rec, self.n_rec), np.float32),
                 "out": np.zeros((batch, self.n_rec, self.n_out), np.float32)}
        _gradients(x, self.d_in, z, psi, err, np.ascontiguousarray(feedback, dtype=np.float32), self.nc, self.rc,
                   kappa_out, bsshslm, self.dt, g, grads["in"], grads["rec"], grads["out"])
        grads = {key: per_sequence.sum(axis=0, dtype=np.float64)  # the batch's sum in a fixed order
                 for key, per_sequence in grads.items()}
        window = max(int(counted.sum()), 1)
        for block in self.blocks:
            if not block.rule.learning:
                continue
            grad = grads[block.matrix][block.rows, block.cols][block.pre, block.post].astype(np.float64) / batch
            if block.rule.params["average_gradient"] >= 0.5:
                grad /= window
            self._step(block, grad)

    def _step(self, block: _Block, grad: np.ndarray) -> None:
        """One optimizer step (NEST's gradient descent or Adam) on a block's synapses, clipped to [Wmin, Wmax]."""
        p = block.rule.params
        w = self.w[block.matrix][block.rows, block.cols]
        current = w[block.pre, block.post].astype(np.float64)
        if block.rule.options["optimizer"] == "adam":
            if block.m is None:
                block.m, block.v = np.zeros_like(grad), np.zeros_like(grad)
            block.beta_1_power *= p["beta_1"]
            block.beta_2_power *= p["beta_2"]
            alpha = p["eta"] * math.sqrt(1.0 - block.beta_2_power) / (1.0 - block.beta_1_power)
            block.m = p["beta_1"] * block.m + (1.0 - p["beta_1"]) * grad
            block.v = p["beta_2"] * block.v + (1.0 - p["beta_2"]) * grad * grad
            current -= alpha * block.m / (np.sqrt(block.v) + p["epsilon"])
        else:
            current -= p["eta"] * grad
        w[block.pre, block.post] = np.clip(current, p["Wmin"], p["Wmax"])

    # -- results -----------------------------------------------------------------------------------------
    def weights(self) -> dict[str, np.ndarray]:
        """Projection label -> dense (n_pre, n_post) float64 weights (pA) of every eprop projection."""
        return {b.label: self.w[b.matrix][b.rows, b.cols].astype(np.float64) for b in self.blocks}

    def network(self) -> Network:
        """A copy of the description with the learned weights as explicit synapses (same pairs, same order)."""
        out = self.net.copy()
        for block in self.blocks:
            proj = out.projections[block.label]
            proj.rule = "explicit"
            proj.rule_options = {"pre_ids": block.pre.astype(np.int64), "post_ids": block.post.astype(np.int64)}
            proj.weight = self.w[block.matrix][block.rows, block.cols][block.pre, block.post].astype(np.float64)
            proj.resolve(out.populations, proj.field, out.dt)
        return out


@njit(cache=True, parallel=True, boundscheck=False)
def _forward(x, d_in, w_in, w_rec, w_out, nc, rc, init, init_out, y_star, counted, cross_entropy, z, psi, y, err, losses):
    """Run every sequence b (in parallel): spikes z, pseudo-derivatives psi, readout y, masked errors, loss."""
    batch, steps, n_in = x.shape
    n_rec = w_rec.shape[0]
    n_out = w_out.shape[1]
    for b in prange(batch):
        v = init[S_V].copy()
        current = init[S_CURRENT].copy()
        ref = init[S_REF].copy()
        zp = init[S_Z].copy()
        a = init[S_ADAPTATION].copy()
        vo = init_out[S_V].copy()
        current_out = init_out[S_CURRENT].copy()
        cur = np.zeros(n_rec)
        cur_out = np.zeros(n_out)
        soft = np.zeros(n_out)
        total = 0.0
        for t in range(steps):
            cur[:] = 0.0
            cur_out[:] = 0.0
            if t >= d_in:
                for i in range(n_in):
                    s = x[b, t - d_in, i]
                    if s:
                        for j in range(n_rec):
                            cur[j] += s * w_in[i, j]
            for i in range(n_rec):
                if zp[i] != 0.0:
                    for j in range(n_rec):
                        cur[j] += w_rec[i, j]
                    for k in range(n_out):
                        cur_out[k] += w_out[i, k]
            for j in range(n_rec):
                if ref[j] > 0.0:
                    ref[j] -= 1.0
                vj = nc[N_DECAY, j] * v[j] + nc[N_PZ, j] * cur[j] + nc[N_GAIN, j] * current[j]
                current[j] = nc[N_IE, j]
                vj = max(vj, nc[N_VMIN, j])
                a[j] = nc[N_ADAPT, j] * a[j] + zp[j]
                threshold = nc[N_VTH, j] + nc[N_BETA, j] * a[j]
                p = 0.0
                if ref[j] == 0.0:
                    p = nc[N_HEIGHT, j] * max(0.0, 1.0 - abs(vj - threshold) / nc[N_WIDTH, j])
                psi[b, t, j] = p
                zp[j] = 0.0
                if vj >= threshold and ref[j] == 0.0:
                    zp[j] = 1.0
                    z[b, t, j] = 1
                    vj -= nc[N_VTH, j]
                    ref[j] = nc[N_REF, j]
                v[j] = vj
            top = -1e300
            for k in range(n_out):
                vo[k] = max(rc[R_DECAY] * vo[k] + rc[R_PZ] * cur_out[k] + rc[R_GAIN] * current_out[k], rc[R_VMIN])
                current_out[k] = rc[R_IE]
                y[b, t, k] = vo[k] + rc[R_EL]
                top = max(top, vo[k] + rc[R_EL])
            if cross_entropy:
                norm = 0.0
                for k in range(n_out):
                    soft[k] = math.exp(vo[k] + rc[R_EL] - top)
                    norm += soft[k]
                for k in range(n_out):
                    soft[k] /= norm
            if counted[t]:
                for k in range(n_out):
                    if cross_entropy:
                        e = soft[k] - y_star[b, t, k]
                        if y_star[b, t, k] != 0.0:
                            total -= y_star[b, t, k] * math.log(max(soft[k], 1e-300))
                    else:
                        e = y[b, t, k] - y_star[b, t, k]
                        total += 0.5 * e * e
                    err[b, t, k] = e
        losses[b] = total


@njit(cache=True, parallel=True, boundscheck=False)
def _gradients(x, d_in, z, psi, err, feedback, nc, rc, kappa_out, bsshslm, dt, g, grad_in, grad_rec, grad_out):
    """Per sequence b (in parallel): G_j(t) backwards in time (g_ji = sum_t G_j(t) z_bar_i(t)), then the presynaptic
    traces forwards (zeroed more than `cutoff` steps after their last spike) and the gradients of sequence b."""
    batch, steps, n_in = x.shape
    n_rec = z.shape[2]
    n_out = err.shape[2]
    decay, pz, cutoff = nc[N_DECAY, 0], nc[N_PZ, 0], nc[N_CUTOFF, 0]
    for b in prange(batch):
        reg = np.zeros(steps)
        for j in range(n_rec):
            kappa = kappa_out if bsshslm else nc[N_KAPPA, j]
            gain = 1.0 - kappa if bsshslm else 1.0
            kreg = nc[N_KAPPA_REG, j]
            f_target = nc[N_FTARGET, j] * dt  # NEST: spikes/ms times dt
            reg_const = 0.0
            if bsshslm:
                count = 0.0
                for t in range(steps):
                    count += z[b, t, j]
                reg_const = nc[N_CREG, j] * (count / steps - f_target) / steps
            reg[:] = 0.0
            if not bsshslm and nc[N_CREG, j] != 0.0:  # the online regularisation signal r_j(t)
                f_av = 0.0
                for t in range(steps):
                    f_av = kreg * f_av + (1.0 - kreg) * z[b, t, j] / dt
                    reg[t] = nc[N_CREG, j] * (f_av - f_target)
            l_bar = 0.0
            r_bar = 0.0
            q = 0.0
            g_next = 0.0
            for t in range(steps - 1, -1, -1):
                learning = 0.0
                if t + 1 < steps:
                    for k in range(n_out):
                        learning += feedback[j, k] * err[b, t + 1, k]
                l_bar = learning + kappa * l_bar
                r_bar = reg[t] + kreg * r_bar
                c = gain * l_bar + (reg_const if bsshslm else (1.0 - kreg) * r_bar)
                if t + 1 < steps:
                    q = nc[N_ADAPT, j] * q - nc[N_BETA, j] * g_next
                g_next = psi[b, t, j] * (c + q)
                g[b, t, j] = g_next
        tr_in = np.zeros(n_in)
        since_in = np.full(n_in, 1e18)
        tr_rec = np.zeros(n_rec)
        tr_out = np.zeros(n_rec)
        since_rec = np.full(n_rec, 1e18)
        # BLOCK steps at a time: the traces and G rows of a block, then one pass over the gradient matrices
        block_in = np.zeros((BLOCK, n_in), np.float32)
        block_rec = np.zeros((BLOCK, n_rec), np.float32)
        block_g = np.zeros((BLOCK, n_rec), np.float32)
        gi, gr, go = grad_in[b], grad_rec[b], grad_out[b]
        k = 0
        any_g = False
        for t in range(steps):
            for j in range(n_rec):
                block_g[k, j] = g[b, t, j]
                any_g = any_g or g[b, t, j] != 0.0
            for i in range(n_in):
                s = x[b, t - d_in, i] if t >= d_in else 0
                tr_in[i] = decay * tr_in[i] + pz * s
                since_in[i] = 0.0 if s else since_in[i] + 1.0
                block_in[k, i] = tr_in[i] if since_in[i] < cutoff else 0.0
            for i in range(n_rec):
                s = z[b, t - 1, i] if t >= 1 else 0
                tr_rec[i] = decay * tr_rec[i] + pz * s
                tr_out[i] = kappa_out * tr_out[i] + rc[R_PZ] * s
                since_rec[i] = 0.0 if s else since_rec[i] + 1.0
                block_rec[k, i] = tr_rec[i] if since_rec[i] < cutoff else 0.0
                if since_rec[i] < rc[R_CUTOFF]:
                    for o in range(n_out):
                        go[i, o] += tr_out[i] * err[b, t, o]
            k += 1
            if k == BLOCK or t == steps - 1:
                if any_g:
                    block_g[k:] = 0.0
                    _add_block(gi, block_in, block_g)
                    _add_block(gr, block_rec, block_g)
                k = 0
                any_g = False


@njit(cache=True, inline="always", boundscheck=False)
def _add_block(target, traces, coefficients):
    """target[i, j] += sum_k traces[k, i] coefficients[k, j] over one block of BLOCK steps."""
    for i in range(target.shape[0]):
        t0, t1, t2, t3 = traces[0, i], traces[1, i], traces[2, i], traces[3, i]
        t4, t5, t6, t7 = traces[4, i], traces[5, i], traces[6, i], traces[7, i]
        if t0 == 0.0 and t1 == 0.0 and t2 == 0.0 and t3 == 0.0 and t4 == 0.0 and t5 == 0.0 and t6 == 0.0 \
                and t7 == 0.0:
            continue
        row = target[i]
        for j in range(row.shape[0]):
            row[j] += (t0 * coefficients[0, j] + t1 * coefficients[1, j] + t2 * coefficients[2, j]
                       + t3 * coefficients[3, j] + t4 * coefficients[4, j] + t5 * coefficients[5, j]
                       + t6 * coefficients[6, j] + t7 * coefficients[7, j])


def eligibility_traces(zbar: np.ndarray, psi: np.ndarray, beta: float = 0.0, adapt_decay: float = 0.0,
                       kappa: float = 0.97, gain: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The online form, step by step, for one synapse: e(t) = psi(t) (z_bar(t) - beta eps(t-1)),
    eps(t) = adapt_decay eps(t-1) + e(t), e_bar(t) = kappa e_bar(t-1) + gain e(t). Returns (e, e_bar)."""
    e = np.zeros(len(zbar))
    e_bar = np.zeros(len(zbar))
    eps = 0.0
    filtered = 0.0
    for t in range(len(zbar)):
        e[t] = psi[t] * (zbar[t] - beta * eps)
        eps = adapt_decay * eps + e[t]
        filtered = kappa * filtered + gain * e[t]
        e_bar[t] = filtered
    return e, e_bar
