"""Decode a WS2812 bit stream from the LED pin's edges and check its timing.

WS2812 (800 kbit/s, GRB, MSB first): a bit is a high pulse, 0.40 us for a
0 and 0.80 us for a 1 (each +-150 ns), every 1.25 us (+-600 ns); a pulse
longer than 625 ns is a 1. A frame ends when the line stays low for the
latch time (WS2812B: >= 280 us) before the next frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

T0H_NS = (250.0, 550.0)
T1H_NS = (650.0, 950.0)
BIT_NS = (650.0, 1850.0)
ONE_ABOVE_NS = 625.0
LATCH_NS = 280_000.0
GAP_NS = 50_000.0
"""A low time longer than this starts a new frame (well above any bit, below the latch)."""


@dataclass
class Frame:
    """One decoded frame: where it started (cycle), its bytes, and its timing faults."""

    start: int
    data: bytes
    faults: list = field(default_factory=list)


def decode(edges: list[tuple[int, int]], f_cpu: float = 16e6) -> list[Frame]:
    """Frames from (cycle, level) edges of the data line (repeated levels are ignored)."""
    ns = 1e9 / f_cpu
    pulses = []                       # (rise cycle, fall cycle)
    level, rise = 0, None
    for cycle, new in edges:
        if new == level:
            continue
        level = new
        if new:
            rise = cycle
        elif rise is not None:
            pulses.append((rise, cycle))
    frames: list[Frame] = []
    bits: list[int] = []
    faults: list[str] = []
    start = None
    last_rise = last_fall = None
    for rise, fall in pulses:
        if last_fall is not None and (rise - last_fall) * ns > GAP_NS:
            frames.append(_frame(start, bits, faults, last_fall, rise, ns))
            bits, faults, last_rise = [], [], None
        if not bits:
            start = rise
        high = (fall - rise) * ns
        one = high > ONE_ABOVE_NS
        lo, hi = T1H_NS if one else T0H_NS
        if not lo <= high <= hi:
            faults.append(f"bit {len(bits)}: high {high:.0f} ns outside [{lo:.0f}, {hi:.0f}] ns")
        if last_rise is not None and len(bits) % 8 != 0:
            period = (rise - last_rise) * ns
            if not BIT_NS[0] <= period <= BIT_NS[1]:
                faults.append(f"bit {len(bits)}: period {period:.0f} ns outside [{BIT_NS[0]:.0f}, {BIT_NS[1]:.0f}] ns")
        bits.append(int(one))
        last_rise, last_fall = rise, fall
    if bits:
        frames.append(_frame(start, bits, faults, last_fall, None, ns))
    return frames


def _frame(start, bits, faults, end, next_rise, ns) -> Frame:
    faults = list(faults)
    if len(bits) % 8:
        faults.append(f"{len(bits)} bits is not a whole number of bytes")
    if next_rise is not None and (next_rise - end) * ns < LATCH_NS:
        faults.append(f"low for {(next_rise - end) * ns / 1000:.1f} us before the next frame; "
                      f"the LED latches after {LATCH_NS / 1000:.0f} us")
    data = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits) - len(bits) % 8, 8))
    return Frame(start, data, faults)
