"""The fixed-point LIF cell with on-cell learning (pair STDP or reward-modulated STDP), in Amaranth 0.5.

One `LifStdpCell` is one unit of a board (a `neurobox.hardware.unit.FixedUnit`):
its constants (decay factors, membrane responses, threshold, the rule's
amplitudes, bounds and schedule) and its non-plastic weights are elaborated
into the logic; its state and its delay lines are registers, and the
weights, pre traces and eligibilities of its plastic inputs are words of one
memory (the store, block RAM on an iCE40). It computes exactly what
`neurobox.hardware.unit.unit_tick` computes per tick: the delay lines, the
input sums, `neurobox.neurons.lif_fixed.lif_update` with its adaptive
threshold, then the rule on the plastic inputs
(`neurobox.plasticity.stdp_fixed.pair_update` with the learning-rate schedule
`halved` and, after an own spike, the normalisation of the plastic weights
`scale_factor` and `scaled`; or `neurobox.plasticity.rstdp_fixed.rewarded`
and `eligible`).

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
    line     out  n x u16  delay lines: bits 0 .. delay - 1 of each input's line (the
                      bits that still reach its synapse; the bits above are 0)
    x_post   out  u15 postsynaptic trace (pair STDP only)
    a_plus   out  u15 the potentiation amplitude after the schedule's halvings, I_lsb (pair STDP only)

The plastic inputs' weights (s16, I_lsb), pre traces and eligibilities (u15)
have no ports: a testbench reads them from `LifStdpCell.store` at
`store_address(unit, field, j)`. `rst` resets the registers, not the store:
learned weights survive it, as in the firmware's EEPROM.

Delay lines
-----------
Input j keeps bits 0 .. d - 1 of its line (d = its delay) in a d-bit
register that shifts in the input bit with the tick; the spike arrives at
the synapse when the top bit is set. A delay-1 input keeps only the bit
sampled with the tick, as a cell without delays does.

Store
-----
One memory of 16-bit words: the word of field f (STORE_FIELDS: the weight,
the pre trace, with R-STDP the eligibility) of the plastic input at place k
in `store_order(unit)` (the plastic excitatory inputs, then the plastic
inhibitory ones) is at f * stride + k, stride the smallest power of two >= p
(so an address is the place's bits under the field's, no adder). The read
port is synchronous, as an iCE40 EBR's: the word addressed in one cycle is
read in the next, so each state addresses what the next cycle reads. One
word is written per cycle, never the one being addressed. The store is
marked ram_style "block", so yosys puts it into block RAM whatever its size:
one EBR (256 words) holds a unit with up to 128 plastic inputs with pair
STDP, 64 with R-STDP (three fields of stride 128 would take 384 words); a
larger store takes more EBRs.

Datapath
--------
The area goes into one 32-bit accumulator with one adder (acc <- base +
addend) and a shift-and-add multiplier that shares it for every product: a
32-bit signed multiplicand shifting left, a 16-bit unsigned constant
multiplier shifting right (18 bits in a normalising cell), one bit a clock
cycle, stopping when the remaining multiplier bits are zero. A trace decays as a product too:
x - ceil(x / 2**k) == (x * (2**k - 1)) >> k. A sequencer walks through one
tick (states named as in the code):

    VDEC       acc = 2**15 + v * D_m;  v <- decay's fix-up of acc >> 16
    VSUM_EX/IN acc = K + i_ex * P_ex + i_in * P_in, K = i_e * P_e + 2**(S-1);
               then v <- sat16((acc >> S) + v)
               (while refractory these are skipped and ref <- ref - 1)
    IEX        acc = 2**15 + i_ex * D_ex; acc = fix-up(acc >> 16);
    IEX_SUM    acc += w_j for each excitatory input j whose spike arrives, one input a cycle (the plastic
               ones first, their weights read from the store); i_ex <- sat16(acc)
    IIN(_SUM)  the same for i_in; then v >= v_th + theta: spike, v <- v_reset, ref <- ref_steps,
               theta <- min(theta + theta_plus, 65535)
  pair STDP (stdp_fixed):
    XPOST      an own spike steps the schedule (`_Schedule`); x_post decays;  DM: dm = (a_minus * x_post) >> 14
    per plastic input j, XPRE_START, XPRE, PAIR: x_j decays and goes back to the store, bumped if its
               spike arrives; w_j <- max(w_j - dm, w_min) if its spike arrives; w_j <- min(w_j +
               ((a * x_j) >> 14), w_max) if the cell fired, a the schedule's amplitude; after the last,
               x_post <- bump(x_post) if the cell fired
    NORM_*     after an own spike, if norm_target > 0 (`_Normaliser`): total = sum of the plastic weights;
               f = ((target << 16) + (total >> 1)) // total by a restoring divider (`_Divider`, one bit a
               cycle); if total > target, w_j <- clamp((w_j * f + 2**15) >> 16) for each plastic input
  reward-modulated STDP (rstdp_fixed):
    R_FETCH, then per plastic input j, R_START, R_C, R_X_START, R_X, R_PAIR: c_j decays while w_j <-
               min(w_j + c_j, w_max) on a reward or max(w_j - c_j, w_min) on a punishment (with c_j before
               it decays); x_j decays and goes back to the store, bumped if its spike arrives;
               c_j <- min(c_j + ((a_plus * x_j) >> 14), 32767) (a_plus taken as 0 unless the cell fired)

In the code: `_State` (the registers), `_Store`, `_Datapath`, the IDLE,
membrane and current states of `LifStdpCell`, and `_Stdp` (with
`_Schedule` and `_Normaliser`) or `_Rstdp` (the rule's update and states);
`LifStdpCell.elaborate` puts them together.

The weights start inside [w_min, w_max] and the rules keep them there, so a
decrease can only cross w_min and an increase only w_max: the clamps of the
specification need one comparison each. sat16 checks that bits 15..32 of
the sum are all equal. `update_cycles(unit)` gives the clock cycles of one
update (a hundred to a few thousand): at a few MHz, well under a 1 ms tick.
The cell has no external current input (i_ext = 0, as in the firmware), so
sat16(i_e + i_ext) * P_e is a constant.

This module must not use `from __future__ import annotations`: Amaranth's
wiring.Component reads its signature from real annotations.
"""
from contextlib import contextmanager

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from neurobox.errors import ConfigError
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
SCALE_SHIFT = 16
"""stdp_fixed.scaled: (w * f + 2**15) >> 16 (the datapath's rounding constant 2**15 is decay's too)."""
QUOTIENT_BITS = SCALE_SHIFT + 1
"""The divider's steps: its quotient floor(target * 2**17 / total) < 2**17 (target < total), and
f = scale_factor(total, target) <= 2**16 fits as many bits."""
SCALE_CYCLES = QUOTIENT_BITS + 1
"""Cycles of a product by f: the multiplier holds f with a sentinel bit above it and stops when only the
sentinel is left, after QUOTIENT_BITS shift-and-add steps, whatever f is."""
STORE_FIELDS = ("w", "x_pre", "c")
"""The words of a plastic input in the store, in field order: its weight, its pre trace, its eligibility
(R-STDP only)."""
WORD_WIDTH = 16
"""Bits of a word of the store: a weight is an int16, a trace and an eligibility uint15."""


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
    one more before the pair's product (and R-STDP one cycle per update to
    address the first eligibility); the pair's product is by the
    potentiation amplitude `a_plus` (I_lsb; by default the rule's, before
    the schedule halves it) if the cell fired, else by 0 (one cycle). After
    an own spike, a normalising cell takes one cycle to address the first
    weight, one per plastic input to add the weights up, QUOTIENT_BITS to
    divide, and 1 + SCALE_CYCLES per plastic input to scale (whether the
    weights exceed the target or not).
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
        if spiked and total_bits(unit):
            cycles += 1 + n_plastic + QUOTIENT_BITS + n_plastic * (1 + SCALE_CYCLES)
    elif n_plastic and unit.rstdp is not None:
        r = unit.rstdp
        cycles += 1 + n_plastic * (1 + _product(_keep(r.k_c)) + 1 + _product(_keep(r.k_pre))
                                   + _product(r.a_plus if spiked else 0))
    return cycles


