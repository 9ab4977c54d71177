"""A physical unit: one fixed-point neuron, its synapse table, its learning rule, its LED.

`UnitDescription` is what every hardware target consumes (one per neuron,
made from a network by `neurobox.hardware.board.units_from_network`):
float NEST parameters, incoming connections with weights in pA, STDP
parameters, an address. `FixedUnit` is the same in integers, and
`simulate` is the reference the firmware and the FPGA cell are held
bit-exact against. Per tick, in this order:

    1. the weights (as they are before this tick's learning) of the inputs
       whose spike arrives in this tick are summed per receptor (int32);
    2. the neuron steps (neurobox.neurons.lif_fixed.step);
    3. STDP steps on the plastic inputs (neurobox.plasticity.stdp_fixed.step);
    4. the LED steps (neurobox.hardware.led.LedState.tick).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from neurobox.errors import ConfigError
from neurobox.hardware.led import LedParams, LedState, led_params
from neurobox.neurons import lif_fixed
from neurobox.neurons.lif import IAF_PSC_EXP
from neurobox.plasticity import stdp_fixed

RECEPTORS = ("excitatory", "inhibitory")


@dataclass(frozen=True)
class Input:
    """One incoming connection: from unit `source`, onto `receptor`, weight in pA."""

    source: str
    receptor: str
    weight: float
    plastic: bool = False


@dataclass(frozen=True)
class UnitDescription:
    """One neuron as a physical unit (float parameters, NEST units).

    params: iaf_psc_exp parameters (ms, mV, pF, pA); dt: tick, ms;
    stdp: float STDP parameters for the plastic inputs (see
    neurobox.plasticity.stdp_fixed.fixed_stdp_parameters), or None;
    address: 0..127, the unit's address on the bus.
    """

    name: str
    params: Mapping[str, float]
    dt: float
    inputs: tuple[Input, ...] = ()
    stdp: Mapping[str, float] | None = None
    address: int = 0
    V_lsb: float = lif_fixed.DEFAULT_V_LSB
    I_lsb: float = lif_fixed.DEFAULT_I_LSB


@dataclass(frozen=True)
class FixedUnit:
    """A unit in integers: what the firmware's configuration header holds."""

    name: str
    address: int
    dt: float
    E_L: float
    lif: lif_fixed.LifFixedParams
    weights: tuple[int, ...]
    receptors: tuple[int, ...]
    """0 excitatory, 1 inhibitory, per input."""
    plastic: tuple[bool, ...]
    sources: tuple[str, ...]
    stdp: stdp_fixed.StdpFixedParams | None
    led: LedParams

    @property
    def n_inputs(self) -> int:
        return len(self.weights)

    @property
    def plastic_index(self) -> tuple[int, ...]:
        return tuple(j for j, p in enumerate(self.plastic) if p)


def fixed_unit(desc: UnitDescription) -> FixedUnit:
    """Convert a description to integers; ConfigError names the unit's field that does not fit."""
    where = f"units.{desc.name}"
    params = IAF_PSC_EXP.resolve_params(desc.params, f"{where}.params")
    lif = lif_fixed.fixed_parameters(params, desc.dt, desc.V_lsb, desc.I_lsb, f"{where}.params")
    if not 0 <= desc.address <= 127:
        raise ConfigError(f"{where}.address", f"must be in [0, 127], got {desc.address}")
    weights, receptors = [], []
    for j, inp in enumerate(desc.inputs):
        if inp.receptor not in RECEPTORS:
            raise ConfigError(f"{where}.inputs[{j}].receptor",
                              f"unknown receptor {inp.receptor!r}; valid: {', '.join(RECEPTORS)}")
        weights.append(lif_fixed.weight_to_fixed(inp.weight, lif, f"{where}.inputs[{j}].weight"))
        receptors.append(RECEPTORS.index(inp.receptor))
    plastic = tuple(bool(i.plastic) for i in desc.inputs)
    stdp = None
    if any(plastic):
        if desc.stdp is None:
            raise ConfigError(f"{where}.stdp", "plastic inputs need STDP parameters")
        stdp = stdp_fixed.fixed_stdp_parameters(desc.stdp, desc.dt, lif.I_lsb, f"{where}.stdp")
        for j in (j for j, p in enumerate(plastic) if p):
            if not stdp.w_min <= weights[j] <= stdp.w_max:
                raise ConfigError(f"{where}.inputs[{j}].weight",
                                  f"{desc.inputs[j].weight} pA lies outside the STDP bounds "
                                  f"[{desc.stdp['w_min']}, {desc.stdp['w_max']}] pA")
    return FixedUnit(
        name=desc.name, address=desc.address, dt=desc.dt, E_L=params["E_L"], lif=lif,
        weights=tuple(weights), receptors=tuple(receptors), plastic=plastic,
        sources=tuple(i.source for i in desc.inputs), stdp=stdp,
        led=led_params(lif.v_th, lif.v_reset, desc.dt))


