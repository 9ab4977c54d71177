"""The fixed-point LIF cell with on-cell pair STDP, in Amaranth 0.5.

One `LifStdpCell` is one neuron of a network (a `neurobox.hardware.unit.FixedUnit`):
its constants (decay factors, membrane responses, threshold, STDP
amplitudes and bounds) and its non-plastic weights are elaborated into the
logic; its state and its plastic weights are registers. It computes exactly
what the Python specification computes per tick
(`neurobox.neurons.lif_fixed.step`, then `neurobox.plasticity.stdp_fixed.step`
on the plastic inputs, in the order of `neurobox.hardware.unit`).

Ports (sync domain: `clk`, `rst`)
---------------------------------
    tick     in   1   strobe: one update starts in each clock cycle where
                      tick is high and busy is low (ticks while busy are ignored)
    pre      in   n   spike bits of the n presynaptic lines, sampled with tick
    busy     out  1   an update is under way; all outputs below are the state
                      after the last completed update whenever busy is low
    spike    out  1   the cell fired in the last update
    v        out  s16 membrane relative to E_L, V_lsb (see lif_fixed)
    i_ex     out  s16 excitatory current, I_lsb
    i_in     out  s16 inhibitory current, I_lsb
    ref      out  u8  refractory ticks left
    w        out  n x s16  weights of the inputs, I_lsb (non-plastic ones constant)
    x_post   out  u15 postsynaptic trace (only with plastic inputs)
    x_pre    out  p x u15  traces of the p plastic inputs (only with plastic inputs)

Datapath
--------
The area goes into one 32-bit accumulator with one adder (acc <- base +
addend) and a shift-and-add multiplier that shares it for every product: a
32-bit signed multiplicand shifting left, a 16-bit unsigned constant
multiplier shifting right, one bit a clock cycle, stopping when the
remaining multiplier bits are zero. A sequencer walks through one tick
(states named as in the code):

    VDEC       acc = 2**15 + v * D_m;  v <- decay's fix-up of acc >> 16
    VSUM_EX/IN acc = K + i_ex * P_ex + i_in * P_in, K = i_e * P_e + 2**(S-1);
               then v <- sat16((acc >> S) + v)
               (while refractory these are skipped and ref <- ref - 1)
    IEX        acc = 2**15 + i_ex * D_ex; acc = fix-up(acc >> 16);
    IEX_SUM    acc += w_j for each excitatory input j that spiked; i_ex <- sat16(acc)
    IIN(_SUM)  the same for i_in; then v >= v_th: spike, v <- v_reset, ref <- ref_steps
    XPOST      x_post <- (x_post * (2**k_minus - 1)) >> k_minus   (= x - ceil(x / 2**k))
    DM         dm = (a_minus * x_post) >> 14
    XPRE, DP   for each plastic input j: x_j <- (x_j * (2**k_plus - 1)) >> k_plus;
               w_j <- max(w_j - dm, w_min) if pre_j;  w_j <- min(w_j + ((a_plus * x_j) >> 14),
               w_max) if spike;  x_j <- bump(x_j) if pre_j;  after the last, x_post <- bump if spike

In the code: `_State` (the registers), `_Datapath`, the IDLE, membrane
and current states of `LifStdpCell`, and `_Stdp` (the STDP update and
states); `LifStdpCell.elaborate` puts them together.

The weights start inside [w_min, w_max] and the rule keeps them there, so a
depression can only cross w_min and a potentiation only w_max: the clamps
of the specification need one comparison each. sat16 checks that bits
15..32 of the sum are all equal. `update_cycles(unit)` gives the clock
cycles of one update (a hundred or so): at a few MHz, well under a 1 ms
tick. The cell has no external current input (i_ext = 0, as in the
firmware), so sat16(i_e + i_ext) * P_e is a constant.

This module must not use `from __future__ import annotations`: Amaranth's
wiring.Component reads its signature from real annotations.
"""
from contextlib import contextmanager

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from neurobox.hardware.unit import FixedUnit
from neurobox.neurons import lif_fixed
from neurobox.neurons.lif_fixed import DECAY_SHIFT, LifFixedParams
from neurobox.plasticity import stdp_fixed

ACC_WIDTH = 32
"""Accumulator bits: every sum of the specification fits a signed int32."""
MUL_WIDTH = 16
"""Multiplier (constant operand) bits: D_* are uint16, P_* uint13, a_* uint15."""


