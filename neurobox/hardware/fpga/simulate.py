"""Run the FPGA cell against the Python specification: Amaranth's simulator and iverilog.

Every runner takes a unit (`neurobox.hardware.unit.FixedUnit`), an input
spike sequence `pre` (bool[steps, n_inputs]: a spike is received on input
j in tick t) and optionally a reward schedule (`reward_pins`), and returns
a `CellTrace`, one row per tick, taken when the cell is idle again after
that tick's update. `reference` computes the same rows with the Python
specification (`neurobox.hardware.unit.simulate`, which runs `unit_tick`),
and `first_mismatch` names the first tick and variable where two traces
differ.

The iverilog runner exports the cell to Verilog (Amaranth's builtin yosys,
`emit_src=False`), generates a testbench that reads the stimulus (input
bits, then the reward pins) with $readmemb, pulses `tick` once per step,
waits for `busy` to fall and prints the state, compiles it with iverilog
and runs it with vvp.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurobox.errors import SimulationError, ToolMissingError
from neurobox.hardware.unit import FixedUnit, simulate
from neurobox.plasticity.stdp_fixed import halved

APT_FPGA = "apt-get install yosys nextpnr-ice40 fpga-icestorm iverilog"
PIP_AMARANTH = "pip install 'amaranth[builtin-yosys]>=0.5,<0.6'"
SCALARS = ("spike", "v", "i_ex", "i_in", "ref", "theta", "x_post", "a_plus")
"""The per-tick scalars of a CellTrace, in the order the iverilog testbench prints them (after the cycles)."""
FIELDS = (*SCALARS, "w", "line", "x_pre", "c")
CLOCK_NS = 10
"""Clock period of the testbenches, ns (the value does not change any result)."""


@dataclass
class CellTrace:
    """State after each tick: spike bool[steps]; v, i_ex, i_in (int16 LSB), ref (ticks), theta (V_lsb),
    x_post (trace LSB) and a_plus (the pair STDP amplitude after the schedule's halvings, I_lsb) int64[steps]; w (I_lsb) and line (bits 0 .. delay - 1 of each delay line)
    int64[steps, n_inputs]; x_pre (pre traces) and c (eligibilities) int64[steps, n_plastic];
    cycles int64[steps]: clock cycles from the tick strobe to idle (0 for the reference)."""

    spike: np.ndarray
    v: np.ndarray
    i_ex: np.ndarray
    i_in: np.ndarray
    ref: np.ndarray
    theta: np.ndarray
    x_post: np.ndarray
    a_plus: np.ndarray
    w: np.ndarray
    line: np.ndarray
    x_pre: np.ndarray
    c: np.ndarray
    cycles: np.ndarray

    @classmethod
    def empty(cls, steps: int, n: int, n_plastic: int) -> "CellTrace":
        z = lambda: np.zeros(steps, dtype=np.int64)  # noqa: E731
        per_input = lambda: np.zeros((steps, n), dtype=np.int64)  # noqa: E731
        per_plastic = lambda: np.zeros((steps, n_plastic), dtype=np.int64)  # noqa: E731
        return cls(np.zeros(steps, dtype=bool), z(), z(), z(), z(), z(), z(), z(), per_input(), per_input(),
                   per_plastic(), per_plastic(), z())


def amaranth_or_error():
    try:
        import amaranth  # noqa: F401
    except ImportError:
        raise ToolMissingError(f"Amaranth is not installed; install it with: {PIP_AMARANTH}") from None


def _check_pre(unit: FixedUnit, pre) -> np.ndarray:
    pre = np.asarray(pre, dtype=bool)
    if pre.ndim != 2 or pre.shape[1] != unit.n_inputs:
        raise ValueError(f"expected a (steps, {unit.n_inputs}) array of input spikes, got shape {pre.shape}")
    return pre


def reward_pins(reward, steps: int) -> np.ndarray:
    """The reward and punishment pins in each tick, bool[steps, 2], from `reward`: None (no pulses),
    pulses of -1, 0, +1 per tick (as `neurobox.hardware.unit.simulate` takes them), or the pins themselves
    (bool[steps, 2]; both high is no pulse)."""
    if reward is None:
        return np.zeros((steps, 2), dtype=bool)
    r = np.asarray(reward)
    if r.shape == (steps, 2):
        return r.astype(bool)
    if r.shape != (steps,) or np.any(np.abs(r) > 1):
        raise ValueError(f"expected {steps} pulses of -1, 0 or +1 or ({steps}, 2) pins, got shape {r.shape}")
    return np.stack([r == 1, r == -1], axis=1)


def pulses(pins: np.ndarray) -> np.ndarray:
    """The pulse r of each tick from the pins: +1 reward, -1 punishment, 0 both or neither."""
    return pins[:, 0].astype(np.int64) - pins[:, 1].astype(np.int64)


def lines(unit: FixedUnit, pre: np.ndarray) -> np.ndarray:
    """The delay lines after each tick (unit_tick, step 1: line = (line << 1 | received) & 0xFFFF), bits
    0 .. delay - 1 only: the bits a cell keeps, since the higher ones never reach the synapse."""
    out = np.zeros(pre.shape, dtype=np.int64)
    line = np.zeros(pre.shape[1], dtype=np.int64)
    keep = (1 << np.asarray(unit.input_delays, dtype=np.int64)) - 1
    for t, row in enumerate(pre):
        line = ((line << 1) | row) & 0xFFFF
        out[t] = line & keep
    return out


def _rewarded(unit: FixedUnit) -> bool:
    """The unit's cell has the reward pins (R-STDP on plastic inputs)."""
    return unit.rstdp is not None and bool(unit.plastic_index)


def reference(unit: FixedUnit, pre, weights=None, reward=None) -> CellTrace:
    """The Python specification's trace for `unit` driven by `pre` and the reward schedule `reward`."""
    pre = _check_pre(unit, pre)
    tr = simulate(unit, pre, weights, pulses(reward_pins(reward, pre.shape[0])))
    plastic = list(unit.plastic_index)
    out = CellTrace.empty(pre.shape[0], unit.n_inputs, len(plastic))
    out.spike[:] = tr.spikes
    out.v[:], out.i_ex[:], out.i_in[:], out.ref[:], out.theta[:] = tr.v, tr.i_ex, tr.i_in, tr.ref, tr.theta
    if plastic:
        out.x_post[:] = tr.x_post
        out.x_pre[:] = tr.x_pre[:, plastic]
        out.c[:] = tr.eligibility[:, plastic]
    if plastic and unit.stdp is not None:
        s = unit.stdp
        out.a_plus[:] = [halved(s.a_plus, n, s.halve_every, s.halvings) for n in tr.n_post]
    out.w[:] = tr.weights
    out.line[:] = lines(unit, pre)
    return out


def expected_cycles(unit: FixedUnit, ref: CellTrace) -> list[int]:
    """The clock cycles of each update of a `reference` trace (neurobox.hardware.fpga.cell.update_cycles: whether
    the tick started refractory, whether the unit fired, and the pair STDP amplitude of that tick)."""
    from neurobox.hardware.fpga.cell import update_cycles

    started_refractory = np.r_[0, ref.ref[:-1]] != 0
    amplitude = ref.a_plus if unit.stdp is not None else [None] * len(ref.spike)
    return [update_cycles(unit, bool(s), bool(r), None if a is None else int(a))
            for s, r, a in zip(ref.spike, started_refractory, amplitude)]


def first_mismatch(expected: CellTrace, got: CellTrace) -> tuple[int, str, object, object] | None:
    """(tick, variable, expected, got) of the first difference, or None if bit-exact."""
    steps = len(expected.v)
    if len(got.v) != steps:
        return (min(steps, len(got.v)), "steps", steps, len(got.v))
    for t in range(steps):
        for name in FIELDS:
            e, g = getattr(expected, name)[t], getattr(got, name)[t]
            if not np.array_equal(e, g):
                return (t, name, e.tolist() if hasattr(e, "tolist") else e, g.tolist() if hasattr(g, "tolist") else g)
    return None


# --------------------------------------------------------------------------
# Amaranth's simulator

def simulate_amaranth(unit: FixedUnit, pre, weights=None, reward=None, vcd: str | Path | None = None,
                      count_cycles: bool = False) -> CellTrace:
    """Run the Amaranth cell in Amaranth's Python simulator, one tick strobe per row of `pre` (and of the
    reward schedule `reward`, see `reward_pins`).

    With `count_cycles` the testbench steps clock by clock to count the cycles of each update
    (about 30 % slower); otherwise it waits for busy to fall and `cycles` stays -1.
    """
    amaranth_or_error()
    from amaranth.sim import Simulator

    from neurobox.hardware.fpga.cell import LifStdpCell, store_address, store_fields

    pre = _check_pre(unit, pre)
    steps, n = pre.shape
    n_p = len(unit.plastic_index)
    cell = LifStdpCell(unit, weights)
    out = _with_constant_weights(CellTrace.empty(steps, n, n_p), cell.initial_weights, unit)
    out.cycles[:] = -1
    words_of = {field: [store_address(unit, field, j) for j in unit.plastic_index] for field in store_fields(unit)}
    words = [int(sum(1 << j for j in range(n) if row[j])) for row in pre]
    pins = [int(r) | int(p) << 1 for r, p in reward_pins(reward, steps)]
    rewarded = _rewarded(unit)
    limit = 100_000

    async def bench(ctx):
        for t in range(steps):
            ctx.set(cell.pre, words[t])
            if rewarded:
                ctx.set(cell.reward, pins[t])
            ctx.set(cell.tick, 1)
            await ctx.tick()
            ctx.set(cell.tick, 0)
            if count_cycles:
                cycles = 1
                while ctx.get(cell.busy):
                    await ctx.tick()
                    cycles += 1
                    if cycles > limit:
                        raise SimulationError(f"{unit.name}: update {t} did not finish in {limit} cycles")
                out.cycles[t] = cycles
            else:
                await ctx.tick().until(~cell.busy)
            out.spike[t] = bool(ctx.get(cell.spike))
            out.v[t] = ctx.get(cell.v)
            out.i_ex[t] = ctx.get(cell.i_ex)
            out.i_in[t] = ctx.get(cell.i_in)
            out.ref[t] = ctx.get(cell.ref)
            out.theta[t] = ctx.get(cell.theta)
            for j in range(n):
                out.line[t, j] = ctx.get(cell.line[j])
            if unit.stdp is not None and n_p:
                out.x_post[t] = ctx.get(cell.x_post)
                out.a_plus[t] = ctx.get(cell.a_plus)
            for field, addresses in words_of.items():
                values = [ctx.get(cell.store.data[a]) for a in addresses]
                _set_stored(out, unit, field, t, values)

    sim = Simulator(cell)
    sim.add_clock(CLOCK_NS * 1e-9)
    sim.add_testbench(bench)
    if vcd is not None:
        with sim.write_vcd(str(vcd)):
            sim.run()
    else:
        sim.run()
    return out


# --------------------------------------------------------------------------
# Verilog export and iverilog

def _with_constant_weights(out: CellTrace, weights, unit: FixedUnit) -> CellTrace:
    """`out` with the weights of the non-plastic inputs, which the cell holds as constants, in every tick."""
    for j, w in enumerate(weights):
        if not unit.plastic[j]:
            out.w[:, j] = w
    return out


def _set_stored(out: CellTrace, unit: FixedUnit, field: str, t: int, words: list[int]) -> None:
    """Row t of `field` from the store's words of the plastic inputs (in plastic_index order); a weight is
    the word as an int16."""
    if field == "w":
        out.w[t, list(unit.plastic_index)] = [w - (1 << 16) if w >= 1 << 15 else w for w in words]
    else:
        getattr(out, field)[t] = words


def module_name(unit: FixedUnit) -> str:
    """A Verilog identifier for the unit's cell: nb_cell_<unit name with . and - as _>."""
    safe = "".join(c if c.isalnum() else "_" for c in unit.name)
    return f"nb_cell_{safe}"


def export_verilog(unit: FixedUnit, name: str | None = None, weights=None, top: str = "cell") -> str:
    """Verilog of the unit's cell (top="cell": every port) or of its synthesis top (top="synth":
    clk, rst, tick, pre, spike, busy only). Exported with emit_src=False: no paths in the text."""
    amaranth_or_error()
    from amaranth.back import verilog

    from neurobox.hardware.fpga.cell import LifStdpCell, SynthTop

    design = LifStdpCell(unit, weights) if top == "cell" else SynthTop(unit, weights)
    return verilog.convert(design, name=name or module_name(unit), emit_src=False)


def tool(name: str) -> str:
    """Path of an FPGA tool, or ToolMissingError with the apt-get line that installs it."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"{name} not found; install it with: {APT_FPGA}")
    return path


def testbench(unit: FixedUnit, name: str, steps: int, stimulus_file: str) -> str:
    """A Verilog testbench for the cell module `name`: reads `steps` rows of input bits (MSB = input
    n-1; with R-STDP two more bits above them, punishment then reward) from `stimulus_file`, pulses tick
    once per row, waits until busy is low and prints one line per tick:
    cycles, the SCALARS, line[0..n-1], then each field of the cell's store (cell.store_fields) for the
    plastic inputs in plastic_index order, read from the memory `store` inside the cell."""
    from neurobox.hardware.fpga.cell import store_address, store_fields

    n = unit.n_inputs
    n_p = len(unit.plastic_index)
    width = max(n, 1)
    rewarded = _rewarded(unit)
    ports = [".clk(clk)", ".rst(rst)", ".tick(tick)", ".pre(pre)", ".busy(busy)", ".spike(spike)", ".v(v)",
             ".i_ex(i_ex)", ".i_in(i_in)", ".ref(ref)", ".theta(theta)"]
    decl = ["wire busy, spike;", "wire signed [15:0] v, i_ex, i_in;", "wire [7:0] ref;", "wire [15:0] theta;"]
    show = ["cycles", "spike", "v", "i_ex", "i_in", "ref", "theta"]
    if n:
        ports.append(".line(line)")
        decl.append(f"wire [{16 * n - 1}:0] line;")
    if unit.stdp is not None and n_p:
        ports += [".x_post(x_post)", ".a_plus(a_plus)"]
        decl.append("wire [14:0] x_post, a_plus;")
        show += ["x_post", "a_plus"]
    else:
        show += ["0", "0"]
    if rewarded:
        ports.append(".reward(reward)")
        decl.append("reg [1:0] reward = 0;")
    show += [f"line[{16 * j + 15}:{16 * j}]" for j in range(n)]
    for field in store_fields(unit):
        words = [f"dut.store[{store_address(unit, field, j)}]" for j in unit.plastic_index]
        show += [f"$signed({w})" for w in words] if field == "w" else words
    fmt = " ".join(["%0d"] * len(show))
    row = "{reward, pre}" if rewarded else "pre"
    lines = [
        "`timescale 1ns/1ps",
        "module tb;",
        "  reg clk = 0, rst = 1, tick = 0;",
        f"  reg [{width - 1}:0] pre = 0;",
        f"  reg [{width + 2 * rewarded - 1}:0] stim [0:{steps - 1}];",
        "  integer t, cycles;",
        *("  " + d for d in decl),
        f"  {name} dut({', '.join(ports)});",
        f"  always #{CLOCK_NS // 2} clk = ~clk;",
        "  initial begin",
        f'    $readmemb("{stimulus_file}", stim);',
        "    @(negedge clk); rst = 0;",
        f"    for (t = 0; t < {steps}; t = t + 1) begin",
        f"      @(negedge clk); {row} = stim[t]; tick = 1;",
        "      @(negedge clk); tick = 0; cycles = 1;",
        "      while (busy) begin @(negedge clk); cycles = cycles + 1; end",
        f'      $display("{fmt}", {", ".join(show)});',
        "    end",
        "    $finish;",
        "  end",
        "endmodule",
        "",
    ]
    return "\n".join(lines)


def run_testbench(sources: dict[str, str], bench: str, stim: np.ndarray, vvp_name: str, what: str,
                  prefix: str, workdir: str | Path | None = None) -> str:
    """Write `sources`, tb.v and stim.txt (row t: the bits of stim[t], highest index first) into `workdir`
    (by default a temporary directory), compile with iverilog, run vvp; returns its stdout."""
    iverilog, vvp = tool("iverilog"), tool("vvp")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for file, text in sources.items():
            (work / file).write_text(text)
        n = stim.shape[1]
        rows = ["".join("1" if row[j] else "0" for j in reversed(range(n))) or "0" for row in stim]
        (work / "stim.txt").write_text("\n".join(rows) + "\n")
        (work / "tb.v").write_text(bench)
        done = subprocess.run([iverilog, "-g2005", "-o", vvp_name, "tb.v", *sources], cwd=work,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SimulationError(f"iverilog failed for {what}: {done.stderr.strip()[:2000]}")
        done = subprocess.run([vvp, "-n", vvp_name], cwd=work, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SimulationError(f"vvp failed for {what}: {done.stderr.strip()[:2000]}")
    return done.stdout


def simulate_iverilog(unit: FixedUnit, pre, weights=None, reward=None, workdir: str | Path | None = None,
                      verilog_text: str | None = None) -> CellTrace:
    """Run the exported Verilog of the cell in iverilog (vvp), one tick strobe per row of `pre` (and of the
    reward schedule `reward`, see `reward_pins`).

    `workdir` keeps the files (cell.v, tb.v, stim.txt, sim.vvp); by default a temporary directory.
    `verilog_text` replaces the export (a module named module_name(unit)).
    """
    pre = _check_pre(unit, pre)
    steps, n = pre.shape
    n_p = len(unit.plastic_index)
    name = module_name(unit)
    text = verilog_text if verilog_text is not None else export_verilog(unit, name, weights)
    stim = np.hstack([pre, reward_pins(reward, steps)]) if _rewarded(unit) else pre
    stdout = run_testbench({"cell.v": text}, testbench(unit, name, steps, "stim.txt"), stim, "sim.vvp",
                           unit.name, "nb-fpga-", workdir)
    lines = [ln.split() for ln in stdout.splitlines() if ln and (ln[0].isdigit() or ln[0] == "-")]
    if len(lines) != steps:
        raise SimulationError(f"vvp printed {len(lines)} rows for {steps} ticks of {unit.name}")
    from neurobox.hardware.fpga.cell import store_fields

    out = _with_constant_weights(CellTrace.empty(steps, n, n_p), unit.weights if weights is None else weights,
                                 unit)
    first = 1 + len(SCALARS)
    for t, row in enumerate(lines):
        vals = [int(x) for x in row]
        out.cycles[t] = vals[0]
        for name, value in zip(SCALARS, vals[1:first]):
            getattr(out, name)[t] = value
        out.line[t] = vals[first:first + n]
        for k, field in enumerate(store_fields(unit)):
            start = first + n + k * n_p
            _set_stored(out, unit, field, t, vals[start:start + n_p])
    return out
