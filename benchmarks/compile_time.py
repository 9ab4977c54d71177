"""How long the engine takes to compile a network's loop, by the network's size and shape.

The generated loop (neurobox.engine.codegen) depends only on the set of neuron kernels and
features a network uses, so a network of 72 projections (8 populations all to all, as the
cortical microcircuit, plus 8 Poisson sources one to one) should compile about as fast as one
of 2. For each network this measures, each in a fresh process:

    first   the first-ever compile: an empty NEUROBOX_CACHE_DIR (and numba cache), so every
            kernel the loop calls is compiled too
    cached  a second process on the same cache: loading the compiled loop from disk

as the Simulation's setup time (build + compile) and the loop's part of it.

    python benchmarks/compile_time.py                 # both networks, 1 repeat
    python benchmarks/compile_time.py --repeats 3     # best of 3
    python benchmarks/compile_time.py --json out.json

The machine's load matters (compiling is single-threaded CPU work): the others' CPU column is
the load average of the other processes while it ran.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def network(populations: int, n: int = 50):
    """`populations` LIF populations connected all to all (populations**2 projections) plus as many
    Poisson sources, one to one onto them: populations * (populations + 1) projections."""
    import neurobox as nb
    net = nb.Network(dt=0.1, seed=1)
    for k in range(populations):
        net.population(f"L{k}", n, "iaf_psc_exp")
        net.population(f"bg{k}", n, "poisson_generator", {"rate": 8.0})
        net.connect(f"bg{k}", f"L{k}", "one_to_one", weight=87.8, delay=1.5)
    for a in range(populations):
        for b in range(populations):
            net.connect(f"L{a}", f"L{b}", "fixed_probability", p=0.1, weight=87.8 if a % 2 == 0 else -351.2,
                        delay=1.5 if a % 2 == 0 else 0.8,
                        receptor="excitatory" if a % 2 == 0 else "inhibitory")
    return net


SHAPES = {"2": 1, "72": 8}
"""Projections -> populations (of each kind) of the network measured."""


def child(shape: str) -> None:
    """Build and compile one network in this process; print the timings as JSON."""
    start = time.perf_counter()
    import neurobox as nb
    from neurobox.engine import codegen
    imported = time.perf_counter()
    net = network(SHAPES[shape])
    sim = nb.Simulation(net, progress=False)
    setup = time.perf_counter() - imported
    sim.run(10.0)
    print(json.dumps({"projections": len(net.projections), "populations": len(net.populations),
                      "import_s": imported - start, "setup_s": setup,
                      "source_lines": codegen.generate_helpers(sim.structure).count("\n")
                      + codegen.generate_source(sim.structure).count("\n")}))


def run(shape: str, cache: str) -> dict:
    env = dict(os.environ, NEUROBOX_CACHE_DIR=cache, NUMBA_CACHE_DIR=os.path.join(cache, "numba"),
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                        if p]))
    out = subprocess.run([sys.executable, __file__, "--child", shape], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def others_load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1, help="fresh caches per network; the best is reported")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    rows = []
    print(f"{'network':>24} {'first s':>8} {'cached s':>9} {'lines':>6} {'load':>5}")
    for shape in SHAPES:
        first, cached, info = [], [], {}
        load = others_load()
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="nb-compile-") as cache:
                # numba caches the package's own kernels next to their sources (cache=True): a first-ever
                # compile also needs those gone, which NUMBA_CACHE_DIR (set in run) redirects to the empty dir
                info = run(shape, cache)
                first.append(info["setup_s"])
                cached.append(run(shape, cache)["setup_s"])
        load = max(load, others_load())
        row = {"projections": info["projections"], "populations": info["populations"],
               "first_s": min(first), "cached_s": min(cached), "source_lines": info["source_lines"],
               "load_average": load}
        rows.append(row)
        label = f"{row['projections']} proj, {row['populations']} pops"
        print(f"{label:>24} {row['first_s']:8.2f} {row['cached_s']:9.2f} {row['source_lines']:6d} {load:5.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