def _bits(c: int) -> int:
    return max(int(c), 0).bit_length()


def update_cycles(unit: FixedUnit, spiked: bool = True, refractory: bool = False) -> int:
    """Clock cycles from a tick strobe to the first cycle with busy low, for `unit`.

    The strobe cycle counts as one. A multiplication by a constant c takes
    bit_length(c) + 1 cycles (a trace decay multiplies by 2**k - 1: k + 1
    cycles); a tick that starts refractory skips the membrane (three
    products); a tick that fires potentiates every plastic input (one
    product each), a tick that does not multiplies by 0 (one cycle).
    """
    p = unit.lif
    n_ex = sum(1 for r in unit.receptors if r == 0)
    n_in = sum(1 for r in unit.receptors if r == 1)
    cycles = 1
    if not refractory:
        cycles += _bits(p.D_m) + 1 + _bits(p.P_ex) + 1 + _bits(p.P_in) + 1
    cycles += 1 + _bits(p.D_ex) + 1 + max(n_ex, 1) + 1 + _bits(p.D_in) + 1 + max(n_in, 1)
    n_plastic = len(unit.plastic_index)
    if n_plastic:
        s = unit.stdp
        cycles += 1 + s.k_minus + 1 + _bits(s.a_minus) + 1
        cycles += n_plastic * (s.k_plus + 1 + (_bits(s.a_plus) if spiked else 0) + 1)
    return cycles


def max_update_cycles(unit: FixedUnit) -> int:
    """The longest update of `unit` in clock cycles (not refractory, and firing)."""
    return max(update_cycles(unit, True, False), update_cycles(unit, False, False))


def _at_least(x, lo: int):
    return Mux(x < lo, lo, x)


def _at_most(x, hi: int):
    return Mux(x > hi, hi, x)


def _bump(x):
    """min(x + 2**14, 32767) for 0 <= x <= 32767: saturate if bit 14 is set, else set it."""
    return Mux(x[14], stdp_fixed.TRACE_MAX, x | stdp_fixed.ONE)


def cell_signature(n_inputs: int, n_plastic: int) -> dict:
    """The port members of a cell with n inputs of which n_plastic are plastic."""
    members = {
        "tick": In(1),
        "pre": In(max(n_inputs, 1)),
        "busy": Out(1),
        "spike": Out(1),
        "v": Out(signed(16)),
        "i_ex": Out(signed(16)),
        "i_in": Out(signed(16)),
        "ref": Out(unsigned(8)),
    }
    if n_inputs:
        members["w"] = Out(data.ArrayLayout(signed(16), n_inputs))
    if n_plastic:
        members["x_post"] = Out(unsigned(15))
        members["x_pre"] = Out(data.ArrayLayout(unsigned(15), n_plastic))
    return members


class _State:
    """The cell's state: v, i_ex, i_in (s16), ref (u8), spike, the input bits sampled with the tick, the
    weights (registers if plastic, constants otherwise, I_lsb) and the STDP traces (u15)."""

    def __init__(self, unit: FixedUnit, initial_weights: tuple[int, ...]):
        plastic = unit.plastic_index
        self.v = Signal(signed(16))
        self.i_ex = Signal(signed(16))
        self.i_in = Signal(signed(16))
        self.ref = Signal(unsigned(8))
        self.spike = Signal()
        self.pre = Signal(max(unit.n_inputs, 1))
        self.weights = [Signal(signed(16), init=w, name=f"w{j}") if j in plastic else Const(w, signed(16))
                        for j, w in enumerate(initial_weights)]
        self.x_pre = [Signal(unsigned(15), name=f"x_pre{kk}") for kk in range(len(plastic))]
        self.x_post = Signal(unsigned(15))


BASE_ACC, BASE_ZERO, BASE_SHIFT = range(3)
"""The adder's first operand: the accumulator, 0, or the accumulator >> S."""
ADD_ZERO, ADD_MAC, ADD_ROUND, ADD_K, ADD_VAL = range(5)
"""The adder's second operand: 0, one shift-and-add step (the multiplicand if the multiplier's low bit is
set), 2**15 (decay's rounding), the membrane constant K, or val16."""