def max_update_cycles(unit: FixedUnit) -> int:
    """The longest update of `unit` in clock cycles (not refractory, and firing)."""
    return max(update_cycles(unit, True, False), update_cycles(unit, False, False))


def total_bits(unit: FixedUnit) -> int:
    """Bits of the largest sum of `unit`'s plastic weights (p * w_max) that its normalisation divides by; 0 if it
    has no normalisation, or its weights can never sum above the target (then the cell has no divider)."""
    s = unit.stdp
    if s is None or s.norm_target <= 0:
        return 0
    most = len(unit.plastic_index) * s.w_max
    return most.bit_length() if most > s.norm_target else 0


def store_order(unit: FixedUnit) -> tuple[int, ...]:
    """The plastic inputs in the order of their places in the store: the excitatory ones, then the inhibitory
    ones."""
    return tuple(sorted(unit.plastic_index, key=lambda j: unit.receptors[j]))


def _stride(n_plastic: int) -> int:
    """The words between two fields of one input in the store: the smallest power of two >= n_plastic."""
    return 1 << max(n_plastic - 1, 0).bit_length()


def store_fields(unit: FixedUnit) -> tuple[str, ...]:
    """The fields `unit`'s plastic inputs have in the store (none without plastic inputs)."""
    if not unit.plastic_index:
        return ()
    return STORE_FIELDS if unit.rstdp is not None else STORE_FIELDS[:2]


