"""Check that brian2_net.py's equations step exactly like neurobox's kernels.

    python3 benchmarks/check_equivalence.py

Two neurons, no randomness: neuron a (population "a") starts with a large
excitatory conductance (COBA) or current (CUBA) and fires a few times;
each spike reaches neuron b (population "b") through one synapse with a
one-step delay. neurobox runs the network from a TOML text (.venv), Brian2
the same network written as benchmarks/peers/brian2_net.py writes it
(.venv-bench). The membrane potential and synaptic state of both neurons
and the spike times are compared step by step; it prints the largest
differences and exits non-zero when they exceed 1e-9 (mV, nS, pA) or a
spike time differs.
"""
from __future__ import annotations

import json
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import ROOT, run_child  # noqa: E402

DURATION = 60.0

COBA = """
[network]
dt = 0.1
seed = 1
duration = 60.0
[populations.a]
n = 1
model = "iaf_cond_exp"
method = "euler"
params = { C_m = 200.0, g_L = 10.0, E_L = -60.0, V_reset = -60.0, V_th = -50.0, t_ref = 5.0, E_ex = 0.0, E_in = -80.0, tau_syn_ex = 5.0, tau_syn_in = 10.0, I_e = 250.0 }
initial = { V_m = -58.0, g_ex = 120.0, g_in = 10.0 }
[populations.b]
n = 1
model = "iaf_cond_exp"
method = "euler"
params = { C_m = 200.0, g_L = 10.0, E_L = -60.0, V_reset = -60.0, V_th = -50.0, t_ref = 5.0, E_ex = 0.0, E_in = -80.0, tau_syn_ex = 5.0, tau_syn_in = 10.0, I_e = 105.0 }
initial = { V_m = -52.0, g_ex = 0.0, g_in = 0.0 }
[[projections]]
pre = "a"
post = "b"
rule = "one_to_one"
weight = 6.0
delay = 0.1
receptor = "excitatory"
[[projections]]
pre = "b"
post = "a"
rule = "one_to_one"
weight = 67.0
delay = 0.1
receptor = "inhibitory"
[[recorders]]
population = "a"
variables = ["V_m", "g_ex", "g_in"]
every = 1
[[recorders]]
population = "b"
variables = ["V_m", "g_ex", "g_in"]
every = 1
"""

CUBA = """
[network]
dt = 0.1
seed = 1
duration = 60.0
[populations.a]
n = 1
model = "iaf_psc_exp"
params = { C_m = 250.0, tau_m = 20.0, E_L = -49.0, V_reset = -60.0, V_th = -50.0, t_ref = 5.0, tau_syn_ex = 5.0, tau_syn_in = 10.0, I_e = 100.0 }
initial = { V_m = -55.0, I_syn_ex = 300.0 }
[populations.b]
n = 1
model = "iaf_psc_exp"
params = { C_m = 250.0, tau_m = 20.0, E_L = -49.0, V_reset = -60.0, V_th = -50.0, t_ref = 5.0, tau_syn_ex = 5.0, tau_syn_in = 10.0 }
initial = { V_m = -51.0 }
[[projections]]
pre = "a"
post = "b"
rule = "one_to_one"
weight = 20.25
delay = 0.1
receptor = "excitatory"
[[projections]]
pre = "b"
post = "a"
rule = "one_to_one"
weight = -112.5
delay = 0.1
receptor = "inhibitory"
[[recorders]]
population = "a"
variables = ["V_m", "I_syn_ex", "I_syn_in"]
every = 1
[[recorders]]
population = "b"
variables = ["V_m", "I_syn_ex", "I_syn_in"]
every = 1
"""

NEUROBOX = textwrap.dedent("""
    import json, sys
    import neurobox as nb
    net = nb.loads(sys.stdin.read() if False else TEXT)
    res = nb.run(net, DURATION, progress=False)
    out = {"spikes": {p: [round(float(t), 6) for t in s.t_ms] for p, s in res.spikes.items()}, "traces": {}}
    for by_var in res.traces.values():
        for var, tr in by_var.items():
            out["traces"][tr.population + "." + var] = {"t": [float(t) for t in tr.t_ms],
                                                        "v": [float(x) for x in tr.values[:, 0]]}
    print(json.dumps(out))
""")

