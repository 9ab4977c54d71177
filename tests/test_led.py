"""The LED colour map (neurobox.hardware.led) and the WS2812 stream decoder (neurobox.hardware.avr.ws2812)."""
from __future__ import annotations

import numpy as np
import pytest

from neurobox.hardware import led
from neurobox.hardware.avr import ws2812

P = led.led_params(v_th=3840, v_reset=0, dt=1.0)  # 15 mV threshold at V_lsb = 1/256 mV


def test_resting_depolarised_inhibited():
    assert led.colour(0, False, False, P) == (led.LEVEL, 0, 0)          # green at rest
    assert led.colour(3840, False, False, P) == (0, led.LEVEL, 0)       # red at threshold
    assert led.colour(-3840, False, False, P) == (0, 0, led.LEVEL)      # blue as far below rest
    g, r, b = led.colour(1920, False, False, P)                          # half way: yellow-ish
    assert (g, r, b) == (led.LEVEL - 32, 32, 0)
    assert led.colour(10**6 // 40, False, False, P) == (0, led.LEVEL, 0)  # beyond threshold: clipped


def test_colour_grows_monotonically_with_depolarisation():
    reds = [led.colour(v, False, False, P)[1] for v in range(0, 3841, 64)]
    blues = [led.colour(-v, False, False, P)[2] for v in range(0, 3841, 64)]
    assert reds == sorted(reds) and blues == sorted(blues)
    for v in range(-4000, 4000, 97):
        g, r, b = led.colour(v, False, False, P)
        assert g + r + b == led.LEVEL and min(r, b) == 0


def test_firing_and_learning_override_the_membrane():
    assert led.colour(-500, True, False, P) == led.FIRING
    assert led.colour(500, False, True, P) == led.LEARNING
    assert led.colour(500, True, True, P) == led.FIRING  # firing wins
    membrane = {led.colour(v, False, False, P) for v in range(-5000, 5000, 7)}
    assert led.FIRING not in membrane and led.LEARNING not in membrane


def test_vectorised_map_equals_the_scalar_map():
    rng = np.random.default_rng(1)
    v = rng.integers(-32768, 32768, 3000)
    firing = rng.random(3000) < 0.1
    learning = rng.random(3000) < 0.1
    got = led.colours(v, firing, learning, P)
    want = [led.colour(int(a), bool(f), bool(lr), P) for a, f, lr in zip(v, firing, learning)]
    assert got.dtype == np.uint8 and got.shape == (3000, 3)
    assert [tuple(int(x) for x in row) for row in got] == want


def test_float_membrane_colours():
    c = led.colours_float(np.array([-70.0, -55.0, -62.5]), -70.0, -55.0, -70.0, np.array([False, False, True]))
    assert tuple(c[0]) == (led.LEVEL, 0, 0) and tuple(c[1]) == (0, led.LEVEL, 0) and tuple(c[2]) == led.FIRING


def test_rest_above_threshold_uses_the_reset_span():
    p = led.led_params(v_th=-256, v_reset=-2816, dt=0.1)
    assert p.span == 2560 and led.colour(2560, False, False, p) == (0, led.LEVEL, 0)


def test_led_frames_only_on_change_and_not_before_the_latch_time():
    p = led.led_params(3840, 0, dt=0.1)  # 300 us latch = 3 ticks of 0.1 ms
    assert p.min_steps == 3 and p.flash_steps == 200
    s = led.LedState(p)
    assert s.tick(0, False, False) == (led.LEVEL, 0, 0)  # first tick: the LED was dark
    assert s.tick(0, False, False) is None               # unchanged
    assert s.tick(3840, False, False) is None            # changed, but too soon after the last frame
    assert s.tick(3840, False, False) == (0, led.LEVEL, 0)
    assert s.tick(0, True, False) is None
    assert s.tick(0, False, False) is None
    assert s.tick(0, False, False) == led.FIRING          # the flash is still held
    frames = [s.tick(0, False, False) for _ in range(300)]
    assert [f for f in frames if f] == [(led.LEVEL, 0, 0)]  # back to green once the flash ends


# --------------------------------------------------------------------------
# WS2812 decoding

def encode(data: bytes, start: int = 0, high0: int = 6, high1: int = 13, period: int = 20) -> list:
    """Edges (cycle, level) of a WS2812 frame at 16 MHz."""
    edges, t = [], start
    for byte in data:
        for k in range(7, -1, -1):
            edges += [(t, 1), (t + (high1 if byte >> k & 1 else high0), 0)]
            t += period
    return edges


def test_decode_recovers_bytes_and_accepts_good_timing():
    edges = encode(bytes([0x12, 0xA5, 0xFF])) + encode(bytes([0, 0x80, 1]), start=16000)
    frames = ws2812.decode(edges)
    assert [f.data for f in frames] == [bytes([0x12, 0xA5, 0xFF]), bytes([0, 0x80, 1])]
    assert frames[1].start == 16000 and not frames[0].faults and not frames[1].faults


@pytest.mark.parametrize("kwargs,fault", [
    ({"high0": 3}, "high 188 ns"),            # a 0 too short
    ({"high1": 16}, "high 1000 ns"),          # a 1 too long
    ({"period": 31}, "period 1938 ns"),       # bits too far apart
])
def test_decode_reports_timing_faults(kwargs, fault):
    frames = ws2812.decode(encode(bytes([0x0F, 0xF0, 0x55]), **kwargs))
    assert any(fault in f for f in frames[0].faults)


def test_decode_reports_frames_closer_than_the_latch_time():
    edges = encode(bytes([1, 2, 3])) + encode(bytes([4, 5, 6]), start=480 + 2000)  # 125 us apart
    frames = ws2812.decode(edges)
    assert len(frames) == 2 and any("latches" in f for f in frames[0].faults)


def test_decode_reports_a_partial_byte():
    frames = ws2812.decode(encode(bytes([0xFF]))[:-4])
    assert any("whole number of bytes" in f for f in frames[0].faults)