def store_address(unit: FixedUnit, field: str, j: int) -> int:
    """The address of `field` (one of STORE_FIELDS) of plastic input j in the store of `unit`'s cell."""
    order = store_order(unit)
    return store_fields(unit).index(field) * _stride(len(order)) + order.index(j)


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
    if rule == "eprop":
        raise ConfigError(f"units.{unit.name}.rule", f"unit {unit.name} learns by e-prop, which the FPGA cell does not "
                                                     f"run (the ATmega8 units on the bus do)")
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
        members["line"] = Out(data.ArrayLayout(unsigned(MAX_DELAY), n))
    if rule == "stdp":
        members["x_post"] = Out(unsigned(15))
        members["a_plus"] = Out(unsigned(15))
    return members


def _new_store(unit: FixedUnit, initial_weights: tuple[int, ...]) -> Memory | None:
    """The store of `unit`'s cell (module docstring, Store): the weights as given, traces and eligibilities 0;
    None without plastic inputs."""
    order = store_order(unit)
    if not order:
        return None
    stride = _stride(len(order))
    init = [0] * (stride * len(store_fields(unit)))
    for k, j in enumerate(order):
        init[k] = initial_weights[j] & ((1 << WORD_WIDTH) - 1)
    return Memory(shape=unsigned(WORD_WIDTH), depth=len(init), init=init, attrs={"ram_style": "block"})


class _Store:
    """The cell's access to its store: `word` is the word addressed in the cycle before; `read` addresses a
    word for the next cycle, `write` writes one (one of each per cycle)."""

    def __init__(self, unit: FixedUnit, memory: Memory):
        self.fields = store_fields(unit)
        self.place_bits = (_stride(len(store_order(unit))) - 1).bit_length()
        self.read_port = memory.read_port()
        self.write_port = memory.write_port()
        self.word = self.read_port.data

    def address(self, field: str, k):
        """The address of `field` of the input at place k (an int or a Value)."""
        place = Const(k, self.place_bits) if isinstance(k, int) else k[:self.place_bits]
        return Cat(place, Const(self.fields.index(field), len(self.fields) - 1 or 1))

    def read(self, m: Module, field: str, k) -> None:
        m.d.comb += self.read_port.addr.eq(self.address(field, k))

    def write(self, m: Module, field: str, k, value) -> None:
        m.d.comb += [self.write_port.addr.eq(self.address(field, k)), self.write_port.data.eq(value),
                     self.write_port.en.eq(1)]


