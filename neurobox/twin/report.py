"""Figures of a twin run: spikes, losses, latency (ms), bus load, engine equality, physical wall time.

`summary(result, ...)` is the JSON object of `neurobox twin --json`.
`compare_with_engine(board, result)` runs the same network in the engine
with `precision = "fixed"` and says whether every unit's spike ticks and
final weights are the same. `wall_time(result, speed)` puts the twin's
wall time next to the physical boards' (neurobox.hardware.speed).
"""
from __future__ import annotations


import numpy as np

from neurobox.errors import ConfigError, NeuroboxError
from neurobox.hardware.avr import config
from neurobox.hardware.board import Board
from neurobox.twin.scheduler import TwinResult


def latency_stats(latency_ms: np.ndarray) -> dict:
    """p50, p99, mean and max of the delivery latencies (ms), None when nothing was delivered."""
    if latency_ms.size == 0:
        return {"p50": None, "p99": None, "mean": None, "max": None}
    p50, p99 = np.percentile(latency_ms, [50, 99])
    return {"p50": round(float(p50), 6), "p99": round(float(p99), 6),
            "mean": round(float(latency_ms.mean()), 6), "max": round(float(latency_ms.max()), 6)}


def latency_histogram(latency_ms: np.ndarray, bins: int = 40) -> dict:
    """Histogram of delivery latencies: edges (ms) and counts."""
    if latency_ms.size == 0:
        return {"edges_ms": [], "counts": []}
    lo, hi = float(latency_ms.min()), float(latency_ms.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.005, hi + 0.005
    counts, edges = np.histogram(latency_ms, bins=bins, range=(lo, hi))
    return {"edges_ms": [round(float(e), 6) for e in edges], "counts": [int(c) for c in counts]}


def _fixed_network(board: Board):
    net = board.network.copy()
    net.precision = "fixed"
    return net


def compare_with_engine(board: Board, result: TwinResult) -> dict:
    """Run the network in the engine (fixed point) as long as the twin ran; compare spikes and weights.

    Returns {"equal": bool, "spikes_equal", "weights_equal", "first_difference": str | None}.
    Spikes compare as tick indices per unit; weights as the sorted weights of
    every (source, target) pair after the run.
    """
    from neurobox.engine import Simulation

    net = _fixed_network(board)
    sim = Simulation(net, progress=False)
    res = sim.run(result.duration_ms)
    first = None
    spikes_equal = True
    for name in result.unit_names:
        pop, _, idx = name.partition(".")
        i = int(idx) if idx else 0
        s = res.spikes[pop]
        steps = np.sort(np.rint(np.asarray(s.t_ms)[np.asarray(s.ids) == i] / board.dt).astype(np.int64) - 1)
        twin = np.sort(result.spike_ticks[name])
        if not np.array_equal(steps, twin):
            spikes_equal = False
            if first is None:
                diff = np.setxor1d(steps, twin)
                first = (f"unit {name}: engine {steps.size} spikes, twin {twin.size}; first differing tick "
                         f"{int(diff[0]) if diff.size else '?'}")
    engine_w: dict[tuple[str, str], list] = {}
    for pname, proj in net.projections.items():
        try:
            pre, post, w, _ = sim.weights(pname)
        except NeuroboxError:
            continue
        pre_pop, post_pop = proj.pre, proj.post
        for a, b, x in zip(pre, post, w):
            src = pre_pop.name if pre_pop.n == 1 else f"{pre_pop.name}.{int(a)}"
            dst = post_pop.name if post_pop.n == 1 else f"{post_pop.name}.{int(b)}"
            engine_w.setdefault((src, dst), []).append(float(x))
    twin_w: dict[tuple[str, str], list] = {}
    lsb = {u.name: float(u.I_lsb) for u in board.units}  # = fixed_unit(u).lif.I_lsb, without quantising again
    for u in board.units:
        for j, inp in enumerate(u.inputs):
            twin_w.setdefault((inp.source, u.name), []).append(int(result.weights[u.name][j]))
    weights_equal = True
    for key, tw in twin_w.items():
        ew = sorted(engine_w.get(key, []))
        tw = sorted(tw)
        same = len(ew) == len(tw) and np.array_equal(np.array(ew) / lsb[key[1]], tw)   # both in I_lsb
        if not same:
            weights_equal = False
            if first is None:
                first = f"weights {key[0]} -> {key[1]}: engine {ew[:4]}, twin {tw[:4]}"
            break
    return {"equal": spikes_equal and weights_equal, "spikes_equal": spikes_equal, "weights_equal": weights_equal,
            "first_difference": first}


def wall_time(result: TwinResult, speed) -> dict:
    """This machine's wall time for the twin's run next to the physical boards' (`speed`: a
    neurobox.hardware.speed.BoardSpeed for the same ticks).

    physical_s: the AVR boards at the model's tick (real time); fastest_s: at the shortest tick their
    slowest unit allows (fastest_tick_us; cycles_per_update measured in simavr, cycles_source says how);
    twin_s: the whole twin run (setup included), twin_loop_s: its event loop; speedup_vs_physical:
    physical_s / twin_s (loop_speedup_vs_physical: physical_s / twin_loop_s).
    """
    physical_s, twin_s, loop_s = speed.avr_real_time_s, result.sim_wall_s, result.loop_s
    fastest = speed.avr_fastest_tick_cycles
    return {"physical_s": round(physical_s, 6), "twin_s": round(twin_s, 6),
            "speedup_vs_physical": round(physical_s / twin_s, 2) if twin_s > 0 else None,
            "twin_loop_s": None if loop_s is None else round(loop_s, 6),
            "loop_speedup_vs_physical": round(physical_s / loop_s, 2) if loop_s else None,
            "tick_ms": speed.dt_ms, "cycles_per_update": speed.avr_cycles_per_tick,
            "cycles_source": speed.avr_cycles_source,
            "fastest_tick_us": None if fastest is None else round(fastest / config.F_CPU * 1e6, 3),
            "fastest_s": None if speed.avr_fastest_s is None else round(speed.avr_fastest_s, 6),
            "tick_fits": None if fastest is None else fastest <= config.tick_timer(speed.dt_ms).cycles}


def summary(result: TwinResult, equal_to_engine: bool | None = None, wall: dict | None = None,
            engine: dict | None = None) -> dict:
    """The JSON summary: units, spikes, lost, bus_load, latency_ms {p50, p99}, equal_to_engine, and details."""
    lat = latency_stats(result.latency_ms)
    out = {
        "units": len(result.unit_names),
        "spikes": result.spikes,
        "lost": result.lost,
        "bus_load": None if result.transport != "bus" else round(float(result.bus["bus_load"]), 6),
        "latency_ms": {"p50": lat["p50"], "p99": lat["p99"]},
        "equal_to_engine": equal_to_engine,
        "transport": result.transport,
        "duration_ms": result.duration_ms,
        "stimulus_spikes": result.stimulus_spikes,
        "spikes_per_unit": {k: int(v.size) for k, v in result.spike_times_ms.items()},
        "deliveries": {"deliverable": result.deliverable, "delivered": result.delivered,
                       "lost_by_cause": result.lost_by_cause, "spurious": result.spurious},
        "latency": {**lat, "histogram": latency_histogram(result.latency_ms)},
        "faults": [repr(f) for f in result.faults],
        "resets": [{"unit": r["unit"], "time_ms": r["time_ms"], "boot_ms": r["boot_ms"],
                    "weights_before": [int(x) for x in r["weights_before"]],
                    "weights_after": [int(x) for x in r["weights_after"]], "I_lsb_pA": r["I_lsb_pA"],
                    "weights_before_pA": [round(int(x) * r["I_lsb_pA"], 6) for x in r["weights_before"]],
                    "weights_after_pA": [round(int(x) * r["I_lsb_pA"], 6) for x in r["weights_after"]]}
                   for r in result.resets],
        "twin_s": round(result.sim_wall_s, 6),
    }
    if result.transport == "bus":
        b = result.bus
        out["bus"] = {"load": round(float(b["bus_load"]), 6), "peak_tick_load": round(b["bus_load_peak"], 6),
                      "bytes": b["bytes"], "late_bytes": b["late_bytes"], "first_late_ms": b["first_late_ms"],
                      "max_waiting": b["max_waiting"], "slots_per_tick": b["slots_per_tick"],
                      "saturated": b["saturated"], "saturation": b["saturation"]}
    if engine is not None:
        out["engine"] = engine
    if wall is not None:
        out["wall_time"] = wall
    return out


def check_duration(duration_ms) -> float:
    if duration_ms is None:
        return None
    if not (duration_ms > 0 and np.isfinite(duration_ms)):
        raise ConfigError("--duration", f"must be a finite number of ms > 0, got {duration_ms!r}")
    return float(duration_ms)
