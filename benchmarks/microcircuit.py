"""The Potjans & Diesmann (2014) cortical microcircuit: neurobox against NEST, side by side.

    python3 benchmarks/microcircuit.py                          # scales 0.1, 0.5 and 1.0 (NEST: 0.1, 0.5), 1 s
    python3 benchmarks/microcircuit.py --scales 0.1 --repeats 3 --stat min
    python3 benchmarks/microcircuit.py --scales 0.1 --repeats 4 --vary-seed    # rates over seeds 55..58
    python3 benchmarks/microcircuit.py --scales 1.0 --tools neurobox
    python3 benchmarks/microcircuit.py --scales 0.1,1.0 --nest-full   # NEST at full scale too (~15 GB)
    make bench-microcircuit

neurobox runs its built-in (neurobox.tasks.microcircuit, `neurobox run
microcircuit`); NEST runs benchmarks/peers/nest_microcircuit.py, the same
model written in PyNEST with the same parameters and its own derivation of
the numbers (so the synapse counts cross-check the two). Both with the
Poisson background (--background dc for the DC one), dt 0.1 ms, seed 55,
NEST with --threads (default 2) threads. Every run is a fresh process
(benchmarks/runner.py: wall time, peak memory, other processes' CPU).

Phases, per tool and scale: build (neurobox: drawing the synapses into the
engine's arrays, `compile_network`; NEST: Create, Connect and Prepare),
compile (neurobox only: the generated loop, first ever with empty
NEUROBOX_CACHE_DIR and NUMBA_CACHE_DIR, once at the first scale, and from
the cache), a warm-up of --warmup ms (default 100; not timed in
"simulate") and simulate: --duration ms (default 1000), from which the
real-time factor (simulate s / biological s) and the rates (spikes in that
window) come. Memory: the peak resident set of the process (ru_maxrss) and
bytes per synapse = (peak - the process's resident set after its imports)
/ recurrent synapses. The rate ratio is neurobox / NEST per population.

Results: a table on stdout and benchmarks/results/microcircuit-<UTC
time>.json (and microcircuit-latest.json). NEST's side needs
.venv-bench (bash benchmarks/setup_peers.sh).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import NEUROBOX_WARMUP_MS, RESULTS, ROOT, rss_mb, run_child, wait_quiet  # noqa: E402

NAMES = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
NEST_SCRIPT = ROOT / "benchmarks" / "peers" / "nest_microcircuit.py"


# ------------------------------------------------------------------ the neurobox child
def neurobox_child(args) -> None:
    """One neurobox run; prints one JSON line (the parent reads the last line that starts with '{')."""
    t_start = time.perf_counter()
    import neurobox as nb
    import neurobox.engine.simulation as simulation
    from neurobox.tasks import microcircuit as mc

    nb.Simulation  # the facade imports on first use: import the engine before the baseline
    baseline = rss_mb()
    phases: dict[str, float] = {}
    build = simulation.compile_network

    def timed_build(*a, **k):  # the build phase of Simulation(), timed apart from the loop's compile
        t = time.perf_counter()
        out = build(*a, **k)
        phases["build_s"] = time.perf_counter() - t
        return out

    simulation.compile_network = timed_build
    net = mc.microcircuit(args.scale, args.background, seed=args.seed)
    t0 = time.perf_counter()
    sim = nb.Simulation(net, progress=False)
    setup_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if args.warmup > 0:
        sim.run(args.warmup)
    warmup_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    res = sim.run(args.duration)
    simulate_s = time.perf_counter() - t2
    stats = mc.statistics(res, args.warmup, args.warmup + args.duration)
    params = mc.parameters(args.scale, args.background)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "tool": "neurobox", "scale": args.scale, "background": args.background,
        "neurons": int(params.n.sum()), "synapses": int(params.synapses.sum()),
        "connections": int(sum(p.n_synapses for p in sim.compiled.projections)),
        "build_s": round(phases.get("build_s", float("nan")), 3),
        "compile_s": round(setup_s - phases.get("build_s", 0.0), 3), "setup_s": round(setup_s, 3),
        "warmup_s": round(warmup_s, 3), "simulate_s": round(simulate_s, 3), "duration_ms": args.duration,
        "warmup_ms": args.warmup, "baseline_mb": round(baseline, 1), "peak_mb": round(peak, 1),
        "rates_hz": {k: v.rate_hz for k, v in stats.items()},
        "cv_isi": {k: v.cv_isi for k, v in stats.items()},
        "synchrony": {k: v.synchrony for k, v in stats.items()},
        "wall_s": round(time.perf_counter() - t_start, 3)}))


# ------------------------------------------------------------------ the parent
def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def child_command(tool: str, scale: float, cfg, seed: int) -> list[str]:
    common = ["--scale", f"{scale:g}", "--duration", f"{cfg.duration:g}", "--warmup", f"{cfg.warmup:g}",
              "--seed", str(seed), "--background", cfg.background]
    if tool == "nest":
        return [cfg.peer_python, str(NEST_SCRIPT), *common, "--threads", str(cfg.threads)]
    return [cfg.neurobox_python, os.path.abspath(__file__), "--child", "neurobox", *common]


def one_run(tool: str, scale: float, cfg, env: dict | None = None, seed: int | None = None) -> dict:
    if cfg.wait_quiet > 0:
        frac = wait_quiet(cfg.wait_quiet)
        if frac >= 0.15:
            log(f"    (machine still {100 * frac:.0f}% busy after waiting {cfg.wait_quiet:g} s; running anyway)")
    res = run_child(child_command(tool, scale, cfg, cfg.seed if seed is None else seed), timeout=cfg.timeout,
                    env=env)
    row = {"tool": tool, "scale": scale, "ok": res["ok"], "error": res["error"], "maxrss_mb": res["maxrss_mb"],
           "process_wall_s": res["wall_s"], "other_cpu": res["other_cpu"]}
    if res["ok"] and res["json_line"]:
        row.update(json.loads(res["json_line"]))
        row["rtf"] = row["simulate_s"] / (row["duration_ms"] * 1e-3)
        row["bytes_per_synapse"] = (row["peak_mb"] - row["baseline_mb"]) * 2 ** 20 / max(1, row["synapses"])
    elif res["ok"]:
        row.update(ok=False, error="no JSON line in the output")
    return row


def combine(rows: list[dict], stat) -> dict:
    """Repeats of one case as one row: `stat` (median or min) of times and memory, mean of the rates."""
    good = [r for r in rows if r.get("ok")]
    if not good:
        return rows[-1]
    out = dict(good[0])
    for key in ("build_s", "compile_s", "warmup_s", "simulate_s", "rtf", "peak_mb", "bytes_per_synapse",
                "process_wall_s"):
        values = [r[key] for r in good if isinstance(r.get(key), (int, float))]
        if values:
            out[key] = stat(values)
    out["rates_hz"] = {k: statistics.mean(r["rates_hz"][k] for r in good) for k in NAMES}
    if len(good) > 1:
        out["rates_sd_hz"] = {k: statistics.stdev(r["rates_hz"][k] for r in good) for k in NAMES}
    out["runs"] = [{k: r.get(k) for k in ("build_s", "compile_s", "simulate_s", "peak_mb", "rates_hz",
                                          "other_cpu")} for r in good]
    out["repeats"] = len(good)
    out["other_cpu"] = max((r.get("other_cpu") or 0.0) for r in good)
    return out


def fmt(x, nd=2) -> str:
    return "-" if not isinstance(x, (int, float)) else f"{x:.{nd}f}"


def print_tables(rows: list[dict], cold: dict | None) -> None:
    head = ["tool", "scale", "neurons", "synapses", "build s", "compile s", "simulate s", "RTF", "peak MB",
            "B/syn", "busy"]
    lines = [head]
    for r in rows:
        if not r.get("ok"):
            lines.append([r["tool"], f"{r['scale']:g}", "failed: " + str(r.get("error"))[:80]])
            continue
        compile_s = fmt(r.get("compile_s"), 2) if r["tool"] == "neurobox" else "-"
        if r["tool"] == "neurobox" and cold and cold.get("scale") == r["scale"] and cold.get("ok"):
            compile_s = f"{cold['compile_s']:.1f} first / {r['compile_s']:.2f}"
        lines.append([r["tool"] + (f" ({r['threads']}t)" if r.get("threads") else ""), f"{r['scale']:g}",
                      str(r["neurons"]), f"{r['synapses'] / 1e6:.2f} M", fmt(r["build_s"]), compile_s,
                      fmt(r["simulate_s"]), fmt(r["rtf"]), fmt(r["peak_mb"], 0), fmt(r["bytes_per_synapse"], 1),
                      f"{100 * (r.get('other_cpu') or 0):.0f}%"])
    table(lines)
    print()
    by = {(r["tool"], r["scale"]): r for r in rows if r.get("ok")}
    for scale in sorted({r["scale"] for r in rows}):
        nb_row, nest_row = by.get(("neurobox", scale)), by.get(("nest", scale))
        lines = [["rates (Hz), scale " + f"{scale:g}"] + list(NAMES)]
        for label, r in (("NEST", nest_row), ("neurobox", nb_row)):
            if r:
                lines.append([label] + [f"{r['rates_hz'][k]:.3f}" for k in NAMES])
                if r.get("rates_sd_hz"):
                    lines.append([f"  sd over {r['repeats']} seeds"] + [f"{r['rates_sd_hz'][k]:.3f}" for k in NAMES])
        if nb_row and nest_row:
            lines.append(["neurobox / NEST"] + [fmt(nb_row["rates_hz"][k] / nest_row["rates_hz"][k], 3)
                                               if nest_row["rates_hz"][k] > 0 else "-" for k in NAMES])
        table(lines)
        print()


def table(lines: list[list[str]]) -> None:
    width = [max(len(line[i]) for line in lines if i < len(line)) for i in range(max(map(len, lines)))]
    for line in lines:
        print("  ".join(cell.rjust(width[i]) if i else cell.ljust(width[i]) for i, cell in enumerate(line)))


def parse_scales(text: str, nest_full: bool, tools: list[str], ap) -> list[float]:
    scales = []
    for item in text.split(","):
        try:
            s = float(item)
        except ValueError:
            ap.error(f"--scales: {item!r} is not a number; allowed: numbers in (0, 1]")
        if not 0.0 < s <= 1.0:
            ap.error(f"--scales: {s:g} is outside (0, 1]")
        scales.append(s)
    if 1.0 in scales and "nest" in tools and not nest_full:
        log("NEST at scale 1 needs about 15 GB and several minutes: skipped (add --nest-full to run it)")
    return scales


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--scales", default="0.1,0.5,1.0",
                    help="comma list of scales in (0, 1] (default 0.1,0.5,1.0; NEST at 1.0 only with --nest-full)")
    ap.add_argument("--duration", type=float, default=1000.0, help="timed biological ms (default 1000)")
    ap.add_argument("--warmup", type=float, default=100.0, help="untimed ms simulated first (default 100)")
    ap.add_argument("--background", choices=("poisson", "dc"), default="poisson")
    ap.add_argument("--tools", default="nest,neurobox", help="comma list of nest, neurobox (default both)")
    ap.add_argument("--threads", type=int, default=2, help="NEST's local_num_threads (default 2)")
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--repeats", type=int, default=1, help="runs per case (default 1)")
    ap.add_argument("--vary-seed", action="store_true",
                    help="repeat r uses seed --seed + r: the rates are means over seeds (with their sd)")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="how repeats combine times and memory (min is robust to other processes)")
    ap.add_argument("--nest-full", action="store_true", help="also run NEST at scale 1.0")
    ap.add_argument("--no-cold", dest="cold", action="store_false",
                    help="skip neurobox's first-ever compile (empty caches)")
    ap.add_argument("--wait-quiet", type=float, default=20.0,
                    help="before each run wait up to this many s for the CPUs to quieten (0: don't)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per process (default 3600)")
    ap.add_argument("--neurobox-python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--peer-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    ap.add_argument("--out", default=None, help="JSON file (default benchmarks/results/microcircuit-<time>.json)")
    ap.add_argument("--child", choices=("neurobox",), help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=float, help=argparse.SUPPRESS)
    cfg = ap.parse_args(argv)
    if cfg.child:
        neurobox_child(cfg)
        return 0
    tools = [t.strip() for t in cfg.tools.split(",") if t.strip()]
    for t in tools:
        if t not in ("nest", "neurobox"):
            ap.error(f"--tools: unknown tool {t!r}; valid: nest, neurobox")
    scales = parse_scales(cfg.scales, cfg.nest_full, tools, ap)
    stat = min if cfg.stat == "min" else statistics.median
    cache = tempfile.mkdtemp(prefix="nb-microcircuit-cache-")
    env = {"NEUROBOX_CACHE_DIR": cache, "NUMBA_CACHE_DIR": os.path.join(cache, "numba")}
    cold = None
    rows = []
    if "neurobox" in tools and cfg.cold:
        log(f"neurobox, scale {scales[0]:g}: first-ever compile (empty caches in {cache})")
        cold = one_run("neurobox", scales[0], cfg, env)
        log(f"    compile {fmt(cold.get('compile_s'), 1)} s" if cold.get("ok") else f"    failed: {cold['error']}")
    elif "neurobox" in tools:  # the user's caches: fill them (untimed) so that every timed run loads the loop
        env = None
        log("neurobox: filling the compile cache (untimed)")
        # the loop is the same at every scale: fill it at 0.1 (big enough for the threaded form)
        warm = argparse.Namespace(**{**vars(cfg), "duration": NEUROBOX_WARMUP_MS, "warmup": 0.0, "wait_quiet": 0.0})
        one_run("neurobox", 0.1, warm, env)
    for scale in scales:
        for tool in tools:
            if tool == "nest" and scale == 1.0 and not cfg.nest_full:
                continue
            runs = []
            for r in range(cfg.repeats):
                log(f"{tool}, scale {scale:g}, run {r + 1} of {cfg.repeats}")
                seed = cfg.seed + (r if cfg.vary_seed else 0)
                runs.append(one_run(tool, scale, cfg, env if tool == "neurobox" else None, seed))
                last = runs[-1]
                log(f"    build {fmt(last.get('build_s'))} s, simulate {fmt(last.get('simulate_s'))} s, "
                    f"peak {fmt(last.get('peak_mb'), 0)} MB" if last.get("ok") else f"    failed: {last['error']}")
            rows.append(combine(runs, stat))
    print_tables(rows, cold)
    record = {"when": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "config": {k: v for k, v in vars(cfg).items() if k not in ("child", "scale")},
              "machine": {"cpus": os.cpu_count(), "loadavg_1_5_15": list(os.getloadavg())},
              "cold": cold, "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(cfg.out) if cfg.out else RESULTS / f"microcircuit-{stamp}.json"
    out.write_text(json.dumps(record, indent=1, default=str))
    (RESULTS / "microcircuit-latest.json").write_text(out.read_text())
    log(f"wrote {out}")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
