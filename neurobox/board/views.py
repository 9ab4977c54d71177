"""What the board reads from a run, the same questions asked of the engine and of the twin.

`EngineView(sim)` wraps a `neurobox.Simulation`, `TwinView(session)` a
`neurobox.twin.TwinSession`; both answer, per population, in NEST units:
the membrane potential (mV), the effective threshold (mV: V_th plus the
adaptive theta of models that have one), whether a neuron is refractory,
whether it is down (a dead or resetting unit; never on the engine), and
which neurons' plastic input weights changed since the last `learned()`
(what makes a physical unit's LED violet). `edge_weights()` gives the
weights of the drawn wires and bundles of the board's layout, in pA or nS.
"""
from __future__ import annotations

import numpy as np

from neurobox.board.colours import led_range


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Which weights moved (beyond float noise: a normalisation that changes nothing stays quiet)."""
    return np.abs(after - before) > 1e-6 * np.maximum(1.0, np.abs(before))


class EngineView:
    """The board's questions answered from the engine's compiled arrays."""

    kind = "engine"

    def __init__(self, sim, masks: list):
        self.handle = sim
        self.compiled = sim.compiled
        self._masks = masks
        self._plastic = [(cp, self.compiled.populations[cp.post].name, cp.to_lists()[1])
                         for cp in self.compiled.projections if cp.plastic is not None]
        self._last = [cp.weights.astype(np.float64) for cp, _, _ in self._plastic]

    def _row(self, pop: str, variable: str) -> np.ndarray:
        cp = self.compiled.population(pop)
        return cp.state[cp.population.model.state_index(variable)]

    def voltage(self, pop: str) -> np.ndarray | None:
        cp = self.compiled.population(pop)
        name = cp.population.model.voltage
        if name is None:
            return None
        return cp.engine.offset_mV + self._row(pop, name) * cp.engine.v_lsb

    def threshold(self, pop: str) -> np.ndarray:
        cp = self.compiled.population(pop)
        base = np.full(cp.n, led_range(cp.population.params)[1])
        if "theta" in [v.name for v in cp.population.model.state]:
            base = base + self._row(pop, "theta")
        return base

    def refractory(self, pop: str) -> np.ndarray:
        cp = self.compiled.population(pop)
        names = [v.name for v in cp.population.model.state]
        for name in ("ref_steps", "ref_ms"):
            if name in names:
                return self._row(pop, name) > 0
        return np.zeros(cp.n, dtype=bool)

    def down(self, pop: str) -> np.ndarray | None:
        return None

    def learned(self) -> dict[str, np.ndarray]:
        """Per post population, the neurons whose plastic inputs changed since the last call."""
        out: dict[str, np.ndarray] = {}
        for k, (cp, post, post_ids) in enumerate(self._plastic):
            now = cp.weights.astype(np.float64)
            moved = _changed(self._last[k], now)
            self._last[k] = now
            mask = out.setdefault(post, np.zeros(self.compiled.population(post).n, dtype=bool))
            mask[post_ids[moved]] = True
        return out

    def edge_weights(self) -> list[np.ndarray]:
        """Per edge of the layout: one weight per drawn synapse (wires) or the mean |weight| (bundle)."""
        out = []
        arrays = [cp.weights * self.compiled.populations[cp.post].engine.i_lsb for cp in self.compiled.projections]
        arrays += [g.g for g in self.compiled.gap_junctions]
        for w, mask in zip(arrays, self._masks):
            if mask is None:
                out.append(np.array([float(np.abs(w).mean()) if w.size else 0.0]))
            else:
                out.append(np.asarray(w[mask], dtype=np.float64))
        return out


class TwinView:
    """The board's questions answered from the twin's units (integers turned into mV and pA)."""

    kind = "twin"

    def __init__(self, session, compiled, masks: list):
        self.handle = session
        board = session.board
        self.params = {name: pop.params for name, pop in board.network.populations.items()}
        self.v_lsb: dict[str, float] = {}
        for desc in board.units:
            self.v_lsb.setdefault(board.neurons[desc.name][0], desc.V_lsb)
        self.owner = [board.neurons[name] for name in session.numbering.units]   # unit -> (pop, i)
        bank = session.bank
        self._plastic_units = [u for u in range(bank.n) if bank.plastic[bank.ptr[u]:bank.ptr[u + 1]].any()]
        self._last = bank.w.copy()
        self._weights_at = None
        self._edges = self._edge_rows(compiled, masks)
        self._cached: list[np.ndarray] | None = None

    def voltage(self, pop: str) -> np.ndarray | None:
        if pop not in self.v_lsb:
            return None
        return self.params[pop]["E_L"] + self.handle.state(pop, "V_m") * self.v_lsb[pop]

    def threshold(self, pop: str) -> np.ndarray:
        return np.full(self.handle.board.network.populations[pop].n, led_range(self.params[pop])[1])

    def refractory(self, pop: str) -> np.ndarray:
        return self.handle.state(pop, "ref_steps") > 0

    def down(self, pop: str) -> np.ndarray | None:
        return self.handle.down(pop) if pop in self.v_lsb else None

    def learned(self) -> dict[str, np.ndarray]:
        bank = self.handle.bank
        moved = bank.w != self._last
        out: dict[str, np.ndarray] = {}
        if moved.any():
            self._last = bank.w.copy()
            for u in self._plastic_units:
                if moved[bank.ptr[u]:bank.ptr[u + 1]].any():
                    pop, i = self.owner[u]
                    out.setdefault(pop, np.zeros(len(self.handle.board.network.populations[pop]), bool))[i] = True
        return out

    def _edge_rows(self, compiled, masks) -> list:
        """Per edge: the projection and, per drawn wire, its row in TwinSession.weights (None: a bundle)."""
        rows = []
        for cp, mask in zip(compiled.projections, masks):
            pre, post, _, _ = cp.to_lists()
            where: dict[tuple[int, int], list[int]] = {}
            tp, tq, _, _ = self.handle.weights(cp.name)
            for r, key in enumerate(zip(tp.tolist(), tq.tolist())):
                where.setdefault(key, []).append(r)
            if mask is None:
                rows.append((cp.name, None))
                continue
            taken = {key: iter(v) for key, v in where.items()}
            rows.append((cp.name, np.array([next(taken[(a, b)]) for a, b in zip(pre[mask].tolist(),
                                                                               post[mask].tolist())], dtype=np.int64)))
        return rows

    def edge_weights(self) -> list[np.ndarray]:
        bank = self.handle.bank
        if self._cached is not None and np.array_equal(self._weights_at, bank.w):
            return self._cached
        out = []
        for name, idx in self._edges:
            w = self.handle.weights(name)[2]
            out.append(np.array([float(np.abs(w).mean()) if w.size else 0.0]) if idx is None else w[idx])
        self._weights_at = bank.w.copy()
        self._cached = out
        return out
