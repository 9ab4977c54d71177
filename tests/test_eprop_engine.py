"""e-prop in the compiled engine (neurobox.engine.eprop): gradients, traces, training, files, the engine, errors."""
import math

import numpy as np
import pytest

import neurobox
from neurobox import Network
from neurobox.engine import eprop as E
from neurobox.engine.eprop import EpropTrainer
from neurobox.errors import ConfigError
from neurobox.network.modelfile import loads

REC = {"C_m": 1.0, "E_L": 0.0, "V_th": 0.6, "tau_m": 20.0, "t_ref": 0.0, "surrogate_gradient_height": 0.3,
       "surrogate_gradient_width": 0.6}
OUT = {"C_m": 1.0, "E_L": 0.0, "tau_m": 20.0}


def small_net(n_in=8, n_rec=10, n_out=1, seed=3, rule=None, adapt=0, feedback="random"):
    """Inputs -> n_rec LIF (+ `adapt` ALIF) -> readouts, Gaussian weights drawn from the network's seed."""
    rule = {"rule": "eprop", "feedback": feedback, **(rule or {})}
    net = Network(dt=1.0, seed=seed, duration=100.0)
    net.population("inp", n_in, "spike_generator")
    net.population("lif", n_rec, "eprop_iaf", REC)
    recurrent = ["lif"]
    if adapt:
        net.population("alif", adapt, "eprop_iaf_adapt", {**REC, "adapt_beta": 0.5, "adapt_tau": 200.0})
        recurrent.append("alif")
    net.population("out", n_out, "eprop_readout", OUT)
    for post in recurrent:
        net.connect("inp", post, weight=normal(1.0 / math.sqrt(n_in)), delay=1.0, plasticity=rule)
    for pre in recurrent:
        for post in recurrent:
            net.connect(pre, post, weight=normal(0.5 / math.sqrt(n_rec)), delay=1.0, plasticity=rule,
                        allow_autapses=False)
        net.connect(pre, "out", weight=normal(1.0 / math.sqrt(n_rec)), delay=1.0, plasticity=rule)
        if feedback == "random":
            net.connect("out", pre, weight=normal(1.0), delay=1.0)
    return net


def normal(std):
    return {"distribution": "normal", "mean": 0.0, "std": std}


def spikes(batch, steps, n, p=0.05, seed=0):
    return (np.random.default_rng(seed).random((batch, steps, n)) < p).astype(np.uint8)


# -- (a) the gradient is the exact gradient where e-prop's approximation vanishes ----------------------------

def _smooth_reference(w, x, w_out, y_star, beta, p):
    """One neuron without recurrence or reset, spiking smoothly: s(t) = S(v(t) - theta(t)) with S' the piecewise
    linear pseudo-derivative, so that its loss is differentiable; returns (loss, psi, err)."""
    h, width = p["height"], p["width"]

    def smooth(u):  # integral of h max(0, 1 - |u| / width)
        u = min(max(u, -width), width)
        return h * (u + width / 2.0 - u * abs(u) / (2.0 * width))

    steps = x.shape[0]
    v = a = s_prev = y = 0.0
    loss = 0.0
    psi, err = np.zeros(steps), np.zeros(steps)
    for t in range(steps):
        arriving = x[t - 1] @ w if t >= 1 else 0.0  # inputs reach the neuron one step later
        v = p["decay"] * v + arriving
        a = p["adapt"] * a + s_prev
        u = v - (p["V_th"] + beta * a)
        psi[t] = h * max(0.0, 1.0 - abs(u) / width)
        y = p["kappa"] * y + w_out * s_prev  # the readout sees the neuron one step later
        err[t] = y - y_star[t]
        loss += 0.5 * err[t] ** 2
        s_prev = smooth(u)
    return loss, psi, err