class _Datapath:
    """The shared accumulator, adder and shift-and-add multiplier (module docstring), one assignment per
    register, steered by the sequencer: acc <- base + addend; a <- a_src (load_a) or a << 1;
    b <- b_src (load_b) or b >> 1. `decayed` and `sat` are its results' decay fix-up and sat16."""

    def __init__(self, lif: LifFixedParams):
        self.lif = lif
        self.acc = Signal(signed(ACC_WIDTH))
        self.a = Signal(signed(ACC_WIDTH))
        self.b = Signal(unsigned(MUL_WIDTH))
        self.x0 = Signal(signed(16))          # the multiplicand as loaded (decay's fix-up compares with it)
        self.base_sel = Signal(range(3))
        self.add_sel = Signal(range(5))
        self.val16 = Signal(signed(16))
        self.load_a = Signal()
        self.a_src = Signal(signed(16))
        self.load_b = Signal()
        self.b_src = Signal(unsigned(MUL_WIDTH))
        self.base = Signal(signed(ACC_WIDTH))
        self.addend = Signal(signed(ACC_WIDTH))
        self.total = Signal(signed(ACC_WIDTH + 1))
        self.mac_done = Signal()
        self.decayed = Signal(signed(16))
        self.sat = Signal(signed(16))

    def elaborate(self, m: Module) -> None:
        """The adder, the registers, and the decay fix-up and sat16 of their results."""
        p = self.lif
        acc, a, b, x0, total = self.acc, self.a, self.b, self.x0, self.total
        k_const = p.i_e * p.P_e + (1 << (p.S - 1))
        with m.Switch(self.base_sel):
            with m.Case(BASE_ACC):
                m.d.comb += self.base.eq(acc)
            with m.Case(BASE_SHIFT):
                m.d.comb += self.base.eq(acc >> p.S)
        with m.Switch(self.add_sel):
            with m.Case(ADD_MAC):
                m.d.comb += self.addend.eq(Mux(b[0], a, 0))
            with m.Case(ADD_ROUND):
                m.d.comb += self.addend.eq(1 << (DECAY_SHIFT - 1))
            with m.Case(ADD_K):
                m.d.comb += self.addend.eq(k_const)
            with m.Case(ADD_VAL):
                m.d.comb += self.addend.eq(self.val16)
        m.d.comb += total.eq(self.base + self.addend)
        m.d.sync += acc.eq(total)
        with m.If(self.load_a):
            m.d.sync += [a.eq(self.a_src), x0.eq(self.a_src)]
        with m.Else():
            m.d.sync += a.eq(a << 1)
        with m.If(self.load_b):
            m.d.sync += b.eq(self.b_src)
        with m.Else():
            m.d.sync += b.eq(b >> 1)
        m.d.comb += self.mac_done.eq(b == 0)
        # decay(x, D) from acc = 2**15 + x * D, with x = x0
        hi = acc[DECAY_SHIFT:ACC_WIDTH].as_signed()
        m.d.comb += self.decayed.eq(Mux((hi == x0) & (x0 != 0), x0 + Mux(x0[15], 1, -1), hi))
        # sat16(total): total fits 16 bits iff its bits 15..32 are all equal
        top = total[15:]
        m.d.comb += self.sat.eq(Mux((top == 0) | (top == (1 << len(top)) - 1), total[:16],
                                    Mux(total[-1], lif_fixed.INT16_MIN, lif_fixed.INT16_MAX)))

    def start(self, m: Module, a_value, b_value, base_value=BASE_ZERO, add_value=ADD_ZERO) -> None:
        """Load a product a_value * b_value (b_value unsigned), its sum starting at base_value + add_value."""
        m.d.comb += [self.base_sel.eq(base_value), self.add_sel.eq(add_value), self.load_a.eq(1),
                     self.a_src.eq(a_value), self.load_b.eq(1), self.b_src.eq(b_value)]

    @contextmanager
    def when_product_done(self, m: Module):
        """In a multiplying state: one shift-and-add step a cycle; the body runs in the cycle the product is done."""
        m.d.comb += self.add_sel.eq(ADD_MAC)
        with m.If(self.mac_done):
            yield


def _gated_weight(state: _State, inputs: list[int], k: Signal):
    """The weight of input inputs[k] if it spiked this tick, else 0."""
    if not inputs:
        return Const(0, signed(16))
    ws = Array([state.weights[j] for j in inputs])
    bits = Array([state.pre[j] for j in inputs])
    return Mux(bits[k], ws[k], 0)