class _State:
    """The cell's registers: v, i_ex, i_in (s16), ref (u8), theta (u16, starting at unit.theta; a constant if
    theta_plus is 0), spike, the delay lines, k (the input a sum or the rule is at); with plastic inputs the
    store, and x_post (u15, pair STDP) or the reward pulse sampled with the tick (R-STDP). `weights[j]` is the
    constant weight of non-plastic input j (None for a plastic one)."""

    def __init__(self, unit: FixedUnit, initial_weights: tuple[int, ...], memory: Memory | None):
        self.order = store_order(unit)
        self.v = Signal(signed(16))
        self.i_ex = Signal(signed(16))
        self.i_in = Signal(signed(16))
        self.ref = Signal(unsigned(8))
        self.theta = (Signal(unsigned(16), init=unit.theta) if unit.lif.theta_plus
                      else Const(unit.theta, unsigned(16)))
        self.spike = Signal()
        n_receptor = [sum(1 for r in unit.receptors if r == receptor) for receptor in (0, 1)]
        steps = QUOTIENT_BITS if total_bits(unit) else 0  # the divider counts its steps in k
        self.k = Signal(range(max(1, *n_receptor, len(self.order), steps) + 1))
        self.lines = [Signal(d, name=f"line{j}") for j, d in enumerate(unit.input_delays)]
        self.store = _Store(unit, memory) if self.order else None
        self.x_post = Signal(unsigned(15)) if self.order and unit.stdp is not None else None
        self.rewarded = self.punished = None
        if self.order and unit.rstdp is not None:
            self.rewarded = Signal()
            self.punished = Signal()
        self.weights = [None if unit.plastic[j] else Const(w, signed(16)) for j, w in enumerate(initial_weights)]

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

    def __init__(self, lif: LifFixedParams, mul_width: int = MUL_WIDTH):
        self.lif = lif
        self.acc = Signal(signed(ACC_WIDTH))
        self.a = Signal(signed(ACC_WIDTH))
        self.b = Signal(unsigned(mul_width))
        self.x0 = Signal(signed(16))          # the multiplicand as loaded (decay's fix-up compares with it)
        self.base_sel = Signal(range(3))
        self.add_sel = Signal(range(5))
        self.val16 = Signal(signed(16))
        self.load_a = Signal()
        self.a_src = Signal(signed(16))
        self.load_b = Signal()
        self.b_src = Signal(unsigned(mul_width))
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
    def when_product_done(self, m: Module, sentinel: bool = False):
        """In a multiplying state: one shift-and-add step a cycle; the body runs in the cycle the product is done
        (with `sentinel`, the multiplier was loaded with a set bit above its operand, and the product is done
        when only that bit is left)."""
        m.d.comb += self.add_sel.eq(ADD_MAC)
        with m.If(self.b == 1 if sentinel else self.mac_done):
            yield


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


def _summand(unit: FixedUnit, s: _State, receptor: int, k: Signal) -> tuple:
    """(the weight of the k-th input of `receptor`'s sum if its spike arrives, else 0; the place of its first
    plastic input in the store; its number of plastic inputs).

    The sum takes the receptor's plastic inputs first, in store order, their weights read from the store (each
    state of the sum addresses the next one's), then its other inputs, whose weights are constants.
    """
    plastic = [j for j in s.order if unit.receptors[j] == receptor]
    fixed = [j for j in range(unit.n_inputs) if not unit.plastic[j] and unit.receptors[j] == receptor]
    inputs = plastic + fixed
    first = s.order.index(plastic[0]) if plastic else 0
    if not inputs:
        return Const(0, signed(16)), first, 0
    weight = s.store.word.as_signed() if plastic else None
    if fixed:
        constants = Array([Const(0, signed(16))] * len(plastic) + [s.weights[j] for j in fixed])
        weight = Mux(k < len(plastic), weight, constants[k]) if plastic else constants[k]
    return Mux(Array([s.arrived(j) for j in inputs])[k], weight, 0), first, len(plastic)


def _next_input(m: Module, k: Signal, n_plastic: int, start: str) -> None:
    """After plastic input k (in store order): on to the next one at `start`, or back to IDLE after the last."""
    with m.If(k == n_plastic - 1):
        m.next = "IDLE"
    with m.Else():
        m.d.sync += k.eq(k + 1)
        m.next = start


