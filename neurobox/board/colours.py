"""LED colours of the board's neurons, as the page shows them.

The colour of every LED on the page comes from `screen_colours`, the one
place to change it. It uses the shared WS2812 map of the physical neurons
(`neurobox.hardware.led.colours_float`: green at rest, red towards
threshold, blue when inhibited, white while firing) and brightens it for a
screen (the hardware map tops out at LEVEL of 255 so as not to blind).
"""
from __future__ import annotations

import numpy as np

from neurobox.hardware.led import LEVEL, colours_float

SOURCE_DARK = (24, 24, 28)
"""RGB of a spike source's LED between spikes (sources have no membrane)."""
SCREEN_GAIN = 255.0 / LEVEL
"""Brightness factor from LED bytes to screen bytes (clipped at 255)."""


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


def screen_colours(params: dict | None, V_m: np.ndarray | None, fired: np.ndarray) -> np.ndarray:
    """uint8 (N, 3) RGB for a population: `params` of its model, membrane V_m (mV), `fired` (bool, N).

    A spike source (params or V_m None) is dark, white when it fired.
    """
    fired = np.asarray(fired, dtype=bool)
    if params is None or V_m is None:
        out = np.empty((fired.size, 3), dtype=np.uint8)
        out[:] = SOURCE_DARK
        out[fired] = 255
        return out
    rest, threshold, reset = led_range(params)
    grb = colours_float(V_m, rest, threshold, reset, fired)
    rgb = grb[:, [1, 0, 2]].astype(np.float64) * SCREEN_GAIN
    return np.minimum(rgb, 255.0).astype(np.uint8)
