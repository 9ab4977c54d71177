"""The Potjans & Diesmann (2014) microcircuit in NEST (PyNEST), printed as one JSON line.

    .venv-bench/bin/python benchmarks/peers/nest_microcircuit.py --scale 0.1 --duration 1000 --threads 2

Written for this benchmark from the published parameters, as NEST's own
PyNEST example (pynest/examples/Potjans_2014, NEST 3.x) builds the model:
fixed_total_number connections with round(K S^2) synapses, K = log(1 - p) /
log(1 - 1/(N_pre N_post)); weights from a PSP of 0.15 mV (L4E -> L2/3E
doubled, g = -4), normal with relative sd 0.1 and redrawn at the sign
change; delays normal (1.5 / 0.75 ms, relative sd 0.5) redrawn below the
resolution; the background a poisson_generator per population at 8 Hz x
round(K_ext S) onto every neuron (all_to_all: an independent train per
target), delay 1.5 ms, or its mean as I_e (--background dc); for S < 1
weights / sqrt(S) and the DC compensation from the example's full-scale
rates. Excitatory and inhibitory synapses use two synapse types (NEST 3.10
caps one type at 2^27 connections per thread, which full scale exceeds).
This file knows nothing of neurobox (it runs in the peers' environment); it
derives the numbers itself, so a wrong derivation on either side shows as
different synapse counts in the benchmark's table.

Phases: build_s is creating and connecting plus nest.Prepare() (the
example's own build measurement), warmup_s the simulation of --warmup ms
(not counted in simulate_s), simulate_s the next --duration ms; rates are
counted in that window. Memory: VmRSS after `import nest` (baseline_mb)
and the peak (ru_maxrss, peak_mb).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runner import rss_mb  # noqa: E402  (benchmarks/runner.py: standard library only)

NAMES = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
P = [[0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
     [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
     [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
     [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
     [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
     [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
     [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
     [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
RATES_FULL = [0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851]
V0 = [(-68.28, 5.36), (-63.16, 4.57), (-63.33, 4.74), (-63.45, 4.94), (-63.11, 4.94), (-61.66, 4.55),
      (-66.72, 5.46), (-61.43, 4.48)]
C_M, TAU_M, TAU_SYN = 250.0, 10.0, 0.5


def derive(scale: float, background: str) -> dict:
    """Neurons, synapses [post][pre], mean weights (pA), background in-degrees and weight, I_e per population."""
    # PSC per PSP: the PSP of a unit exponential current peaks at t_max (d/dt = 0)
    t_max = math.log(TAU_M / TAU_SYN) / (1.0 / TAU_SYN - 1.0 / TAU_M)
    psp_unit = (math.exp(-t_max / TAU_M) - math.exp(-t_max / TAU_SYN)) / (C_M * (1.0 / TAU_SYN - 1.0 / TAU_M))
    w0 = 0.15 / psp_unit
    k_full = [[math.log(1.0 - P[i][j]) / math.log(1.0 - 1.0 / (N_FULL[i] * N_FULL[j])) for j in range(8)]
              for i in range(8)]
    w_full = [[w0 * (2.0 if (i, j) == (0, 2) else 1.0) * (1.0 if j % 2 == 0 else -4.0) for j in range(8)]
              for i in range(8)]
    dc = [0.0] * 8 if background == "poisson" else [8.0 * K_EXT[i] * w0 * TAU_SYN * 1e-3 for i in range(8)]
    if scale < 1.0:
        for i in range(8):
            mean_rec = sum(w_full[i][j] * k_full[i][j] / N_FULL[i] * RATES_FULL[j] for j in range(8))
            dc[i] += 1e-3 * TAU_SYN * (1.0 - math.sqrt(scale)) * mean_rec
            if background == "poisson":
                dc[i] += 1e-3 * TAU_SYN * (1.0 - math.sqrt(scale)) * w0 * K_EXT[i] * 8.0
    return {"n": [int(round(n * scale)) for n in N_FULL],
            "synapses": [[int(round(k_full[i][j] * scale * scale)) for j in range(8)] for i in range(8)],
            "w": [[w / math.sqrt(scale) for w in row] for row in w_full],
            "k_ext": [int(round(k * scale)) for k in K_EXT], "w_ext": w0 / math.sqrt(scale), "dc": dc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--background", choices=("poisson", "dc"), default="poisson")
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--warmup", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=55)
    args = ap.parse_args()
    t_start = time.perf_counter()
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    baseline = rss_mb()
    d = derive(args.scale, args.background)
    t0 = time.perf_counter()
    nest.ResetKernel()
    nest.resolution = 0.1
    nest.local_num_threads = args.threads
    nest.rng_seed = args.seed + 1
    nest.print_time = False
    nest.CopyModel("static_synapse", "static_inh")
    pops, recorders = [], []
    for i in range(8):
        pop = nest.Create("iaf_psc_exp", d["n"][i], params={
            "C_m": C_M, "tau_m": TAU_M, "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN, "E_L": -65.0,
            "V_th": -50.0, "V_reset": -65.0, "t_ref": 2.0, "I_e": d["dc"][i]})
        pop.set(V_m=nest.random.normal(V0[i][0], V0[i][1]))
        rec = nest.Create("spike_recorder", params={"record_to": "memory"})
        pops.append(pop)
        recorders.append(rec)
    for i in range(8):
        for j in range(8):
            n_syn = d["synapses"][i][j]
            if n_syn <= 0:
                continue
            w = d["w"][i][j]
            mean_delay = 1.5 if j % 2 == 0 else 0.75
            nest.Connect(pops[j], pops[i], {"rule": "fixed_total_number", "N": n_syn}, {
                "synapse_model": "static_synapse" if w >= 0 else "static_inh",
                "weight": nest.math.redraw(nest.random.normal(mean=w, std=abs(w) * 0.1),
                                           min=0.0 if w >= 0 else -math.inf, max=math.inf if w >= 0 else 0.0),
                "delay": nest.math.redraw(nest.random.normal(mean=mean_delay, std=mean_delay * 0.5),
                                          min=nest.resolution, max=math.inf)})
    for i in range(8):
        if args.background == "poisson":
            gen = nest.Create("poisson_generator", params={"rate": 8.0 * d["k_ext"][i]})
            nest.Connect(gen, pops[i], "all_to_all", {"weight": d["w_ext"], "delay": 1.5})
        nest.Connect(pops[i], recorders[i])
    nest.Prepare()
    nest.Cleanup()
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if args.warmup > 0:
        nest.Simulate(args.warmup)
    warmup_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    nest.Simulate(args.duration)
    simulate_s = time.perf_counter() - t2
    rates = {}
    for i, name in enumerate(NAMES):
        times = recorders[i].get("events")["times"]
        count = sum(1 for t in times if t > args.warmup)
        rates[name] = count / d["n"][i] / (args.duration * 1e-3)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "tool": "nest", "threads": args.threads, "scale": args.scale, "background": args.background,
        "neurons": sum(d["n"]), "synapses": sum(map(sum, d["synapses"])),
        "connections": int(nest.GetKernelStatus("num_connections")), "build_s": round(build_s, 3),
        "compile_s": 0.0, "warmup_s": round(warmup_s, 3), "simulate_s": round(simulate_s, 3),
        "duration_ms": args.duration, "warmup_ms": args.warmup, "baseline_mb": round(baseline, 1),
        "peak_mb": round(peak, 1), "rates_hz": rates, "wall_s": round(time.perf_counter() - t_start, 3),
        "nest": nest.__version__}))


if __name__ == "__main__":
    main()
