"""The board's units as one bank of arrays, stepped in batches (units that share a tick).

`UnitBank.step(units, received, t_ns)` runs one tick of every unit in
`units`: `neurobox.hardware.unit.unit_tick`, the same compiled function the
reference unit runs (neuron, delay lines, learning rule, LED), on slices of
the bank's flat arrays, plus the firmware's EEPROM copy of the weights
(main.c `persist_weights`): every `persist_steps` ticks a snapshot of the
weights is taken and copied to EEPROM one changed byte per tick, when the
EEPROM is ready (`EEPROM_WRITE_NS` after the last byte written). `reset(u)`
is the firmware's start-up: state, lines, traces and LED cleared (the
adaptive threshold back to the unit's configured theta), weights
read back from EEPROM (the bytes, little-endian int16, so a copy
interrupted half way can leave a weight torn between old and new). The
EEPROM starts holding the configured weights, as after the first power-up
of a freshly flashed unit.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from neurobox.hardware.avr import config
from neurobox.hardware.unit import (C_RULE, MAX_READOUTS, S_B, S_FRAMES, S_G, S_IEX, S_IIN, S_REF, S_THETA, S_V,
                                    S_XPOST, FixedUnit, feedback_row, fresh_state, unit_constants, unit_tick)

EEPROM_WRITE_NS = 8_500_000
"""EEPROM write time of one byte from the CPU, ns (ATmega8 datasheet: 8.5 ms typical)."""


@njit(cache=True, boundscheck=False)
def _persist(u, a, b, t_ns, w, snap, ee, ee_ptr, persist, persist_steps, write_ns):
    """The EEPROM copy of unit u's weights (inputs a:b) in this tick; persist[u] = (count, position, ready_ns)."""
    persist[u, 0] += 1
    if persist[u, 0] >= persist_steps:
        persist[u, 0] = 0
        if persist[u, 1] < 0:
            for j in range(a, b):
                snap[j] = w[j]
            persist[u, 1] = 0
    if persist[u, 1] >= 0 and t_ns >= persist[u, 2]:
        nbytes = 2 * (b - a)
        e0 = ee_ptr[u]
        while persist[u, 1] < nbytes:
            pos = persist[u, 1]
            persist[u, 1] = pos + 1
            word = snap[a + pos // 2] & 0xFFFF
            byte = (word >> (8 * (pos % 2))) & 0xFF
            if ee[e0 + pos] != byte:
                ee[e0 + pos] = byte
                persist[u, 2] = t_ns + write_ns
                break
        if persist[u, 1] >= nbytes:
            persist[u, 1] = -1


@njit(cache=True, boundscheck=False)
def step_units(units, received, reward, t_ns, learning, par, st, ptr, w, rec, plastic, delay, line, x, c, g, fb, err,
               snap, ee, ee_ptr, persist, persist_steps, write_ns, spiked, learned):
    """One tick (at time t_ns) of every unit index in `units`; received[j] (flat input j): a spike was received;
    reward[u]: the pulse unit u sees; fb[u]: its e-prop feedback weights; err: the error bytes every unit sees.
    Returns the number of units that fired."""
    nfired = 0
    for q in range(units.shape[0]):
        u = units[q]
        a, b = ptr[u], ptr[u + 1]
        fired, changed, _ = unit_tick(st[u], par[u], w[a:b], rec[a:b], plastic[a:b], delay[a:b], line[a:b],
                                      x[a:b], c[a:b], g[a:b], received[a:b], reward[u], fb[u], err, learning)
        if par[u, C_RULE] != 0:
            _persist(u, a, b, t_ns, w, snap, ee, ee_ptr, persist, persist_steps, write_ns)
        spiked[u] = fired
        learned[u] = changed
        if fired:
            nfired += 1
    return nfired


class UnitBank:
    """Every unit's constants and state in flat arrays (inputs in CSR order: unit u owns ptr[u]:ptr[u+1])."""

    def __init__(self, units: list[FixedUnit], persist_steps: int = config.PERSIST_STEPS,
                 eeprom_write_ns: int = EEPROM_WRITE_NS):
        self.units = units
        n = len(units)
        self.n = n
        self.persist_steps = int(persist_steps)
        self.write_ns = int(eeprom_write_ns)
        self.ptr = np.zeros(n + 1, dtype=np.int64)
        self.ptr[1:] = np.cumsum([u.n_inputs for u in units])
        total = int(self.ptr[-1])

        def flat(values, dtype):
            return np.array([v for u in units for v in values(u)], dtype=dtype).reshape(total)
        self.w0 = flat(lambda u: u.weights, np.int64)
        self.rec = flat(lambda u: u.receptors, np.int64)
        self.plastic = flat(lambda u: u.plastic, np.bool_)
        self.delay = flat(lambda u: u.input_delays, np.int64)
        self.par = np.stack([unit_constants(u) for u in units]) if units else np.zeros((0, 1), np.int64)
        self.ee_ptr = 2 * self.ptr[:-1]
        self.w = self.w0.copy()
        self.ee = self._bytes(self.w0)
        self.snap = np.zeros(total, dtype=np.int64)
        self.line = np.zeros(total, dtype=np.int64)
        self.x = np.zeros(total, dtype=np.int64)
        self.c = np.zeros(total, dtype=np.int64)
        self.g = np.zeros(total, dtype=np.int64)
        self.fb = np.stack([feedback_row(u.feedback) for u in units]) if units else np.zeros((0, MAX_READOUTS),
                                                                                               np.int64)
        self.error = np.zeros(MAX_READOUTS, dtype=np.int64)
        self.st = np.stack([fresh_state(u.theta) for u in units]) if units else np.zeros((0, 1), np.int64)
        self.persist = np.zeros((n, 3), dtype=np.int64)   # count, position (-1: no copy under way), ready_ns
        self.persist[:, 1] = -1
        self.reward = np.zeros(n, dtype=np.int64)
        self.learning = True
        self.spiked = np.zeros(n, dtype=np.bool_)
        self.learned = np.zeros(n, dtype=np.bool_)

    @staticmethod
    def _bytes(words: np.ndarray) -> np.ndarray:
        """int16 words -> little-endian bytes (int64 array of 0..255)."""
        u = np.asarray(words, dtype=np.int64) & 0xFFFF
        return np.stack([u & 0xFF, u >> 8], axis=1).reshape(-1)

    def step(self, units: np.ndarray, received: np.ndarray, t_ns: int) -> int:
        """One tick of `units` (int64 indices) at t_ns with the pulses in self.reward and the error bytes in
        self.error (e-prop); sets self.spiked / self.learned; returns how many fired."""
        return step_units(units, received, self.reward, np.int64(t_ns), self.learning, self.par, self.st, self.ptr,
                          self.w, self.rec, self.plastic, self.delay, self.line, self.x, self.c, self.g, self.fb,
                          self.error, self.snap, self.ee,
                          self.ee_ptr, self.persist, self.persist_steps, self.write_ns, self.spiked, self.learned)

    def eeprom_weights(self, u: int) -> np.ndarray:
        """The weights (I_lsb) unit u would read from its EEPROM now."""
        a, b = self.ptr[u], self.ptr[u + 1]
        raw = self.ee[2 * a:2 * b].reshape(-1, 2)
        word = raw[:, 0] | (raw[:, 1] << 8)
        return np.where(word >= 0x8000, word - 0x10000, word)

    def reset(self, u: int) -> None:
        """The firmware's start-up after a reset: state cleared (the threshold back to its configured theta),
        weights from EEPROM (plastic units) or flash."""
        a, b = self.ptr[u], self.ptr[u + 1]
        self.st[u] = fresh_state(self.units[u].theta)
        self.line[a:b] = self.x[a:b] = self.c[a:b] = self.g[a:b] = 0
        self.persist[u, :2] = (0, -1)
        self.w[a:b] = self.eeprom_weights(u) if self.par[u, C_RULE] else self.w0[a:b]

    def weights(self, u: int) -> np.ndarray:
        return self.w[self.ptr[u]:self.ptr[u + 1]].copy()

    def state(self, u: int) -> dict:
        """Neuron state of unit u: v, i_ex, i_in, ref, theta, x_post (integers)."""
        s = self.st[u]
        return {"v": int(s[S_V]), "i_ex": int(s[S_IEX]), "i_in": int(s[S_IIN]), "ref": int(s[S_REF]),
                "theta": int(s[S_THETA]), "x_post": int(s[S_XPOST])}

    def led_colour(self, u: int) -> tuple[int, int, int]:
        """Last colour (G, R, B) sent to unit u's LED."""
        return tuple(int(v) for v in self.st[u, S_G:S_B + 1])

    def led_frames(self, u: int) -> int:
        return int(self.st[u, S_FRAMES])
