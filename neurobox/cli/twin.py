"""`neurobox twin MODEL.toml`: the network as independent physical units on wires or a bus, with faults."""
from __future__ import annotations

import json
import sys

from neurobox.cli import add_force, add_quiet


def register(sub) -> None:
    from neurobox.twin.faults import SYNTAX

    p = sub.add_parser("twin", help="simulate the physical board: units on their own clocks, wires or a bus, faults",
                       description="Run every neuron as its own unit (the ATmega8 firmware's arithmetic) on its own "
                                   "clock, connected by wires or a shared bus, with faults injected; report spikes, "
                                   "losses, latency, bus load and how long the real boards would take.")
    p.add_argument("model", help="model file (TOML), or a built-in model such as board")
    p.add_argument("--transport", choices=("wire", "bus"), default="bus", help="how spikes travel (default bus)")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC", help=f"inject a fault: {SYNTAX}")
    p.add_argument("--duration", type=float, help="model time, ms (default: the file's)")
    p.add_argument("--seed", type=int, default=0, help="seed of packet and pulse loss (default 0)")
    p.add_argument("--bus-access", choices=("slots", "csma"), default="slots",
                   help="slots: each address sends in its slot of the tick (the firmware); csma: right after the "
                        "update, waiting for a free line (default slots)")
    p.add_argument("--baud", type=int, default=None, help="bus bit rate, bit/s (default: the speed planned for the board, "
                                                              "250000 to 2000000)")
    p.add_argument("--explore", action="store_true",
                   help="run a board the firmware could not be built as (more inputs than dendrite pins on "
                        "wires, beyond the SRAM, a bus whose slots do not fit the tick); default: refused with the "
                        "planner's numbers. An explicit --baud is explored without it")
    p.add_argument("--wire-delay-us", type=float, default=0.0, help="propagation delay of a wire, us (default 0)")
    p.add_argument("--cycles", default="auto",
                   help="cycles per update for the wall-time estimate: auto (measure in simavr if installed), "
                        "none, or a number")
    p.add_argument("--fpga-synth", action="store_true",
                   help="synthesise the FPGA cells for the board's time at Fmax (board_speed; once per distinct "
                        "cell, then cached); without it, a cached synthesis or the 12 MHz oscillator")
    p.add_argument("--no-engine", action="store_true", help="do not run the engine to check equality")
    p.add_argument("--json", action="store_true",
                   help='print {"units", "spikes", "lost", "bus_load", "latency_ms": {"p50", "p99"}, '
                        '"equal_to_engine", "wall_time", "board_speed", ...}')
    p.add_argument("--plot", metavar="DIR", help="write latency.png (and bus_load.png) to DIR")
    add_quiet(p)
    add_force(p)
    p.set_defaults(func=run)


