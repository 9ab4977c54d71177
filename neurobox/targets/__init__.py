"""Every target a network description can go to, behind one small interface.

A target takes the description (a `neurobox.Network`) and nothing
target-specific. Two kinds:

    Runner    check(net) -> [Unsupported]     what this target cannot do with net
              open(net, progress=None, **options) -> Handle
                                              Handle.run(duration_ms) -> neurobox.Results; Handle.close()
    Exporter  check(net) -> [Unsupported]
              export(net, out, **options) -> dict   what was written, and the target's report

Runners return the same `Results` (spikes per population as (t_ms, id),
traces, timings); what only one target knows (the twin's latencies and
bus load) goes into `Results.extras`. The targets are listed below as
"module:class" strings and imported only when used, so that optional
toolchains (amaranth, simavr, NEST) stay optional: adding a target is a new
module and one line here.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol

from neurobox.errors import ConfigError


@dataclass(frozen=True)
class Unsupported:
    """Something of a description that a target cannot do: the field, and why (with the nearest choice)."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class Handle(Protocol):
    def run(self, duration_ms: float | None = None) -> Any: ...
    def close(self) -> None: ...


class Runner(Protocol):
    name: str
    summary: str
    def check(self, net) -> list[Unsupported]: ...
    def open(self, net, *, progress: bool | None = None, **options) -> Handle: ...


class Exporter(Protocol):
    name: str
    summary: str
    def check(self, net) -> list[Unsupported]: ...
    def export(self, net, out, **options) -> dict: ...


RUNNERS = {
    "engine": "neurobox.engine.target:Engine",
    "fixed": "neurobox.engine.target:FixedEngine",
    "twin": "neurobox.twin.target:Twin",
    "avr-sim": "neurobox.hardware.avr.target:EmulatedBoard",
    "fpga-sim": "neurobox.hardware.fpga.target:SimulatedCells",
    "nest": "neurobox.backends.nest:Nest",
}
"""Targets that run a network and return Results."""

EXPORTERS = {
    "firmware": "neurobox.hardware.avr.target:Firmware",
    "fpga": "neurobox.hardware.fpga.target:Cells",
}
"""Targets that turn a network into files (firmware images, Verilog and synthesis reports)."""


def _load(table: dict[str, str], name: str, kind: str):
    if name not in table:
        raise ConfigError("target", f"unknown {kind} {name!r}; valid: {', '.join(table)}")
    module, cls = table[name].split(":")
    return getattr(import_module(module), cls)()


def runner(name: str) -> Runner:
    """The runner called `name` (see RUNNERS)."""
    return _load(RUNNERS, name, "target")


def exporter(name: str) -> Exporter:
    """The exporter called `name` (see EXPORTERS)."""
    return _load(EXPORTERS, name, "export target")


def require(target: Runner | Exporter, net) -> None:
    """Raise one ConfigError listing everything `target` cannot do with `net` (nothing if it can)."""
    problems = target.check(net)
    if problems:
        first = problems[0]
        more = "".join(f"; {p}" for p in problems[1:])
        raise ConfigError(first.field, f"the {target.name} target: {first.reason}{more}")


def open_handle(net, name: str, **options):
    """A run handle of `net` on runner `name`, after checking that the target can run it (one ConfigError
    listing what it cannot do otherwise). Tasks train on any target through this."""
    target = runner(name)
    require(target, net)
    return target.open(net, **options)


def check_by_building(build, net) -> list[Unsupported]:
    """A target's `check` for targets whose build step already refuses with a ConfigError naming the field."""
    try:
        build(net)
    except ConfigError as err:
        return [Unsupported(err.field, err.message)]
    return []
