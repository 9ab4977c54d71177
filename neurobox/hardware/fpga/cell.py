"""The fixed-point LIF cell with on-cell learning (pair STDP or reward-modulated STDP), in Amaranth 0.5.

One `LifStdpCell` is one unit of a board (a `neurobox.hardware.unit.FixedUnit`):
its constants (decay factors, membrane responses, threshold, the rule's
amplitudes and bounds) and its non-plastic weights are elaborated into the
logic; its state, its delay lines and its plastic weights are registers. It
computes exactly what `neurobox.hardware.unit.unit_tick` computes per tick:
the delay lines, the input sums, `neurobox.neurons.lif_fixed.lif_update`,
then the rule on the plastic inputs (`neurobox.plasticity.stdp_fixed.pair_update`
or `neurobox.plasticity.rstdp_fixed.rewarded` and `eligible`).

Ports (sync domain: `clk`, `rst`)
---------------------------------
    tick     in   1   strobe: one update starts in each clock cycle where
                      tick is high and busy is low (ticks while busy are ignored)
    pre      in   n   spike bits received on the n inputs in this tick, sampled with tick
    reward   in   2   reward (bit 0) and punishment (bit 1), sampled with tick: the pulse
                      r = +1, -1, or 0 when both or neither are high (R-STDP only)
    busy     out  1   an update is under way; all outputs below are the state
                      after the last completed update whenever busy is low
    spike    out  1   the cell fired in the last update
    v        out  s16 membrane relative to E_L, V_lsb (see lif_fixed)
    i_ex     out  s16 excitatory current, I_lsb
    i_in     out  s16 inhibitory current, I_lsb
    ref      out  u8  refractory ticks left
    theta    out  u16 adaptive threshold, V_lsb (a register if theta_plus > 0, else the constant unit.theta)
    w        out  n x s16  weights of the inputs, I_lsb (non-plastic ones constant)
    line     out  n x u16  delay lines: bits 0 .. delay - 1 of each input's line (the
                      bits that still reach its synapse; the bits above are 0)
    x_post   out  u15 postsynaptic trace (pair STDP only)
    a_plus   out  u15 the potentiation amplitude after the schedule's halvings, I_lsb (pair STDP only)
    x_pre    out  p x u15  pre traces of the p plastic inputs (with plastic inputs)
    c        out  p x u15  eligibilities of the p plastic inputs (R-STDP only)

Delay lines
-----------
Input j keeps bits 0 .. d - 1 of its line (d = its delay) in a d-bit
register that shifts in the input bit with the tick; the spike arrives at
the synapse when the top bit is set. A delay-1 input keeps only the bit
sampled with the tick, as a cell without delays does.

Datapath
--------
The area goes into one 32-bit accumulator with one adder (acc <- base +
addend) and a shift-and-add multiplier that shares it for every product: a
32-bit signed multiplicand shifting left, a 16-bit unsigned constant
multiplier shifting right, one bit a clock cycle, stopping when the
remaining multiplier bits are zero. A trace decays as a product too:
x - ceil(x / 2**k) == (x * (2**k - 1)) >> k. A sequencer walks through one
tick (states named as in the code):

    VDEC       acc = 2**15 + v * D_m;  v <- decay's fix-up of acc >> 16
    VSUM_EX/IN acc = K + i_ex * P_ex + i_in * P_in, K = i_e * P_e + 2**(S-1);
               then v <- sat16((acc >> S) + v)
               (while refractory these are skipped and ref <- ref - 1)
    IEX        acc = 2**15 + i_ex * D_ex; acc = fix-up(acc >> 16);
    IEX_SUM    acc += w_j for each excitatory input j whose spike arrives, one input a cycle; i_ex <- sat16(acc)
    IIN(_SUM)  the same for i_in; then v >= v_th + theta: spike, v <- v_reset, ref <- ref_steps,
               theta <- min(theta + theta_plus, 65535)
  pair STDP (stdp_fixed):
    XPOST      x_post decays;  DM: dm = (a_minus * x_post) >> 14
    per plastic input j, XPRE_START, XPRE, PAIR: x_j decays; w_j <- max(w_j - dm, w_min) if its spike
               arrives; w_j <- min(w_j + ((a_plus * x_j) >> 14), w_max) if the cell fired; x_j <- bump(x_j)
               if its spike arrives; after the last, x_post <- bump(x_post) if the cell fired
  reward-modulated STDP (rstdp_fixed):
    per plastic input j, R_START, R_C, R_X, R_PAIR_START, R_PAIR: c_j decays while w_j <- min(w_j + c_j,
               w_max) on a reward or max(w_j - c_j, w_min) on a punishment (with c_j before it decays);
               x_j decays; c_j <- min(c_j + ((a_plus * x_j) >> 14), 32767) (a_plus taken as 0 unless the
               cell fired); x_j <- bump(x_j) if its spike arrives

Rings
-----
The plastic inputs' weights, pre traces and eligibilities are each a ring
of registers in `ring_order(unit)` (the plastic excitatory inputs, then the
plastic inhibitory ones). The datapath reads only the head; a rotation
moves every value one place towards the head and writes the tail. Each
receptor's sum takes its plastic inputs first, turning the weights one
place per input; the rule turns every ring once, one input at a time. So
between updates every register holds its own input again, and no
multiplexer picks one of p values.

In the code: `_State` (the registers), `_Ring`, `_Datapath`, the IDLE,
membrane and current states of `LifStdpCell`, and `_Stdp` or `_Rstdp` (the
rule's update and states); `LifStdpCell.elaborate` puts them together.

The weights start inside [w_min, w_max] and the rules keep them there, so a
decrease can only cross w_min and an increase only w_max: the clamps of the
specification need one comparison each. sat16 checks that bits 15..32 of
the sum are all equal. `update_cycles(unit)` gives the clock cycles of one
update (a hundred or a few hundred): at a few MHz, well under a 1 ms tick.
The cell has no external current input (i_ext = 0, as in the firmware), so
sat16(i_e + i_ext) * P_e is a constant.

This module must not use `from __future__ import annotations`: Amaranth's
wiring.Component reads its signature from real annotations.
"""
from contextlib import contextmanager

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from neurobox.hardware.unit import MAX_DELAY, FixedUnit
from neurobox.neurons import lif_fixed
from neurobox.neurons.lif_fixed import DECAY_SHIFT, LifFixedParams
from neurobox.plasticity import stdp_fixed
from neurobox.plasticity.stdp_fixed import TRACE_MAX

