"""Learning rules against closed forms and an independent event-by-event reference."""
import math

import numpy as np
import pytest

import neurobox as nb

DELAY = 1.0  # ms, of the plastic projection: a pre spike counts when it arrives


def pairing_network(pre_times, post_drive_times, plasticity, w0=0.5, dt=0.1):
    """One pre neuron on a plastic synapse onto a neuron forced to fire by a strong drive."""
    net = nb.Network(dt=dt, seed=0)
    net.add(nb.SpikeSource([list(pre_times)], name="pre"), nb.SpikeSource([list(post_drive_times)], name="drive"))
    # a fast synapse and a strong drive: exactly one post spike per drive spike, 0.2 ms later
    net.population("post", 1, "iaf_psc_exp", {"t_ref": 2.0, "tau_syn_ex": 0.1})
    net.connect("drive", "post", "all_to_all", weight=6e4, delay=0.1, receptor="excitatory")
    net.connect("pre", "post", "all_to_all", weight=w0, delay=DELAY, receptor="excitatory",
                plasticity=plasticity, name="plastic")
    return net


def run_pairing(lag_ms, n_pairs, rate_hz, plasticity, w0=0.5):
    period = 1000.0 / rate_hz
    pre = [100.0 + k * period for k in range(n_pairs)]
    # post fires 0.2 ms after its drive spike; aim it at arrival + lag
    drive = [t + DELAY + lag_ms - 0.2 for t in pre]
    sim = nb.Simulation(pairing_network(pre, drive, plasticity, w0))
    res = sim.run(pre[-1] + 200.0)
    w = sim.weights("plastic")[2][0]
    arrivals = res.spikes["pre"].t_ms + DELAY
    return w, arrivals, res.spikes["post"].t_ms


def reference_pair_rule(arrivals, posts, w0, p, mode="additive", pairing="all_to_all", dt=0.1):
    """Event-by-event pair STDP in plain Python: the rule as the docs state it."""
    events = sorted([(round(t / dt), 0) for t in arrivals] + [(round(t / dt), 1) for t in posts])
    w, x, y, last = w0, 0.0, 0.0, None
    steps = sorted({s for s, _ in events})
    for s in steps:
        if last is not None:
            x *= math.exp(-(s - last) * dt / p["tau_plus"])
            y *= math.exp(-(s - last) * dt / p["tau_minus"])
        last = s
        kinds = [k for t, k in events if t == s]
        if 0 in kinds:
            dw = -p["A_minus"] * y * ((w - p["w_min"]) if mode == "multiplicative" else 1.0)
            w = min(max(w + dw, p["w_min"]), p["w_max"])
        if 1 in kinds:
            dw = p["A_plus"] * x * ((p["w_max"] - w) if mode == "multiplicative" else 1.0)
            w = min(max(w + dw, p["w_min"]), p["w_max"])
        if 0 in kinds:
            x = 1.0 if pairing == "nearest" else x + 1.0
        if 1 in kinds:
            y = 1.0 if pairing == "nearest" else y + 1.0
    return w


STDP = {"rule": "stdp", "tau_plus": 16.8, "tau_minus": 33.7, "A_plus": 0.005, "A_minus": 0.00525,
        "w_min": 0.0, "w_max": 1.0}


@pytest.mark.parametrize("lag", [10.0, -10.0])
def test_sixty_pairings_at_one_hz_match_the_closed_form(lag):
    w, arrivals, posts = run_pairing(lag, 60, 1.0, STDP)
    assert len(posts) == 60
    np.testing.assert_allclose(posts - arrivals, lag, atol=1e-9)
    if lag > 0:
        expected = 0.5 + 60 * STDP["A_plus"] * math.exp(-lag / STDP["tau_plus"])
    else:
        expected = 0.5 - 60 * STDP["A_minus"] * math.exp(lag / STDP["tau_minus"])
    assert w == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("mode", ["additive", "multiplicative"])
@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
@pytest.mark.parametrize("lag", [-40.0, -5.0, 3.0, 20.0])
def test_interval_sweep_matches_reference(mode, pairing, lag):
    rule = {**STDP, "mode": mode, "pairing": pairing}
    w, arrivals, posts = run_pairing(lag, 8, 20.0, rule)
    assert w == pytest.approx(reference_pair_rule(arrivals, posts, 0.5, STDP, mode, pairing), abs=1e-5)