@dataclass
class UnitTrace:
    """What a unit did, one row per tick (after the tick's update).

    v, i_ex, i_in, ref, x_post: int64[steps]; spikes, learned: bool[steps];
    weights, x_pre: int64[steps, n_inputs]; led_frames: (tick, (G, R, B)) for
    every colour sent to the LED.
    """

    v: np.ndarray
    i_ex: np.ndarray
    i_in: np.ndarray
    ref: np.ndarray
    spikes: np.ndarray
    weights: np.ndarray
    x_pre: np.ndarray
    x_post: np.ndarray
    learned: np.ndarray
    led_frames: list = field(default_factory=list)


class UnitSim:
    """The reference unit, one tick at a time (`simulate` runs it over a whole input sequence)."""

    def __init__(self, unit: FixedUnit, weights: tuple[int, ...] | None = None):
        self.unit = unit
        self.w = list(unit.weights if weights is None else weights)
        self.plastic = unit.plastic_index
        self.state = lif_fixed.LifFixedState()
        self.syn = stdp_fixed.StdpFixedState(tuple(0 for _ in self.plastic), 0,
                                             tuple(self.w[j] for j in self.plastic))
        self.led = LedState(unit.led)
        self.t = 0

    def tick(self, arriving) -> tuple[bool, bool, tuple[int, int, int] | None]:
        """One tick; arriving[j]: a spike arrives on input j. Returns (spiked, learned, LED colour sent or None)."""
        u = self.unit
        in_ex = sum(self.w[j] for j in range(u.n_inputs) if arriving[j] and u.receptors[j] == 0)
        in_in = sum(self.w[j] for j in range(u.n_inputs) if arriving[j] and u.receptors[j] == 1)
        self.state, spiked = lif_fixed.step(self.state, in_ex, in_in, u.lif)
        learned = False
        if u.stdp is not None:
            new = stdp_fixed.step(self.syn, [bool(arriving[j]) for j in self.plastic], spiked, u.stdp)
            learned = new.w != self.syn.w
            self.syn = new
            for k, j in enumerate(self.plastic):
                self.w[j] = new.w[k]
        sent = self.led.tick(self.state.v, spiked, learned)
        self.t += 1
        return spiked, learned, sent


def simulate(unit: FixedUnit, pre: np.ndarray, weights: tuple[int, ...] | None = None) -> UnitTrace:
    """Run the reference for len(pre) ticks; pre[t, j] says a spike arrives on input j in tick t.

    `weights` replaces the initial weights (as weights loaded from EEPROM).
    """
    pre = np.asarray(pre, dtype=bool)
    n = unit.n_inputs
    if pre.ndim != 2 or pre.shape[1] != n:
        raise ConfigError("inputs", f"expected a (steps, {n}) array of input spikes, got shape {pre.shape}")
    steps = pre.shape[0]
    rows = {k: np.zeros(steps, dtype=np.int64) for k in ("v", "i_ex", "i_in", "ref", "x_post")}
    w_rows = np.zeros((steps, n), dtype=np.int64)
    x_rows = np.zeros((steps, n), dtype=np.int64)
    spikes = np.zeros(steps, dtype=bool)
    learned = np.zeros(steps, dtype=bool)
    frames = []
    sim = UnitSim(unit, weights)
    for t in range(steps):
        spikes[t], learned[t], sent = sim.tick(pre[t])
        if sent is not None:
            frames.append((t, sent))
        rows["v"][t], rows["i_ex"][t], rows["i_in"][t], rows["ref"][t] = sim.state
        rows["x_post"][t] = sim.syn.x_post
        for k, j in enumerate(sim.plastic):
            x_rows[t, j] = sim.syn.x_pre[k]
        w_rows[t] = sim.w
    return UnitTrace(v=rows["v"], i_ex=rows["i_ex"], i_in=rows["i_in"], ref=rows["ref"], spikes=spikes,
                     weights=w_rows, x_pre=x_rows, x_post=rows["x_post"], learned=learned, led_frames=frames)
