"""How long the physical board would take to train each task, every unit in parallel, against this machine.

Training table. XOR: the physical configuration (xor.PHYSICAL: 13 hidden units and the output, dt = 1
ms, one seed; its training and test trials); digits: the physical network (UnitDigitsConfig) at 25, 50
and 100 learning units, one epoch. For each, the wall time of training on this machine:

    float  the engine in float: XOR the same network in float; digits the task's float network
           (DigitsConfig, iaf_cond_exp, dt = 0.5 ms) with as many learning neurons, one epoch
    fixed  the engine in the units' fixed point (`neurobox train TASK --target fixed`)
    twin   the twin (`--target twin`): every unit on its own clock, over the bus

next to the physical board for the same ticks (neurobox.hardware.speed): the AVR board as built (real
time), the AVR board at the fastest tick its slowest unit (simavr) and its bus allow, and the FPGA cells
at the Fmax nextpnr reports for the slowest cell. A digits board of 100 units needs 164 bus addresses:
one AVR bus carries 126, so neither the AVR board nor the twin has it (the FPGA figure is that of its cells).

Sweep. The per-tick cost against size: a digits layer of N learning units (64 pixel inputs, lateral
inhibition from every peer; UnitDigitsConfig with n_exc = N) in the fixed engine, trained on images as
`train` does (one image per engine run), wall seconds per model second (the least over the images),
against the board's seconds per model second, which stay the same while every unit works in parallel:
the AVR board's (real time, and its fastest tick as measured at 25 and 50 units, where one bus carries
the layer), and the FPGA cell's longest update for N units (neurobox.hardware.fpga.cell.max_update_cycles:
one clock cycle more per inhibitory input) at the Fmax synthesised for the 25- and 50-unit cells (a larger
cell's Fmax is not synthesised). The size at which the board overtakes the engine is the smallest N of the
sweep from which on the engine needs more seconds per model second than the board (None: not in the sweep).

Writes benchmarks/results/board_speed.json (atomically) and prints markdown tables.

    PYTHONPATH=. .venv/bin/python benchmarks/board_speed.py [--quick] [--big] [--no-synth]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from neurobox.files import atomic_write_text  # noqa: E402
from neurobox.hardware.avr.bus import plan_bus  # noqa: E402
from neurobox.hardware.avr.config import F_CPU  # noqa: E402
from neurobox.hardware.avr.network import shortest_tick_cycles  # noqa: E402
from neurobox.hardware.board import units_from_network  # noqa: E402
from neurobox.hardware.fpga.cell import max_update_cycles  # noqa: E402
from neurobox.hardware.speed import OSCILLATOR_MHZ  # noqa: E402
from neurobox.hardware.unit import MAX_ADDRESS, Input, fixed_unit  # noqa: E402
from neurobox.tasks import digits, xor  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "board_speed.json"
SIZES = (25, 50, 100)
SWEEP = (25, 50, 100, 200, 400, 800, 1600, 3200)


def _fits_bus(n_exc: int) -> bool:
    return n_exc + digits.N_PIXELS <= MAX_ADDRESS + 1


def _speed_fields(speed) -> dict:
    d = speed.as_dict()
    keep = ("ticks", "model_s", "avr_real_time_s", "avr_cycles_per_tick", "avr_slowest_unit", "avr_cycles_source",
            "bus_baud", "bus_slots_cycles", "avr_fastest_tick_cycles", "avr_fastest_tick_us", "avr_fastest_s",
            "avr_top_baud_s", "fpga_update_cycles", "fpga_clock_mhz", "fpga_clock_source", "fpga_fmax_mhz",
            "fpga_tick_us", "fpga_s", "fpga_device", "fpga_cells_per_device")
    return {k: d[k] for k in keep}


def xor_case(epochs: int, fmax) -> dict:
    """XOR, physical configuration, seed 0: float, fixed, twin and the board."""
    config = replace(xor.PHYSICAL, epochs=epochs)
    row = {"task": "xor", "units": config.n_hidden + 1, "epochs": epochs}
    runs = {}
    for name, cfg, target in (("float", replace(config, precision="float"), "engine"), ("fixed", config, "engine"),
                              ("twin", config, "twin")):
        xor.run_seed(replace(cfg, epochs=1, test_trials=4), 0, target)   # warm up: kernels loaded, not timed
        runs[name] = xor.run_seed(cfg, 0, target)
        row[f"{name}_s"] = round(runs[name].seconds, 3)
        row[f"{name}_accuracy"] = runs[name].accuracy
        print(f"  xor {name}: {runs[name].seconds:.2f} s", flush=True)
    row["board"] = _speed_fields(xor.board_speed(config, [runs["twin"]], fmax))
    return row


def digits_case(n: int, epochs: int, fmax, limit: int | None = None) -> dict:
    """Digits on n learning units, one training pass of `epochs`: float, fixed, twin (if one bus carries it)
    and the board. `limit`: train on the first `limit` images only (quick runs)."""
    config = replace(digits.UnitDigitsConfig(), n_exc=n, epochs=epochs)
    float_config = replace(digits.DigitsConfig(), n_exc=n, epochs=epochs)
    row = {"task": "digits", "units": n, "epochs": epochs, "images": limit}
    restore = digits.load_split
    if limit is not None:   # a quick run: a short training split
        def load_split(seed, _f=restore):
            x_tr, y_tr, x_te, y_te = _f(seed)
            return x_tr[:limit], y_tr[:limit], x_te, y_te
        digits.load_split = load_split
    try:
        trained = {}
        for name, cfg, target in (("float", float_config, "engine"), ("fixed", config, "engine"),
                                  ("twin", config, "twin")):
            if name == "twin" and not _fits_bus(n):
                row["twin_s"] = None
                continue
            try:   # warm up (kernels loaded), not timed
                digits.train(replace(cfg, epochs=1), 0, target=target, progress=_stop_after(2 * cfg.batch))
            except _Enough:
                pass
            trained[name] = digits.train(cfg, 0, target=target)
            row[f"{name}_s"] = round(trained[name].train_seconds, 3)
            print(f"  digits {n} {name}: {trained[name].train_seconds:.2f} s", flush=True)
    finally:
        digits.load_split = restore
    fixed = trained["fixed"]
    if _fits_bus(n):
        row["board"] = _speed_fields(digits.board_speed(fixed, fmax))
    else:
        ticks = int(round(fixed.model_ms / config.dt))
        cycles = layer_cell_cycles(n)
        mhz = fmax if isinstance(fmax, float) else None
        row["board"] = {"ticks": ticks, "model_s": round(ticks * config.dt / 1000, 3), "avr_real_time_s": None,
                        "avr_fastest_s": None, "avr_top_baud_s": None, "fpga_update_cycles": cycles,
                        "fpga_fmax_mhz": mhz, "fpga_s": None if mhz is None else round(ticks * cycles / (mhz * 1e6), 3),
                        "note": f"{n + digits.N_PIXELS} bus addresses: one AVR bus carries {MAX_ADDRESS + 1}"}
    return row


class _Enough(Exception):
    pass


def _stop_after(images: int):
    """A progress callback that ends a training after `images` images (a warm-up)."""
    seen = [0]

    def progress(fraction, detail):
        seen[0] += 1
        if seen[0] >= images:
            raise _Enough
    return progress


def layer_cell_cycles(n: int) -> int:
    """The longest update (FPGA clock cycles) of a learning unit of a digits layer of n units: the unit of the
    25-unit board with the inhibitory inputs and the rule's constants of n units
    (neurobox.hardware.fpga.cell.max_update_cycles)."""
    return max_update_cycles(layer_unit(n))


def layer_unit(n: int):
    """exc.0 of the physical digits network with n learning units, built without a board (more than one bus's
    addresses): the 25-unit description with n - 1 peers' inputs and theta_plus and the halving schedule of n."""
    base = replace(digits.UnitDigitsConfig(), n_exc=25)
    desc = units_from_network(digits.build_network(base, 0)).units[0]
    inh = next(i for i in desc.inputs if i.receptor == "inhibitory")
    pixels = tuple(i for i in desc.inputs if i.receptor == "excitatory")
    peers = tuple(Input(f"exc.{k}", "inhibitory", inh.weight, delay=inh.delay, projection=inh.projection)
                  for k in range(1, n))
    config = replace(base, n_exc=n)
    params = {**desc.params, "theta_plus": config.theta_per_unit * n}
    rule = {**desc.rule, "halve_every": float(max(1, round(config.halve_after / n)))}
    return fixed_unit(replace(desc, params=params, rule=rule, inputs=pixels + peers))