class _Stdp:
    """Pair STDP (neurobox.plasticity.stdp_fixed.pair_update, in unit_tick's order) on the datapath: x_post decays,
    dm = dw(a_minus, x_post), then each plastic input from the store, potentiating by the schedule's amplitude;
    states XPOST_START .. PAIR."""

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
        self.normaliser = _Normaliser(unit, state, dp) if total_bits(unit) else None

    def elaborate(self, m: Module) -> None:
        """pair_update of the weight read from the store: w1 after depression (if its spike arrived), w2 after
        potentiation (if the cell fired). The weights stay inside [w_min, w_max], so after a depression only
        w_min can be crossed and after a potentiation only w_max."""
        w, rule = self.state.store.word.as_signed(), self.rule
        m.d.comb += [self.w1.eq(Mux(self.arrived, _at_least(w - self.dm, rule.w_min), w)),
                     self.w2.eq(Mux(self.state.spike, _at_most(self.w1 + self.dp.dw, rule.w_max), self.w1))]
        if self.normaliser is not None:
            self.normaliser.elaborate(m)

    def states(self, m: Module) -> None:
        """x_post decays, dm = (a_minus * x_post) >> 14, then per plastic input: x_pre decays and is written back
        (bumped if its spike arrives) while the pair's product runs, then w is written back; after the last,
        x_post's bump if the cell fired, and the normalisation if it has one. A decayed trace goes from the
        accumulator straight into the next product."""
        s, dp, rule, store = self.state, self.dp, self.rule, self.state.store
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
            store.read(m, "x_pre", s.k)
            with dp.when_product_done(m):
                m.d.sync += self.dm.eq(dp.dw)
                m.next = "XPRE_START"
        with m.State("XPRE_START"):
            dp.start(m, store.word[:15], _keep(rule.k_plus))
            store.read(m, "w", s.k)
            m.next = "XPRE"
        with m.State("XPRE"):
            store.read(m, "w", s.k)
            with dp.when_product_done(m):
                x = dp.trace(rule.k_plus)
                dp.start(m, x, Mux(s.spike, self.schedule.a, 0))
                store.write(m, "x_pre", s.k, Mux(self.arrived, _bump(x), x))
                m.next = "PAIR"
        with m.State("PAIR"):
            store.read(m, "w", s.k)
            with dp.when_product_done(m):
                store.write(m, "w", s.k, self.w2)
                store.read(m, "x_pre", s.k + 1)
                with m.If(s.k == len(s.order) - 1):
                    m.d.sync += s.x_post.eq(Mux(s.spike, _bump(s.x_post), s.x_post))
                _next_input(m, s.k, len(s.order), "XPRE_START")
                if self.normaliser is not None:
                    with m.If((s.k == len(s.order) - 1) & s.spike):
                        m.d.sync += s.k.eq(0)
                        m.next = "NORM_FETCH"
        if self.normaliser is not None:
            self.normaliser.states(m)


class _Divider:
    """A restoring divider for stdp_fixed.scale_factor(total, target) = ((target << 16) + (total >> 1)) // total,
    for target < total < 2**bits: one quotient bit a cycle (`load`, then QUOTIENT_BITS `step`s), with a
    remainder `rem` of `bits` bits and a subtractor of its own.

    It divides target * 2**17 by total: q = floor(target * 2**17 / total) < 2**17, since target < total. With
    target * 2**16 = Q total + r, q = 2 Q + [2 r >= total], so `f` = (q + 1) >> 1 = Q + [2 r >= total] =
    scale_factor(total, target) <= 2**16: no dividend wider than the remainder, and no rounding step. While
    total <= target, `f` means nothing (the weights are not scaled then).
    """

    def __init__(self, bits: int, target: int):
        self.bits = bits
        self.target = target
        self.total = Signal(bits)
        self.rem = Signal(bits)
        self.diff = Signal(signed(bits + 2))       # 2 rem - total
        self.q = Signal(QUOTIENT_BITS)
        self.f = Signal(QUOTIENT_BITS)

    def elaborate(self, m: Module, total) -> None:
        """Divide by the low `bits` bits of `total` (held for the QUOTIENT_BITS steps)."""
        m.d.comb += [self.total.eq(total[:self.bits]), self.diff.eq(Cat(Const(0, 1), self.rem) - self.total),
                     self.f.eq((self.q + 1) >> 1)]

    def load(self, m: Module) -> None:
        m.d.sync += self.rem.eq(self.target)

    def step(self, m: Module) -> None:
        """One quotient bit: 2 rem - total if that is >= 0 (bit 1), else 2 rem (bit 0)."""
        fits = ~self.diff[-1]
        m.d.sync += [self.rem.eq(Mux(fits, self.diff, Cat(Const(0, 1), self.rem))), self.q.eq(Cat(fits, self.q))]