@pytest.mark.parametrize("beta", [0.0, 0.4])
def test_gradient_equals_finite_differences_for_one_neuron(beta):
    # A single neuron without recurrence and without reset, its readout filtered with the neuron's kappa and
    # symmetric feedback: e-prop is exact there (Bellec et al. 2020), for LIF and for ALIF (beta > 0: the
    # adaptation's eligibility). The test's forward pass spikes smoothly (so that finite differences exist);
    # the trainer's gradient pass gets its psi and errors and must give the finite-difference gradient.
    rng = np.random.default_rng(7)
    steps, n_in = 80, 3
    x = (rng.random((steps, n_in)) < 0.2).astype(np.uint8)
    w = rng.normal(0.0, 0.4, n_in)
    w_out, kappa = 0.8, math.exp(-0.1)
    y_star = np.sin(np.arange(steps) / 9.0)
    p = {"decay": math.exp(-1.0 / 20.0), "adapt": math.exp(-1.0 / 30.0), "V_th": 0.3, "height": 0.3, "width": 0.5,
         "kappa": kappa}
    _, psi, err = _smooth_reference(w, x, w_out, y_star, beta, p)
    numeric = np.zeros(n_in)
    for i in range(n_in):
        d = np.zeros(n_in)
        d[i] = 1e-6
        numeric[i] = (_smooth_reference(w + d, x, w_out, y_star, beta, p)[0]
                      - _smooth_reference(w - d, x, w_out, y_star, beta, p)[0]) / 2e-6
    nc = np.zeros((16, 1))
    nc[E.N_DECAY], nc[E.N_PZ], nc[E.N_KAPPA], nc[E.N_KAPPA_REG] = p["decay"], 1.0, kappa, 0.97
    nc[E.N_BETA], nc[E.N_ADAPT], nc[E.N_CUTOFF] = beta, p["adapt"], 1e9
    rc = np.array([kappa, 1.0, 0.0, -1e300, 0.0, 1e9, 0.0])
    g = np.zeros((1, steps, 1), np.float32)
    grads = [np.zeros((1, n_in, 1), np.float32), np.zeros((1, 1, 1), np.float32), np.zeros((1, 1, 1), np.float32)]
    E._gradients(x[None], 1, np.zeros((1, steps, 1), np.uint8), psi[None, :, None].astype(np.float32),
                 err[None, :, None].astype(np.float32), np.array([[w_out]], np.float32), nc, rc, kappa, False, 1.0,
                 g, *grads)
    assert np.abs(numeric).max() > 1e-2  # the check is not vacuous
    np.testing.assert_allclose(grads[0][0, :, 0], numeric, rtol=1e-4, atol=1e-6)


# -- (b) eligibility traces against a hand-derived sequence -----------------------------------------------------

def test_eligibility_traces_by_hand():
    # z_bar with decay 0.5 after pre spikes arriving at steps 0 and 2: 1, 0.5, 1.25, 0.625
    zbar = np.array([1.0, 0.5, 1.25, 0.625])
    psi = np.array([0.2, 0.0, 0.4, 0.1])
    e, e_bar = E.eligibility_traces(zbar, psi, kappa=0.5)
    np.testing.assert_allclose(e, [0.2, 0.0, 0.5, 0.0625])
    np.testing.assert_allclose(e_bar, [0.2, 0.1, 0.55, 0.3375])
    # ALIF, beta 1, adaptation decay 0.5: eps = 0.2, 0.1, 0.51; e2 = 0.4 (1.25 - 0.1), e3 = 0.1 (0.625 - 0.51)
    e, e_bar = E.eligibility_traces(zbar, psi, beta=1.0, adapt_decay=0.5, kappa=0.5, gain=0.5)
    np.testing.assert_allclose(e, [0.2, 0.0, 0.46, 0.0115])
    np.testing.assert_allclose(e_bar, [0.1, 0.05, 0.255, 0.13325])