def sweep(sizes, images: int, avr: dict, fmax_mhz: float) -> list[dict]:
    """Fixed-engine wall seconds per model second for a digits layer of each size, against the board's."""
    from neurobox.targets import open_handle

    x_tr = digits.load_split(0)[0]
    rows = []
    for n in sizes:
        config = replace(digits.UnitDigitsConfig(), n_exc=n)
        sim = open_handle(digits.build_network(config, 0), "engine", progress=False)
        digits._present_all(sim, config, x_tr[:1], 0, "train", np.arange(1))   # warm up
        ratios = []
        for k in range(1, images + 1):
            t0, start = sim.time, time.perf_counter()
            digits._present_all(sim, config, x_tr[k:k + 1], 0, "train", np.arange(k, k + 1))
            ratios.append((time.perf_counter() - start) / ((sim.time - t0) / 1000.0))
        del sim
        cycles = layer_cell_cycles(n)
        one_bus = _fits_bus(n)
        fast = None
        if one_bus and avr:   # the busiest tick measured (at this size, else the most of any size), or the slots
            bus = plan_bus(n + digits.N_PIXELS, config.dt)   # of this layer's bus if longer
            fast = shortest_tick_cycles(avr.get(n) or max(avr.values()), "bus", bus)
        row = {"units": n, "synapses": n * digits.N_PIXELS + n * (n - 1), "engine_fixed_s_per_s": round(min(ratios), 5),
               "avr_real_time_s_per_s": 1.0 if one_bus else None,
               "avr_fastest_s_per_s": None if not (one_bus and fast) else round(1000 * fast / F_CPU, 5),
               "fpga_update_cycles": cycles,
               "fpga_s_per_s": round(1000 * cycles / (fmax_mhz * 1e6), 5)}
        rows.append(row)
        print(f"  sweep {n}: engine {row['engine_fixed_s_per_s']:.4f} s/s, FPGA {row['fpga_s_per_s']:.4f} s/s",
              flush=True)
    return rows


