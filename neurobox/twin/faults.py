"""Faults and clock settings to inject into a twin run, and their text syntax (`--fault SPEC`).

    reset:UNIT@TIME[+DOWN]      UNIT resets at TIME and boots DOWN later (default 0): neuron state,
                                traces and LED are lost, weights come back from EEPROM
    drop:RATE                   each packet (bus) or wire pulse (per wire) is lost with probability
                                RATE (0..1, or a percentage such as 5%)
    drift:UNIT=PPM[ppm]         UNIT's crystal runs PPM parts per million fast (negative: slow);
                                UNIT may be * (every unit)
    phase:UNIT=TIME             UNIT powered up TIME after the others (0 <= TIME < one tick)
    dead:UNIT[@TIME]            UNIT stops at TIME (default 0): no ticks, no spikes
    stuck:SRC->DST=high|low[@TIME]   the wire from SRC (a unit or stimulus neuron) to DST holds
                                that level from TIME (default 0) (wire transport)
    stuck:bus=high|low[@TIME]   the bus line holds that level: no packet gets through (bus transport)

TIME is a number with a unit, ms (default), s or us: 500ms, 0.5s, 250us, 500.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from neurobox.errors import ConfigError

SYNTAX = ("reset:UNIT@TIME[+DOWN], drop:RATE, drift:UNIT=PPMppm, phase:UNIT=TIME, dead:UNIT[@TIME], "
          "stuck:SRC->DST=high|low[@TIME], stuck:bus=high|low[@TIME]")
FIELD = "--fault"


@dataclass(frozen=True)
class Reset:
    unit: str
    at_ns: int
    down_ns: int = 0


@dataclass(frozen=True)
class Drop:
    rate: float


@dataclass(frozen=True)
class Drift:
    unit: str
    """a unit name, or * for every unit"""
    ppm: float


@dataclass(frozen=True)
class Phase:
    unit: str
    offset_ns: int


@dataclass(frozen=True)
class Dead:
    unit: str
    at_ns: int = 0


@dataclass(frozen=True)
class Stuck:
    source: str
    """a unit or stimulus neuron, or "bus" for the bus line"""
    target: str | None
    high: bool
    at_ns: int = 0


Fault = Reset | Drop | Drift | Phase | Dead | Stuck

_TIME = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(ms|s|us)?\s*$")
_SCALE = {"ms": 1e6, "s": 1e9, "us": 1e3, None: 1e6}


def _err(spec: str, message: str) -> ConfigError:
    return ConfigError(FIELD, f"{spec!r}: {message}")


def parse_time(text: str, spec: str, what: str = "TIME") -> int:
    """A time such as 500ms, 0.5s, 250us or 500 (ms), in ns; must be >= 0."""
    m = _TIME.match(text)
    if not m:
        raise _err(spec, f"{what} {text!r} is not a time; write a number with ms, s or us (e.g. 500ms)")
    ns = float(m.group(1)) * _SCALE[m.group(2)]
    if ns < 0:
        raise _err(spec, f"{what} must be >= 0, got {text!r}")
    return int(round(ns))


def _unit(name: str, spec: str, units: list[str], allow_all: bool = False) -> str:
    if allow_all and name == "*":
        return name
    if name not in units:
        raise _err(spec, f"unknown unit {name!r}; units: {', '.join(units)}" + (" (or * for all)" if allow_all else ""))
    return name


def _level(text: str, spec: str) -> bool:
    if text.lower() not in ("high", "low", "1", "0"):
        raise _err(spec, f"a stuck line is high or low, got {text!r}")
    return text.lower() in ("high", "1")


class _Names(NamedTuple):
    """What a fault spec may name: units, stimulus neurons, and the target units of every source's wires
    (None: any pair of a source and a unit is a wire)."""

    units: list[str]
    sources: list[str]
    wires: dict[str, list[str]] | None


def _parse_reset(rest: str, spec: str, names: _Names) -> Reset:
    """reset:UNIT@TIME[+DOWN]"""
    name, at, when = rest.partition("@")
    if not at:
        raise _err(spec, "a reset needs a time: reset:UNIT@TIME[+DOWN], e.g. reset:sense.0@500ms")
    when, plus, down = when.partition("+")
    return Reset(_unit(name.strip(), spec, names.units), parse_time(when, spec),
                 parse_time(down, spec, "DOWN") if plus else 0)


def _parse_drop(rest: str, spec: str, names: _Names) -> Drop:
    """drop:RATE (0..1, or a percentage)"""
    pct = rest.endswith("%")
    try:
        rate = float(rest[:-1] if pct else rest) / (100.0 if pct else 1.0)
    except ValueError:
        raise _err(spec, f"RATE {rest!r} is not a number; write drop:0.05 or drop:5%") from None
    if not 0.0 <= rate <= 1.0:
        raise _err(spec, f"RATE must be in [0, 1] (or 0% .. 100%), got {rest}")
    return Drop(rate)


def _unit_and_value(kind: str, rest: str, spec: str, example: str) -> tuple[str, str]:
    """UNIT and VALUE of KIND:UNIT=VALUE (unchecked)."""
    name, eq, value = rest.partition("=")
    if not eq:
        raise _err(spec, f"expected {kind}:UNIT=VALUE, e.g. {example}")
    return name.strip(), value


def _parse_drift(rest: str, spec: str, names: _Names) -> Drift:
    """drift:UNIT=PPM[ppm], UNIT may be *"""
    name, value = _unit_and_value("drift", rest, spec, "drift:relay=200ppm")
    name = _unit(name, spec, names.units, allow_all=True)
    value = value.strip().lower()
    value = value[:-3] if value.endswith("ppm") else value
    try:
        ppm = float(value)
    except ValueError:
        raise _err(spec, f"drift {value!r} is not a number of ppm; e.g. drift:relay=200ppm") from None
    if not -100_000 < ppm < 100_000:
        raise _err(spec, f"drift must lie in (-100000, 100000) ppm, got {ppm:g}")
    return Drift(name, ppm)


def _parse_phase(rest: str, spec: str, names: _Names) -> Phase:
    """phase:UNIT=TIME"""
    name, value = _unit_and_value("phase", rest, spec, "phase:relay=0.3ms")
    return Phase(_unit(name, spec, names.units), parse_time(value, spec, "phase"))


def _parse_dead(rest: str, spec: str, names: _Names) -> Dead:
    """dead:UNIT[@TIME]"""
    name, at, when = rest.partition("@")
    return Dead(_unit(name.strip(), spec, names.units), parse_time(when, spec) if at else 0)


def _wire(line: str, spec: str, names: _Names) -> tuple[str, str]:
    """SRC and DST of SRC->DST: a unit or stimulus neuron, a unit, and a wire between them."""
    src, arrow, dst = line.partition("->")
    if not arrow:
        raise _err(spec, f"a wire is written SRC->DST (e.g. relay->brake) or bus, got {line!r}")
    src, dst = src.strip(), dst.strip()
    units, sources, wires = names
    if src not in units and src not in sources:
        raise _err(spec, f"unknown source {src!r}; units: {', '.join(units)}"
                         + (f"; stimulus neurons: {', '.join(sources)}" if sources else ""))
    dst = _unit(dst, spec, units)
    if wires is not None and dst not in wires.get(src, []):
        targets = wires.get(src, [])
        raise _err(spec, f"there is no wire from {src} to {dst}; {src}'s wires go to: "
                         f"{', '.join(targets) or 'nothing'}")
    return src, dst


def _parse_stuck(rest: str, spec: str, names: _Names) -> Stuck:
    """stuck:SRC->DST=high|low[@TIME] or stuck:bus=high|low[@TIME]"""
    line, eq, value = rest.partition("=")
    if not eq:
        raise _err(spec, "expected stuck:SRC->DST=high|low or stuck:bus=high|low")
    value, at, when = value.partition("@")
    high = _level(value.strip(), spec)
    t = parse_time(when, spec) if at else 0
    line = line.strip()
    if line == "bus":
        return Stuck("bus", None, high, t)
    return Stuck(*_wire(line, spec, names), high, t)


PARSERS = {"reset": _parse_reset, "drop": _parse_drop, "drift": _parse_drift, "phase": _parse_phase,
           "dead": _parse_dead, "stuck": _parse_stuck}
"""Fault kind -> parser(ARGUMENTS of KIND:ARGUMENTS, stripped; the whole spec; the names it may use)."""
KINDS = tuple(PARSERS)


def parse_fault(spec: str, units: list[str], sources: list[str] = (),
                wires: dict[str, list[str]] | None = None) -> Fault:
    """One fault from its text (syntax in the module docstring); ConfigError names what is allowed.

    units: unit names; sources: stimulus neuron names; wires: target units per
    source (to check that stuck:SRC->DST names a real wire).
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(FIELD, f"{spec!r}: expected KIND:ARGUMENTS with KIND one of {', '.join(KINDS)}; "
                                 f"syntax: {SYNTAX}")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in PARSERS:
        raise _err(spec, f"unknown fault {kind!r}; allowed: {', '.join(KINDS)} ({SYNTAX})")
    return PARSERS[kind](rest.strip(), spec, _Names(units, sources, wires))


def parse_faults(specs, units: list[str], sources: list[str] = (), wires=None, transport: str = "bus") -> list[Fault]:
    """Every spec parsed; also refuses faults that do not apply to the transport, and two resets at once."""
    faults = [parse_fault(s, units, sources, wires) for s in (specs or [])]
    for spec, f in zip(specs or [], faults):
        if isinstance(f, Stuck):
            if f.source == "bus" and transport != "bus":
                raise _err(spec, "stuck:bus applies to --transport bus; on wires write stuck:SRC->DST=high|low")
            if f.source != "bus" and transport != "wire":
                raise _err(spec, "a stuck wire applies to --transport wire; on the bus write stuck:bus=high|low")
    drops = [f for f in faults if isinstance(f, Drop)]
    if len(drops) > 1:
        raise ConfigError(FIELD, "give at most one drop:RATE")
    return faults