class _Stdp:
    """Pair STDP on the datapath: the update of plastic input jp (one comparison per clamp, see the module
    docstring) and its states XPOST_START .. DP."""

    def __init__(self, unit: FixedUnit, state: _State, dp: _Datapath):
        self.rule = unit.stdp
        self.plastic = unit.plastic_index
        self.state = state
        self.dp = dp
        self.jp = Signal(range(len(self.plastic)))
        self.dm = Signal(unsigned(17))
        self.w1 = Signal(signed(18))
        self.w2 = Signal(signed(18))
        self.x_p = Array(state.x_pre)
        self.xj = self.x_p[self.jp]
        self.prej = Array([state.pre[j] for j in self.plastic])[self.jp]
        # trace decay x - ceil(x / 2**k) == (x * (2**k - 1)) >> k: one more product on the datapath
        self.keep_plus, self.keep_minus = (1 << self.rule.k_plus) - 1, (1 << self.rule.k_minus) - 1
        self.dec_plus = dp.acc[self.rule.k_plus:self.rule.k_plus + 15]
        self.dec_minus = dp.acc[self.rule.k_minus:self.rule.k_minus + 15]
        self.dw = dp.acc[stdp_fixed.DW_SHIFT:ACC_WIDTH - 1]   # a weight change: (amplitude * trace) >> 14

    def elaborate(self, m: Module) -> None:
        """w1: the weight of input jp after depression (if it spiked); w2: after potentiation (if the cell fired)."""
        s, rule = self.state, self.rule
        jw = Array([s.weights[j] for j in self.plastic])[self.jp]
        # the weights start inside [w_min, w_max] (checked in __init__) and stay there, so after a
        # depression only w_min can be crossed and after a potentiation only w_max
        m.d.comb += [self.w1.eq(Mux(self.prej, _at_least(jw - self.dm, rule.w_min), jw)),
                     self.w2.eq(Mux(s.spike, _at_most(self.w1 + self.dw, rule.w_max), self.w1))]

    def states(self, m: Module) -> None:
        """x_post decays, dm = (a_minus * x_post) >> 14, then per plastic input: x_pre decays, w and x_pre
        update; after the last, x_post's bump if the cell fired."""
        s, dp, rule, jp = self.state, self.dp, self.rule, self.jp
        n_p = len(self.plastic)
        with m.State("XPOST_START"):
            dp.start(m, s.x_post, self.keep_minus)
            m.next = "XPOST"
        with m.State("XPOST"):
            with dp.when_product_done(m):
                m.d.sync += s.x_post.eq(self.dec_minus)
                dp.start(m, self.dec_minus, rule.a_minus)
                m.next = "DM"
        with m.State("DM"):
            with dp.when_product_done(m):
                m.d.sync += [self.dm.eq(self.dw), jp.eq(0)]
                dp.start(m, s.x_pre[0], self.keep_plus)
                m.next = "XPRE"
        with m.State("XPRE"):
            with dp.when_product_done(m):
                for kk in range(n_p):
                    with m.If(jp == kk):
                        m.d.sync += s.x_pre[kk].eq(self.dec_plus)
                dp.start(m, self.dec_plus, Mux(s.spike, rule.a_plus, 0))
                m.next = "DP"
        with m.State("DP"):
            with dp.when_product_done(m):
                for kk, j in enumerate(self.plastic):
                    with m.If(jp == kk):
                        m.d.sync += [s.weights[j].eq(self.w2),
                                     s.x_pre[kk].eq(Mux(self.prej, _bump(self.xj), self.xj))]
                with m.If(jp == n_p - 1):
                    m.d.sync += s.x_post.eq(Mux(s.spike, _bump(s.x_post), s.x_post))
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += jp.eq(jp + 1)
                    dp.start(m, self.x_p[(jp + 1)[:len(jp)]], self.keep_plus)
                    m.next = "XPRE"