class _Normaliser:
    """The normalisation of the plastic weights after an own spike (stdp_fixed.scale_factor and scaled), on the
    datapath and a restoring divider of its own; states NORM_FETCH .. NORM_MUL.

    NORM_SUM adds the weights up in acc: total. NORM_DIV: the `_Divider` (total_bits(unit) bits) computes f =
    scale_factor(total, target) in QUOTIENT_BITS cycles while acc holds total. NORM_START, NORM_MUL: per plastic
    input, acc = 2**15 + w * f (SCALE_CYCLES cycles), and w <- acc >> 16 clamped if total > target.
    (w * f + 2**15) >> 16 lies between 0 and w (0 <= f <= 2**16), so it can cross w_min only if w_min > 0 and
    w_max only if w_max < 0. An own spike takes the same cycles whether the weights are scaled or not.
    """

    def __init__(self, unit: FixedUnit, state: _State, dp: _Datapath):
        self.rule = unit.stdp
        self.state = state
        self.dp = dp
        self.divider = _Divider(total_bits(unit), unit.stdp.norm_target)
        self.scale = Signal()                      # total > target: the weights are scaled
        self.scaled = Signal(signed(16))

    def elaborate(self, m: Module) -> None:
        """The divider (dividing by acc, the sum of the weights) and the scaled weight from acc = w * f + 2**15."""
        rule = self.rule
        self.divider.elaborate(m, self.dp.acc)
        scaled = self.dp.acc[SCALE_SHIFT:ACC_WIDTH].as_signed()
        if rule.w_min > 0:
            scaled = _at_least(scaled, rule.w_min)
        if rule.w_max < 0:
            scaled = _at_most(scaled, rule.w_max)
        m.d.comb += self.scaled.eq(scaled)

    def states(self, m: Module) -> None:
        """Address the first weight; add the weights up; divide; scale each weight (written back if total >
        target)."""
        s, dp, store = self.state, self.dp, self.state.store
        last = len(s.order) - 1
        with m.State("NORM_FETCH"):
            store.read(m, "w", 0)
            m.next = "NORM_SUM"
        with m.State("NORM_SUM"):
            store.read(m, "w", s.k + 1)
            m.d.comb += [dp.base_sel.eq(Mux(s.k == 0, BASE_ZERO, BASE_ACC)), dp.add_sel.eq(ADD_VAL),
                         dp.val16.eq(store.word.as_signed())]
            m.d.sync += s.k.eq(s.k + 1)
            with m.If(s.k == last):
                m.d.sync += s.k.eq(0)
                self.divider.load(m)
                m.next = "NORM_DIV"
        with m.State("NORM_DIV"):
            store.read(m, "w", 0)
            self.divider.step(m)
            m.d.sync += s.k.eq(s.k + 1)
            with m.If(s.k == QUOTIENT_BITS - 1):
                m.d.sync += [self.scale.eq(dp.acc > self.rule.norm_target), s.k.eq(0)]
                m.next = "NORM_START"
        with m.State("NORM_START"):
            dp.start(m, store.word.as_signed(), Cat(self.divider.f, Const(1, 1)), add_value=ADD_ROUND)
            m.next = "NORM_MUL"
        with m.State("NORM_MUL"):
            store.read(m, "w", s.k + 1)
            with dp.when_product_done(m, sentinel=True):
                with m.If(self.scale):
                    store.write(m, "w", s.k, self.scaled)
                _next_input(m, s.k, len(s.order), "NORM_START")


