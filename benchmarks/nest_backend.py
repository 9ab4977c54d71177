"""The NEST backend against neurobox's own engine on the same descriptions, each run in a fresh process.

    python benchmarks/nest_backend.py                       # COBA 1 s and the microcircuit at scale 0.1, 2 threads
    python benchmarks/nest_backend.py --threads 1 --repeats 3 --json out.json

Each row runs `neurobox run MODEL --backend B --threads T --json` (the same command a user types), so
setup is building (and for the engine compiling or loading the loop), simulate is the biological time,
and peak memory is the whole process's (ru_maxrss). Rates are printed next to each other: the two
backends build the same synapses and initial state (neurobox.backends.nest), so COBA differs only by the
integrators (forward Euler here, NEST's adaptive RK45) and the microcircuit by NEST's own Poisson numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.runner import run_child  # noqa: E402

CASES = {"coba": ["coba", "--duration", "1000"],
         "microcircuit 0.1": ["microcircuit", "--scale", "0.1", "--duration", "1000"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="runs per row; the fastest is kept")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    rows = []
    for case in args.cases.split(","):
        for backend in ("engine", "nest"):
            best = None
            for _ in range(args.repeats):
                cmd = [sys.executable, "-m", "neurobox", "run", *CASES[case], "--backend", backend,
                       "--threads", str(args.threads), "--json", "--quiet"]
                done = run_child(cmd, timeout=3600)
                if not done["ok"]:
                    print(f"{case} on {backend} failed: {done['error'] or done['stderr'][-500:]}", file=sys.stderr)
                    return 1
                summary = json.loads(done["json_line"])
                row = {"case": case, "backend": backend, "threads": args.threads, "setup_s": summary["setup_s"],
                       "simulate_s": summary["simulate_s"], "process_s": round(done["wall_s"], 2),
                       "peak_mb": round(done["maxrss_mb"], 1), "others_cpu": done["other_cpu"],
                       "rates_hz": {k: v["rate_hz"] for k, v in summary["populations"].items()}}
                if best is None or row["simulate_s"] < best["simulate_s"]:
                    best = row
            rows.append(best)
            print(f"{case:<17} {backend:<6} setup {best['setup_s']:7.2f} s  simulate {best['simulate_s']:7.2f} s  "
                  f"process {best['process_s']:7.2f} s  peak {best['peak_mb']:8.1f} MB  others' CPU "
                  f"{best['others_cpu'] if best['others_cpu'] is not None else float('nan'):.0%}")
        engine, nest = rows[-2], rows[-1]
        print(f"{'':<17} NEST / engine: simulate {nest['simulate_s'] / engine['simulate_s']:.1f}x, peak memory "
              f"{nest['peak_mb'] / engine['peak_mb']:.1f}x; rates (Hz) engine / NEST: "
              + ", ".join(f"{k} {engine['rates_hz'][k]:.2f}/{nest['rates_hz'][k]:.2f}" for k in engine["rates_hz"]))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