class LifStdpCell(wiring.Component):
    """One fixed-point LIF neuron with pair STDP on its plastic inputs (see the module docstring)."""

    def __init__(self, unit: FixedUnit, weights=None):
        self.unit = unit
        self.initial_weights = tuple(unit.weights if weights is None else weights)
        if len(self.initial_weights) != unit.n_inputs:
            raise ValueError(f"expected {unit.n_inputs} weights, got {len(self.initial_weights)}")
        p = unit.lif
        for name, value, lo, hi in (("D_m", p.D_m, 0, 65535), ("D_ex", p.D_ex, 0, 65535),
                                    ("D_in", p.D_in, 0, 65535), ("P_ex", p.P_ex, 0, lif_fixed.P_MAX),
                                    ("P_in", p.P_in, 0, lif_fixed.P_MAX), ("P_e", p.P_e, 0, lif_fixed.P_MAX),
                                    ("S", p.S, lif_fixed.S_MIN, lif_fixed.S_MAX),
                                    ("i_e", p.i_e, -32768, 32767), ("v_th", p.v_th, -32768, 32767),
                                    ("v_reset", p.v_reset, -32768, 32767), ("ref_steps", p.ref_steps, 0, 255)):
            if not lo <= value <= hi:
                raise ValueError(f"{unit.name}: {name} = {value} outside [{lo}, {hi}]")
        if unit.stdp is not None:
            for j in unit.plastic_index:
                if not unit.stdp.w_min <= self.initial_weights[j] <= unit.stdp.w_max:
                    raise ValueError(f"{unit.name}: plastic weight {j} = {self.initial_weights[j]} outside "
                                     f"[w_min, w_max] = [{unit.stdp.w_min}, {unit.stdp.w_max}]")
        super().__init__(cell_signature(unit.n_inputs, len(unit.plastic_index)))

    def elaborate(self, platform):
        """The state, the datapath, the STDP update, the sequencer's states and the ports."""
        m = Module()
        state = _State(self.unit, self.initial_weights)
        dp = _Datapath(self.unit.lif)
        dp.elaborate(m)
        stdp = _Stdp(self.unit, state, dp) if self.unit.plastic_index else None
        if stdp:
            stdp.elaborate(m)
        with m.FSM(init="IDLE") as fsm:
            self._idle(m, state, dp)
            self._membrane(m, state, dp)
            self._currents(m, state, dp, after="XPOST_START" if stdp else "IDLE")
            if stdp:
                stdp.states(m)
        self._outputs(m, state, fsm)
        return m

    def _idle(self, m: Module, s: _State, dp: _Datapath) -> None:
        """IDLE: a tick samples the inputs and starts the membrane, or while refractory counts ref down and
        goes straight to the currents."""
        with m.State("IDLE"):
            with m.If(self.tick):
                m.d.sync += s.pre.eq(self.pre)
                with m.If(s.ref == 0):
                    dp.start(m, s.v, self.unit.lif.D_m, add_value=ADD_ROUND)
                    m.next = "VDEC"
                with m.Else():
                    m.d.sync += s.ref.eq(s.ref - 1)
                    m.next = "IEX_START"

    def _membrane(self, m: Module, s: _State, dp: _Datapath) -> None:
        """VDEC: v decays; VSUM_EX, VSUM_IN: v <- sat16(v + (K + i_ex * P_ex + i_in * P_in) >> S)."""
        p = self.unit.lif
        with m.State("VDEC"):
            with dp.when_product_done(m):
                m.d.sync += s.v.eq(dp.decayed)
                dp.start(m, s.i_ex, p.P_ex, add_value=ADD_K)
                m.next = "VSUM_EX"
        with m.State("VSUM_EX"):
            with dp.when_product_done(m):
                dp.start(m, s.i_in, p.P_in, base_value=BASE_ACC)
                m.next = "VSUM_IN"
        with m.State("VSUM_IN"):
            with dp.when_product_done(m):
                m.d.comb += [dp.base_sel.eq(BASE_SHIFT), dp.add_sel.eq(ADD_VAL), dp.val16.eq(s.v)]
                m.d.sync += s.v.eq(dp.sat)
                m.next = "IEX_START"

    def _currents(self, m: Module, s: _State, dp: _Datapath, after: str) -> None:
        """IEX_START, IEX, IEX_SUM, then IIN_*: each current decays and adds the weights of its receptor's
        inputs that spiked, one a cycle; then the cell fires or not, and goes on to `after`."""
        u, p = self.unit, self.unit.lif
        inputs = {r: [j for j in range(u.n_inputs) if u.receptors[j] == r] for r in (0, 1)}
        k = Signal(range(max(1, len(inputs[0]), len(inputs[1])) + 1))
        for r, (cur, name, decay, nxt) in enumerate(((s.i_ex, "IEX", p.D_ex, "IIN_START"),
                                                     (s.i_in, "IIN", p.D_in, None))):
            with m.State(name + "_START"):
                dp.start(m, cur, decay, add_value=ADD_ROUND)
                m.next = name
            with m.State(name):
                with dp.when_product_done(m):
                    m.d.comb += [dp.base_sel.eq(BASE_ZERO), dp.add_sel.eq(ADD_VAL), dp.val16.eq(dp.decayed)]
                    m.d.sync += k.eq(0)
                    m.next = name + "_SUM"
            with m.State(name + "_SUM"):
                m.d.comb += [dp.base_sel.eq(BASE_ACC), dp.add_sel.eq(ADD_VAL),
                             dp.val16.eq(_gated_weight(s, inputs[r], k))]
                m.d.sync += k.eq(k + 1)
                with m.If(k >= max(len(inputs[r]), 1) - 1):
                    m.d.sync += cur.eq(dp.sat)
                    if nxt is not None:
                        m.next = nxt
                    else:
                        self._fire(m, s)
                        m.next = after

    def _fire(self, m: Module, s: _State) -> None:
        """spike <- v >= v_th; if it fires, v <- v_reset and ref <- ref_steps."""
        p = self.unit.lif
        fire = s.v >= p.v_th
        m.d.sync += s.spike.eq(fire)
        with m.If(fire):
            m.d.sync += [s.v.eq(p.v_reset), s.ref.eq(p.ref_steps)]

    def _outputs(self, m: Module, s: _State, fsm) -> None:
        """The ports: busy outside IDLE, and the state."""
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        m.d.comb += [self.spike.eq(s.spike), self.v.eq(s.v), self.i_ex.eq(s.i_ex), self.i_in.eq(s.i_in),
                     self.ref.eq(s.ref)]
        for j, w in enumerate(s.weights):
            m.d.comb += self.w[j].eq(w)
        if s.x_pre:
            m.d.comb += self.x_post.eq(s.x_post)
            for kk, x in enumerate(s.x_pre):
                m.d.comb += self.x_pre[kk].eq(x)