def _cycles(text: str):
    from neurobox.errors import ConfigError

    if text in ("auto", "none"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise ConfigError("--cycles", f"expected auto, none or a whole number of cycles, got {text!r}") from None
    if value < 1:
        raise ConfigError("--cycles", f"must be >= 1, got {value}")
    return value


def run(args) -> int:
    from neurobox.examples import resolve
    from neurobox.errors import ConfigError
    from neurobox.hardware.board import load_board
    from neurobox.twin import BusParams, WireParams, compare_with_engine, run_twin, summary, wall_time
    from neurobox.limits import check_duration
    from neurobox.paths import claim_folder, output_folder

    cycles = _cycles(args.cycles)
    duration = check_duration(args.duration)
    if args.seed < 0:
        raise ConfigError("--seed", f"must be >= 0, got {args.seed}")
    if not 0 <= args.wire_delay_us <= 1e6:
        raise ConfigError("--wire-delay-us", f"must be in [0, 1e6] us, got {args.wire_delay_us}")
    plots = None if args.plot is None else output_folder(args.plot, "--plot", "twin", force=args.force, claim=False)
    board = load_board(resolve(args.model))
    check_duration(duration if duration is not None else board.network.duration,
                   "--duration" if duration is not None else "network.duration", dt=board.dt)
    if plots is not None:
        claim_folder(plots, "--plot", "twin")
    bus = BusParams(access=args.bus_access, **({"baud": args.baud} if args.baud is not None else {}))
    bus.check()
    from neurobox.engine.progress import for_cli

    with for_cli(args) as bar:
        bar.phase("twin")
        result = run_twin(board, duration, transport=args.transport, faults=args.fault, seed=args.seed,
                          wire=WireParams(int(round(args.wire_delay_us * 1000))), bus=bus, explore=args.explore,
                          progress=bar.update)
        equal, engine = None, None
        if result.ideal and not args.no_engine:
            bar.phase("engine", "the same board in the fixed-point engine")
            engine = compare_with_engine(board, result)
            equal = engine["equal"]
        from neurobox.hardware.board import steps_for
        from neurobox.hardware.speed import board_speed

        bar.phase("speed", ("the boards' cycles (simavr)" if cycles == "auto" else "the boards' time")
                  + (" and the cells' Fmax (yosys, nextpnr)" if args.fpga_synth else ""))
        speed = board_speed(board, steps_for(board, result.duration_ms),
                            mode="wired" if args.transport == "wire" else "bus",
                            avr_cycles="measure" if cycles == "auto" else None if cycles == "none" else cycles,
                            fmax_mhz="synth" if args.fpga_synth else "cached")
        wall = wall_time(result, speed)
        out = summary(result, equal, wall, engine)
        out["board_speed"] = speed.as_dict()
        if args.plot:
            bar.phase("plots")
            from neurobox.viz.twin_plots import plot_all
            out["plots"] = [str(p) for p in plot_all(result, plots)]
    if args.json:
        print(json.dumps(out))
    else:
        _print(out, sys.stdout)
    if out.get("bus", {}).get("saturated"):
        print("neurobox twin: warning: the bus is saturated: " + "; ".join(out["bus"]["saturation"]), file=sys.stderr)
    return 0


def _pA(values) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "] pA"


def _print(s: dict, f) -> None:
    from neurobox.text import plural
    from neurobox.twin.transport import LATE_BYTES, LOSS_CAUSES

    lat = s["latency_ms"]
    lat_text = "no delivery" if lat["p50"] is None else f"p50 {lat['p50']:.3f} ms, p99 {lat['p99']:.3f} ms"
    print(f"{plural(s['units'], 'unit')}, {s['transport']}, {s['duration_ms']:g} ms: {plural(s['spikes'], 'spike')} "
          f"(+{s['stimulus_spikes']} stimulus), {plural(s['lost'], 'delivery', 'deliveries')} lost, "
          f"latency {lat_text}", file=f)
    causes = s["deliveries"]["lost_by_cause"]
    if causes:
        print("  lost by cause: " + ", ".join(f"{k} {v}" for k, v in causes.items()), file=f)
    late = 0
    if "bus" in s:
        b = s["bus"]
        late = b["late_bytes"]
        print(f"  bus: load {100 * b['load']:.3f} % (peak tick {100 * b['peak_tick_load']:.1f} %), "
              f"{plural(b['bytes'], 'byte')}, {late} late, saturated: {'YES' if b['saturated'] else 'no'}", file=f)
    for cause in causes:     # each cause named above, explained once
        print(f"    {cause}: {LOSS_CAUSES.get(cause, 'lost for a reason the twin does not name')}", file=f)
    if late:
        print(f"    {LATE_BYTES}", file=f)
    for r in s["resets"]:
        print(f"  reset {r['unit']} at {r['time_ms']:g} ms: weights {_pA(r['weights_before_pA'])} -> "
              f"{_pA(r['weights_after_pA'])} (from EEPROM)", file=f)
    eq = s["equal_to_engine"]
    print("  equal to the fixed-point engine: " + ("not checked (faults or clock settings)" if eq is None
                                                    else "yes" if eq else f"NO ({s['engine']['first_difference']})"),
          file=f)
    w = s["wall_time"]
    speed = w["speedup_vs_physical"]
    pace = ("" if not speed else f", {speed:g} times as fast as the AVR boards in real time" if speed >= 1
            else f", {1 / speed:.2f} times slower than the AVR boards in real time")
    print(f"  wall time: twin {w['twin_s']:.3f} s (event loop {w['twin_loop_s']:.3f} s){pace}", file=f)
    if "board_speed" in s:
        from neurobox.hardware.speed import BoardSpeed

        print("  " + BoardSpeed.from_dict(s["board_speed"]).line({"twin": w["twin_s"]}, what="run this"), file=f)
    for p in s.get("plots", []):
        print(f"  wrote {p}", file=f)