ACC_WIDTH = 32
"""Accumulator bits: every sum of the specification fits a signed int32."""
MUL_WIDTH = 16
"""Multiplier (constant operand) bits: D_* are uint16, P_* uint13, a_* uint15, 2**k - 1 uint15."""
N_POST_MAX = 65535
"""Where the count of own spikes n_post stops (stdp_fixed: uint16, saturating)."""


def _keep(k: int) -> int:
    """The multiplier of a trace decay by k: x - ceil(x / 2**k) == (x * (2**k - 1)) >> k."""
    return (1 << k) - 1


def _product(c: int) -> int:
    """Clock cycles of a product by the constant c: one per bit of c, and the one that finds none left."""
    return max(int(c), 0).bit_length() + 1


def update_cycles(unit: FixedUnit, spiked: bool = True, refractory: bool = False, a_plus: int | None = None) -> int:
    """Clock cycles from a tick strobe to the first cycle with busy low, for `unit`.

    The strobe cycle counts as one. A multiplication by a constant c takes
    bit_length(c) + 1 cycles (a trace decay multiplies by 2**k - 1: k + 1
    cycles); a tick that starts refractory skips the membrane (three
    products); each plastic input takes one cycle to start, and with R-STDP
    one more before the pair's product; the pair's product is by the
    potentiation amplitude `a_plus` (I_lsb; by default the rule's, before
    the schedule halves it) if the cell fired, else by 0 (one cycle).
    """
    p = unit.lif
    n_ex = sum(1 for r in unit.receptors if r == 0)
    n_in = sum(1 for r in unit.receptors if r == 1)
    cycles = 1
    if not refractory:
        cycles += _product(p.D_m) + _product(p.P_ex) + _product(p.P_in)
    cycles += 1 + _product(p.D_ex) + max(n_ex, 1) + 1 + _product(p.D_in) + max(n_in, 1)
    n_plastic = len(unit.plastic_index)
    if n_plastic and unit.stdp is not None:
        s = unit.stdp
        cycles += 1 + _product(_keep(s.k_minus)) + _product(s.a_minus)
        a = s.a_plus if a_plus is None else a_plus
        cycles += n_plastic * (1 + _product(_keep(s.k_plus)) + _product(a if spiked else 0))
    elif n_plastic and unit.rstdp is not None:
        r = unit.rstdp
        cycles += n_plastic * (1 + _product(_keep(r.k_c)) + _product(_keep(r.k_pre)) + 1
                               + _product(r.a_plus if spiked else 0))
    return cycles


