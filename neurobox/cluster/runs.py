"""What a worker does for one run of a sweep: build the model with the run's values and seed, simulate it in
the engine on one thread (a worker per core), and return one row of the table.

A row holds the run's number, seed and values, per population the rate (Hz, as `Results.summary`), the
mean CV of the inter-spike intervals and the synchrony (Fano factor of 3 ms counts; `neurobox.tasks.microcircuit.
statistics`), the synapses, and the times of the run: `build_s` (drawing the network), `compile_s`
(generating and compiling the loop, or loading it: it is compiled once per worker process, and from
numba's disk cache after the first worker), `simulate_s`, `wall_s`; the worker's process id and how many
runs it did before this one (`worker_run`).
"""
from __future__ import annotations

import os
from typing import Any

ROW_TIMINGS = ("build_s", "compile_s", "simulate_s", "wall_s")

_runs_in_this_process = 0
"""Runs this worker process has done before the current one (the row's `worker_run`)."""


def model_run(model_toml: str, run: dict[str, Any], duration_ms: float | None = None,
              base_dir: str | None = None) -> dict[str, Any]:
    """Simulate model file text `model_toml` with the values and seed of `run` (a row of `grid.runs`)."""
    from neurobox.cluster.grid import apply
    from neurobox.engine.simulation import Simulation
    from neurobox.network.modelfile import from_dict
    from neurobox.tasks.microcircuit import statistics

    import tomllib

    doc = tomllib.loads(model_toml)
    for path, value in run.items():
        if path not in ("run", "seed"):
            doc = apply(doc, path, value)
    net = from_dict(doc, base_dir=base_dir)
    net.seed = int(run["seed"])
    with Simulation(net, progress=False, threads=1) as sim:
        results = sim.run(duration_ms if duration_ms is not None else net.duration)
    row = dict(run)
    stats = statistics(results, populations=list(results.spikes))
    for name, s in stats.items():
        row[f"rate_hz.{name}"] = results.spikes[name].rate_hz(results.bio_ms)   # every spike of the run
        row[f"cv_isi.{name}"] = s.cv_isi
        row[f"synchrony.{name}"] = s.synchrony
    row["synapses"] = results.synapses
    row.update({k: results.timings.get(k, float("nan")) for k in ROW_TIMINGS})
    global _runs_in_this_process
    row["pid"] = os.getpid()
    row["worker_run"] = _runs_in_this_process
    _runs_in_this_process += 1
    return row
