"""`neurobox motifs`: measure the loop motifs (reverberation, half-centre, winnerless ring) and draw them."""
from __future__ import annotations

import json
import sys
import time

from neurobox.cli import add_force, add_quiet

MAX_TRIALS = 1000

def register(sub) -> None:
    p = sub.add_parser("motifs", help="loop motifs: reverberation, half-centre oscillator, winnerless competition",
                       description="Run the three loop motifs, write their figures and print the measured numbers.")
    p.add_argument("--out", default="neurobox-motifs", help="folder for the figures (default neurobox-motifs)")
    p.add_argument("--trials", type=int, default=20, help="noisy trials of the winnerless ring (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every number")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from neurobox.errors import ConfigError
    from neurobox.limits import check_count
    from neurobox.paths import output_folder

    check_count(args.trials, "--trials", 1, MAX_TRIALS, "each trial simulates the ring")
    if args.seed < 0:
        raise ConfigError("--seed", f"must be >= 0, got {args.seed}")
    output_folder(args.out, "--out", "motifs", force=args.force)
    from neurobox.tasks import motifs

    start = time.perf_counter()
    from neurobox.engine.progress import for_cli

    with for_cli(args) as bar:
        measured = motifs.measure_all(n_trials=args.trials, seed=args.seed, progress=bar)
        res = motifs.summary(measured)
        bar.phase("figures")
        res["figures"] = {k: str(v) for k, v in motifs.figures(measured, args.out, seed=args.seed).items()}
    res["wall_s"] = round(time.perf_counter() - start, 2)
    if args.json:
        print(json.dumps(res))
        return 0
    from neurobox.text import plural

    out = sys.stdout
    rev = res["reverberation"]
    print("reverberation (two excitatory Izhikevich RS neurons in a loop, one kick):", file=out)
    print("  persistence after the kick, ms ('inf': still firing at "
          f"{rev['duration_ms']:g} ms); rows weight pA, columns delay ms", file=out)
    print("  " + " " * 8 + "".join(f"{d:>8g}" for d in rev["delays_ms"]), file=out)
    for w, row, alive in zip(rev["weights_pA"], rev["persistence_ms"], rev["persistent"]):
        cells = "".join(f"{'inf' if a else format(p, '.0f'):>8}" for p, a in zip(row, alive))
        print(f"  {w:>8g}{cells}", file=out)
    hco = res["half_centre"]
    print("half-centre oscillator (mutual inhibition, adaptation):", file=out)
    for g, per, spb, alt in zip(hco["inhibition_pA"], hco["period_ms"], hco["spikes_per_burst"], hco["alternating"]):
        print(f"  inhibition {g:>6g} pA: period {per if per is not None else float('nan'):7.1f} ms, "
              f"{spb:.1f} spikes/burst, {'alternating bursts' if alt else 'no burst alternation'}", file=out)
    for name, st in res["winnerless"].items():
        print(f"winnerless ring, {name} inhibition: order {st['reference']} repeated in "
              f"{st['reproducibility'] * 100:.0f} % of {plural(st['n_trials'], 'noisy trial')}; "
              f"{st['with_sequence'] * 100:.0f} % show any sequence of 9 activations; "
              f"mean switches {st['mean_switches']:.1f}", file=out)
    for name, path in res.get("figures", {}).items():
        print(f"wrote {path}", file=out)
    return 0