class _Rstdp:
    """Reward-modulated STDP (neurobox.plasticity.rstdp_fixed, in unit_tick's order) on the datapath, each plastic
    input from the store; states R_FETCH .. R_PAIR."""

    first = "R_FETCH"

    def __init__(self, unit: FixedUnit, state: _State, dp: _Datapath):
        self.rule = unit.rstdp
        self.state = state
        self.dp = dp
        self.arrived = Array([state.arrived(j) for j in state.order])[state.k]
        self.c_decayed = Signal(unsigned(15))
        self.w_rewarded = Signal(signed(16))
        self.c_paired = Signal(unsigned(15))

    def elaborate(self, m: Module) -> None:
        """rewarded(w, c, r) of the weight read from the store and the eligibility before its decay (the
        multiplicand of that decay), and eligible(c, x, fired). c >= 0 and the weights stay inside
        [w_min, w_max], so a reward can only cross w_max and a punishment only w_min."""
        s, rule = self.state, self.rule
        w, c = s.store.word.as_signed(), self.dp.x0[:15]
        # one adder: w + c on a reward, w + ~c + 1 = w - c on a punishment, w + 0 otherwise
        c16, step, total = Signal(signed(16)), Signal(signed(16)), Signal(signed(18))
        m.d.comb += [c16.eq(c), step.eq(Mux(s.punished, ~c16, Mux(s.rewarded, c16, 0))),
                     total.eq(w + step + s.punished)]
        m.d.comb += [
            self.w_rewarded.eq(Mux(s.punished, _at_least(total, rule.w_min), _at_most(total, rule.w_max))),
            self.c_paired.eq(_at_most(self.c_decayed + self.dp.dw, TRACE_MAX)),
        ]

    def states(self, m: Module) -> None:
        """Address the first eligibility; per plastic input: c decays while w is read, then takes the reward
        with c as it was and is written back; x decays and is written back (bumped if its spike arrives) while
        the pair's product runs (dw = 0 unless the cell fired); c adds the pair and is written back."""
        s, dp, rule, store = self.state, self.dp, self.rule, self.state.store
        with m.State("R_FETCH"):
            store.read(m, "c", s.k)
            m.next = "R_START"
        with m.State("R_START"):
            dp.start(m, store.word[:15], _keep(rule.k_c))
            store.read(m, "w", s.k)
            m.next = "R_C"
        with m.State("R_C"):
            store.read(m, "w", s.k)
            with dp.when_product_done(m):
                store.write(m, "w", s.k, self.w_rewarded)
                m.d.sync += self.c_decayed.eq(dp.trace(rule.k_c))
                store.read(m, "x_pre", s.k)
                m.next = "R_X_START"
        with m.State("R_X_START"):
            dp.start(m, store.word[:15], _keep(rule.k_pre))
            m.next = "R_X"
        with m.State("R_X"):
            with dp.when_product_done(m):
                x = dp.trace(rule.k_pre)
                dp.start(m, x, Mux(s.spike, rule.a_plus, 0))
                store.write(m, "x_pre", s.k, Mux(self.arrived, _bump(x), x))
                m.next = "R_PAIR"
        with m.State("R_PAIR"):
            store.read(m, "c", s.k + 1)
            with dp.when_product_done(m):
                store.write(m, "c", s.k, self.c_paired)
                _next_input(m, s.k, len(s.order), "R_START")


class LifStdpCell(wiring.Component):
    """One fixed-point LIF unit with its delay lines and its rule on the plastic inputs (module docstring).

    `store` is the memory of the plastic inputs' words (None without plastic inputs).
    """

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
        self.store = _new_store(unit, self.initial_weights)
        super().__init__(cell_signature(unit))

    def elaborate(self, platform):
        """The state, the datapath, the rule's update, the sequencer's states and the ports."""
        m = Module()
        if self.store is not None:
            m.submodules.store = self.store
        state = _State(self.unit, self.initial_weights, self.store)
        dp = _Datapath(self.unit.lif, QUOTIENT_BITS + 1 if total_bits(self.unit) else MUL_WIDTH)
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
                if s.rewarded is not None:
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
        inputs whose spikes arrive, one input a cycle (`_summand`; the decay addresses the first plastic
        weight); then the cell fires or not, and goes on to `after`."""
        u, p = self.unit, self.unit.lif
        n_inputs = [sum(1 for r in u.receptors if r == receptor) for receptor in (0, 1)]
        k = s.k
        for r, (cur, name, decay, nxt) in enumerate(((s.i_ex, "IEX", p.D_ex, "IIN_START"),
                                                     (s.i_in, "IIN", p.D_in, None))):
            summand, first, n_plastic = _summand(u, s, r, k)
            with m.State(name + "_START"):
                dp.start(m, cur, decay, add_value=ADD_ROUND)
                if n_plastic:
                    s.store.read(m, "w", first)
                m.next = name
            with m.State(name):
                if n_plastic:
                    s.store.read(m, "w", first)
                with dp.when_product_done(m):
                    m.d.comb += [dp.base_sel.eq(BASE_ZERO), dp.add_sel.eq(ADD_VAL), dp.val16.eq(dp.decayed)]
                    m.d.sync += k.eq(0)
                    m.next = name + "_SUM"
            with m.State(name + "_SUM"):
                m.d.comb += [dp.base_sel.eq(BASE_ACC), dp.add_sel.eq(ADD_VAL), dp.val16.eq(summand)]
                m.d.sync += k.eq(k + 1)
                if n_plastic:
                    s.store.read(m, "w", first + k + 1)
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
        """The ports: busy outside IDLE, and the registers of the state."""
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        m.d.comb += [self.spike.eq(s.spike), self.v.eq(s.v), self.i_ex.eq(s.i_ex), self.i_in.eq(s.i_in),
                     self.ref.eq(s.ref), self.theta.eq(s.theta)]
        for j, line in enumerate(s.lines):
            m.d.comb += self.line[j].eq(line)
        if s.x_post is not None:
            m.d.comb += [self.x_post.eq(s.x_post), self.a_plus.eq(rule.schedule.a)]


INPUT_PINS = 24
"""The most pins a synthesis top gives a cell's inputs one each (the UP5K's sg48 package has 39 I/O pins)."""


def input_pins(n_inputs: int) -> int:
    """The pins of a synthesis top's `pre` for a cell of n_inputs inputs: one each up to INPUT_PINS, else the
    fewest p with p + p (p - 1) / 2 >= n_inputs (`_from_pins`)."""
    if n_inputs <= INPUT_PINS:
        return max(n_inputs, 1)
    p = 1
    while p * (p + 1) // 2 < n_inputs:
        p += 1
    return p


def _from_pins(pins, n_inputs: int) -> list:
    """n_inputs distinct functions of the pins: each pin, then the XOR of each pair of pins. A cell samples an
    input into its delay line's flip-flop, whose logic cell's LUT computes the XOR (a pin needs that logic
    cell too), so a cell of many inputs is measured as on pins of its own."""
    p = len(pins)
    pairs = [pins[a] ^ pins[b] for a in range(p) for b in range(a + 1, p)] if n_inputs > p else []
    return ([pins[j] for j in range(p)] + pairs)[:n_inputs]


def _pins(unit: FixedUnit) -> dict:
    """A synthesis top's ports: tick, pre (`input_pins`), reward (R-STDP), spike, busy."""
    members = {"tick": In(1), "pre": In(input_pins(unit.n_inputs))}
    if "reward" in cell_signature(unit):
        members["reward"] = In(2)
    return {**members, "spike": Out(1), "busy": Out(1)}


