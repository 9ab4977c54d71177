"""Hand the runs of a sweep to a Dask cluster, keep every finished run, retry failed ones.

Without a scheduler address, a local cluster starts with one single-threaded worker process per core
(bound to 127.0.0.1, no dashboard) and closes at the end. Each run is a task; a run that raises is retried
`retries` times (on any worker), and one whose worker dies is rescheduled by Dask. The finished rows are
written to the table as they come (at most every `save_every_s` seconds, and at the end), so a sweep that
is killed keeps every run it finished, and a sweep started again with `resume=True` runs only the rest.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

from neurobox.cluster import table
from neurobox.errors import one_line


@dataclass
class SweepReport:
    """What a sweep did: its rows (one per run, ordered by run), how many ran now or were resumed, failed."""
    rows: list[dict[str, Any]]
    ran: int
    resumed: int
    failed: int
    wall_s: float
    workers: int
    compile_s: dict[str, float] = field(default_factory=dict)   # first/later run of a worker -> median s

    def summary(self) -> dict[str, Any]:
        return {"runs": len(self.rows), "ran": self.ran, "resumed": self.resumed, "failed": self.failed,
                "workers": self.workers, "wall_s": round(self.wall_s, 3),
                "compile_s": {k: round(v, 4) for k, v in self.compile_s.items()}}


@contextmanager
def _client(scheduler: str | None, workers: int | None):
    """A Dask client of the scheduler at `scheduler`, or of a local cluster (closed again at the end)."""
    from neurobox.io import require

    distributed = require("distributed", "dask[distributed]")
    cluster = None
    if not scheduler:
        cluster = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                           processes=True, host="127.0.0.1", dashboard_address=None,
                                           silence_logs=50)
    client = distributed.Client(scheduler or cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_runs(work: Callable[[Any], Any], items: list[Any], *, scheduler: str | None = None,
             workers: int | None = None, retries: int = 2, progress=None, label: str = "run") -> list[Any]:
    """[work(item) for item in items], each an independent task on Dask (as `sweep`), in the items' order.

    For runs whose results are objects (a training's outcome) rather than rows of a table. A run that still
    fails after its retries stops the whole map with one line naming it (`label` and the item)."""
    from neurobox.errors import SimulationError

    with _client(scheduler, workers) as client:
        futures = {client.submit(work, item, key=f"neurobox-{label}-{k}-{os.getpid()}-{time.time_ns()}",
                                 retries=retries, pure=False): k for k, item in enumerate(items)}
        from distributed import as_completed

        results: list[Any] = [None] * len(items)
        for done, future in enumerate(as_completed(futures), start=1):
            k = futures[future]
            if future.status != "finished":
                err = future.exception()
                raise SimulationError(f"{label} {items[k]} failed after {retries} retries: "
                                      f"{one_line(f'{type(err).__name__}: {err}')}")
            results[k] = future.result()
            if progress is not None:
                progress(done / len(items), f"{label} {items[k]}")
        return results


def _done_rows(out, runs: list[dict[str, Any]], paths: list[str]) -> dict[int, dict[str, Any]]:
    """The finished runs of an earlier table at `out` that this sweep also holds (same seed and values; the
    run numbers may differ when the grid grew), renumbered as this sweep's runs."""
    def key(row) -> tuple:
        return tuple(round(float(row[k]), 9) for k in ("seed", *paths))

    earlier = {}
    for row in table.read(out):
        if row["status"] == "ok" and all(k in row for k in paths):
            earlier[key(row)] = row
    return {run["run"]: {**earlier[key(run)], "run": run["run"]} for run in runs if key(run) in earlier}


def sweep(work: Callable[[dict[str, Any]], dict[str, Any]], runs: list[dict[str, Any]], paths: list[str], out, *,
          scheduler: str | None = None, workers: int | None = None, retries: int = 2, resume: bool = False,
          save_every_s: float = 2.0, progress=None) -> SweepReport:
    """Run `work(run)` for every run (rows of `grid.runs`) on Dask; the rows go to the table `out`.

    `work` must be picklable (a module-level function, or a functools.partial of one). `progress`: a
    neurobox.engine.progress.Progress (or None).
    """
    start = time.perf_counter()
    rows = _done_rows(out, runs, paths) if resume and os.path.exists(out) else {}
    resumed = len(rows)
    todo = [r for r in runs if r["run"] not in rows]
    failed = 0
    with _client(scheduler, workers) as client:
        try:
            n_workers = len(client.scheduler_info().get("workers", {})) or (workers or 1)
            futures = {client.submit(work, run, key=f"neurobox-run-{run['run']}-{os.getpid()}-{time.time_ns()}",
                                     retries=retries, pure=False): run for run in todo}
            from distributed import as_completed

            last_save = time.perf_counter()
            for done, future in enumerate(as_completed(futures), start=1):
                run = futures.pop(future)
                if future.status == "finished":
                    rows[run["run"]] = {**future.result(), "status": "ok", "error": ""}
                else:
                    failed += 1
                    err = future.exception()
                    rows[run["run"]] = {**run, "status": "failed", "error": one_line(f"{type(err).__name__}: {err}")}
                if progress is not None:
                    progress.count(done, len(todo), f"{failed} failed" if failed else "")
                if time.perf_counter() - last_save >= save_every_s:
                    table.write(list(rows.values()), paths, out)
                    last_save = time.perf_counter()
        finally:
            if rows:
                table.write(list(rows.values()), paths, out)
    ordered = [rows[r["run"]] for r in runs]
    return SweepReport(ordered, len(todo), resumed, failed, time.perf_counter() - start, n_workers,
                       _compile_times(ordered))


def _compile_times(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Median compile_s of the first run in each worker process and of its later runs (the loop is compiled,
    or loaded from numba's disk cache, once per process)."""
    import statistics

    first = [r["compile_s"] for r in rows if r.get("status") == "ok" and r.get("worker_run") == 0]
    later = [r["compile_s"] for r in rows if r.get("status") == "ok" and (r.get("worker_run") or 0) > 0]
    out = {}
    if first:
        out["first_run_of_worker"] = statistics.median(first)
    if later:
        out["later_runs"] = statistics.median(later)
    return out


def sweep_model(net, settings, seeds, out, *, duration_ms: float | None = None, **options) -> SweepReport:
    """Sweep a Network over the product of `settings` (grid.Setting) and `seeds`; `options` go to `sweep`.

    Every path is checked against the model here, before any run starts (one line naming a wrong path)."""
    import functools

    from neurobox.cluster.grid import apply, runs
    from neurobox.cluster.runs import model_run
    from neurobox.network.modelfile import dumps, to_dict

    doc = to_dict(net)
    for setting in settings:
        apply(doc, setting.path, setting.values[0])
    work = functools.partial(model_run, dumps(net), duration_ms=duration_ms)
    return sweep(work, runs(list(settings), tuple(seeds)), [s.path for s in settings], out, **options)