def test_hard_bounds_hold():
    w, _, _ = run_pairing(5.0, 60, 5.0, {**STDP, "A_plus": 0.2, "w_max": 0.8})
    assert w == pytest.approx(0.8)
    w, _, _ = run_pairing(-5.0, 60, 5.0, {**STDP, "A_minus": 0.2, "w_min": 0.1})
    assert w == pytest.approx(0.1)


def test_frozen_learning_changes_nothing():
    w, _, _ = run_pairing(10.0, 10, 1.0, {**STDP, "learning": False})
    assert w == pytest.approx(0.5)


TRIPLET = {"rule": "triplet", "w_min": 0.0, "w_max": 10.0}  # Pfister & Gerstner 2006, visual cortex, all-to-all


def test_triplet_rule_depends_on_pairing_frequency():
    """Sjostrom et al. 2001 as fitted by Pfister & Gerstner: depression at low, potentiation at high rate."""
    low_causal = run_pairing(10.0, 60, 1.0, TRIPLET)[0] - 0.5
    low_anti = run_pairing(-10.0, 60, 1.0, TRIPLET)[0] - 0.5
    high_causal = run_pairing(10.0, 60, 50.0, TRIPLET)[0] - 0.5
    high_anti = run_pairing(-10.0, 60, 50.0, TRIPLET)[0] - 0.5
    assert low_anti < -0.1
    assert abs(low_causal) < 0.1 * abs(low_anti)
    assert high_causal > 0.1 and high_anti > 0.1


RSTDP = {"rule": "rstdp", "A_plus": 0.05, "A_minus": 0.05, "tau_c": 500.0, "tau_d": 100.0,
         "w_min": 0.0, "w_max": 1.0}


def rstdp_after(lag, reward):
    pre = [100.0 + 50.0 * k for k in range(5)]
    drive = [t + DELAY + lag - 0.2 for t in pre]
    sim = nb.Simulation(pairing_network(pre, drive, RSTDP))
    sim.run(400.0)
    if reward:
        sim.reward(reward)
    sim.run(600.0)
    return sim.weights("plastic")[2][0] - 0.5


def test_reward_modulated_stdp():
    assert rstdp_after(10.0, 0.0) == 0.0
    assert rstdp_after(-10.0, 0.0) == 0.0
    assert rstdp_after(10.0, 1.0) > 0.01
    assert rstdp_after(-10.0, 1.0) < -0.01


def test_weight_normalisation():
    net = nb.Network(dt=0.1, seed=1)
    net.add(nb.PoissonSource(20, 30.0, name="in"))
    net.population("out", 3, "iaf_psc_exp")
    net.connect("in", "out", "all_to_all", weight={"distribution": "uniform", "low": 1.0, "high": 5.0},
                delay=1.0, name="p", plasticity={**STDP, "w_max": 100.0, "normalize_to": 40.0,
                                                 "normalize_every_ms": 10.0})
    sim = nb.Simulation(net)
    sim.run(100.0)
    pre, post, w, _ = sim.weights("p")
    np.testing.assert_allclose(np.bincount(post, weights=w), 40.0, rtol=1e-5)


def test_plasticity_round_trips_through_the_model_file():
    net = pairing_network([10.0], [20.0], {**STDP, "mode": "multiplicative"})
    back = nb.loads(net.to_toml())
    assert back.projections["plastic"].plasticity.mode == "multiplicative"
    assert back.to_toml() == net.to_toml()


@pytest.mark.parametrize("rule,words", [
    ({"rule": "hebb"}, "valid: stdp, triplet, rstdp"),
    ({"rule": "stdp", "A_plux": 1.0}, "valid: tau_plus"),
    ({**STDP, "w_min": 0.6}, "outside the plasticity bounds"),
    ({**STDP, "mode": "sideways"}, "valid: additive"),
])
def test_bad_plasticity(rule, words):
    with pytest.raises(nb.ConfigError, match=words):
        pairing_network([10.0], [20.0], rule)


def test_reward_needs_rstdp():
    sim = nb.Simulation(pairing_network([10.0], [20.0], STDP))
    sim.run(10.0)
    with pytest.raises(nb.ConfigError, match="rstdp"):
        sim.reward(1.0)
    with pytest.raises(nb.ConfigError, match="no reward-modulated plasticity"):
        sim.reward(1.0, projection="plastic")
