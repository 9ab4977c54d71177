"""`neurobox firmware build|verify MODEL.toml`: every neuron as ATmega8 firmware, checked in simavr."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from neurobox.cli import add_force, add_quiet

TARGETS = ("atmega8",)
MODES = ("wired", "bus")
MAX_STEPS = 1_000_000
"""Ticks emulated at most (100 s of model time at 0.1 ms; simavr runs every unit's firmware for each)."""


def register(sub) -> None:
    p = sub.add_parser("firmware", help="build and verify one ATmega8 firmware per neuron",
                       description="Turn every neuron of a model file into ATmega8 firmware (one chip per "
                                   "neuron, WS2812 LED, on-chip STDP or reward-modulated STDP) and verify it "
                                   "bit-exact in simavr.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    b = actions.add_parser("build", help="write .hex/.elf, pin maps and a resource report per neuron")
    b.add_argument("model", help="model file (TOML), or a built-in model such as board")
    b.add_argument("--target", default="atmega8", choices=TARGETS, help="microcontroller (default atmega8)")
    b.add_argument("--out", required=True, help="directory for the firmware files")
    b.add_argument("--mode", default="wired", choices=MODES,
                   help="wired: spikes are pulses on axon/dendrite pins; bus: address-event bytes on the UART")
    b.add_argument("--steps", type=int, default=1000, help="ticks emulated to measure cycles (default 1000)")
    b.add_argument("--reward", metavar="PULSES", help=REWARD_HELP + " (default for units that learn by reward: "
                                                                    "a pulse every other tick)")
    b.add_argument("--json", action="store_true", help="print the resource report as JSON")
    add_quiet(b)
    add_force(b)
    b.set_defaults(func=build)

    v = actions.add_parser("verify", help="run every neuron's firmware in simavr against the Python spec")
    v.add_argument("model", help="model file (TOML), or a built-in model such as board")
    v.add_argument("--steps", type=int, default=1000, help="ticks to compare (default 1000)")
    v.add_argument("--mode", default="wired", choices=MODES, help="connection mode (default wired)")
    v.add_argument("--reward", metavar="PULSES", help=REWARD_HELP + " (default: none)")
    v.add_argument("--json", action="store_true",
                   help='print {"units", "steps", "bit_exact", "led_ok", "cycles_per_update", ...}')
    add_quiet(v)
    v.set_defaults(func=verify)


REWARD_HELP = ("the host's reward pulses: TICK:PULSE pairs such as 200:1,450:-1 (+1 reward, -1 punishment, seen "
               "by every unit in that tick), or a .npy or text file with one pulse per tick")


def _reward(text: str | None, steps: int):
    """The --reward argument as int64[steps], or None."""
    import numpy as np

    from neurobox.errors import ConfigError
    if text is None:
        return None
    path = Path(text)
    if path.is_file():
        from neurobox.paths import check_input_file
        check_input_file(path, "reward file")
        pulses = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, ndmin=1)
        if pulses.shape != (steps,):
            raise ConfigError("--reward", f"{text} holds {pulses.size} pulses; expected {steps}, one per tick")
        return pulses.astype(np.int64)
    pulses = np.zeros(steps, dtype=np.int64)
    for pair in filter(None, text.split(",")):
        try:
            tick, pulse = (int(v) for v in pair.split(":"))
        except ValueError:
            raise ConfigError("--reward", f"expected TICK:PULSE pairs (e.g. 200:1,450:-1) or a file, got {pair!r}") \
                from None
        if not 0 <= tick < steps or pulse not in (-1, 1):
            raise ConfigError("--reward", f"{pair}: the tick must be in [0, {steps}) and the pulse +1 or -1")
        pulses[tick] = pulse
    return pulses


def _steps(n: int) -> int:
    from neurobox.limits import check_count
    return check_count(n, "--steps", 1, MAX_STEPS, "every unit's firmware runs in simavr for each tick")


def build(args) -> int:
    from neurobox.examples import resolve
    from neurobox.network.modelfile import load
    from neurobox.paths import claim_folder, output_folder
    from neurobox.targets import exporter, require

    steps = _steps(args.steps)
    out = output_folder(args.out, "--out", "firmware build", force=args.force, claim=False)
    net = load(resolve(args.model))
    firmware = exporter("firmware")
    require(firmware, net)
    reward = _reward(args.reward, steps)
    claim_folder(out, "--out", "firmware build")
    from neurobox.engine.progress import for_cli
    from neurobox.text import plural

    with for_cli(args) as bar:
        report = firmware.export(net, out, mode=args.mode, steps=steps, reward=reward, progress=bar)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{plural(len(report['units']), 'unit')} for {args.target} at 16 MHz, {args.mode} mode, "
          f"tick {report['dt_ms']:g} ms "
          f"({report['tick_cycles']} cycles), written to {args.out}")
    for u in report["units"]:
        print(f"  {u['unit']:<14} {plural(u['inputs'], 'input ', 'inputs', 3)}  flash {u['flash_bytes']:>5}/{u['flash_of']} B  "
              f"SRAM {u['sram_bytes']:>4}/{u['sram_of']} B  {u['cycles_per_update']:>6} cycles/update  "
              f"up to {u['fastest_update_hz']:>8.0f} Hz  x{u['real_time_factor']:.2f} real time")
    if "bus" in report:
        bus = report["bus"]
        print(f"  bus: {bus['baud']} baud (UBRR {bus['ubrr']}{', U2X' if bus['u2x'] else ''}), "
              f"{bus['bytes_per_s']:g} bytes/s, load {100 * bus['load']:.3f} %, "
              f"{plural(bus['addresses'], 'slot')} from "
              f"cycle {bus['slot_base_cycles']} to {bus['slots_end_cycles']} of {bus['tick_cycles']}; "
              f"a tick with every source firing: {bus['worst_case_cycles']} cycles"
              f"{'' if bus['worst_case_fits'] else ' (over the tick)'}")
    return 0


def verify(args) -> int:
    from neurobox.examples import resolve
    from neurobox.hardware.avr.network import verify_board
    from neurobox.hardware.board import load_board

    steps = _steps(args.steps)
    board = load_board(resolve(args.model))
    from neurobox.engine.progress import for_cli
    from neurobox.text import plural

    reward = _reward(args.reward, steps)
    with for_cli(args) as bar:
        summary, _ = verify_board(board, steps, args.mode, reward=reward, progress=bar)
    ok = summary["bit_exact"] and summary["led_ok"] and summary["output_ok"]
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{plural(summary['units'], 'unit')}, {plural(summary['steps'], 'tick')}, {args.mode} mode: "
              f"bit-exact {'yes' if summary['units_bit_exact'] else 'NO'} (each unit), "
              f"{'yes' if summary['board_bit_exact'] else 'NO'} (whole board, clocks out of phase), "
              f"LED {'ok' if summary['led_ok'] else 'WRONG'}, "
              f"spike output {'ok' if summary['output_ok'] else 'WRONG'}, "
              f"at most {summary['cycles_per_update']} cycles/update")
    if "first_mismatch" in summary:
        m = summary["first_mismatch"]
        print(f"first mismatch: unit {m['unit']}, step {m['step']}, {m['variable']}: firmware {m['firmware']}, "
              f"reference {m['reference']}" + (f" ({m['where']})" if "where" in m else ""), file=sys.stderr)
    for key in ("led_faults", "output_faults"):
        if key in summary:
            print(f"{key.replace('_', ' ')}: unit {summary[key]['unit']}: {summary[key]['faults'][0]}", file=sys.stderr)
    return 0 if ok else 1
