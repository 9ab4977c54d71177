"""Many independent runs at once: grids of parameters and seeds over Dask, gathered into one table.

`grid` turns `--set PATH=VALUES` and `--seeds A:B` into the list of runs (and applies one run's values to a
model document); `runs` is what a worker executes for one run (a model run in the engine, one row of
results); `sweep` hands the runs to a Dask cluster (a local one with a worker per core, or any scheduler's
address), retries failed runs, keeps the finished ones in the output table as they arrive (atomically, so a
killed sweep leaves every finished run on disk, and a rerun with the same table resumes) and reports
progress. Dask, pandas and pyarrow are the optional extra `neurobox[cluster]`.
"""
