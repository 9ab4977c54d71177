"""Run one benchmark network in Brian2 and print one JSON line.

    .venv-bench/bin/python benchmarks/peers/brian2_net.py --net coba --duration 1000 --mode cpp_standalone

The network is read from examples/<net>.toml (or --model FILE), so it has
exactly neurobox's parameters, initial distributions, connectivity (p),
weights and delays. Equations and integration are written to match
neurobox's kernels step for step:

COBA (iaf_cond_exp, method "euler" in neurobox)
    V: forward Euler with the conductances at the start of the step;
    g_ex, g_in: decay exactly, g *= exp(-dt/tau). Brian2 applies one method
    to all equations, so with method='euler' the decay is written as
    dg/dt = -g * (1 - exp(-dt/tau)) / dt, whose Euler step is exactly
    g *= exp(-dt/tau). (--stock-decay uses Brian2's plain dg/dt = -g/tau,
    i.e. g *= 1 - dt/tau, as in Brian2's own COBA example.)
CUBA (iaf_psc_exp, exact integration in neurobox and NEST)
    method='exact' (Brian2 integrates the linear system exactly), with the
    synaptic input as currents in pA (neurobox's units), not as Brian2's
    example writes it in mV.
Both
    threshold V >= V_th; a spike adds the weight to g (I) one step (0.1 ms)
    later: delay = 0.1 ms on the synapses puts the increment after the
    membrane update of the next step, exactly where neurobox adds input
    arriving with its one-step delay (Brian2's default zero delay would add
    it before that update). The refractory period is t_ref + dt in Brian2
    terms: neurobox (and NEST) hold V at V_reset for round(t_ref/dt) steps
    *after* the spike step, while Brian2's `refractory=t_ref` counts the
    spike step itself, i.e. holds it one step less.

Timing: setup_s is everything after the imports except the simulation loop
(network construction, code generation, compilation, synapse creation),
simulate_s is Brian2's own measure of the simulation loop
(device._last_run_time: the run loop in runtime mode, the C++ main loop in
cpp_standalone), wall_s the whole process including imports.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

T_START = time.time()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as bm  # noqa: E402

RESULTS = os.path.join(bm.ROOT, "benchmarks", "results")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="coba", help="coba, cuba, or a path to a model TOML file")
    ap.add_argument("--duration", type=float, default=1000.0, help="biological time, ms")
    ap.add_argument("--mode", choices=("runtime", "cpp_standalone"), default="cpp_standalone")
    ap.add_argument("--seed", type=int, default=None, help="default: the model file's seed")
    ap.add_argument("--build-dir", default=None,
                    help="cpp_standalone project directory (default: benchmarks/results/brian2/standalone_<net>_<n>_<ms>); "
                         "reusing one skips recompilation")
    ap.add_argument("--cache-dir", default=os.path.join(RESULTS, "brian2", "cython_cache"),
                    help="runtime mode's cython cache directory")
    ap.add_argument("--stock-decay", action="store_true",
                    help="COBA: Euler-integrate the conductance decay as Brian2's example does, instead of exactly")
    args = ap.parse_args()

    spec = bm.load(args.net)
    seed = spec["seed"] if args.seed is None else args.seed
    net_name = args.net if args.net in bm.NETS else os.path.splitext(os.path.basename(args.net))[0]

    import brian2 as b2
    from brian2 import ms, mV, nS, pA, pF

    t_import = time.time()
    b2.prefs.logging.console_log_level = "WARNING"
    b2.prefs.logging.file_log = False
    b2.prefs.logging.delete_log_on_exit = True
    build_dir = None
    if args.mode == "cpp_standalone":
        build_dir = args.build_dir or os.path.join(
            RESULTS, "brian2", f"standalone_{net_name}_{spec['n']}_{args.duration:g}ms")
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        # Run the binary through a small wrapper that records its peak memory
        # (ru_maxrss), so that the scale run can report the simulator's own.
        b2.prefs.devices.cpp_standalone.run_cmd_unix = [
            sys.executable, "-c",
            "import resource, subprocess, sys; rc = subprocess.call(['./main'] + sys.argv[1:]); "
            "open('results/binary_maxrss_kb', 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
            "sys.exit(rc)"]
    else:
        b2.prefs.codegen.target = "cython"
        b2.prefs.codegen.runtime.cython.cache_dir = args.cache_dir
        os.makedirs(args.cache_dir, exist_ok=True)
    b2.seed(seed)
    b2.defaultclock.dt = spec["dt"] * ms
    dt = spec["dt"] * ms

    pops = spec["populations"]
    names = list(pops)
    first = pops[names[0]]
    kind = spec["model"]
    p = first["params"]
    # One NeuronGroup with a subgroup per population when the populations
    # share their parameters (Brian2's own COBA/CUBA examples do this).
    if any(pops[nm]["params"] != p for nm in names):
        raise SystemExit("brian2_net: populations with different parameters are not supported")
    N = spec["n"]
    ns = dict(Cm=p["C_m"] * pF, El=p["E_L"] * mV, vt=p["V_th"] * mV, vr=p["V_reset"] * mV,
              Ie_ext=p["I_e"] * pA)
    if kind == "iaf_cond_exp":
        ns.update(gl=p["g_L"] * nS, Ee=p["E_ex"] * mV, Ei=p["E_in"] * mV)
        if args.stock_decay:
            ns.update(ke=1 / (p["tau_syn_ex"] * ms), ki=1 / (p["tau_syn_in"] * ms))
        else:
            import math
            d = spec["dt"]
            ns.update(ke=-math.expm1(-d / p["tau_syn_ex"]) / dt, ki=-math.expm1(-d / p["tau_syn_in"]) / dt)
        eqs = """
        dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v) + Ie_ext)/Cm : volt (unless refractory)
        dge/dt = -ge*ke : siemens
        dgi/dt = -gi*ki : siemens
        """
        method = "euler"
        var = {"V_m": ("v", mV), "g_ex": ("ge", nS), "g_in": ("gi", nS)}
        target = {"excitatory": "ge", "inhibitory": "gi"}
        wunit = nS
    else:
        ns.update(taum=p["tau_m"] * ms, taue=p["tau_syn_ex"] * ms, taui=p["tau_syn_in"] * ms)
        eqs = """
        dv/dt = (El - v)/taum + (Ie + Ii + Ie_ext)/Cm : volt (unless refractory)
        dIe/dt = -Ie/taue : amp
        dIi/dt = -Ii/taui : amp
        """
        method = "exact"
        var = {"V_m": ("v", mV), "I_syn_ex": ("Ie", pA), "I_syn_in": ("Ii", pA)}
        target = {"excitatory": "Ie", "inhibitory": "Ii"}
        wunit = pA
    # neurobox/NEST hold V for round(t_ref/dt) steps after the spike step;
    # Brian2's refractory counts the spike step, hence + dt.
    ns["tref"] = (round(p["t_ref"] / spec["dt"]) + 1) * dt

    P = b2.NeuronGroup(N, eqs, threshold="v >= vt", reset="v = vr", refractory="tref",
                       method=method, namespace=ns, name="neurons")
    sub, start = {}, 0
    for nm in names:
        n = pops[nm]["n"]
        sub[nm] = P[start:start + n]
        start += n
        g = sub[nm]
        for vname, init in pops[nm]["initial"].items():
            if vname not in var:
                raise SystemExit(f"brian2_net: initial value of {vname} not supported")
            bvar, unit = var[vname]
            uname = {mV: "mV", nS: "nS", pA: "pA"}[unit]
            if init["distribution"] == "normal":
                expr = f"({init['mean']!r} + {init['std']!r}*randn())*{uname}"
            elif init["distribution"] == "uniform":
                expr = f"({init['low']!r} + ({init['high']!r} - {init['low']!r})*rand())*{uname}"
            else:
                expr = f"{init['value']!r}*{uname}"
            setattr(g, bvar, expr)
        if "V_m" not in pops[nm]["initial"]:
            g.v = p["E_L"] * mV

    # Merge projections that share pre, receptor, weight, delay and p and
    # together reach every population: one Synapses onto the whole group,
    # as Brian2's examples do (statistically the same connectivity).
    groups: dict = {}
    for pr in spec["projections"]:
        key = (pr["pre"], pr["receptor"], pr["weight"], pr["delay"], pr["p"])
        groups.setdefault(key, []).append(pr["post"])
    synapses = []
    for (pre, receptor, w, delay, prob), posts in groups.items():
        targets = [P] if sorted(posts) == sorted(names) and len(set(posts)) == len(posts) else [sub[q] for q in posts]
        for tgt in targets:
            s = b2.Synapses(sub[pre], tgt, on_pre=f"{target[receptor]} += w_syn",
                            delay=delay * ms, namespace={"w_syn": w * wunit},
                            name=f"syn_{pre}_{receptor}_{len(synapses)}")
            s.connect(p=prob)
            synapses.append(s)
    mon = b2.SpikeMonitor(P, record=False, name="spikes")
    net = b2.Network(P, *synapses, mon)

    if args.mode == "runtime":
        net.run(args.duration * ms)
        simulate_s = float(b2.device._last_run_time)
        compile_s = None
        binary_rss_mb = None
        spikes = int(mon.num_spikes)
        n_syn = int(sum(len(s) for s in synapses))
    else:
        net.run(args.duration * ms)
        t0 = time.time()
        b2.device.build(directory=build_dir, compile=True, run=False, with_output=False)
        compile_s = time.time() - t0
        b2.device.run(directory=build_dir, with_output=False)
        try:
            with open(os.path.join(build_dir, "results", "binary_maxrss_kb")) as f:
                binary_rss_mb = int(f.read()) / 1024.0
        except (OSError, ValueError):
            binary_rss_mb = None
        simulate_s = float(b2.device._last_run_time)
        spikes = int(mon.num_spikes)
        n_syn = int(sum(len(s) for s in synapses))
    t_end = time.time()
    out = {
        "tool": "brian2", "mode": args.mode, "net": net_name, "n": N,
        "duration_ms": args.duration,
        "setup_s": round(t_end - t_import - simulate_s, 4),
        "simulate_s": round(simulate_s, 4),
        "rate_hz": round(spikes / N / (args.duration / 1000.0), 4),
        "wall_s": round(t_end - T_START, 4),
        "spikes": spikes, "synapses": n_syn, "seed": seed,
        "import_s": round(t_import - T_START, 4),
        "compile_s": None if compile_s is None else round(compile_s, 4),
        "binary_peak_rss_mb": None if binary_rss_mb is None else round(binary_rss_mb, 1),
        "integration": (f"{method}" + ("" if kind != "iaf_cond_exp" else
                        (", g: Euler (stock)" if args.stock_decay else ", g: exact decay"))),
        "version": b2.__version__,
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