@pytest.mark.parametrize("variant", ["online", "bsshslm_2020"])
def test_gradient_pass_equals_the_online_traces(variant):
    # the trainer sums G_j(t) z_bar_i(t); the online form sums L_j(t) e_bar_ji(t) and the firing-rate
    # regularisation step by step (NEST's equations, written out here): equal
    rng = np.random.default_rng(2)
    steps, n_in, n_rec = 50, 4, 3
    x = (rng.random((1, steps, n_in)) < 0.3).astype(np.uint8)
    z = (rng.random((1, steps, n_rec)) < 0.1).astype(np.uint8)
    psi = (rng.random((1, steps, n_rec)) * (rng.random((1, steps, n_rec)) < 0.5)).astype(np.float32)
    err = rng.normal(size=(1, steps, 1)).astype(np.float32)
    feedback = rng.normal(size=(n_rec, 1)).astype(np.float32)
    decay, kappa_rec, kappa_out, beta, adapt, kreg, c_reg = 0.9, 0.8, 0.7, np.array([0.0, 0.3, 0.6]), 0.95, 0.9, 2.0
    f_target = 0.02  # spikes/ms
    nc = np.zeros((16, n_rec))
    nc[E.N_DECAY], nc[E.N_PZ], nc[E.N_KAPPA], nc[E.N_KAPPA_REG], nc[E.N_CUTOFF] = decay, 1.0, kappa_rec, kreg, 1e9
    nc[E.N_BETA], nc[E.N_ADAPT], nc[E.N_CREG], nc[E.N_FTARGET] = beta, adapt, c_reg, f_target
    rc = np.array([kappa_out, 1.0, 0.0, -1e300, 0.0, 1e9, 0.0])
    g = np.zeros((1, steps, n_rec), np.float32)
    grads = [np.zeros((1, n_in, n_rec), np.float32), np.zeros((1, n_rec, n_rec), np.float32),
             np.zeros((1, n_rec, 1), np.float32)]  # the trainer's types: one compiled signature
    bsshslm = variant == "bsshslm_2020"
    E._gradients(x, 1, z, psi, err, feedback, nc, rc, kappa_out, bsshslm, 1.0, g, *grads)
    kappa = kappa_out if bsshslm else kappa_rec
    expected = np.zeros((n_in, n_rec))
    for j in range(n_rec):
        if bsshslm:  # one rate per sequence, times the sum of e
            reg = np.full(steps, c_reg * (z[0, :, j].sum() / steps - f_target) / steps)
        else:  # f_av low-pass filtered with kappa_reg, times e_bar_reg
            f_av, reg = 0.0, np.zeros(steps)
            for t in range(steps):
                f_av = kreg * f_av + (1.0 - kreg) * z[0, t, j]
                reg[t] = c_reg * (f_av - f_target)
        for i in range(n_in):
            zbar = np.zeros(steps)
            for t in range(1, steps):
                zbar[t] = decay * zbar[t - 1] + x[0, t - 1, i]
            e, e_bar = E.eligibility_traces(zbar, psi[0, :, j].astype(float), beta[j], adapt, kappa,
                                            1.0 - kappa if bsshslm else 1.0)
            _, e_bar_reg = E.eligibility_traces(zbar, psi[0, :, j].astype(float), beta[j], adapt, kreg, 1.0 - kreg)
            learning = np.append(feedback[j, 0] * err[0, 1:, 0], 0.0)
            expected[i, j] = np.sum(learning * e_bar) + (reg[0] * e.sum() if bsshslm else np.sum(reg * e_bar_reg))
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(grads[0][0], expected, rtol=1e-4, atol=1e-5)


def test_adam_step_as_nest():
    # NEST's Adam: alpha = eta sqrt(1 - beta_2^n) / (1 - beta_1^n); m, v moments; w -= alpha m / (sqrt(v) + eps)
    trainer = EpropTrainer(small_net(rule={"optimizer": "adam", "eta": 0.1, "Wmin": -0.7, "Wmax": 100.0}))
    block = trainer.blocks[0]
    before = trainer.weights()[block.label][block.pre, block.post]
    grads = [np.linspace(-1.0, 2.0, block.pre.size), np.linspace(0.5, -0.5, block.pre.size)]
    for g in grads:
        trainer._step(block, g)
    w, m, v = before.copy(), 0.0, 0.0
    for n, g in enumerate(grads, start=1):
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w = np.clip(w - 0.1 * math.sqrt(1 - 0.999 ** n) / (1 - 0.9 ** n) * m / (np.sqrt(v) + 1e-7), -0.7, 100.0)
    assert np.any(w == -0.7)  # the bound clips
    np.testing.assert_allclose(trainer.weights()[block.label][block.pre, block.post], w, rtol=1e-6, atol=1e-7)