BRIAN2 = textwrap.dedent("""
    import json, math
    import brian2 as b2
    from brian2 import ms, mV, nS, pA, pF
    b2.prefs.codegen.target = "numpy"
    b2.prefs.logging.console_log_level = "WARNING"
    b2.defaultclock.dt = 0.1 * ms
    dt = 0.1 * ms
    KIND = "__KIND__"
    tref = (round(5.0 / 0.1) + 1) * dt          # as brian2_net.py
    if KIND == "coba":
        ns = dict(Cm=200 * pF, gl=10 * nS, El=-60 * mV, Ee=0 * mV, Ei=-80 * mV, vt=-50 * mV, vr=-60 * mV,
                  ke=-math.expm1(-0.1 / 5.0) / dt, ki=-math.expm1(-0.1 / 10.0) / dt, tref=tref)
        eqs = '''
        dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v) + Ie_ext)/Cm : volt (unless refractory)
        dge/dt = -ge*ke : siemens
        dgi/dt = -gi*ki : siemens
        Ie_ext : amp (constant)
        '''
        method, names, units, tgt = "euler", ("v", "ge", "gi"), (mV, nS, nS), ("ge", "gi")
        vars_nb = ("V_m", "g_ex", "g_in")
        w_ab, w_ba, wu = 6.0, 67.0, nS
    else:
        ns = dict(Cm=250 * pF, taum=20 * ms, El=-49 * mV, vt=-50 * mV, vr=-60 * mV, taue=5 * ms, taui=10 * ms,
                  tref=tref)
        eqs = '''
        dv/dt = (El - v)/taum + (Ie + Ii + Ie_ext)/Cm : volt (unless refractory)
        dIe/dt = -Ie/taue : amp
        dIi/dt = -Ii/taui : amp
        Ie_ext : amp (constant)
        '''
        method, names, units, tgt = "exact", ("v", "Ie", "Ii"), (mV, pA, pA), ("Ie", "Ii")
        vars_nb = ("V_m", "I_syn_ex", "I_syn_in")
        w_ab, w_ba, wu = 20.25, -112.5, pA
    P = b2.NeuronGroup(2, eqs, threshold="v >= vt", reset="v = vr", refractory="tref", method=method, namespace=ns)
    if KIND == "coba":
        P.v = [-58, -52] * mV; P.ge = [120, 0] * nS; P.gi = [10, 0] * nS; P.Ie_ext = [250, 105] * pA
    else:
        P.v = [-55, -51] * mV; P.Ie = [300, 0] * pA; P.Ie_ext = [100, 0] * pA
    a, b = P[0:1], P[1:2]
    s1 = b2.Synapses(a, b, on_pre=tgt[0] + " += w", delay=0.1 * ms, namespace={"w": w_ab * wu}); s1.connect()
    s2 = b2.Synapses(b, a, on_pre=tgt[1] + " += w", delay=0.1 * ms, namespace={"w": w_ba * wu}); s2.connect()
    sm = b2.SpikeMonitor(P)
    st = b2.StateMonitor(P, list(names), record=True, when="end")
    net = b2.Network(P, s1, s2, sm, st)
    net.run(DURATION * ms)
    out = {"spikes": {"a": [], "b": []}, "traces": {}}
    for i, t in zip(sm.i[:], sm.t[:] / ms):
        out["spikes"]["ab"[int(i)]].append(round(float(t), 6))
    for k, (nm, u) in enumerate(zip(names, units)):
        vals = getattr(st, nm)[:] / u
        for j, pop in enumerate("ab"):
            out["traces"][pop + "." + vars_nb[k]] = {"t": [float(t) for t in st.t / ms], "v": [float(x) for x in vals[j]]}
    print(json.dumps(out))
""")


def compare(kind: str, text: str, stock_refractory: bool = False, zero_delay: bool = False) -> bool:
    nb_code = NEUROBOX.replace("TEXT", repr(text)).replace("DURATION", repr(DURATION))
    b2_code = BRIAN2.replace("__KIND__", kind).replace("DURATION", repr(DURATION))
    if stock_refractory:  # Brian2's refractory=t_ref, as in its own examples
        b2_code = b2_code.replace("tref = (round(5.0 / 0.1) + 1) * dt", "tref = 5.0 * ms")
    if zero_delay:  # Brian2's default synaptic delay
        b2_code = b2_code.replace("delay=0.1 * ms", "delay=0 * ms")
    r1 = run_child([str(ROOT / ".venv" / "bin" / "python"), "-c", nb_code], timeout=600)
    r2 = run_child([str(ROOT / ".venv-bench" / "bin" / "python"), "-c", b2_code], timeout=600)
    for r, who in ((r1, "neurobox"), (r2, "brian2")):
        if not r["ok"]:
            print(f"{kind}: {who} failed: {r['error']}\n{r['stderr'][-2000:]}")
            return False
    nb, b2 = json.loads(r1["json_line"]), json.loads(r2["json_line"])
    ok = True
    for pop in ("a", "b"):
        s_nb = nb["spikes"].get(pop, [])
        s_b2 = [round(t + 0.1, 6) for t in b2["spikes"].get(pop, [])]  # Brian2 stamps the step's start
        same = s_nb == s_b2 and len(s_nb) > 0
        ok &= same
        print(f"{kind} {pop}: spikes neurobox {s_nb[:8]}{'...' if len(s_nb) > 8 else ''} "
              f"brian2 (+dt) {s_b2[:8]}{'...' if len(s_b2) > 8 else ''} -> {'same' if same else 'DIFFERENT'}")
    for key, tr in sorted(nb["traces"].items()):
        other = b2["traces"][key]
        # align on time: neurobox records at t_ms, Brian2 at the end of each step (t of that step)
        t_nb = [round(t, 6) for t in tr["t"]]
        t_b2_next = {round(t + 0.1, 6): v for t, v in zip(other["t"], other["v"])}
        best = None
        # neurobox stamps the state after step k with (k + 1) dt, Brian2 (when="end") with k dt
        for label, table in (("brian2 t + dt", t_b2_next),):
            diffs = [abs(v - table[t]) for t, v in zip(t_nb, tr["v"]) if t in table]
            if diffs and (best is None or max(diffs) < best[1]):
                best = (label, max(diffs), len(diffs))
        good = best is not None and best[1] <= 1e-9
        ok &= good
        print(f"{kind} {key}: max |neurobox - brian2| = {best[1]:.3g} over {best[2]} samples "
              f"(alignment: {best[0]}) -> {'ok' if good else 'DIFFERENT'}")
    return ok


def main() -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stock-refractory", action="store_true",
                    help="use Brian2's refractory=t_ref instead of t_ref + dt (should then fail)")
    ap.add_argument("--zero-delay", action="store_true",
                    help="use Brian2's default zero delay instead of 0.1 ms (should then fail)")
    args = ap.parse_args()
    ok = compare("coba", COBA, args.stock_refractory, args.zero_delay)
    ok &= compare("cuba", CUBA, args.stock_refractory, args.zero_delay)
    print("equivalent" if ok else "NOT equivalent")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