def max_update_cycles(unit: FixedUnit) -> int:
    """The longest update of `unit` in clock cycles (not refractory, and firing)."""
    return max(update_cycles(unit, True, False), update_cycles(unit, False, False))


def ring_order(unit: FixedUnit) -> tuple[int, ...]:
    """The plastic inputs in the order of their rings: the excitatory ones, then the inhibitory ones."""
    return tuple(sorted(unit.plastic_index, key=lambda j: unit.receptors[j]))


def _at_least(x, lo: int):
    return Mux(x < lo, lo, x)


def _at_most(x, hi: int):
    return Mux(x > hi, hi, x)


def _bump(x):
    """stdp_fixed.bump: min(x + 2**14, 32767) for 0 <= x <= 32767: saturate if bit 14 is set, else set it."""
    return Mux(x[14], TRACE_MAX, x | stdp_fixed.ONE)


def cell_signature(unit: FixedUnit) -> dict:
    """The port members of `unit`'s cell (module docstring)."""
    n, n_plastic = unit.n_inputs, len(unit.plastic_index)
    rule = unit.rule if n_plastic else None
    members = {"tick": In(1), "pre": In(max(n, 1))}
    if rule == "rstdp":
        members["reward"] = In(2)
    members.update({
        "busy": Out(1),
        "spike": Out(1),
        "v": Out(signed(16)),
        "i_ex": Out(signed(16)),
        "i_in": Out(signed(16)),
        "ref": Out(unsigned(8)),
        "theta": Out(unsigned(16)),
    })
    if n:
        members["w"] = Out(data.ArrayLayout(signed(16), n))
        members["line"] = Out(data.ArrayLayout(unsigned(MAX_DELAY), n))
    if rule == "stdp":
        members["x_post"] = Out(unsigned(15))
        members["a_plus"] = Out(unsigned(15))
    if rule:
        members["x_pre"] = Out(data.ArrayLayout(unsigned(15), n_plastic))
    if rule == "rstdp":
        members["c"] = Out(data.ArrayLayout(unsigned(15), n_plastic))
    return members


class _Ring:
    """One value per plastic input in a ring of registers (module docstring, Rings); `head` is place 0."""

    def __init__(self, shape, inits: list[int], name: str):
        self.regs = [Signal(shape, init=v, name=f"{name}{k}") for k, v in enumerate(inits)]
        self.head = self.regs[0]

    def rotate(self, m: Module, tail) -> None:
        """Every value one place towards the head; `tail` into the last place."""
        m.d.sync += [a.eq(b) for a, b in zip(self.regs, self.regs[1:])]
        m.d.sync += self.regs[-1].eq(tail)