# -- (c) a short training run ------------------------------------------------------------------------------------

def test_training_lowers_the_loss():
    # 30 LIF neurons learn a sine from frozen input noise (symmetric feedback, Adam): the loss of the last ten
    # of 150 iterations averages below a fifth of the first (learning the readout alone reaches about 0.2)
    net = small_net(n_in=20, n_rec=30, seed=5, rule={"optimizer": "adam", "eta": 0.001}, feedback="symmetric")
    net.populations["lif"].set(V_th=1.0)
    trainer = EpropTrainer(net, threads=1)
    steps = 200
    x = spikes(1, steps, 20, p=0.05, seed=1)
    target = (0.5 * np.sin(np.arange(steps) * 2 * np.pi / 100.0))[None, :, None]
    losses = [trainer.run(x, target).loss for _ in range(150)]
    assert np.mean(losses[-10:]) < 0.2 * losses[0], losses[::10]


# -- (d) the model file declares the rule and round-trips ---------------------------------------------------------

def test_rule_round_trips_through_the_model_file():
    net = small_net(rule={"optimizer": "adam", "eta": 0.005, "variant": "bsshslm_2020", "average_gradient": 1})
    again = loads(net.to_toml())
    for name, proj in net.projections.items():
        other = again.projections[name].plasticity
        if proj.plasticity is None:
            assert other is None
            continue
        assert other.to_dict() == proj.plasticity.to_dict()
        assert other.options == {"optimizer": "adam", "feedback": "random", "variant": "bsshslm_2020"}
        assert other.params["eta"] == 0.005 and other.params["beta_2"] == 0.999
    assert EpropTrainer(again).weights().keys() == EpropTrainer(net).weights().keys()


# -- (e) the trained network runs in the engine like the trainer's inference --------------------------------------

def test_trained_network_runs_in_the_engine(tmp_path):
    net = small_net(n_in=6, n_rec=8, n_out=2, adapt=4, seed=11)
    for pop in ("lif", "alif"):
        net.populations[pop].set(t_ref=2.0, V_th=0.3)
    trainer = EpropTrainer(net, threads=1)
    steps = 120
    x = spikes(1, steps, 6, p=0.15, seed=4)
    target = np.zeros((1, steps, 2), np.float32)
    target[0, :, 0] = 1.0
    for _ in range(3):
        trainer.run(x, target, loss="cross_entropy")
    inference = trainer.run(x, target, loss="cross_entropy", learn=False)
    assert inference.rates_hz.max() > 0.0
    trained = trainer.network()
    path = tmp_path / "trained.toml"
    trained.save(path)
    loaded = neurobox.load(path)
    loaded.populations["inp"].set(spike_times=[((np.nonzero(x[0, :, i])[0] + 1) * 1.0).tolist() for i in range(6)])
    loaded.record("out", ["V_m"])
    result = neurobox.run(loaded, steps * 1.0)
    (trace,) = [t["V_m"] for t in result.traces.values()]
    np.testing.assert_allclose(trace.values, inference.readout[0], atol=1e-6)
    w = trainer.weights()
    assert w["lif_alif"].shape == (8, 4) and np.any(w["lif_lif"] != EpropTrainer(net).weights()["lif_lif"])


# -- (f) bad input names its field --------------------------------------------------------------------------------