def crossover(rows: list[dict], key: str) -> int | None:
    """The smallest size from which on (every larger size of the sweep too) the engine needs more seconds per
    model second than the board's `key`; None if there is none."""
    found = None
    for r in reversed(rows):
        if r[key] is None or r["engine_fixed_s_per_s"] <= r[key]:
            break
        found = r["units"]
    return found


def _s(x) -> str:
    return "—" if x is None else f"{x:.3g}"


def table(rows: list[dict]) -> str:
    lines = ["| task | units | model s | engine float s | engine fixed s | twin s | AVR real time s | "
             "AVR fastest tick s | FPGA s (clock) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = r["board"]
        clock = b.get("fpga_fmax_mhz") or b.get("fpga_clock_mhz")
        per = (f", {b['fpga_cells_per_device']} cell(s)/{b['fpga_device'].upper()}"
               if b.get("fpga_cells_per_device") else "")
        clock_text = "" if clock is None else f" ({clock:.1f} MHz{'' if b.get('fpga_fmax_mhz') else ' osc.'}{per})"
        fast = _s(b.get("avr_fastest_s"))
        if b.get("avr_fastest_tick_us"):
            fast += f" ({b['avr_fastest_tick_us']:.0f} us/tick)"
        name = r["task"] + (f" ({r['epochs']} epoch{'s' if r['epochs'] > 1 else ''})" if r["task"] == "digits" else "")
        lines.append(f"| {name} | {r['units']} | {b['model_s']:.0f} | {_s(r.get('float_s'))} | "
                     f"{_s(r.get('fixed_s'))} | {_s(r.get('twin_s'))} | {_s(b.get('avr_real_time_s'))} | {fast} | "
                     f"{_s(b.get('fpga_s'))}{clock_text} |")
    return "\n".join(lines)


def sweep_table(rows: list[dict]) -> str:
    lines = ["| learning units N | synapses | engine fixed (s per model s) | AVR real time | AVR fastest tick | "
             "FPGA cycles/tick | FPGA (s per model s) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['units']} | {r['synapses']} | {r['engine_fixed_s_per_s']:.4f} | "
                     f"{_s(r['avr_real_time_s_per_s'])} | {_s(r['avr_fastest_s_per_s'])} | {r['fpga_update_cycles']} | "
                     f"{_s(r['fpga_s_per_s'])} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run for tests: XOR 4 epochs, digits 25 units on "
                                                         "40 images, sweep 25 and 50 on 2 images, no synthesis")
    ap.add_argument("--big", action="store_true", help="also digits at 400 units (engine only)")
    ap.add_argument("--no-synth", action="store_true", help="no synthesis: Fmax from the cache, else 12 MHz")
    ap.add_argument("--out", default=str(OUT), help=f"JSON file (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    fmax = "cached" if (args.quick or args.no_synth) else "synth"
    started = time.perf_counter()
    rows = [xor_case(4 if args.quick else xor.PHYSICAL.epochs, fmax)]
    sizes = (25,) if args.quick else SIZES + ((400,) if args.big else ())
    for n in sizes:
        rows.append(digits_case(n, 1, fmax, limit=40 if args.quick else None))
    # the layer's Fmax: the slowest of the synthesised digits cells (25, 50 units)
    fmaxes = [r["board"].get("fpga_fmax_mhz") for r in rows if r["task"] == "digits"]
    fmaxes = [f for f in fmaxes if f]
    layer_fmax = min(fmaxes) if fmaxes else None
    layer_clock = layer_fmax or OSCILLATOR_MHZ
    for r in rows:   # digits boards beyond one bus: their cells at the layer's Fmax
        b = r["board"]
        if r["task"] == "digits" and b.get("fpga_s") is None:
            b["fpga_fmax_mhz"], b["fpga_clock_mhz"] = layer_fmax, layer_clock
            b["fpga_s"] = round(b["ticks"] * b["fpga_update_cycles"] / (layer_clock * 1e6), 3)
    avr = {r["units"]: r["board"]["avr_cycles_per_tick"] for r in rows
           if r["task"] == "digits" and r["board"].get("avr_cycles_per_tick")}
    sweep_rows = sweep((25, 50) if args.quick else SWEEP, 2 if args.quick else 8, avr, layer_clock)
    result = {"rows": rows, "sweep": sweep_rows, "layer_fmax_mhz": layer_fmax, "layer_clock_mhz": layer_clock,
              "crossover": {"avr_real_time": crossover(sweep_rows, "avr_real_time_s_per_s"),
                            "avr_fastest": crossover(sweep_rows, "avr_fastest_s_per_s"),
                            "fpga": crossover(sweep_rows, "fpga_s_per_s")},
              "quick": args.quick, "seconds": round(time.perf_counter() - started, 1)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(result, indent=1) + "\n")
    print(table(rows))
    print()
    print(sweep_table(sweep_rows))
    print()
    c = result["crossover"]
    print(f"the board overtakes the fixed engine at N = {c['fpga'] or 'none of the sweep'} (FPGA at "
          f"{layer_clock:.1f} MHz{'' if layer_fmax else ', the oscillator: not synthesised'}), "
          f"{c['avr_fastest'] or 'none of the sweep'} (AVR, fastest tick), "
          f"{c['avr_real_time'] or 'none of the sweep'} (AVR, real time); {result['seconds']:.0f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
