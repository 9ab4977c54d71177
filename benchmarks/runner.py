"""Run one benchmark command in a fresh process; measure its wall time and peak memory."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
NEUROBOX_WARMUP_MS = 500.0
"""An untimed neurobox run this long (dt 0.1 ms) compares the Simulation's two forms of the loop, which
compiles the threaded one (after a first chunk of 2000 steps): no timed run then compiles."""


def rss_mb() -> float:
    """This process's resident set now (VmRSS), MB; nan where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    busy = sum(parts[:8]) - idle if len(parts) >= 8 else sum(parts) - idle
    return busy, busy + idle


def wait_quiet(max_wait_s: float, threshold: float = 0.15, sample_s: float = 1.0) -> float:
    """Wait (at most max_wait_s) until the machine's busy fraction over sample_s is below threshold.

    Returns the last busy fraction seen (all CPUs together, 0..1)."""
    t_end = time.monotonic() + max_wait_s
    frac = 1.0
    while True:
        a = cpu_jiffies()
        time.sleep(sample_s)
        b = cpu_jiffies()
        if a is None or b is None:
            return 0.0
        frac = (b[0] - a[0]) / max(1, b[1] - a[1])
        if frac < threshold or time.monotonic() >= t_end:
            return frac


def run_child(cmd: list[str], timeout: float = 1800.0, env: dict | None = None, cwd: Path = ROOT) -> dict:
    """Run `cmd` in its own process group and wait for it.

    Returns ok, rc, wall_s (whole process, fork to exit), maxrss_mb (the
    child's peak resident set, ru_maxrss from wait4, which includes its
    waited-for descendants such as Brian2's standalone binary), stdout,
    stderr, json_line (the last stdout line that starts with "{") and error.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        j0 = cpu_jiffies()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
                                env=full_env, start_new_session=True)
        result: dict = {}

        def waiter() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            result["t1"] = time.perf_counter()
            result["status"] = status
            result["usage"] = usage

        th = threading.Thread(target=waiter, daemon=True)
        th.start()
        try:
            th.join(timeout)
        except BaseException:  # Ctrl-C or SIGTERM of the harness: do not leave the child running
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise
        timed_out = th.is_alive()
        if timed_out:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            th.join(30)
        proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again
        j1 = cpu_jiffies()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    status = result.get("status", -1)
    rc = os.waitstatus_to_exitcode(status) if status != -1 else -1
    usage = result.get("usage")
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    # CPU used by everything else on the machine during the run, as a fraction
    # of all CPUs: the whole machine's busy time minus the child's own.
    other = None
    if j0 and j1 and usage:
        hz = os.sysconf("SC_CLK_TCK")
        total_s = (j1[1] - j0[1]) / hz
        busy_s = (j1[0] - j0[0]) / hz
        own_s = usage.ru_utime + usage.ru_stime
        if total_s > 0:
            other = max(0.0, (busy_s - own_s) / total_s)
    res = {
        "cmd": cmd, "rc": rc, "ok": (rc == 0 and not timed_out),
        "wall_s": round(result.get("t1", time.perf_counter()) - t0, 4),
        "maxrss_mb": round(usage.ru_maxrss / 1024.0, 1) if usage else None,
        "other_cpu": None if other is None else round(other, 3),
        "stdout": stdout, "stderr": stderr, "json_line": lines[-1] if lines else None, "error": None,
    }
    if timed_out:
        res["error"] = f"timed out after {timeout:g} s"
    elif rc != 0:
        tail = (stderr.strip() or stdout.strip()).splitlines()[-5:]
        res["error"] = f"exit {rc}: " + " | ".join(tail)
    return res
