"""A unit's activity as the colour of its WS2812 LED (GRB bytes), NeuroBytes-like.

One map, written in integer arithmetic so that the firmware
(`neurobox/hardware/avr/firmware/led.c`) computes exactly the same bytes:

    firing    white  (G, R, B) = FIRING, held for `flash_steps` ticks after a spike
    learning  violet (G, R, B) = LEARNING, held for `flash_steps` ticks after a
              tick in which a plastic weight changed (firing wins over learning)
    otherwise the membrane v (V_lsb, relative to rest):
              m = min(|v|, span);  f = (m * scale) >> 16   (0 .. LEVEL)
              v >= 0 (depolarised):      (LEVEL - f, f, 0)   green at rest -> red at threshold
              v <  0 (inhibited, below rest): (LEVEL - f, 0, f)   green -> blue

`span` is the distance from rest to threshold (v_th), or v_th - v_reset when
rest lies above threshold; `scale` = ceil((LEVEL << 16) / span), so that
f = LEVEL exactly at |v| = span.

Frames: the LED is sent a new colour only when the colour changed and at
least `min_steps` ticks passed since the last frame (so that the line stays
low for the WS2812's latch time, >= 280 us, between frames). At power-up the
LED is dark, so the first tick sends the resting colour.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

LEVEL = 64
"""Brightness of the membrane colours (of 255): bright enough, not blinding."""
FIRING = (160, 160, 160)
"""White while firing (G, R, B)."""
LEARNING = (0, 64, 96)
"""Violet while learning (G, R, B): no green, so it matches no membrane colour."""
LATCH_US = 300.0
"""Low time between frames, above the WS2812B's 280 us latch."""
FLASH_MS = 20.0
"""How long the firing and learning colours are held, ms."""


@dataclass(frozen=True)
class LedParams:
    """Integer constants of one unit's LED map (all fit a uint8 or uint16)."""

    span: int
    scale: int
    flash_steps: int
    min_steps: int


def led_params(v_th: int, v_reset: int, dt: float) -> LedParams:
    """LED constants for a unit with threshold/reset v_th, v_reset (V_lsb) and tick dt (ms)."""
    span = v_th if v_th > 0 else v_th - v_reset
    span = min(max(span, 1), 65535)
    return LedParams(
        span=span,
        scale=-((-LEVEL << 16) // span),
        flash_steps=min(255, max(1, round(FLASH_MS / dt))),
        min_steps=min(255, max(1, math.ceil(LATCH_US / 1000.0 / dt))),
    )


@njit(cache=True)
def led_colour(v, firing, learning, span, scale):
    """The (G, R, B) bytes for membrane v (V_lsb), the firing and learning flags and the LED's constants."""
    if firing:
        return FIRING
    if learning:
        return LEARNING
    m = min(abs(v), span)
    f = (m * scale) >> 16
    if v >= 0:
        return (LEVEL - f, f, 0)
    return (LEVEL - f, 0, f)


def colour(v: int, firing: bool, learning: bool, p: LedParams) -> tuple[int, int, int]:
    """The (G, R, B) bytes for membrane v (V_lsb), firing and learning flags."""
    return tuple(int(x) for x in led_colour(v, firing, learning, p.span, p.scale))


def colours(v: np.ndarray, firing: np.ndarray, learning: np.ndarray, p: LedParams) -> np.ndarray:
    """Vectorised `colour`: arrays of v (V_lsb), firing, learning -> uint8 array (..., 3) of G, R, B."""
    v = np.asarray(v, dtype=np.int64)
    f = (np.minimum(np.abs(v), p.span) * p.scale) >> 16
    out = np.empty(v.shape + (3,), dtype=np.uint8)
    out[..., 0] = LEVEL - f
    out[..., 1] = np.where(v >= 0, f, 0)
    out[..., 2] = np.where(v >= 0, 0, f)
    out[np.asarray(learning, dtype=bool)] = LEARNING
    out[np.asarray(firing, dtype=bool)] = FIRING
    return out


def colours_float(V_m: np.ndarray, E_L: float, V_th: float, V_reset: float, firing: np.ndarray,
                  learning: np.ndarray | None = None, V_lsb: float = 2.0 ** -8) -> np.ndarray:
    """Colours for float membrane potentials (mV), e.g. from the float engine's recordings."""
    v = np.round((np.asarray(V_m, dtype=float) - E_L) / V_lsb).astype(np.int64)
    p = led_params(round((V_th - E_L) / V_lsb), round((V_reset - E_L) / V_lsb), 1.0)
    learning = np.zeros(v.shape, dtype=bool) if learning is None else learning
    return colours(v, firing, learning, p)


class LedState:
    """The LED's own per-tick state: flash counters, ticks since the last frame, last colour."""

    def __init__(self, p: LedParams):
        self.p = p
        self.flash = 0
        self.learn = 0
        self.since = 255
        self.last = (0, 0, 0)

    def tick(self, v: int, spiked: bool, learned: bool) -> tuple[int, int, int] | None:
        """Advance one tick; return the colour sent to the LED in this tick, or None."""
        self.flash = self.p.flash_steps if spiked else max(self.flash - 1, 0)
        self.learn = self.p.flash_steps if learned else max(self.learn - 1, 0)
        self.since = min(self.since + 1, 255)
        c = colour(v, self.flash > 0, self.learn > 0, self.p)
        if self.since >= self.p.min_steps and c != self.last:
            self.last = c
            self.since = 0
            return c
        return None
