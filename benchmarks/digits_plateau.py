"""Why the trained float digits network plateaus near 66 % under packet loss: loss on the inputs against loss on
the lateral inhibition, and what the test spikes look like in each case.

Trains the float network of `neurobox train digits` (DigitsConfig, 400 neurons; or loads one saved with
`--model DIR`), then scores it on the test split with spikes dropped on both projections (what
`train digits --fault-sweep` does), on the input -> exc projection only, and on the lateral inhibition only
(engine: `TestFaults.loss_on`). For each case it prints the test accuracy and, per test image: spikes,
neurons that fire, classes those neurons were labelled with, and the share of spikes from neurons of the
image's own class. Writes every row to a JSON file (atomically) and prints a markdown table.

    .venv/bin/python benchmarks/digits_plateau.py [--seed 0] [--model DIR] [--losses 0.05,0.1,0.2,0.4]
                                                  [--out benchmarks/results/digits-plateau.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from neurobox.files import atomic_write_text
from neurobox.tasks import digits


def spike_statistics(evaluation: digits.Evaluation) -> dict:
    """Per test image (means): spikes, neurons firing, classes firing, share of spikes from the true class."""
    counts, labels = evaluation.test_counts, evaluation.neuron_labels
    firing = counts > 0
    classes = np.array([len(set(labels[row].tolist())) for row in firing])
    total = counts.sum(axis=1)
    own = np.array([counts[k, labels == y].sum() for k, y in enumerate(evaluation.y_test)])
    share = own[total > 0] / total[total > 0]
    return {"spikes_per_image": float(total.mean()), "neurons_per_image": float(firing.sum(axis=1).mean()),
            "classes_per_image": float(classes.mean()), "true_class_share": float(share.mean()) if share.size else 0.0}


def table(rows: list[dict]) -> str:
    lines = ["| loss on | loss | test accuracy | spikes / image | neurons firing / image | classes firing / image "
             "| true-class share of spikes |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['loss_on']} | {100 * r['loss']:g} % | {100 * r['test_accuracy']:.1f} % | "
                     f"{r['spikes_per_image']:.1f} | {r['neurons_per_image']:.1f} | {r['classes_per_image']:.1f} | "
                     f"{r['true_class_share']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", help="a folder written by `neurobox train digits` (float network) instead of training")
    ap.add_argument("--losses", default="0.05,0.1,0.2,0.4", help="comma-separated loss fractions")
    ap.add_argument("--out", default="benchmarks/results/digits-plateau.json")
    args = ap.parse_args()
    start = time.perf_counter()
    trained = digits.load(args.model) if args.model else digits.train(digits.DigitsConfig(), args.seed)
    if isinstance(trained.config, digits.UnitDigitsConfig):
        ap.error("--model: this script studies the float network; train it with `neurobox train digits`")
    cases = [("none", 0.0)] + [(on, float(p)) for on in ("both", "inputs", "lateral") for p in args.losses.split(",")]
    cases.append(("lateral", 1.0))                      # no lateral inhibition at all
    rows = []
    for on, loss in cases:
        faults = None if on == "none" else digits.TestFaults(p_transmit=1.0 - loss, loss_on=on)
        evaluation = digits.evaluate(trained, faults=faults)
        rows.append({"loss_on": on, "loss": loss, "test_accuracy": evaluation.test_accuracy,
                     **spike_statistics(evaluation)})
        print(json.dumps(rows[-1]), flush=True)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, json.dumps({"seed": trained.seed, "neurons": trained.config.n_exc, "rows": rows,
                                           "seconds": round(time.perf_counter() - start, 1)}, indent=1) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
