"""Run one benchmark network in NEST and print one JSON line.

    .venv-bench/bin/python benchmarks/peers/nest_net.py --net coba --duration 1000 --threads 2

The network is read from examples/<net>.toml (or --model FILE): the same
populations, parameters, initial distributions, connection probability
(pairwise_bernoulli, autapses and multapses allowed as in neurobox),
weights and delays (0.1 ms = one step, NEST's minimum).

COBA uses NEST's `iaf_cond_exp`, which integrates the membrane and the
conductances with its own adaptive GSL solver (RKF45), not forward Euler:
its rates are not those of neurobox's and Brian2's Euler network (NEST
offers no Euler version of this model). CUBA uses `iaf_psc_exp`, integrated
exactly, as neurobox and Brian2 (method='exact') do. Inhibitory weights are
passed negative (NEST routes synapses to the inhibitory receptor by sign).

Timing: setup_s is node creation, initial values and connection (after
`import nest`), simulate_s the wall time of nest.Simulate, wall_s the
whole process including imports.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="coba", help="coba, cuba, or a path to a model TOML file")
    ap.add_argument("--duration", type=float, default=1000.0, help="biological time, ms")
    ap.add_argument("--threads", type=int, default=1, help="NEST local_num_threads")
    ap.add_argument("--seed", type=int, default=None, help="default: the model file's seed")
    args = ap.parse_args()

    spec = bm.load(args.net)
    seed = spec["seed"] if args.seed is None else args.seed
    net_name = args.net if args.net in bm.NETS else os.path.splitext(os.path.basename(args.net))[0]

    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    t_import = time.time()
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.resolution = spec["dt"]
    nest.local_num_threads = args.threads
    nest.rng_seed = seed + 1  # NEST requires a seed >= 1
    nest.print_time = False

    kind = spec["model"]
    nodes = {}
    for name, pop in spec["populations"].items():
        params = dict(pop["params"])
        # Initial values: NEST's random parameters, drawn from NEST's own streams.
        for var, init in pop["initial"].items():
            if init["distribution"] == "normal":
                params[var] = nest.random.normal(mean=init["mean"], std=init["std"])
            elif init["distribution"] == "uniform":
                params[var] = nest.random.uniform(min=init["low"], max=init["high"])
            else:
                params[var] = init["value"]
        nodes[name] = nest.Create(kind, pop["n"], params=params)

    for pr in spec["projections"]:
        w = pr["weight"]
        if pr["receptor"] == "inhibitory":
            w = -abs(w)
        elif w < 0:
            raise SystemExit("nest_net: a negative excitatory weight cannot be expressed in NEST")
        nest.Connect(nodes[pr["pre"]], nodes[pr["post"]],
                     {"rule": "pairwise_bernoulli", "p": pr["p"],
                      "allow_autapses": True, "allow_multapses": True},
                     {"synapse_model": "static_synapse", "weight": w, "delay": pr["delay"]})

    rec = nest.Create("spike_recorder")
    for nd in nodes.values():
        nest.Connect(nd, rec)
    n_syn = int(nest.GetKernelStatus("num_connections")) - spec["n"]
    t_built = time.time()

    nest.Simulate(args.duration)
    t_end = time.time()
    simulate_s = t_end - t_built
    spikes = int(rec.n_events)
    N = spec["n"]
    out = {
        "tool": "nest", "mode": f"threads={args.threads}", "net": net_name, "n": N,
        "duration_ms": args.duration,
        "setup_s": round(t_built - t_import, 4),
        "simulate_s": round(simulate_s, 4),
        "rate_hz": round(spikes / N / (args.duration / 1000.0), 4),
        "wall_s": round(t_end - T_START, 4),
        "spikes": spikes, "synapses": n_syn, "seed": seed,
        "import_s": round(t_import - T_START, 4),
        "integration": "iaf_cond_exp: GSL RKF45 (adaptive)" if kind == "iaf_cond_exp"
                       else "iaf_psc_exp: exact",
        "version": nest.__version__ if hasattr(nest, "__version__") else "",
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
