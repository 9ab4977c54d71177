"""neurobox against Brian2 and NEST on the Brette et al. (2007) COBA and CUBA networks.

    python benchmarks/run_benchmarks.py                       # everything, defaults below
    python benchmarks/run_benchmarks.py --nets coba --durations 1000 --tools neurobox,brian2_standalone
    python benchmarks/run_benchmarks.py --repeats 3 --vary-seed
    python benchmarks/run_benchmarks.py --scale --no-main --no-cold

Every run is a fresh process (see runner.py). Sections:

main   each tool x net x duration: setup s, simulate s, mean rate, and each
       peer's simulate time as a ratio to neurobox's (peer / neurobox:
       > 1 means neurobox is faster).
cold   whole-process wall time to a first result for COBA 1 s: neurobox
       with a warm compile cache, neurobox's first-ever run (empty
       NEUROBOX_CACHE_DIR and NUMBA_CACHE_DIR), Brian2 cpp_standalone with
       its build directory warm and fresh, Brian2 runtime (warm cython cache).
scale  (--scale) COBA grown to --scale-n neurons (80/20) at in-degree 80:
       build (setup) s, simulate s for 1 s, peak memory of the process.

Results go to benchmarks/results/bench-<UTC time>.json (and latest.json).
Only the standard library is used; neurobox runs with .venv/bin/python,
the peers with .venv-bench/bin/python (bash benchmarks/setup_peers.sh).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import NEUROBOX_WARMUP_MS, RESULTS, ROOT, run_child, wait_quiet  # noqa: E402

TOOLS = ("neurobox", "brian2_runtime", "brian2_standalone", "nest_1t", "nest_2t")
TOOL_LABEL = {
    "neurobox": ("neurobox", "numba"),
    "brian2_runtime": ("brian2", "runtime (cython)"),
    "brian2_standalone": ("brian2", "cpp_standalone"),
    "nest_1t": ("nest", "1 thread"),
    "nest_2t": ("nest", "2 threads"),
}
PEER_DIR = ROOT / "benchmarks" / "peers"


def net_arg(net: str) -> str:
    """'coba'/'cuba', 'coba_N' (COBA grown to N neurons at in-degree 80, benchmarks/neurobox_scale.py) or a
    model file path, as the command lines want it."""
    if net in ("coba", "cuba"):
        return f"examples/{net}.toml"
    if scaled_size(net):
        from neurobox_scale import scaled_model
        return str(scaled_model(scaled_size(net)))
    return net


def scaled_size(net: str) -> int | None:
    """N of a net named coba_N, else None."""
    head, _, n = net.partition("_")
    return int(n) if head == "coba" and n.isdigit() and int(n) > 0 else None


def command(tool: str, net: str, duration: float, seed: int | None, cfg: argparse.Namespace,
            build_dir: str | None = None, quiet: bool = True) -> list[str]:
    dur = f"{duration:g}"
    if tool == "neurobox":
        cmd = [cfg.neurobox_python, "-m", "neurobox", "run", net_arg(net), "--duration", dur, "--json"]
        if getattr(cfg, "threads", None):
            cmd += ["--threads", str(cfg.threads)]
        if quiet:
            cmd.append("--quiet")
    elif tool.startswith("brian2"):
        mode = "runtime" if tool == "brian2_runtime" else "cpp_standalone"
        cmd = [cfg.peer_python, str(PEER_DIR / "brian2_net.py"), "--net", net if net in ("coba", "cuba") else net_arg(net),
               "--duration", dur, "--mode", mode]
        if build_dir:
            cmd += ["--build-dir", build_dir]
    elif tool.startswith("nest"):
        threads = "1" if tool == "nest_1t" else "2"
        cmd = [cfg.peer_python, str(PEER_DIR / "nest_net.py"), "--net", net if net in ("coba", "cuba") else net_arg(net),
               "--duration", dur, "--threads", threads]
    else:
        raise ValueError(tool)
    if seed is not None:
        cmd += ["--seed", str(seed)]
    return cmd


def parse(tool: str, res: dict, duration: float) -> dict:
    """Normalise a run's JSON line to the table's fields."""
    row = {"ok": res["ok"], "process_wall_s": res["wall_s"], "peak_rss_mb": res["maxrss_mb"],
           "other_cpu": res.get("other_cpu"), "command": " ".join(res["cmd"])}
    if not res["ok"]:
        row["error"] = res["error"]
        return row
    try:
        data = json.loads(res["json_line"])
    except (TypeError, ValueError):
        row.update(ok=False, error="no JSON line on stdout: " + res["stdout"][-300:] + res["stderr"][-300:])
        return row
    if tool == "neurobox":
        pops = data.get("populations", {})
        spikes = sum(p.get("spikes", 0) for p in pops.values())
        n = sum(p.get("n", 0) for p in pops.values())
        row.update(n=n, spikes=spikes, rate_hz=spikes / n / (duration / 1000.0) if n else None,
                   setup_s=data.get("setup_s"), simulate_s=data.get("simulate_s"), raw=data)
    else:
        row.update(n=data["n"], spikes=data.get("spikes"), rate_hz=data["rate_hz"], setup_s=data["setup_s"],
                   simulate_s=data["simulate_s"], raw=data)
    return row


STAT = statistics.median


def med(xs):
    """The chosen statistic (--stat: median or min) of the numbers in xs."""
    xs = [x for x in xs if isinstance(x, (int, float))]
    return STAT(xs) if xs else None


def pct(x):
    return "-" if x is None else f"{100 * x:.0f}%"


def quiet(cfg) -> None:
    """Before a timed run: wait up to --wait-quiet s for other processes to leave the CPUs."""
    if cfg.wait_quiet > 0:
        frac = wait_quiet(cfg.wait_quiet)
        if frac >= 0.15:
            log(f"    (machine still {100 * frac:.0f}% busy after waiting {cfg.wait_quiet:g} s; running anyway)")


def fmt(x, nd=3):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:.{nd}f}"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def available(tool: str, cfg) -> str | None:
    """None when the tool can run, else why not."""
    py = cfg.neurobox_python if tool == "neurobox" else cfg.peer_python
    if not (shutil.which(py) or os.path.exists(py)):
        hint = "python -m venv .venv && .venv/bin/pip install -e ." if tool == "neurobox" else \
            "bash benchmarks/setup_peers.sh"
        return f"{py} not found ({hint})"
    return None


# ---------------------------------------------------------------- sections

def section_main(cfg, tools, record) -> list[dict]:
    rows = []
    for net in cfg.nets:
        for dur in cfg.durations:
            if cfg.warmup:
                for tool in tools:
                    if tool in ("neurobox", "brian2_runtime", "brian2_standalone"):
                        # Fill compile caches so that setup_s is the warm figure (neurobox: both forms of
                        # its loop); cpp_standalone recompiles per duration, so it warms the same run.
                        wdur = {"brian2_standalone": dur, "neurobox": min(dur, NEUROBOX_WARMUP_MS)}.get(tool, 10.0)
                        seed = cfg.seed if cfg.seed is not None else None
                        log(f"  warm-up {tool} {net} {wdur:g} ms")
                        res = run_child(command(tool, net, wdur, seed, cfg), timeout=cfg.timeout)
                        record.append({"section": "warmup", "tool": tool, "net": net, "duration_ms": wdur,
                                       **parse(tool, res, wdur)})
            per_tool: dict[str, list[dict]] = {t: [] for t in tools}
            for r in range(cfg.repeats):
                seed = None
                if cfg.vary_seed:
                    seed = (cfg.seed if cfg.seed is not None else 42) + r
                elif cfg.seed is not None:
                    seed = cfg.seed
                for tool in tools:
                    log(f"  run {tool} {net} {dur:g} ms repeat {r + 1}/{cfg.repeats}"
                        + (f" seed {seed}" if seed is not None else ""))
                    for attempt in range(cfg.retry_busy + 1):
                        quiet(cfg)
                        res = run_child(command(tool, net, dur, seed, cfg), timeout=cfg.timeout)
                        row = {"section": "main", "tool": tool, "net": net, "duration_ms": dur, "repeat": r,
                               "seed": seed, "attempt": attempt, **parse(tool, res, dur)}
                        busy = row.get("other_cpu") or 0.0
                        if not row["ok"] or busy <= 0.10 or attempt == cfg.retry_busy:
                            break
                        record.append({**row, "section": "discarded (machine busy)"})
                        log(f"    other processes used {pct(busy)} of the CPUs: discarded, running again")
                    record.append(row)
                    per_tool[tool].append(row)
                    if getattr(cfg, "save", None):
                        cfg.save()  # keep what has been measured if the run is interrupted
                    if not row["ok"]:
                        log(f"    FAILED: {row['error']}")
                    else:
                        log(f"    setup {fmt(row.get('setup_s'))} s, simulate {fmt(row.get('simulate_s'))} s, "
                            f"rate {fmt(row.get('rate_hz'), 2)} Hz, process {fmt(row['process_wall_s'], 2)} s, "
                            f"other processes used {pct(row.get('other_cpu'))} of the CPUs")
            nb_sim = None
            if "neurobox" in per_tool:
                nb_sim = med(r.get("simulate_s") for r in per_tool["neurobox"] if r["ok"])
            for tool in tools:
                ok = [r for r in per_tool[tool] if r["ok"]]
                rates = [r["rate_hz"] for r in ok if r.get("rate_hz") is not None]
                sim = med(r.get("simulate_s") for r in ok)
                agg = {
                    "tool": tool, "label": TOOL_LABEL[tool], "net": net, "duration_ms": dur,
                    "runs_ok": len(ok), "runs": len(per_tool[tool]),
                    "setup_s": med(r.get("setup_s") for r in ok), "simulate_s": sim,
                    "rate_hz": statistics.fmean(rates) if rates else None,
                    "rate_sd_hz": statistics.stdev(rates) if len(rates) > 1 else None,
                    "seeds_varied": bool(cfg.vary_seed),
                    "process_wall_s": med(r["process_wall_s"] for r in ok),
                    "peak_rss_mb": med(r["peak_rss_mb"] for r in ok),
                    "other_cpu_max": max((r["other_cpu"] for r in ok if r.get("other_cpu") is not None),
                                         default=None),
                    "ratio_to_neurobox": (sim / nb_sim) if (sim is not None and nb_sim) else None,
                    "error": None if ok else (per_tool[tool][0].get("error") if per_tool[tool] else None),
                }
                rows.append(agg)
    return rows


def print_main(rows: list[dict]) -> None:
    head = ["tool", "mode", "net", "duration ms", "setup s", "simulate s", "rate Hz", "sim ratio peer/nb",
            "process s", "peak MB", "others' CPU"]
    lines = [head]
    for a in rows:
        rate = fmt(a["rate_hz"], 2)
        if a.get("rate_sd_hz") is not None and a.get("seeds_varied"):
            rate += f" ± {a['rate_sd_hz']:.2f}"
        if a["runs_ok"] == 0:
            lines.append([*a["label"], a["net"], f"{a['duration_ms']:g}", "FAILED", (a["error"] or "")[:60],
                          "", "", "", "", ""])
            continue
        lines.append([*a["label"], a["net"], f"{a['duration_ms']:g}", fmt(a["setup_s"]), fmt(a["simulate_s"]),
                      rate, fmt(a["ratio_to_neurobox"], 2), fmt(a["process_wall_s"], 2),
                      fmt(a["peak_rss_mb"], 0), pct(a.get("other_cpu_max"))])
    print_table(lines)
    print("sim ratio = peer simulate s / neurobox simulate s for the same net and duration "
          f"(> 1: neurobox is faster). Times: {STAT.__name__} over repeats; rate: mean over repeats.\n"
          "others' CPU = the largest share of the machine's CPUs that other processes used during one of the "
          "row's runs; above a few % the times are disturbed (two-thread NEST most).")


def print_table(lines: list[list[str]]) -> None:
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    for k, line in enumerate(lines):
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def section_cold(cfg, tools, record) -> list[dict]:
    """Whole-process wall time to a first result, COBA 1 s."""
    net, dur = "coba", 1000.0
    out = []

    def measure(name, tool, cmd_fn, env_fn=None, note=""):
        walls, sims, others = [], [], []
        for r in range(cfg.cold_repeats):
            env = env_fn() if env_fn else None
            quiet(cfg)
            res = run_child(cmd_fn(r), timeout=cfg.timeout, env=env[0] if env else None)
            if env:
                env[1]()
            row = {"section": "cold", "case": name, "tool": tool, "net": net, "duration_ms": dur, "repeat": r,
                   **parse(tool, res, dur)}
            record.append(row)
            if not row["ok"]:
                log(f"    {name} FAILED: {row['error']}")
                continue
            walls.append(res["wall_s"])
            sims.append(row.get("simulate_s"))
            if res.get("other_cpu") is not None:
                others.append(res["other_cpu"])
            log(f"    {name}: process {res['wall_s']:.2f} s, other processes used {pct(res.get('other_cpu'))}")
        out.append({"case": name, "tool": tool, "process_wall_s": med(walls), "simulate_s": med(sims),
                    "runs_ok": len(walls), "other_cpu_max": max(others, default=None), "note": note})

    if "neurobox" in tools:
        log("  cold: neurobox")
        # make sure the normal cache is warm, then time whole processes
        run_child(command("neurobox", net, dur, None, cfg, quiet=False), timeout=cfg.timeout)
        measure("neurobox, warm compile cache", "neurobox",
                lambda r: command("neurobox", net, dur, None, cfg, quiet=False))

        def fresh_cache():
            d = tempfile.mkdtemp(prefix="neurobox-cold-")
            return ({"NEUROBOX_CACHE_DIR": d, "NUMBA_CACHE_DIR": os.path.join(d, "numba")},
                    lambda: shutil.rmtree(d, ignore_errors=True))
        measure("neurobox, first run ever (empty NEUROBOX_CACHE_DIR, NUMBA_CACHE_DIR)", "neurobox",
                lambda r: command("neurobox", net, dur, None, cfg, quiet=False), env_fn=fresh_cache)
    if "brian2_standalone" in tools:
        log("  cold: brian2 cpp_standalone")
        warm_dir = str(RESULTS / "brian2" / "standalone_cold_warm")
        run_child(command("brian2_standalone", net, dur, None, cfg, build_dir=warm_dir), timeout=cfg.timeout)
        measure("brian2 cpp_standalone, build directory warm (no recompilation)", "brian2_standalone",
                lambda r: command("brian2_standalone", net, dur, None, cfg, build_dir=warm_dir))

        dirs: list[str] = []

        def fresh_cmd(r):
            d = tempfile.mkdtemp(prefix="brian2-standalone-cold-")
            dirs.append(d)
            return command("brian2_standalone", net, dur, None, cfg, build_dir=d)
        measure("brian2 cpp_standalone, fresh build directory (full compile)", "brian2_standalone", fresh_cmd)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    if "brian2_runtime" in tools:
        log("  cold: brian2 runtime")
        run_child(command("brian2_runtime", net, dur, None, cfg), timeout=cfg.timeout)
        measure("brian2 runtime (cython), warm cache", "brian2_runtime",
                lambda r: command("brian2_runtime", net, dur, None, cfg))
    # first-ever compile time of neurobox = first run ever - warm run
    warm = next((c for c in out if c["case"].startswith("neurobox, warm")), None)
    first = next((c for c in out if c["case"].startswith("neurobox, first")), None)
    if warm and first and warm["process_wall_s"] and first["process_wall_s"]:
        first["note"] = f"compilation adds about {first['process_wall_s'] - warm['process_wall_s']:.2f} s"
    return out


def print_cold(rows: list[dict]) -> None:
    lines = [["case (COBA 4000, 1 s, fresh process)", "process wall s", "of which simulate s", "others' CPU",
              "note"]]
    for c in rows:
        lines.append([c["case"], fmt(c["process_wall_s"], 2), fmt(c["simulate_s"], 3), pct(c.get("other_cpu_max")),
                      c["note"]])
    print_table(lines)


def section_scale(cfg, record) -> list[dict]:
    """COBA at --scale-n neurons, and at 4000 as the baseline for bytes per synapse."""
    from neurobox_scale import IN_DEGREE, scaled_model
    model = scaled_model(cfg.scale_n)
    rows = []
    for tool in cfg.scale_tools:
        why = available(tool, cfg)
        if why:
            log(f"  scale: skipping {tool}: {why}")
            continue
        pair = {}
        for label, net, n in (("base", "coba", 4000), ("scaled", str(model), cfg.scale_n)):
            log(f"  scale: {tool} {n} neurons, {cfg.scale_duration:g} ms")
            quiet(cfg)
            res = run_child(command(tool, net, cfg.scale_duration, None, cfg), timeout=cfg.timeout)
            row = {"section": "scale", "tool": tool, "net": f"coba_{n}", "n": n, "in_degree": IN_DEGREE,
                   "duration_ms": cfg.scale_duration,
                   "model_file": "examples/coba.toml" if n == 4000 else str(model.relative_to(ROOT)),
                   **parse(tool, res, cfg.scale_duration)}
            syn = (row.get("raw") or {}).get("synapses")
            row["synapses"] = syn if syn else None
            row["synapses_expected"] = n * IN_DEGREE
            record.append(row)
            if not row["ok"]:
                log(f"    FAILED: {row['error']}")
            pair[label] = row
            rows.append(row)
        b, s_ = pair.get("base"), pair.get("scaled")
        if b and s_ and b["ok"] and s_["ok"]:
            syn_s = s_["synapses"] or s_["synapses_expected"]
            syn_b = b["synapses"] or b["synapses_expected"]
            # Brian2 cpp_standalone simulates in a separate binary: use that binary's own peak
            key = "binary_peak_rss_mb" if (s_.get("raw") or {}).get("binary_peak_rss_mb") else None
            mem_s = s_["raw"][key] if key else s_["peak_rss_mb"]
            mem_b = (b.get("raw") or {}).get(key) if key else b["peak_rss_mb"]
            if mem_b is not None:
                s_["marginal_bytes_per_synapse"] = (mem_s - mem_b) * 2**20 / (syn_s - syn_b)
                s_["marginal_memory_of"] = "standalone binary" if key else "whole process"
            s_["synapse_count_estimated"] = not (s_["synapses"] and b["synapses"])
    return rows


def print_scale(rows: list[dict]) -> None:
    lines = [["tool", "mode", "neurons", "synapses", "build (setup) s", "simulate s", "rate Hz", "process s",
              "peak MB", "marginal bytes/synapse"]]
    for r in rows:
        if not r["ok"]:
            lines.append([*TOOL_LABEL[r["tool"]], str(r["n"]), "FAILED", (r.get("error") or "")[:60], "", "", "", "",
                          ""])
            continue
        syn = str(r["synapses"]) if r.get("synapses") else f"~{r['synapses_expected']} (expected)"
        bps = r.get("marginal_bytes_per_synapse")
        lines.append([*TOOL_LABEL[r["tool"]], str(r["n"]), syn, fmt(r.get("setup_s"), 2),
                      fmt(r.get("simulate_s"), 3), fmt(r.get("rate_hz"), 2), fmt(r["process_wall_s"], 2),
                      fmt(r["peak_rss_mb"], 0) + (f" (binary {r['raw']['binary_peak_rss_mb']:.0f})"
                                                  if (r.get("raw") or {}).get("binary_peak_rss_mb") else ""),
                      fmt(bps, 1)])
    print_table(lines)
    print("marginal bytes/synapse = (peak MB at N - peak MB at 4000) / (synapses at N - synapses at 4000): "
          "the memory each added synapse costs at its peak (build included), neuron state and interpreter excluded. "
          "'expected' = N x 80 where the tool does not report its synapse count.")


# ---------------------------------------------------------------- main

def machine_info(cfg) -> dict:
    info = {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        info["loadavg_1_5_15"] = list(os.getloadavg())
    except OSError:
        pass
    info["env"] = {k: os.environ[k] for k in os.environ
                   if k.startswith(("NUMBA_", "OMP_", "OPENBLAS_", "MKL_", "NEUROBOX_"))}
    return info


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    import signal
    signal.signal(signal.SIGTERM, _terminate)  # so that a killed harness also ends its child
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--nets", default="coba,cuba",
                    help="comma list of coba, cuba, coba_N (COBA grown to N neurons at in-degree 80, e.g. "
                         "coba_40000) (default coba,cuba)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of neurobox's loop (neurobox run --threads; default: its default, every core)")
    ap.add_argument("--durations", default="1000,10000", help="comma list of biological ms (default 1000,10000)")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma list of {', '.join(TOOLS)} (default all)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per case; times are medians (default 1)")
    ap.add_argument("--vary-seed", action="store_true",
                    help="repeat r uses seed (--seed or 42) + r, so the rate column is a mean over seeds")
    ap.add_argument("--seed", type=int, default=None, help="seed for every tool (default: the model file's)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="skip the untimed runs that fill neurobox's and Brian2's compile caches")
    ap.add_argument("--no-main", dest="main", action="store_false", help="skip the main table")
    ap.add_argument("--no-cold", dest="cold", action="store_false", help="skip the time-to-first-result section")
    ap.add_argument("--cold-repeats", type=int, default=1, help="runs per cold case (default 1)")
    ap.add_argument("--scale", action="store_true", help="also run COBA grown to --scale-n neurons")
    ap.add_argument("--scale-n", type=int, default=100_000)
    ap.add_argument("--scale-duration", type=float, default=1000.0)
    ap.add_argument("--scale-tools", default="neurobox",
                    help="comma list for the scale run (default neurobox; brian2_standalone takes ~15 s, "
                         "nest_2t several minutes)")
    ap.add_argument("--wait-quiet", type=float, default=20.0,
                    help="before each timed run wait up to this many s until other processes use < 15%% of the "
                         "CPUs (0: don't wait; default 20)")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="how repeats are combined for times and memory (default median; min is robust to "
                         "other processes, which only ever add time)")
    ap.add_argument("--retry-busy", type=int, default=0,
                    help="run a case again (up to N times) when other processes used > 10%% of the CPUs "
                         "during it (default 0)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per process (default 1800)")
    ap.add_argument("--neurobox-python", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--peer-python", default=str(ROOT / ".venv-bench" / "bin" / "python"))
    ap.add_argument("--out", default=None, help="JSON results file (default benchmarks/results/bench-<time>.json)")
    cfg = ap.parse_args(argv)
    global STAT
    STAT = min if cfg.stat == "min" else statistics.median
    cfg.nets = [x.strip() for x in cfg.nets.split(",") if x.strip()]
    cfg.durations = [float(x) for x in cfg.durations.split(",") if x.strip()]
    tools = [x.strip() for x in cfg.tools.split(",") if x.strip()]
    cfg.scale_tools = [x.strip() for x in cfg.scale_tools.split(",") if x.strip()]
    for t in tools + cfg.scale_tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}; valid: {', '.join(TOOLS)}")
    for n in cfg.nets:
        if n not in ("coba", "cuba") and not scaled_size(n):
            ap.error(f"unknown net {n!r}; valid: coba, cuba, coba_N (COBA grown to N neurons, e.g. coba_40000)")
    runnable = []
    for t in tools:
        why = available(t, cfg)
        if why:
            log(f"skipping {t}: {why}")
        else:
            runnable.append(t)

    load1 = os.getloadavg()[0]
    if load1 > 0.5:
        log(f"warning: load average is {load1:.2f}; other work on this machine will distort the timings")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_path = Path(cfg.out) if cfg.out else RESULTS / f"bench-{stamp}.json"
    record: list[dict] = []
    result = {"started_utc": stamp, "argv": sys.argv[1:], "machine": machine_info(cfg), "runs": record}

    def save():
        out_path.write_text(json.dumps(result, indent=1, default=str))
        shutil.copyfile(out_path, RESULTS / "latest.json")

    cfg.save = save
    if cfg.main and runnable:
        log("main: " + ", ".join(runnable))
        result["main"] = section_main(cfg, runnable, record)
        save()
    if cfg.cold and runnable:
        log("cold time to first result")
        result["cold"] = section_cold(cfg, runnable, record)
        save()
    if cfg.scale:
        log("scale")
        result["scale"] = section_scale(cfg, record)
        save()
    save()

    m = result["machine"]
    end_load = os.getloadavg()
    print(f"\nneurobox benchmarks, {stamp}, {m.get('cpu', '?')}, {m['cpus']} CPUs, commit {m.get('git_commit', '?')}, "
          f"load average at start {m.get('loadavg_1_5_15', ['?'])[0]:.2f}, at end {end_load[0]:.2f} (1 min)")
    result["machine"]["loadavg_end"] = list(end_load)
    save()
    if "main" in result:
        print("\n## Simulation (each run a fresh process)\n")
        print_main(result["main"])
    if "cold" in result:
        print("\n## Time to first result, COBA 4000 neurons, 1 s (whole process)\n")
        print_cold(result["cold"])
    if "scale" in result:
        print(f"\n## Scale: COBA grown to {cfg.scale_n} neurons, in-degree 80, {cfg.scale_duration:g} ms\n")
        print_scale(result["scale"])
    print(f"\nresults: {out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
