"""A whole board of units as one FPGA design: every neuron a cell, every connection a wire.

`NetworkTop` instantiates one `LifStdpCell` per unit and wires input j of a
unit to the spike output of its source unit, or to a stimulus pin when the
source is a spike-source neuron (a Poisson or spike generator outside the
device). All cells share the tick strobe, and every R-STDP cell the reward
pins. A cell's `spike` output holds the result of its last update, so a
spike fired in tick t is what its targets sample with the strobe of tick
t + 1: the one-tick delay of every connection on the board
(`neurobox.hardware.board`); a longer delay is held in the target cell's
delay line. A stimulus pin is sampled with the strobe, so it must carry in
tick t the spikes the stimulus neuron fired in tick t - 1; the reward pins
carry the pulse of tick t.

Ports: tick (in), stim (in, one bit per stimulus neuron in `stimulus_names`
order), reward (in, 2: reward and punishment, broadcast to every R-STDP
cell), spikes (out, one bit per unit in board order), busy (out: any cell
still updating).

This module must not use `from __future__ import annotations` (Amaranth's
wiring.Component reads real annotations).
"""
import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from neurobox.errors import SimulationError
from neurobox.hardware.fpga.cell import LifStdpCell
from neurobox.hardware.fpga.simulate import CLOCK_NS, reward_pins, run_testbench
from neurobox.hardware.unit import FixedUnit


def stimulus_names(units: list[FixedUnit]) -> list[str]:
    """The stimulus neurons the units read, in the order of first use (the bits of `stim`)."""
    names = {u.name for u in units}
    out: list[str] = []
    for u in units:
        for s in u.sources:
            if s not in names and s not in out:
                out.append(s)
    return out


class NetworkTop(wiring.Component):
    """Every unit of a board as a cell, wired as the board's connections (see the module docstring)."""

    def __init__(self, units: list[FixedUnit]):
        if not units:
            raise ValueError("a network needs at least one unit")
        self.units = list(units)
        self.stimuli = stimulus_names(self.units)
        super().__init__({"tick": In(1), "stim": In(max(len(self.stimuli), 1)), "reward": In(2),
                          "spikes": Out(len(self.units)), "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        cells = {}
        for u in self.units:
            safe = "".join(c if c.isalnum() else "_" for c in u.name)
            cells[u.name] = m.submodules[f"cell_{safe}"] = LifStdpCell(u)
        busy = 0
        for k, u in enumerate(self.units):
            cell = cells[u.name]
            m.d.comb += cell.tick.eq(self.tick)
            if "reward" in cell.signature.members:
                m.d.comb += cell.reward.eq(self.reward)
            for j, source in enumerate(u.sources):
                bit = cells[source].spike if source in cells else self.stim[self.stimuli.index(source)]
                m.d.comb += cell.pre[j].eq(bit)
            m.d.comb += self.spikes[k].eq(cell.spike)
            busy = busy | cell.busy
        m.d.comb += self.busy.eq(busy)
        return m


def export_network(units: list[FixedUnit], name: str = "nb_network") -> str:
    """Verilog of the whole board (emit_src=False)."""
    from amaranth.back import verilog

    return verilog.convert(NetworkTop(units), name=name, emit_src=False)


def network_testbench(n_units: int, n_stim: int, steps: int, name: str, stimulus_file: str) -> str:
    """A testbench for `name`: one tick per row of `stimulus_file` (the reward pins, punishment first, then the
    stimulus bits), prints the spike bits after each."""
    width = max(n_stim, 1)
    return "\n".join([
        "`timescale 1ns/1ps",
        "module tb;",
        "  reg clk = 0, rst = 1, tick = 0;",
        f"  reg [{width - 1}:0] stim = 0;",
        "  reg [1:0] reward = 0;",
        f"  reg [{width + 1}:0] rows [0:{steps - 1}];",
        f"  wire [{n_units - 1}:0] spikes;",
        "  wire busy;",
        "  integer t;",
        f"  {name} dut(.clk(clk), .rst(rst), .tick(tick), .stim(stim), .reward(reward), .spikes(spikes), "
        ".busy(busy));",
        f"  always #{CLOCK_NS // 2} clk = ~clk;",
        "  initial begin",
        f'    $readmemb("{stimulus_file}", rows);',
        "    @(negedge clk); rst = 0;",
        f"    for (t = 0; t < {steps}; t = t + 1) begin",
        "      @(negedge clk); {reward, stim} = rows[t]; tick = 1;",
        "      @(negedge clk); tick = 0;",
        "      while (busy) @(negedge clk);",
        '      $display("%b", spikes);',
        "    end",
        "    $finish;",
        "  end",
        "endmodule",
        "",
    ])


def simulate_network_iverilog(units: list[FixedUnit], stim: np.ndarray, workdir=None, reward=None) -> np.ndarray:
    """Run the board's Verilog in iverilog; stim[t, i]: stimulus bit i in tick t; `reward`: the pulses every
    R-STDP cell sees (simulate.reward_pins: -1, 0, +1 per tick, or the pins). Returns spikes[t, unit]."""
    stim = np.asarray(stim, dtype=bool)
    names = stimulus_names(units)
    if stim.ndim != 2 or stim.shape[1] != len(names):
        raise ValueError(f"expected a (steps, {len(names)}) stimulus array, got shape {stim.shape}")
    steps = stim.shape[0]
    rows = np.hstack([stim if names else np.zeros((steps, 1), dtype=bool), reward_pins(reward, steps)])
    stdout = run_testbench({"network.v": export_network(units)},
                           network_testbench(len(units), len(names), steps, "nb_network", "stim.txt"), rows,
                           "net.vvp", "the network", "nb-net-", workdir)
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip() and set(ln.strip()) <= {"0", "1"}]
    if len(lines) != steps:
        raise SimulationError(f"vvp printed {len(lines)} rows for {steps} ticks")
    n = len(units)
    return np.array([[line[n - 1 - k] == "1" for k in range(n)] for line in lines], dtype=bool)
