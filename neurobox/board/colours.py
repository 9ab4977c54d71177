"""LED colours of the board's neurons, as the page shows them.

The colour of every LED on the page comes from `screen_colours`, the one
place to change it. It uses the shared WS2812 map of the physical neurons
(`neurobox.hardware.led.colours_float`: green at rest, red towards
threshold, blue when inhibited, white while firing, violet while learning)
and brightens it for a screen (the hardware map tops out at LEVEL of 255
so as not to blind). The threshold is each neuron's effective one (V_th
plus an adaptive theta), and a unit that is off is dark.
"""
from __future__ import annotations

import numpy as np

from neurobox.hardware.led import LEVEL, colours_float

SOURCE_DARK = (24, 24, 28)
"""RGB of a spike source's LED between spikes (sources have no membrane)."""
SCREEN_GAIN = 255.0 / LEVEL
"""Brightness factor from LED bytes to screen bytes (less where a colour would pass 255: the hue stays)."""


def led_range(params: dict) -> tuple[float, float, float]:
    """(rest, threshold, reset) in mV for a neuron's parameters, whatever the model calls them."""
    rest = params.get("E_L", params.get("v_r", -65.0))
    if "V_th" in params and "V_peak" not in params and "c" not in params:
        threshold = params["V_th"]        # LIF family
    elif "v_t" in params:
        threshold = params["v_t"]         # izhikevich2007
    elif "V_th" in params and "V_peak" in params:
        threshold = params["V_th"]        # AdEx: the soft threshold
    else:
        threshold = -50.0                 # izhikevich (V_th there is the spike peak), HH
    reset = params.get("V_reset", params.get("c", rest))
    if threshold <= rest:
        threshold = rest + 15.0
    return float(rest), float(threshold), float(reset)


def screen_colours(params: dict | None, V_m: np.ndarray | None, fired: np.ndarray,
                   threshold: np.ndarray | None = None, learning: np.ndarray | None = None,
                   down: np.ndarray | None = None) -> np.ndarray:
    """uint8 (N, 3) RGB for a population: `params` of its model, membrane V_m (mV), `fired` (bool, N).

    threshold: each neuron's effective threshold (mV; default the model's, `led_range`), so that a neuron
    with an adaptive threshold turns red near its own; learning: violet (a plastic input changed), as the
    physical LED; down: dark (a unit that is off). A spike source (params or V_m None) is dark, white when
    it fired.
    """
    fired = np.asarray(fired, dtype=bool)
    if params is None or V_m is None:
        out = np.empty((fired.size, 3), dtype=np.uint8)
        out[:] = SOURCE_DARK
        out[fired] = 255
        return out
    rest, th, reset = led_range(params)
    v = np.asarray(V_m, dtype=np.float64)
    if threshold is not None:   # the map's span is th - rest: stretch each neuron's own span onto it
        own = np.maximum(np.asarray(threshold, dtype=np.float64) - rest, 1e-9)
        v = np.where(v > rest, rest + (v - rest) * (th - rest) / own, v)
    grb = colours_float(v, rest, th, reset, fired, learning)
    rgb = grb[:, [1, 0, 2]].astype(np.float64)
    gain = np.minimum(SCREEN_GAIN, 255.0 / np.maximum(rgb.max(axis=1, keepdims=True), 1.0))   # keeps the hue
    out = np.minimum(np.rint(rgb * gain), 255.0).astype(np.uint8)
    if down is not None:
        out[np.asarray(down, dtype=bool)] = 0
    return out
