"""Digits: test accuracy against the number of learning units, on the units and in float.

"units": the physical network (neurobox.tasks.digits.UnitDigitsConfig: every
learning unit runs the fixed-point specification with its own rules only,
dt = 1 ms), trained and scored in the engine's fixed-point kernels, which are
bit-exact with the twin's units. "float": the float network of `neurobox
train digits` (DigitsConfig) with the same number of excitatory neurons.
Every (kind, size, seed) is trained on the training split and scored once on
the test split of `load_split(seed)`. Prints a markdown table (mean, min and
max over the seeds) and writes every run to a JSON file.

    .venv/bin/python benchmarks/digits_units.py [--units 25,50,100,400] [--seeds 5] [--kinds units,float]
                                                [--out benchmarks/results/digits-units.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from neurobox.tasks import digits

CONFIGS = {"units": digits.UnitDigitsConfig, "float": digits.DigitsConfig}


def run_one(kind: str, n: int, seed: int) -> dict:
    """Train and score one network; returns its row."""
    trained = digits.train(CONFIGS[kind](n_exc=n), seed)
    scored = digits.evaluate(trained)
    return {"kind": kind, "units": n, "seed": seed, "test_accuracy": scored.test_accuracy,
            "train_seconds": round(trained.train_seconds, 2), "evaluate_seconds": round(scored.seconds, 2)}


def table(rows: list[dict]) -> str:
    """The markdown table: one row per size, mean (min-max) per kind."""
    kinds = [k for k in CONFIGS if any(r["kind"] == k for r in rows)]
    sizes = sorted({r["units"] for r in rows})
    lines = ["| learning units | " + " | ".join(f"{k}: test accuracy, mean (min-max)" for k in kinds) + " |",
             "|---|" + "---|" * len(kinds)]
    for n in sizes:
        cells = []
        for k in kinds:
            acc = [100 * r["test_accuracy"] for r in rows if r["kind"] == k and r["units"] == n]
            cells.append(f"{statistics.mean(acc):.1f} % ({min(acc):.1f}-{max(acc):.1f}), {len(acc)} seeds"
                         if acc else "-")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_atomic(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", default="25,50,100,400", help="comma-separated sizes")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    ap.add_argument("--kinds", default="units,float", help="units, float or both")
    ap.add_argument("--out", default="benchmarks/results/digits-units.json")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in CONFIGS]
    if unknown:
        ap.error(f"--kinds: unknown {unknown[0]!r}; choose from {', '.join(CONFIGS)}")
    rows = []
    start = time.perf_counter()
    for kind in kinds:
        for n in (int(s) for s in args.units.split(",")):
            for seed in range(args.seeds):
                rows.append(run_one(kind, n, seed))
                print(json.dumps(rows[-1]), flush=True)
                write_atomic(Path(args.out), {"rows": rows, "seconds": round(time.perf_counter() - start, 1)})
    print(table(rows))


if __name__ == "__main__":
    main()
