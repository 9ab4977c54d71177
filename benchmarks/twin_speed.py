"""How fast the twin runs a digits-sized board, against the physical boards at a 1 kHz tick.

The board: 64 Poisson inputs (one per pixel of an 8x8 image, 20 Hz) -> 32
learning iaf_psc_exp units (all-to-all, plastic pair STDP) with lateral
inhibition among them; dt = 1 ms, so the physical boards run in real time
(1 s of model = 1 s of wall time). For each case the twin runs `--repeat`
times (kernels compiled and cached beforehand); prints one JSON line per
case with the best and median wall time and the speed-up over the boards.
`--sweep` adds the effect of packet loss (bus, csma) on the learning units:
spikes, deliveries lost and how far the learned weights move from the
loss-free run.

    .venv/bin/python benchmarks/twin_speed.py [--duration MS] [--units N] [--repeat K] [--sweep]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import neurobox as nb
from neurobox.hardware.board import units_from_network
from neurobox.twin import BusParams, run_twin, summary

LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0, "E_L": -70.0,
       "V_reset": -70.0, "V_th": -55.0}
STDP = {"rule": "stdp", "tau_plus": 16.0, "tau_minus": 16.0, "A_plus": 10.0, "A_minus": 12.0,
        "w_min": 0.0, "w_max": 600.0}


def digits_board(n_units: int = 32, rate_hz: float = 20.0, seed: int = 3):
    """64 Poisson pixel inputs -> n_units plastic LIF units with lateral inhibition, dt = 1 ms."""
    net = nb.Network(dt=1.0, seed=seed)
    net.population("pixels", 64, "poisson_generator", {"rate": rate_hz})
    net.population("learn", n_units, "iaf_psc_exp", LIF)
    net.connect("pixels", "learn", "all_to_all", delay=1.0, receptor="excitatory", plasticity=STDP,
                weight={"distribution": "uniform", "low": 100.0, "high": 500.0})
    net.connect("learn", "learn", "all_to_all", allow_autapses=False, weight=-300.0, delay=1.0,
                receptor="inhibitory")
    return units_from_network(net)


def _case(board, duration, repeat, transport, access, faults):
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = run_twin(board, duration, transport=transport, faults=list(faults),
                       bus=BusParams(access=access) if access else None)
        walls.append(time.perf_counter() - t0)
    s = summary(res)
    best, median = min(walls), statistics.median(walls)
    physical = res.duration_ms / 1000.0
    return res, {"transport": transport, "access": access, "faults": list(faults), "units": s["units"],
                 "stimulus_neurons": len(board.sources), "model_ms": res.duration_ms,
                 "twin_s_best": round(best, 3), "twin_s_median": round(median, 3), "physical_s_at_1kHz": physical,
                 "speedup_best": round(physical / best, 1), "speedup_median": round(physical / median, 1),
                 "event_loop_s_last": round(res.loop_s, 3),
                 "group_ticks": res.group_ticks, "spikes": s["spikes"], "stimulus_spikes": s["stimulus_spikes"],
                 "lost": s["lost"], "lost_by_cause": s["deliveries"]["lost_by_cause"], "bus_load": s["bus_load"],
                 "saturated": s.get("bus", {}).get("saturated"), "late_bytes": s.get("bus", {}).get("late_bytes"),
                 "latency_ms": s["latency_ms"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10_000.0, help="model time, ms (default 10000)")
    ap.add_argument("--units", type=int, default=32, help="learning units (default 32)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    ap.add_argument("--sweep", action="store_true", help="also sweep the packet loss rate")
    args = ap.parse_args()
    board = digits_board(args.units)
    run_twin(board, 50.0, transport="wire")
    run_twin(board, 50.0, transport="bus", faults=["drop:0.1"])  # compile / load every kernel once
    cases = [("bus", "csma", ()), ("wire", None, ()), ("bus", "slots", ()),
             ("bus", "csma", ("drift:learn.0=200ppm", "drop:0.05"))]
    for transport, access, faults in cases:
        print(json.dumps(_case(board, args.duration, args.repeat, transport, access, faults)[1]), flush=True)
    if args.sweep:
        base = run_twin(board, args.duration, transport="bus", bus=BusParams(access="csma"))
        w0 = np.concatenate([base.weights[n] for n in base.unit_names])
        plastic = np.concatenate([np.array(u.plastic) for u in board.fixed()])
        for rate in (0.0, 0.01, 0.05, 0.1, 0.2, 0.5):
            res = run_twin(board, args.duration, transport="bus", bus=BusParams(access="csma"),
                           faults=[f"drop:{rate}"], seed=1)
            w = np.concatenate([res.weights[n] for n in res.unit_names])
            print(json.dumps({"sweep": "drop", "rate": rate, "spikes": res.spikes, "lost": res.lost,
                              "mean_abs_weight_change_vs_lossless_lsb": round(float(np.abs(w - w0)[plastic].mean()), 2),
                              "mean_weight_lsb": round(float(w[plastic].mean()), 1)}), flush=True)


if __name__ == "__main__":
    main()