class _State:
    """The cell's registers: v, i_ex, i_in (s16), ref (u8), theta (u16, starting at unit.theta; a constant if
    theta_plus is 0), spike, the delay lines, k (the input a sum or the rule is at); with plastic inputs the
    rings of their weights (s16) and pre traces (u15), and x_post (u15, pair STDP) or the eligibilities' ring
    (u15) and the reward pulse sampled with the tick (R-STDP). `weights[j]` is input j's weight: a register of
    the ring if plastic, a constant otherwise."""

    def __init__(self, unit: FixedUnit, initial_weights: tuple[int, ...]):
        self.order = ring_order(unit)
        self.v = Signal(signed(16))
        self.i_ex = Signal(signed(16))
        self.i_in = Signal(signed(16))
        self.ref = Signal(unsigned(8))
        self.theta = (Signal(unsigned(16), init=unit.theta) if unit.lif.theta_plus
                      else Const(unit.theta, unsigned(16)))
        self.spike = Signal()
        n_receptor = [sum(1 for r in unit.receptors if r == receptor) for receptor in (0, 1)]
        self.k = Signal(range(max(1, *n_receptor, len(self.order)) + 1))
        self.lines = [Signal(d, name=f"line{j}") for j, d in enumerate(unit.input_delays)]
        self.w = self.x_pre = self.c = self.x_post = None
        if self.order:
            self.w = _Ring(signed(16), [initial_weights[j] for j in self.order], "w")
            self.x_pre = _Ring(unsigned(15), [0] * len(self.order), "x_pre")
        if self.order and unit.stdp is not None:
            self.x_post = Signal(unsigned(15))
        if self.order and unit.rstdp is not None:
            self.c = _Ring(unsigned(15), [0] * len(self.order), "c")
            self.rewarded = Signal()
            self.punished = Signal()
        self.place = {j: k for k, j in enumerate(self.order)}  # input j's place in the rings
        self.weights = [self.w.regs[self.place[j]] if j in self.place else Const(w, signed(16))
                        for j, w in enumerate(initial_weights)]

    def arrived(self, j: int):
        """Input j's spike reaches its synapse in this tick: bit delay - 1 of its line (unit_tick, step 1)."""
        return self.lines[j][-1]


BASE_ACC, BASE_ZERO, BASE_SHIFT = range(3)
"""The adder's first operand: the accumulator, 0, or the accumulator >> S."""
ADD_ZERO, ADD_MAC, ADD_ROUND, ADD_K, ADD_VAL = range(5)
"""The adder's second operand: 0, one shift-and-add step (the multiplicand if the multiplier's low bit is
set), 2**15 (decay's rounding), the membrane constant K, or val16."""


class _Datapath:
    """The shared accumulator, adder and shift-and-add multiplier (module docstring), one assignment per
    register, steered by the sequencer: acc <- base + addend; a <- a_src (load_a) or a << 1;
    b <- b_src (load_b) or b >> 1. `decayed` and `sat` are its results' decay fix-up and sat16, `dw` and `trace`
    the rules' readings of a product."""

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
        self.dw = self.acc[stdp_fixed.DW_SHIFT:ACC_WIDTH - 1]   # stdp_fixed.dw: (a * x) >> 14 of a product a * x

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
        m.d.comb += self.decayed.eq(hi + Mux((hi == x0) & (x0 != 0), Mux(x0[15], 1, -1), 0))
        # sat16(total): total fits 16 bits iff its bits 15..32 are all equal
        top = total[15:]
        m.d.comb += self.sat.eq(Mux((top == 0) | (top == (1 << len(top)) - 1), total[:16],
                                    Mux(total[-1], lif_fixed.INT16_MIN, lif_fixed.INT16_MAX)))

    def start(self, m: Module, a_value, b_value, base_value=BASE_ZERO, add_value=ADD_ZERO) -> None:
        """Load a product a_value * b_value (b_value unsigned), its sum starting at base_value + add_value."""
        m.d.comb += [self.base_sel.eq(base_value), self.add_sel.eq(add_value), self.load_a.eq(1),
                     self.a_src.eq(a_value), self.load_b.eq(1), self.b_src.eq(b_value)]

    def trace(self, k: int):
        """stdp_fixed.trace_decay(x, k), read from the product x * (2**k - 1)."""
        return self.acc[k:k + 15]

    @contextmanager
    def when_product_done(self, m: Module):
        """In a multiplying state: one shift-and-add step a cycle; the body runs in the cycle the product is done."""
        m.d.comb += self.add_sel.eq(ADD_MAC)
        with m.If(self.mac_done):
            yield


def _summand(unit: FixedUnit, s: _State, receptor: int, k: Signal) -> tuple:
    """(the weight of the k-th input of `receptor`'s sum if its spike arrives, else 0; its number of plastic inputs).

    The sum takes the receptor's plastic inputs first, in ring order, at the head of the weights' ring (which
    turns one place per plastic input), then its other inputs, whose weights are constants.
    """
    plastic = [j for j in s.order if unit.receptors[j] == receptor]
    fixed = [j for j in range(unit.n_inputs) if not unit.plastic[j] and unit.receptors[j] == receptor]
    inputs = plastic + fixed
    if not inputs:
        return Const(0, signed(16)), 0
    weight = s.w.head if plastic else None
    if fixed:
        constants = Array([Const(0, signed(16))] * len(plastic) + [s.weights[j] for j in fixed])
        weight = Mux(k < len(plastic), weight, constants[k]) if plastic else constants[k]
    return Mux(Array([s.arrived(j) for j in inputs])[k], weight, 0), len(plastic)


