"""The `neurobox` command: parses arguments and delegates to the library.

Each subcommand lives in its own module here with a `register(subparsers)`
function that adds its parser and sets `func` (called with the parsed
arguments; returns an exit code). Errors a user can fix come out as one
line on stderr and exit status 2, with no traceback. A command checks its
arguments and every path it writes (neurobox.paths, neurobox.limits)
before it starts its work.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from neurobox.errors import NeuroboxError

SUBCOMMAND_MODULES = [
    "neurobox.cli.run",
    "neurobox.cli.demo",
    "neurobox.cli.drift",
    "neurobox.cli.probe",
    "neurobox.cli.firmware",
    "neurobox.cli.twin",
    "neurobox.cli.fpga",
    "neurobox.cli.reservoir",
    "neurobox.cli.motifs",
    "neurobox.cli.train",
    "neurobox.cli.board",
    "neurobox.cli.exchange",
    "neurobox.cli.sweep",
    "neurobox.cli.kit",
    "neurobox.cli.vehicle",
]


def add_force(parser: argparse.ArgumentParser) -> None:
    """The --force flag of a command that writes (see neurobox.paths for the rules it relaxes)."""
    parser.add_argument("--force", action="store_true",
                        help="overwrite an existing file, or write into an existing folder, that this command "
                             "did not write")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """The --quiet flag of a command that shows progress (neurobox.engine.progress: on a terminal only, never
    in CI)."""
    parser.add_argument("--quiet", action="store_true", help="no progress on the terminal")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurobox",
        description="Spiking neural networks built from independent neurons.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NeuroboxError as err:
        print(f"neurobox {args.command}: error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"neurobox {args.command}: error: out of memory; make the network or the recording smaller",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