class SynthTop(wiring.Component):
    """A cell with only its network ports (tick, pre, reward, spike, busy) on pins, for synthesis reports.

    In a network the membrane, weights, lines and traces stay inside the
    FPGA; all of them feed the spike, so no logic of the cell is optimised
    away when only these ports leave the device. A cell of more than
    INPUT_PINS inputs takes them from fewer pins (`_from_pins`).
    """

    def __init__(self, unit: FixedUnit, weights=None):
        self.unit = unit
        self.weights = weights
        super().__init__(_pins(unit))

    def elaborate(self, platform):
        m = Module()
        m.submodules.cell = cell = LifStdpCell(self.unit, self.weights)
        m.d.comb += [cell.tick.eq(self.tick), cell.pre.eq(Cat(*_from_pins(self.pre, max(self.unit.n_inputs, 1)))),
                     self.spike.eq(cell.spike), self.busy.eq(cell.busy)]
        if "reward" in self.signature.members:
            m.d.comb += cell.reward.eq(self.reward)
        return m


class ChainTop(wiring.Component):
    """`copies` cells of one unit in a chain, each cell's spike on input 0 of the next (for fit checks).

    Input 0 of the first cell, inputs 1.. and the reward of every cell come from pins (`_from_pins`), the
    last cell's spike goes to a pin. No two cells see the same inputs, so synthesis keeps every copy.
    """

    def __init__(self, unit: FixedUnit, copies: int):
        if unit.n_inputs < 1 or copies < 1:
            raise ValueError("a chain needs a unit with inputs and at least one copy")
        self.unit = unit
        self.copies = copies
        super().__init__(_pins(unit))

    def elaborate(self, platform):
        m = Module()
        inputs = _from_pins(self.pre, self.unit.n_inputs)
        previous = inputs[0]
        cells = []
        for c in range(self.copies):
            cell = LifStdpCell(self.unit)
            m.submodules[f"cell{c}"] = cell
            m.d.comb += [cell.tick.eq(self.tick), cell.pre[0].eq(previous)]
            if self.unit.n_inputs > 1:
                m.d.comb += cell.pre[1:].eq(Cat(*inputs[1:]))
            if "reward" in self.signature.members:
                m.d.comb += cell.reward.eq(self.reward)
            previous = cell.spike
            cells.append(cell)
        m.d.comb += [self.spike.eq(previous), self.busy.eq(cells[-1].busy)]
        return m