def _next_input(m: Module, k: Signal, n_plastic: int, start: str) -> None:
    """After plastic input k (in ring order): on to the next one at `start`, or back to IDLE after the last."""
    with m.If(k == n_plastic - 1):
        m.next = "IDLE"
    with m.Else():
        m.d.sync += k.eq(k + 1)
        m.next = start


def halvings_cap(rule: stdp_fixed.StdpFixedParams) -> int:
    """The most halvings the schedule reaches: `halvings`, or fewer where n_post stops at N_POST_MAX first."""
    return min(rule.halvings, (N_POST_MAX - 1) // rule.halve_every) if rule.halve_every else 0


class _Schedule:
    """The learning-rate schedule (stdp_fixed.halved) without a divider: `a` = a_plus >> min((n_post - 1) //
    every, most) from a counter that wraps at `every` and a count of its wraps capped at most + 1.

    phase starts at every - 1, so the first own spike wraps it: after n_post >= 1 spikes, phase =
    (n_post - 1) % every and wraps = min((n_post - 1) // every, most) + 1, and a = a_plus >> (wraps - 1)
    (a_plus while wraps is 0). n_post itself is not kept: it saturates at N_POST_MAX, which matters only
    if that comes before the cap, so the cap is taken as `halvings_cap` (a unit without halvings has no
    counters, a = a_plus).
    """

    def __init__(self, rule: stdp_fixed.StdpFixedParams):
        self.every = rule.halve_every
        self.most = halvings_cap(rule)
        if self.most:
            self.phase = Signal(range(self.every), init=self.every - 1)
            self.wraps = Signal(range(self.most + 2))
            self.a = Array([Const(rule.a_plus, unsigned(15))]
                           + [Const(rule.a_plus >> h, unsigned(15)) for h in range(self.most + 1)])[self.wraps]
        else:
            self.a = Const(rule.a_plus, unsigned(15))

    def count(self, m: Module, spiked) -> None:
        """One own spike (if `spiked`) on the counters."""
        if not self.most:
            return
        with m.If(spiked):
            with m.If(self.phase == self.every - 1):
                m.d.sync += self.phase.eq(0)
                with m.If(self.wraps <= self.most):
                    m.d.sync += self.wraps.eq(self.wraps + 1)
            with m.Else():
                m.d.sync += self.phase.eq(self.phase + 1)


class _Stdp:
    """Pair STDP (neurobox.plasticity.stdp_fixed.pair_update, in unit_tick's order) on the datapath: x_post decays,
    dm = dw(a_minus, x_post), then each plastic input at the rings' heads, potentiating by the schedule's
    amplitude; states XPOST_START .. PAIR."""

    first = "XPOST_START"

    def __init__(self, unit: FixedUnit, state: _State, dp: _Datapath):
        self.rule = unit.stdp
        self.state = state
        self.dp = dp
        self.arrived = Array([state.arrived(j) for j in state.order])[state.k]
        self.dm = Signal(unsigned(17))
        self.w1 = Signal(signed(18))
        self.w2 = Signal(signed(18))
        self.schedule = _Schedule(unit.stdp)

    def elaborate(self, m: Module) -> None:
        """pair_update of the head: w1 after depression (if its spike arrived), w2 after potentiation (if the
        cell fired). The weights stay inside [w_min, w_max], so after a depression only w_min can be crossed
        and after a potentiation only w_max."""
        w, rule = self.state.w.head, self.rule
        m.d.comb += [self.w1.eq(Mux(self.arrived, _at_least(w - self.dm, rule.w_min), w)),
                     self.w2.eq(Mux(self.state.spike, _at_most(self.w1 + self.dp.dw, rule.w_max), self.w1))]

    def states(self, m: Module) -> None:
        """x_post decays, dm = (a_minus * x_post) >> 14, then per plastic input: x_pre decays, w and x_pre
        update and the rings turn; after the last, x_post's bump if the cell fired. A decayed trace goes from
        the accumulator straight into the next product (two states fewer than R-STDP's way: a smaller cell)."""
        s, dp, rule = self.state, self.dp, self.rule
        with m.State("XPOST_START"):
            dp.start(m, s.x_post, _keep(rule.k_minus))
            self.schedule.count(m, s.spike)
            m.next = "XPOST"
        with m.State("XPOST"):
            with dp.when_product_done(m):
                m.d.sync += s.x_post.eq(dp.trace(rule.k_minus))
                dp.start(m, dp.trace(rule.k_minus), rule.a_minus)
                m.next = "DM"
        with m.State("DM"):
            with dp.when_product_done(m):
                m.d.sync += self.dm.eq(dp.dw)
                m.next = "XPRE_START"
        with m.State("XPRE_START"):
            dp.start(m, s.x_pre.head, _keep(rule.k_plus))
            m.next = "XPRE"
        with m.State("XPRE"):
            with dp.when_product_done(m):
                dp.start(m, dp.trace(rule.k_plus), Mux(s.spike, self.schedule.a, 0))
                m.next = "PAIR"
        with m.State("PAIR"):
            with dp.when_product_done(m):
                x = dp.x0[:15]  # x_pre decayed, as loaded for the product
                s.w.rotate(m, self.w2)
                s.x_pre.rotate(m, Mux(self.arrived, _bump(x), x))
                with m.If(s.k == len(s.order) - 1):
                    m.d.sync += s.x_post.eq(Mux(s.spike, _bump(s.x_post), s.x_post))
                _next_input(m, s.k, len(s.order), "XPRE_START")


class _Rstdp:
    """Reward-modulated STDP (neurobox.plasticity.rstdp_fixed, in unit_tick's order) on the datapath, each plastic
    input at the rings' heads; states R_START .. R_PAIR."""

    first = "R_START"

    def __init__(self, unit: FixedUnit, state: _State, dp: _Datapath):
        self.rule = unit.rstdp
        self.state = state
        self.dp = dp
        self.arrived = Array([state.arrived(j) for j in state.order])[state.k]
        self.w_rewarded = Signal(signed(16))
        self.c_paired = Signal(unsigned(15))

    def elaborate(self, m: Module) -> None:
        """rewarded(w, c, r) and eligible(c, x, fired) of the head. c >= 0 and the weights stay inside
        [w_min, w_max], so a reward can only cross w_max and a punishment only w_min."""
        s, rule = self.state, self.rule
        w, c = s.w.head, s.c.head
        # one adder: w + c on a reward, w + ~c + 1 = w - c on a punishment, w + 0 otherwise
        c16, step, total = Signal(signed(16)), Signal(signed(16)), Signal(signed(18))
        m.d.comb += [c16.eq(c), step.eq(Mux(s.punished, ~c16, Mux(s.rewarded, c16, 0))),
                     total.eq(w + step + s.punished)]
        m.d.comb += [
            self.w_rewarded.eq(Mux(s.punished, _at_least(total, rule.w_min), _at_most(total, rule.w_max))),
            self.c_paired.eq(_at_most(c + self.dp.dw, TRACE_MAX)),
        ]

    def states(self, m: Module) -> None:
        """Per plastic input: c decays while w takes the reward with c as it was, x decays, c adds the pair
        (dw = 0 unless the cell fired), x takes the arriving spike, and the rings turn. A trace decays in
        place (the head's register has a LUT to spare) and is multiplied from its register in the next state:
        one cycle more, one multiplicand source fewer (a smaller cell)."""
        s, dp, rule = self.state, self.dp, self.rule
        with m.State("R_START"):
            dp.start(m, s.c.head, _keep(rule.k_c))
            m.next = "R_C"
        with m.State("R_C"):
            with dp.when_product_done(m):
                s.w.rotate(m, self.w_rewarded)
                m.d.sync += s.c.head.eq(dp.trace(rule.k_c))
                dp.start(m, s.x_pre.head, _keep(rule.k_pre))
                m.next = "R_X"
        with m.State("R_X"):
            with dp.when_product_done(m):
                m.d.sync += s.x_pre.head.eq(dp.trace(rule.k_pre))
                m.next = "R_PAIR_START"
        with m.State("R_PAIR_START"):
            dp.start(m, s.x_pre.head, Mux(s.spike, rule.a_plus, 0))
            m.next = "R_PAIR"
        with m.State("R_PAIR"):
            with dp.when_product_done(m):
                x = s.x_pre.head
                s.c.rotate(m, self.c_paired)
                s.x_pre.rotate(m, Mux(self.arrived, _bump(x), x))
                _next_input(m, s.k, len(s.order), "R_START")


class LifStdpCell(wiring.Component):
    """One fixed-point LIF unit with its delay lines and its rule on the plastic inputs (module docstring)."""

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
                                    ("v_reset", p.v_reset, -32768, 32767), ("ref_steps", p.ref_steps, 0, 255),
                                    ("theta_plus", p.theta_plus, 0, lif_fixed.THETA_MAX),
                                    ("theta", unit.theta, 0, lif_fixed.THETA_MAX)):
            if not lo <= value <= hi:
                raise ValueError(f"{unit.name}: {name} = {value} outside [{lo}, {hi}]")
        if not all(1 <= d <= MAX_DELAY for d in unit.input_delays) or len(unit.input_delays) != unit.n_inputs:
            raise ValueError(f"{unit.name}: expected a delay of 1 to {MAX_DELAY} ticks per input, "
                             f"got {unit.input_delays}")
        rule = unit.stdp or unit.rstdp
        if unit.plastic_index and rule is None:
            raise ValueError(f"{unit.name}: plastic inputs need a learning rule")
        for j in unit.plastic_index:
            if not rule.w_min <= self.initial_weights[j] <= rule.w_max:
                raise ValueError(f"{unit.name}: plastic weight {j} = {self.initial_weights[j]} outside "
                                 f"[w_min, w_max] = [{rule.w_min}, {rule.w_max}]")
        super().__init__(cell_signature(unit))

    def elaborate(self, platform):
        """The state, the datapath, the rule's update, the sequencer's states and the ports."""
        m = Module()
        state = _State(self.unit, self.initial_weights)
        dp = _Datapath(self.unit.lif)
        dp.elaborate(m)
        rule = None
        if state.order:
            rule = (_Stdp if self.unit.stdp is not None else _Rstdp)(self.unit, state, dp)
            rule.elaborate(m)
        with m.FSM(init="IDLE") as fsm:
            self._idle(m, state, dp)
            self._membrane(m, state, dp)
            self._currents(m, state, dp, after=rule.first if rule else "IDLE")
            if rule:
                rule.states(m)
        self._outputs(m, state, rule, fsm)
        return m

    def _idle(self, m: Module, s: _State, dp: _Datapath) -> None:
        """IDLE: a tick shifts the inputs into the delay lines (unit_tick, step 1), samples the reward pulse
        (r = 0 when both pins are high) and starts the membrane, or while refractory counts ref down and goes
        straight to the currents."""
        with m.State("IDLE"):
            with m.If(self.tick):
                for j, line in enumerate(s.lines):
                    m.d.sync += line.eq(Cat(self.pre[j], line[:-1]))
                if s.c is not None:
                    m.d.sync += [s.rewarded.eq(self.reward[0] & ~self.reward[1]),
                                 s.punished.eq(self.reward[1] & ~self.reward[0])]
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
        inputs whose spikes arrive, one input a cycle (`_summand`); then the cell fires or not, and goes on
        to `after`."""
        u, p = self.unit, self.unit.lif
        n_inputs = [sum(1 for r in u.receptors if r == receptor) for receptor in (0, 1)]
        k = s.k
        for r, (cur, name, decay, nxt) in enumerate(((s.i_ex, "IEX", p.D_ex, "IIN_START"),
                                                     (s.i_in, "IIN", p.D_in, None))):
            summand, n_plastic = _summand(u, s, r, k)
            with m.State(name + "_START"):
                dp.start(m, cur, decay, add_value=ADD_ROUND)
                m.next = name
            with m.State(name):
                with dp.when_product_done(m):
                    m.d.comb += [dp.base_sel.eq(BASE_ZERO), dp.add_sel.eq(ADD_VAL), dp.val16.eq(dp.decayed)]
                    m.d.sync += k.eq(0)
                    m.next = name + "_SUM"
            with m.State(name + "_SUM"):
                m.d.comb += [dp.base_sel.eq(BASE_ACC), dp.add_sel.eq(ADD_VAL), dp.val16.eq(summand)]
                m.d.sync += k.eq(k + 1)
                if n_plastic:
                    with m.If(k < n_plastic):
                        s.w.rotate(m, s.w.head)
                with m.If(k >= max(n_inputs[r], 1) - 1):
                    m.d.sync += cur.eq(dp.sat)
                    if nxt is not None:
                        m.next = nxt
                    else:
                        self._fire(m, s)
                        m.d.sync += k.eq(0)
                        m.next = after

    def _fire(self, m: Module, s: _State) -> None:
        """spike <- v >= v_th + theta; if it fires, v <- v_reset, ref <- ref_steps and
        theta <- min(theta + theta_plus, 65535)."""
        p = self.unit.lif
        fire = s.v >= p.v_th + s.theta
        m.d.sync += s.spike.eq(fire)
        with m.If(fire):
            m.d.sync += [s.v.eq(p.v_reset), s.ref.eq(p.ref_steps)]
            if p.theta_plus:
                m.d.sync += s.theta.eq(_at_most(s.theta + p.theta_plus, lif_fixed.THETA_MAX))

    def _outputs(self, m: Module, s: _State, rule, fsm) -> None:
        """The ports: busy outside IDLE, and the state (the rings' registers at their inputs' places)."""
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        m.d.comb += [self.spike.eq(s.spike), self.v.eq(s.v), self.i_ex.eq(s.i_ex), self.i_in.eq(s.i_in),
                     self.ref.eq(s.ref), self.theta.eq(s.theta)]
        for j, (w, line) in enumerate(zip(s.weights, s.lines)):
            m.d.comb += [self.w[j].eq(w), self.line[j].eq(line)]
        places = [s.place[j] for j in self.unit.plastic_index]
        if s.x_post is not None:
            m.d.comb += [self.x_post.eq(s.x_post), self.a_plus.eq(rule.schedule.a)]
        for kk, place in enumerate(places):
            m.d.comb += self.x_pre[kk].eq(s.x_pre.regs[place])
            if s.c is not None:
                m.d.comb += self.c[kk].eq(s.c.regs[place])


def _pins(unit: FixedUnit) -> dict:
    """A cell's network ports: tick, pre, reward (R-STDP), spike, busy."""
    members = {"tick": In(1), "pre": In(max(unit.n_inputs, 1))}
    if "reward" in cell_signature(unit):
        members["reward"] = In(2)
    return {**members, "spike": Out(1), "busy": Out(1)}