class SynthTop(wiring.Component):
    """A cell with only its network ports (tick, pre, spike, busy) on pins, for synthesis reports.

    In a network the membrane, weights and traces stay inside the FPGA; all
    of them feed the spike, so no logic of the cell is optimised away when
    only these ports leave the device.
    """

    def __init__(self, unit: FixedUnit, weights=None):
        self.unit = unit
        self.weights = weights
        super().__init__({"tick": In(1), "pre": In(max(unit.n_inputs, 1)), "spike": Out(1), "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.cell = cell = LifStdpCell(self.unit, self.weights)
        m.d.comb += [cell.tick.eq(self.tick), cell.pre.eq(self.pre), self.spike.eq(cell.spike),
                     self.busy.eq(cell.busy)]
        return m


class ChainTop(wiring.Component):
    """`copies` cells of one unit in a chain, each cell's spike on input 0 of the next (for fit checks).

    Input 0 of the first cell and inputs 1.. of every cell come from pins, the last cell's spike
    goes to a pin. No two cells see the same inputs, so synthesis keeps every copy.
    """

    def __init__(self, unit: FixedUnit, copies: int):
        if unit.n_inputs < 1 or copies < 1:
            raise ValueError("a chain needs a unit with inputs and at least one copy")
        self.unit = unit
        self.copies = copies
        super().__init__({"tick": In(1), "pre": In(unit.n_inputs), "spike": Out(1), "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        previous = self.pre[0]
        cells = []
        for c in range(self.copies):
            cell = LifStdpCell(self.unit)
            m.submodules[f"cell{c}"] = cell
            m.d.comb += [cell.tick.eq(self.tick), cell.pre[0].eq(previous)]
            if self.unit.n_inputs > 1:
                m.d.comb += cell.pre[1:].eq(self.pre[1:])
            previous = cell.spike
            cells.append(cell)
        m.d.comb += [self.spike.eq(previous), self.busy.eq(cells[-1].busy)]
        return m
