"""The board's units as one bank of arrays, stepped in batches (units that share a tick).

`UnitBank.step(units, arriving, t_ns, spiked)` runs one tick of every unit
in `units` with the arithmetic of `neurobox.hardware.unit.UnitSim.tick`
(neuron, pair STDP, LED), compiled with numba, plus the firmware's EEPROM
copy of the weights (main.c `persist_weights`): every `persist_steps` ticks
a snapshot of the weights is taken and copied to EEPROM one changed byte
per tick, when the EEPROM is ready (`EEPROM_WRITE_NS` after the last byte
written). `reset(u)` is the firmware's start-up: state, traces and LED
cleared, weights read back from EEPROM (the bytes, little-endian int16, so
a copy interrupted half way can leave a weight torn between old and new).
The EEPROM starts holding the configured weights, as after the first
power-up of a freshly flashed unit.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from neurobox.hardware import led as ledmod
from neurobox.hardware.avr import config
from neurobox.hardware.unit import FixedUnit
from neurobox.neurons.lif_fixed import _decay, _sat16
from neurobox.plasticity import stdp_fixed
from neurobox.plasticity.stdp_fixed import DW_SHIFT, ONE, TRACE_MAX

EEPROM_WRITE_NS = 8_500_000
"""EEPROM write time of one byte from the CPU, ns (ATmega8 datasheet: 8.5 ms typical)."""

# per-unit integer constants, columns of UnitBank.par
(P_DM, P_DEX, P_DIN, P_PEX, P_PIN, P_PE, P_S, P_IE, P_VTH, P_VRESET, P_REF,
 P_STDP, P_KP, P_KM, P_AP, P_AM, P_WMIN, P_WMAX,
 P_SPAN, P_SCALE, P_FLASH, P_MINSTEPS) = range(22)
N_PAR = 22
# per-unit state, columns of UnitBank.st
(S_V, S_IEX, S_IIN, S_REF, S_XPOST, S_FLASH, S_LEARN, S_SINCE, S_LG, S_LR, S_LB, S_FRAMES,
 S_PCOUNT, S_PPOS, S_EEREADY) = range(15)
N_ST = 15


# the spec's own integer ops, compiled once (neuron: neurobox.neurons.lif_fixed; STDP trace: stdp_fixed)
_trace_decay = njit(cache=True, boundscheck=False)(stdp_fixed.trace_decay)


@njit(cache=True, boundscheck=False)
def step_units(units, arriving, t_ns, par, st, ptr, w, rec, plastic, x_pre, snap, ee, ee_ptr,
               persist_steps, write_ns, spiked, learned):
    """One tick (at time t_ns) of every unit index in `units`; arriving[j] (flat input j) says a spike arrives.

    Returns the number of units that fired."""
    nfired = 0
    for q in range(units.shape[0]):
        u = units[q]
        a, b = ptr[u], ptr[u + 1]
        in_ex = np.int64(0)
        in_in = np.int64(0)
        for j in range(a, b):
            if arriving[j]:
                if rec[j] == 0:
                    in_ex += w[j]
                else:
                    in_in += w[j]
        # neuron (neurobox.neurons.lif_fixed.step)
        v, i_ex, i_in, ref = st[u, S_V], st[u, S_IEX], st[u, S_IIN], st[u, S_REF]
        if ref == 0:
            s = par[u, P_S]
            acc = i_ex * par[u, P_PEX] + i_in * par[u, P_PIN] + _sat16(par[u, P_IE]) * par[u, P_PE]
            v = _sat16(_decay(v, par[u, P_DM]) + ((acc + (np.int64(1) << (s - 1))) >> s))
        else:
            ref -= 1
        i_ex = _sat16(_decay(i_ex, par[u, P_DEX]) + in_ex)
        i_in = _sat16(_decay(i_in, par[u, P_DIN]) + in_in)
        fired = v >= par[u, P_VTH]
        if fired:
            v = par[u, P_VRESET]
            ref = par[u, P_REF]
        st[u, S_V], st[u, S_IEX], st[u, S_IIN], st[u, S_REF] = v, i_ex, i_in, ref
        # pair STDP (neurobox.plasticity.stdp_fixed.step) on the plastic inputs
        changed = False
        if par[u, P_STDP]:
            kp, km = par[u, P_KP], par[u, P_KM]
            wmin, wmax = par[u, P_WMIN], par[u, P_WMAX]
            xpost = _trace_decay(st[u, S_XPOST], km)
            for j in range(a, b):
                if not plastic[j]:
                    continue
                x_pre[j] = _trace_decay(x_pre[j], kp)
                old = w[j]
                nw = old
                if arriving[j]:
                    nw = nw - ((par[u, P_AM] * xpost) >> DW_SHIFT)
                    nw = wmin if nw < wmin else (wmax if nw > wmax else nw)
                if fired:
                    nw = nw + ((par[u, P_AP] * x_pre[j]) >> DW_SHIFT)
                    nw = wmin if nw < wmin else (wmax if nw > wmax else nw)
                if nw != old:
                    changed = True
                w[j] = nw
                if arriving[j]:
                    x_pre[j] = min(x_pre[j] + ONE, TRACE_MAX)
            if fired:
                xpost = min(xpost + ONE, TRACE_MAX)
            st[u, S_XPOST] = xpost
        # LED (neurobox.hardware.led.LedState.tick)
        fl = par[u, P_FLASH]
        st[u, S_FLASH] = fl if fired else max(st[u, S_FLASH] - 1, 0)
        st[u, S_LEARN] = fl if changed else max(st[u, S_LEARN] - 1, 0)
        st[u, S_SINCE] = min(st[u, S_SINCE] + 1, 255)
        if st[u, S_FLASH] > 0:
            g, r, bl = 160, 160, 160
        elif st[u, S_LEARN] > 0:
            g, r, bl = 0, 64, 96
        else:
            m = min(abs(v), par[u, P_SPAN])
            f = (m * par[u, P_SCALE]) >> 16
            g = 64 - f
            r = f if v >= 0 else 0
            bl = 0 if v >= 0 else f
        if st[u, S_SINCE] >= par[u, P_MINSTEPS] and (g != st[u, S_LG] or r != st[u, S_LR] or bl != st[u, S_LB]):
            st[u, S_LG], st[u, S_LR], st[u, S_LB] = g, r, bl
            st[u, S_SINCE] = 0
            st[u, S_FRAMES] += 1
        # EEPROM copy of the weights (firmware main.c persist_weights)
        if par[u, P_STDP]:
            st[u, S_PCOUNT] += 1
            if st[u, S_PCOUNT] >= persist_steps:
                st[u, S_PCOUNT] = 0
                if st[u, S_PPOS] < 0:
                    for j in range(a, b):
                        snap[j] = w[j]
                    st[u, S_PPOS] = 0
            if st[u, S_PPOS] >= 0 and t_ns >= st[u, S_EEREADY]:
                nbytes = 2 * (b - a)
                e0 = ee_ptr[u]
                while st[u, S_PPOS] < nbytes:
                    pos = st[u, S_PPOS]
                    st[u, S_PPOS] = pos + 1
                    word = snap[a + pos // 2] & 0xFFFF
                    byte = (word >> (8 * (pos % 2))) & 0xFF
                    if ee[e0 + pos] != byte:
                        ee[e0 + pos] = byte
                        st[u, S_EEREADY] = t_ns + write_ns
                        break
                if st[u, S_PPOS] >= nbytes:
                    st[u, S_PPOS] = -1
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
        self.w0 = np.array([w for u in units for w in u.weights], dtype=np.int64).reshape(total)
        self.rec = np.array([r for u in units for r in u.receptors], dtype=np.int64).reshape(total)
        self.plastic = np.array([p for u in units for p in u.plastic], dtype=np.bool_).reshape(total)
        self.par = np.zeros((n, N_PAR), dtype=np.int64)
        for k, u in enumerate(units):
            p = u.lif
            self.par[k, :P_STDP] = (p.D_m, p.D_ex, p.D_in, p.P_ex, p.P_in, p.P_e, p.S, p.i_e, p.v_th, p.v_reset,
                                    p.ref_steps)
            if u.stdp is not None:
                s = u.stdp
                self.par[k, P_STDP:P_SPAN] = (1, s.k_plus, s.k_minus, s.a_plus, s.a_minus, s.w_min, s.w_max)
            self.par[k, P_SPAN:] = (u.led.span, u.led.scale, u.led.flash_steps, u.led.min_steps)
        self.ee_ptr = 2 * self.ptr[:-1]
        self.w = self.w0.copy()
        self.ee = self._bytes(self.w0)
        self.snap = np.zeros(total, dtype=np.int64)
        self.x_pre = np.zeros(total, dtype=np.int64)
        self.st = np.zeros((n, N_ST), dtype=np.int64)
        self.spiked = np.zeros(n, dtype=np.bool_)
        self.learned = np.zeros(n, dtype=np.bool_)
        for u in range(n):
            self._fresh(u)

    @staticmethod
    def _bytes(words: np.ndarray) -> np.ndarray:
        """int16 words -> little-endian bytes (int64 array of 0..255)."""
        u = np.asarray(words, dtype=np.int64) & 0xFFFF
        return np.stack([u & 0xFF, u >> 8], axis=1).reshape(-1)

    def _fresh(self, u: int) -> None:
        a, b = self.ptr[u], self.ptr[u + 1]
        ready = self.st[u, S_EEREADY]
        self.st[u] = 0
        self.st[u, S_SINCE] = 255
        self.st[u, S_PPOS] = -1
        self.st[u, S_EEREADY] = ready
        self.x_pre[a:b] = 0

    def step(self, units: np.ndarray, arriving: np.ndarray, t_ns: int) -> int:
        """One tick of `units` (int64 indices) at t_ns; sets self.spiked / self.learned; returns how many fired."""
        return step_units(units, arriving, np.int64(t_ns), self.par, self.st, self.ptr, self.w, self.rec, self.plastic,
                   self.x_pre, self.snap, self.ee, self.ee_ptr, self.persist_steps, self.write_ns,
                   self.spiked, self.learned)

    def eeprom_weights(self, u: int) -> np.ndarray:
        """The weights (I_lsb) unit u would read from its EEPROM now."""
        a, b = self.ptr[u], self.ptr[u + 1]
        raw = self.ee[2 * a:2 * b].reshape(-1, 2)
        word = raw[:, 0] | (raw[:, 1] << 8)
        return np.where(word >= 0x8000, word - 0x10000, word)

    def reset(self, u: int) -> None:
        """The firmware's start-up after a reset: state cleared, weights from EEPROM (plastic units) or flash."""
        a, b = self.ptr[u], self.ptr[u + 1]
        self._fresh(u)
        if self.par[u, P_STDP]:
            self.w[a:b] = self.eeprom_weights(u)
        else:
            self.w[a:b] = self.w0[a:b]

    def weights(self, u: int) -> np.ndarray:
        return self.w[self.ptr[u]:self.ptr[u + 1]].copy()

    def state(self, u: int) -> dict:
        """Neuron state of unit u: v, i_ex, i_in, ref, x_post (integers)."""
        s = self.st[u]
        return {"v": int(s[S_V]), "i_ex": int(s[S_IEX]), "i_in": int(s[S_IIN]), "ref": int(s[S_REF]),
                "x_post": int(s[S_XPOST])}

    def led_colour(self, u: int) -> tuple[int, int, int]:
        """Last colour (G, R, B) sent to unit u's LED."""
        return tuple(int(x) for x in self.st[u, S_LG:S_LB + 1])

    def led_frames(self, u: int) -> int:
        return int(self.st[u, S_FRAMES])


assert ledmod.FIRING == (160, 160, 160) and ledmod.LEARNING == (0, 64, 96) and ledmod.LEVEL == 64, \
    "neurobox.twin.units mirrors the LED colours of neurobox.hardware.led; update both"