def test_bad_input_names_the_field():
    trainer = EpropTrainer(small_net())
    with pytest.raises(ConfigError, match="^inputs"):
        trainer.run(np.zeros((1, 10, 7), np.uint8), np.zeros((1, 10, 1)))
    with pytest.raises(ConfigError, match="^targets"):
        trainer.run(np.zeros((1, 10, 8), np.uint8), np.zeros((1, 9, 1)))
    with pytest.raises(ConfigError, match="^mask"):
        trainer.run(np.zeros((1, 10, 8), np.uint8), np.zeros((1, 10, 1)), mask=np.ones(3, bool))
    with pytest.raises(ConfigError, match="^loss"):
        trainer.run(np.zeros((1, 10, 8), np.uint8), np.zeros((1, 10, 1)), loss="hinge")
    with pytest.raises(ConfigError, match="^threads"):
        EpropTrainer(small_net(), threads=0)
    two = small_net()
    two.population("out2", 1, "eprop_readout", OUT)
    with pytest.raises(ConfigError, match="^populations: .*exactly one eprop_readout"):
        EpropTrainer(two)
    with pytest.raises(ConfigError, match=r"plasticity\.optimizer"):
        small_net(rule={"optimizer": "rmsprop"})
    symmetric = small_net(feedback="symmetric")
    symmetric.connect("out", "lif", weight=1.0, delay=1.0)
    with pytest.raises(ConfigError, match="^projections: feedback"):
        EpropTrainer(symmetric)
    random = small_net()
    del random.projections["out_lif"]
    with pytest.raises(ConfigError, match="^projections: feedback"):
        EpropTrainer(random)
    autapses = small_net()
    autapses.connect("lif", "lif", weight=0.1, delay=1.0, plasticity={"rule": "eprop"}, name="self")
    with pytest.raises(ConfigError, match=r"^projections\.self\.allow_autapses"):
        EpropTrainer(autapses)


# -- the neurons step as NEST 3.10's ------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["eprop_iaf", "eprop_iaf_adapt", "eprop_readout"])
def test_neurons_match_nest(model):
    from conftest import require_module
    nest = require_module("nest", "nest")
    params = {"C_m": 2.0, "E_L": -1.0, "I_e": 0.3, "tau_m": 15.0}
    if model != "eprop_readout":
        params.update(V_th=-0.2, t_ref=3.0, V_min=-3.0)
    if model == "eprop_iaf_adapt":
        params.update(adapt_beta=0.4, adapt_tau=25.0)
    rng = np.random.default_rng(8)
    times = [sorted(set(np.round(rng.uniform(1.0, 150.0, 40)).tolist())) for _ in range(2)]
    weights = [0.35, -0.5]
    nest.ResetKernel()
    nest.set(resolution=1.0, verbosity=nest.VerbosityLevel.ERROR)
    neuron = nest.Create(model, 1, {**params, "V_m": params["E_L"]})  # NEST keeps V_m at -70 when E_L changes
    meter = nest.Create("multimeter", {"record_from": ["V_m"], "interval": 1.0})
    nest.Connect(meter, neuron)
    for spike_times, w in zip(times, weights):
        nest.Connect(nest.Create("spike_generator", {"spike_times": spike_times}), neuron,
                     syn_spec={"weight": w, "delay": 1.0})
    nest.Simulate(160.0)
    events = meter.get("events")
    net = Network(dt=1.0, seed=0, duration=160.0)
    net.population("inp", 2, "spike_generator", {"spike_times": times})
    net.population("n", 1, model, params)
    for i, w in enumerate(weights):
        net.connect("inp", "n", "explicit", pre_ids=[i], post_ids=[0], weight=w, delay=1.0)
    net.record("n", ["V_m"])
    result = neurobox.run(net, 160.0)
    (trace,) = [t["V_m"] for t in result.traces.values()]
    mine = dict(zip(trace.t_ms.tolist(), trace.values[:, 0].tolist()))
    theirs = dict(zip(events["times"].tolist(), events["V_m"].tolist()))
    common = sorted(set(mine) & set(theirs))
    assert len(common) >= 150
    # weights are float32 in neurobox: 1e-8 per spike
    np.testing.assert_allclose([mine[t] for t in common], [theirs[t] for t in common], atol=1e-6)
    if model != "eprop_readout":  # the comparison covers spikes, resets and refractory steps
        assert len(result.spikes["n"]) >= 5