class SynthTop(wiring.Component):
    """A cell with only its network ports (tick, pre, reward, spike, busy) on pins, for synthesis reports.

    In a network the membrane, weights, lines and traces stay inside the
    FPGA; all of them feed the spike, so no logic of the cell is optimised
    away when only these ports leave the device.
    """

    def __init__(self, unit: FixedUnit, weights=None):
        self.unit = unit
        self.weights = weights
        super().__init__(_pins(unit))

    def elaborate(self, platform):
        m = Module()
        m.submodules.cell = cell = LifStdpCell(self.unit, self.weights)
        m.d.comb += [cell.tick.eq(self.tick), cell.pre.eq(self.pre), self.spike.eq(cell.spike),
                     self.busy.eq(cell.busy)]
        if "reward" in self.signature.members:
            m.d.comb += cell.reward.eq(self.reward)
        return m


class ChainTop(wiring.Component):
    """`copies` cells of one unit in a chain, each cell's spike on input 0 of the next (for fit checks).

    Input 0 of the first cell, inputs 1.. and the reward of every cell come from pins, the last cell's
    spike goes to a pin. No two cells see the same inputs, so synthesis keeps every copy.
    """

    def __init__(self, unit: FixedUnit, copies: int):
        if unit.n_inputs < 1 or copies < 1:
            raise ValueError("a chain needs a unit with inputs and at least one copy")
        self.unit = unit
        self.copies = copies
        super().__init__(_pins(unit))

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
            if "reward" in self.signature.members:
                m.d.comb += cell.reward.eq(self.reward)
            previous = cell.spike
            cells.append(cell)
        m.d.comb += [self.spike.eq(previous), self.busy.eq(cells[-1].busy)]
        return m
