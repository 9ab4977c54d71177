"""A physical unit: one fixed-point neuron, its synapse table with delay lines, its learning rule, its LED.

`UnitDescription` is what every hardware target consumes (one per neuron,
made from a network by `neurobox.hardware.board.units_from_network`):
float NEST parameters, incoming connections with weights in pA and delays
in ticks, the learning rule, an address. `FixedUnit` is the same in
integers. `unit_tick` is the whole arithmetic of one tick, compiled once
and called by the reference (`UnitSim`, `simulate`, which the firmware and
the FPGA cell are held bit-exact against) and by the twin's bank of units
(neurobox.twin.units) alike. Per tick, in this order:

    1. the delay lines: input j's line shifts in whether a spike was
       received on it in this tick (line = (line << 1 | received) & 0xFFFF);
       the spike arrives at the synapse when it reaches bit delay[j] - 1
       (delay 1: in the tick it is received, i.e. one tick after it was sent);
    2. the weights (as they are before this tick's learning) of the inputs
       whose spike arrives are summed per receptor (int32);
    3. the neuron steps (neurobox.neurons.lif_fixed.lif_update, with its
       adaptive threshold);
    4. when learning is on, the rule steps on the plastic inputs: pair STDP
       (neurobox.plasticity.stdp_fixed: with the unit's own learning-rate
       schedule and the normalisation of its plastic weights after its own
       spikes), reward-modulated STDP with this tick's reward pulse
       (neurobox.plasticity.rstdp_fixed), or e-prop with this tick's error
       bytes and apply pulse (neurobox.plasticity.eprop_fixed);
    5. the LED steps (neurobox.hardware.led).

A sensor unit (`sensor`: no inputs) fires from the ADC value in its state
row (S_ADC, set before the tick) instead of steps 1-3; a motor unit
(`motor`) steps its PWM duty from its spike after step 3
(neurobox.hardware.analog).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from numba import njit

from neurobox.errors import ConfigError
from neurobox.hardware.analog import ADC_MAX, MotorFixed, SensorFixed, fixed_motor, fixed_sensor, motor_step, sensor_fires
from neurobox.hardware.led import LedParams, led_colour, led_params
from neurobox.neurons import lif_fixed
from neurobox.neurons.lif import IAF_PSC_EXP
from neurobox.neurons.lif_fixed import LIF_FIELDS, lif_update
from neurobox.plasticity import eprop_fixed, rstdp_fixed, stdp_fixed
from neurobox.plasticity.eprop_fixed import MAX_READOUTS, applied, eprop_input, learning_signal, surrogate
from neurobox.plasticity.rstdp_fixed import eligible, rewarded
from neurobox.plasticity.stdp_fixed import bump, halved, pair_update, scale_factor, scaled, trace_decay

RECEPTORS = ("excitatory", "inhibitory")
RULES = ("stdp", "rstdp", "eprop")
MAX_DELAY = 16
"""Ticks a delay line holds (one uint16 per input)."""

# the constants row of a unit (int64): the neuron's, then the rule's, then the LED's
N_LIF = len(LIF_FIELDS)
C_RULE, C_K1, C_K2, C_A_PLUS, C_A_MINUS, C_W_MIN, C_W_MAX, C_HALVE, C_HALVINGS, C_NORM = range(N_LIF, N_LIF + 10)
"""rule: 0 none, 1 stdp (k1 = k_plus, k2 = k_minus; the schedule halve_every, halvings; the normalisation
target), 2 rstdp (k1 = k_pre, k2 = k_c; a_minus, the schedule and the normalisation unused), 3 eprop (k1 = k_z,
k2 = k_kappa, a_plus = eta_mul, a_minus = k_eta, halve = the surrogate's width W, halvings = k_psi, norm = k_e)."""
C_SPAN, C_SCALE, C_FLASH, C_MIN_STEPS = range(C_NORM + 1, C_NORM + 5)
C_SENSOR, C_P_MIN, C_P_SPAN, C_SEED, C_MOTOR_SHIFT, C_MOTOR_INC = range(C_MIN_STEPS + 1, C_MIN_STEPS + 7)
"""sensor: 1 for a sensor unit, its threshold's p_min and span and its generator's seed; motor: the low-pass's
shift (0: not a motor) and step per spike (neurobox.hardware.analog)."""
N_CONSTANTS = C_MOTOR_INC + 1
RULE_STDP, RULE_RSTDP, RULE_EPROP = 1, 2, 3

# the state row of a unit (int64)
S_V, S_IEX, S_IIN, S_REF, S_THETA, S_XPOST, S_NPOST, S_FLASH, S_LEARN, S_SINCE, S_G, S_R, S_B, S_FRAMES = range(14)
S_ADC, S_RNG, S_ACC, S_DUTY = range(14, 18)
"""sensor: the ADC value read in the tick (set from outside), the generator (0 until the first tick: then the
seed); motor: the low-pass and the PWM duty."""
N_STATE = 18


@dataclass(frozen=True)
class Input:
    """One incoming connection: from unit `source`, onto `receptor`, weight in pA, delay in ticks, and the
    network's projection it belongs to."""

    source: str
    receptor: str
    weight: float
    plastic: bool = False
    delay: int = 1
    projection: str = ""


@dataclass(frozen=True)
class UnitDescription:
    """One neuron as a physical unit (float parameters, NEST units).

    params: iaf_psc_exp parameters (ms, mV, pF, pA); dt: tick, ms;
    rule: the float parameters of the plastic inputs' rule with its name
    under "rule" ("stdp": neurobox.plasticity.stdp_fixed.fixed_stdp_parameters,
    "rstdp": neurobox.plasticity.rstdp_fixed.fixed_rstdp_parameters, "eprop":
    neurobox.plasticity.eprop_fixed.fixed_eprop_parameters), or None;
    feedback: e-prop's feedback weights B_jk from each readout k (at most eprop_fixed.MAX_READOUTS);
    sensor: a sensor unit's rate_min_hz and rate_max_hz (its ADC reading's range), or None;
    motor: a motor unit's tau_ms and full_hz (its PWM duty's low-pass and full rate), or None;
    address: 0..125, the unit's address on the bus; V_lsb, I_lsb: its integer scales;
    theta: the adaptive threshold it starts from (mV; a trained unit starts where it stopped).
    """

    name: str
    params: Mapping[str, float]
    dt: float
    inputs: tuple[Input, ...] = ()
    rule: Mapping[str, float | str] | None = None
    address: int = 0
    V_lsb: float = lif_fixed.DEFAULT_V_LSB
    I_lsb: float = lif_fixed.DEFAULT_I_LSB
    theta: float = 0.0
    feedback: tuple[float, ...] = ()
    sensor: Mapping[str, float] | None = None
    motor: Mapping[str, float] | None = None


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
    delays: tuple[int, ...] = ()
    """ticks, 1 .. MAX_DELAY, per input (empty: all 1)."""
    rstdp: rstdp_fixed.RstdpFixedParams | None = None
    theta: int = 0
    """the adaptive threshold at power-up, V_lsb (uint16)."""
    eprop: eprop_fixed.EpropFixedParams | None = None
    feedback: tuple[int, ...] = ()
    """e-prop's feedback weights fb[k] (int8, B * eprop_fixed.B_ONE), one per readout."""
    sensor: SensorFixed | None = None
    motor: MotorFixed | None = None

    @property
    def n_inputs(self) -> int:
        return len(self.weights)

    @property
    def plastic_index(self) -> tuple[int, ...]:
        return tuple(j for j, p in enumerate(self.plastic) if p)

    @property
    def input_delays(self) -> tuple[int, ...]:
        return self.delays or (1,) * self.n_inputs

    @property
    def rule(self) -> str | None:
        return ("stdp" if self.stdp is not None else "rstdp" if self.rstdp is not None
                else "eprop" if self.eprop is not None else None)


MAX_ADDRESS = 125
"""Bus addresses 0..125; 126 and 127 are the broadcast punishment and reward."""


def fixed_unit(desc: UnitDescription) -> FixedUnit:
    """Convert a description to integers; ConfigError names the unit's field that does not fit."""
    where = f"units.{desc.name}"
    params = IAF_PSC_EXP.resolve_params(desc.params, f"{where}.params")
    lif = lif_fixed.fixed_parameters(params, desc.dt, desc.V_lsb, desc.I_lsb, f"{where}.params")
    theta = lif_fixed.theta_to_fixed(desc.theta, lif, f"{where}.theta")
    if not 0 <= desc.address <= MAX_ADDRESS:
        raise ConfigError(f"{where}.address", f"must be in [0, {MAX_ADDRESS}], got {desc.address}")
    weights, receptors, delays = [], [], []
    for j, inp in enumerate(desc.inputs):
        if inp.receptor not in RECEPTORS:
            raise ConfigError(f"{where}.inputs[{j}].receptor",
                              f"unknown receptor {inp.receptor!r}; valid: {', '.join(RECEPTORS)}")
        if not 1 <= inp.delay <= MAX_DELAY:
            raise ConfigError(f"{where}.inputs[{j}].delay", f"a unit's delay line holds 1 to {MAX_DELAY} ticks, "
                                                            f"got {inp.delay}")
        weights.append(lif_fixed.weight_to_fixed(inp.weight, lif, f"{where}.inputs[{j}].weight"))
        receptors.append(RECEPTORS.index(inp.receptor))
        delays.append(int(inp.delay))
    plastic = tuple(bool(i.plastic) for i in desc.inputs)
    stdp = rstdp = eprop = bounds = None
    if any(plastic):
        if desc.rule is None:
            raise ConfigError(f"{where}.rule", "plastic inputs need a learning rule")
        rule = {k: v for k, v in desc.rule.items() if k != "rule"}
        name = desc.rule.get("rule", "stdp")
        if name == "stdp":
            stdp = stdp_fixed.fixed_stdp_parameters(rule, desc.dt, lif.I_lsb, f"{where}.rule")
            bounds = (stdp.w_min, stdp.w_max)
        elif name == "rstdp":
            rstdp = rstdp_fixed.fixed_rstdp_parameters(rule, desc.dt, lif.I_lsb, f"{where}.rule")
            bounds = (rstdp.w_min, rstdp.w_max)
        elif name == "eprop":
            eprop = eprop_fixed.fixed_eprop_parameters(rule, params, lif, desc.dt, f"{where}.rule")
            if not desc.feedback:
                raise ConfigError(f"{where}.feedback", "a unit that learns by e-prop needs its feedback weights "
                                                       f"(one per readout, at most {MAX_READOUTS})")
            bounds = (eprop.w_min, eprop.w_max)
        else:
            raise ConfigError(f"{where}.rule.rule", f"unknown rule {name!r}; valid: {', '.join(RULES)}")
        for j in (j for j, p in enumerate(plastic) if p):
            if not bounds[0] <= weights[j] <= bounds[1]:
                raise ConfigError(f"{where}.inputs[{j}].weight",
                                  f"{desc.inputs[j].weight} pA lies outside the rule's bounds "
                                  f"[{desc.rule['w_min']}, {desc.rule['w_max']}] pA")
    feedback = eprop_fixed.feedback_to_fixed(desc.feedback, f"{where}.feedback") if eprop is not None else ()
    sensor = motor = None
    if desc.sensor is not None:
        if desc.inputs or desc.motor is not None:
            raise ConfigError(f"{where}.sensor", "a sensor unit reads its ADC only: it has no inputs and no motor")
        sensor = fixed_sensor(desc.sensor, desc.dt, desc.address, f"{where}.sensor")
    if desc.motor is not None:
        motor = fixed_motor(desc.motor, desc.dt, f"{where}.motor")
    return FixedUnit(
        name=desc.name, address=desc.address, dt=desc.dt, E_L=params["E_L"], lif=lif,
        weights=tuple(weights), receptors=tuple(receptors), plastic=plastic,
        sources=tuple(i.source for i in desc.inputs), stdp=stdp,
        led=led_params(lif.v_th, lif.v_reset, desc.dt), delays=tuple(delays), rstdp=rstdp, theta=theta,
        eprop=eprop, feedback=feedback, sensor=sensor, motor=motor)


def unit_constants(unit: FixedUnit) -> np.ndarray:
    """The unit's int64 constants row for `unit_tick`."""
    c = np.zeros(N_CONSTANTS, dtype=np.int64)
    c[:N_LIF] = lif_fixed.constants_row(unit.lif)
    if unit.stdp is not None:
        s = unit.stdp
        c[C_RULE:C_NORM + 1] = (RULE_STDP, s.k_plus, s.k_minus, s.a_plus, s.a_minus, s.w_min, s.w_max,
                                s.halve_every, s.halvings, s.norm_target)
    elif unit.rstdp is not None:
        r = unit.rstdp
        c[C_RULE:C_W_MAX + 1] = (RULE_RSTDP, r.k_pre, r.k_c, r.a_plus, 0, r.w_min, r.w_max)
    elif unit.eprop is not None:
        e = unit.eprop
        c[C_RULE:C_NORM + 1] = (RULE_EPROP, e.k_z, e.k_kappa, e.eta_mul, e.k_eta, e.w_min, e.w_max, e.width,
                                e.k_psi, e.k_e)
    c[C_SPAN:C_MIN_STEPS + 1] = (unit.led.span, unit.led.scale, unit.led.flash_steps, unit.led.min_steps)
    if unit.sensor is not None:
        c[C_SENSOR:C_SEED + 1] = (1, unit.sensor.p_min, unit.sensor.span, unit.sensor.seed)
    if unit.motor is not None:
        c[C_MOTOR_SHIFT:C_MOTOR_INC + 1] = (unit.motor.shift, unit.motor.inc)
    return c


def fresh_state(theta: int = 0) -> np.ndarray:
    """A unit's state row at power-up: at rest with its threshold raised by `theta` (V_lsb), traces empty, the
    LED dark and due for its first frame."""
    st = np.zeros(N_STATE, dtype=np.int64)
    st[S_THETA] = theta
    st[S_SINCE] = 255
    return st


@njit(cache=True, boundscheck=False)
def unit_tick(st, k, w, receptor, plastic, delay, line, x, c, g, received, reward, fb, err, learning):
    """One tick of one unit (the module docstring's steps 1-5), in place.

    st: the state row; k: the constants row; w, receptor, plastic, delay,
    line, x (pre traces; e-prop: z-bar), c (eligibilities), g (e-prop's
    gradients): per input; received[j]: a spike was received on input j in
    this tick; reward: the pulse seen in this tick (-1, 0, +1; e-prop: +1
    applies the gradients); fb: e-prop's feedback weights, err: the error
    bytes seen in this tick, one per readout (MAX_READOUTS each); learning:
    the rule runs. Returns (spiked, learned (a weight changed), sent (a
    colour was sent to the LED)).
    """
    n = w.shape[0]
    in_ex = np.int64(0)
    in_in = np.int64(0)
    for j in range(n):
        line[j] = ((line[j] << 1) | (1 if received[j] else 0)) & 0xFFFF
        if (line[j] >> (delay[j] - 1)) & 1:
            if receptor[j] == 0:
                in_ex += w[j]
            else:
                in_in += w[j]
    if k[C_SENSOR]:
        if st[S_RNG] == 0:
            st[S_RNG] = k[C_SEED]
        st[S_RNG], spiked = sensor_fires(st[S_RNG], st[S_ADC], k[C_P_MIN], k[C_P_SPAN])
        v, ref, theta = st[S_V], st[S_REF], st[S_THETA]
    else:
        v, i_ex, i_in, ref, theta, spiked = lif_update(st[S_V], st[S_IEX], st[S_IIN], st[S_REF], st[S_THETA],
                                                       in_ex, in_in, 0, k)
        st[S_V], st[S_IEX], st[S_IIN], st[S_REF], st[S_THETA] = v, i_ex, i_in, ref, theta
    if k[C_MOTOR_SHIFT] > 0:
        st[S_ACC], st[S_DUTY] = motor_step(st[S_ACC], spiked, k[C_MOTOR_SHIFT], k[C_MOTOR_INC])
    learned = False
    rule = k[C_RULE]
    if rule != 0 and learning:
        w_min, w_max, a_plus = k[C_W_MIN], k[C_W_MAX], k[C_A_PLUS]
        if rule == RULE_STDP:
            if spiked:
                st[S_NPOST] = min(st[S_NPOST] + 1, 65535)
            a = halved(a_plus, st[S_NPOST], k[C_HALVE], k[C_HALVINGS])
            x_post = trace_decay(st[S_XPOST], k[C_K2])
            total = np.int64(0)
            for j in range(n):
                if not plastic[j]:
                    continue
                x[j] = trace_decay(x[j], k[C_K1])
                new = pair_update(w[j], x[j], x_post, (line[j] >> (delay[j] - 1)) & 1 == 1, spiked, a,
                                  k[C_A_MINUS], w_min, w_max)
                learned = learned or new != w[j]
                w[j] = new
                total += new
            if spiked and k[C_NORM] > 0 and total > k[C_NORM]:
                f = scale_factor(total, k[C_NORM])
                for j in range(n):
                    if plastic[j]:
                        w[j] = scaled(w[j], f, w_min, w_max)
            for j in range(n):
                if plastic[j] and (line[j] >> (delay[j] - 1)) & 1:
                    x[j] = bump(x[j])
            st[S_XPOST] = bump(x_post) if spiked else x_post
        elif rule == RULE_EPROP:
            psi = surrogate(v, k[lif_fixed.K_VTH] + theta, spiked, ref, k[C_HALVE], k[C_HALVINGS])
            L = learning_signal(fb, err)
            for j in range(n):
                if not plastic[j]:
                    continue
                if reward > 0:
                    new = applied(w[j], g[j], a_plus, k[C_A_MINUS], w_min, w_max)
                    learned = learned or new != w[j]
                    w[j] = new
                    g[j] = 0
                x[j], c[j], g[j] = eprop_input(x[j], c[j], g[j], (line[j] >> (delay[j] - 1)) & 1 == 1, psi, L,
                                               k[C_K1], k[C_K2], k[C_NORM])
        else:
            for j in range(n):
                if not plastic[j]:
                    continue
                arrived = (line[j] >> (delay[j] - 1)) & 1 == 1
                new = rewarded(w[j], c[j], reward, w_min, w_max)
                learned = learned or new != w[j]
                w[j] = new
                x[j] = trace_decay(x[j], k[C_K1])
                c[j] = eligible(trace_decay(c[j], k[C_K2]), x[j], spiked, a_plus)
                if arrived:
                    x[j] = bump(x[j])
    flash = k[C_FLASH]
    st[S_FLASH] = flash if spiked else max(st[S_FLASH] - 1, 0)
    st[S_LEARN] = flash if learned else max(st[S_LEARN] - 1, 0)
    st[S_SINCE] = min(st[S_SINCE] + 1, 255)
    g, r, b = led_colour(v, st[S_FLASH] > 0, st[S_LEARN] > 0, k[C_SPAN], k[C_SCALE])
    sent = st[S_SINCE] >= k[C_MIN_STEPS] and (g != st[S_G] or r != st[S_R] or b != st[S_B])
    if sent:
        st[S_G], st[S_R], st[S_B] = g, r, b
        st[S_SINCE] = 0
        st[S_FRAMES] += 1
    return spiked, learned, sent


@dataclass
class UnitTrace:
    """What a unit did, one row per tick (after the tick's update).

    v, i_ex, i_in, ref, theta, x_post, n_post: int64[steps]; spikes, learned: bool[steps];
    weights, x_pre, eligibility, gradient: int64[steps, n_inputs] (x_pre,
    eligibility and gradient 0 on non-plastic inputs; e-prop: x_pre is
    z-bar); duty: int64[steps]; led_frames: (tick, (G, R, B)) for every colour sent to the LED.
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
    eligibility: np.ndarray = None
    theta: np.ndarray = None
    n_post: np.ndarray = None
    led_frames: list = field(default_factory=list)
    gradient: np.ndarray = None
    duty: np.ndarray = None
    """a motor unit's PWM duty after each tick (0 for other units)."""


def feedback_row(values) -> np.ndarray:
    """int64[MAX_READOUTS]: feedback weights or error bytes, zero beyond those given."""
    row = np.zeros(MAX_READOUTS, dtype=np.int64)
    row[:len(values)] = values
    return row


class UnitSim:
    """The reference unit, one tick at a time (`simulate` runs it over a whole input sequence)."""

    def __init__(self, unit: FixedUnit, weights: tuple[int, ...] | None = None):
        self.unit = unit
        n = unit.n_inputs
        self.k = unit_constants(unit)
        self.st = fresh_state(unit.theta)
        self.w = np.array(unit.weights if weights is None else weights, dtype=np.int64).reshape(n)
        self.receptor = np.array(unit.receptors, dtype=np.int64).reshape(n)
        self.plastic = np.array(unit.plastic, dtype=np.bool_).reshape(n)
        self.delay = np.array(unit.input_delays, dtype=np.int64).reshape(n)
        self.line = np.zeros(n, dtype=np.int64)
        self.x = np.zeros(n, dtype=np.int64)
        self.c = np.zeros(n, dtype=np.int64)
        self.g = np.zeros(n, dtype=np.int64)
        self.fb = feedback_row(unit.feedback)
        self.t = 0

    def tick(self, received, reward: int = 0, learning: bool = True,
             error=(), adc: int = 0) -> tuple[bool, bool, tuple[int, int, int] | None]:
        """One tick; received[j]: a spike was received on input j; error: the error bytes seen (e-prop);
        adc: the value a sensor unit reads in this tick. Returns (spiked, learned, LED colour sent or None)."""
        self.st[S_ADC] = adc
        received = np.asarray(received, dtype=np.bool_).reshape(self.unit.n_inputs)
        spiked, learned, sent = unit_tick(self.st, self.k, self.w, self.receptor, self.plastic, self.delay, self.line,
                                          self.x, self.c, self.g, received, np.int64(reward), self.fb,
                                          feedback_row(error), bool(learning))
        self.t += 1
        colour = (int(self.st[S_G]), int(self.st[S_R]), int(self.st[S_B])) if sent else None
        return bool(spiked), bool(learned), colour

    @property
    def state(self) -> lif_fixed.LifFixedState:
        return lif_fixed.LifFixedState(*(int(self.st[i]) for i in (S_V, S_IEX, S_IIN, S_REF, S_THETA)))


def simulate(unit: FixedUnit, pre: np.ndarray, weights: tuple[int, ...] | None = None,
             reward: np.ndarray | None = None, error: np.ndarray | None = None,
             adc: np.ndarray | None = None) -> UnitTrace:
    """Run the reference for len(pre) ticks; pre[t, j] says a spike is received on input j in tick t.

    `weights` replaces the initial weights (as weights loaded from EEPROM);
    `reward[t]` is the reward pulse seen in tick t (-1, 0, +1; e-prop: +1 applies);
    `error[t, k]` the error byte of readout k seen in tick t (e-prop, -64 .. 63);
    `adc[t]` the value a sensor unit reads in tick t (0 .. analog.ADC_MAX).
    """
    pre = np.asarray(pre, dtype=bool)
    n = unit.n_inputs
    if pre.ndim != 2 or pre.shape[1] != n:
        raise ConfigError("inputs", f"expected a (steps, {n}) array of input spikes, got shape {pre.shape}")
    steps = pre.shape[0]
    reward = np.zeros(steps, dtype=np.int64) if reward is None else np.asarray(reward, dtype=np.int64)
    if reward.shape != (steps,) or np.any(np.abs(reward) > 1):
        raise ConfigError("reward", f"expected {steps} pulses of -1, 0 or +1, got shape {reward.shape}")
    error = np.zeros((steps, 0), dtype=np.int64) if error is None else np.asarray(error, dtype=np.int64)
    if (error.ndim != 2 or error.shape[0] != steps or error.shape[1] > MAX_READOUTS
            or np.any(error < eprop_fixed.ERR_MIN) or np.any(error > eprop_fixed.ERR_MAX)):
        raise ConfigError("error", f"expected ({steps}, readouts <= {MAX_READOUTS}) error bytes in "
                                   f"[{eprop_fixed.ERR_MIN}, {eprop_fixed.ERR_MAX}], got shape {error.shape}")
    adc = np.zeros(steps, dtype=np.int64) if adc is None else np.asarray(adc, dtype=np.int64)
    if adc.shape != (steps,) or np.any(adc < 0) or np.any(adc > ADC_MAX):
        raise ConfigError("adc", f"expected {steps} ADC values in [0, {ADC_MAX}], got shape {adc.shape}")
    columns = {"v": S_V, "i_ex": S_IEX, "i_in": S_IIN, "ref": S_REF, "theta": S_THETA, "x_post": S_XPOST,
               "n_post": S_NPOST, "duty": S_DUTY}
    rows = {key: np.zeros(steps, dtype=np.int64) for key in columns}
    w_rows, x_rows, c_rows, g_rows = (np.zeros((steps, n), dtype=np.int64) for _ in range(4))
    spikes = np.zeros(steps, dtype=bool)
    learned = np.zeros(steps, dtype=bool)
    frames = []
    sim = UnitSim(unit, weights)
    for t in range(steps):
        spikes[t], learned[t], sent = sim.tick(pre[t], int(reward[t]), error=error[t], adc=int(adc[t]))
        if sent is not None:
            frames.append((t, sent))
        for key, col in columns.items():
            rows[key][t] = sim.st[col]
        x_rows[t], c_rows[t], w_rows[t], g_rows[t] = sim.x, sim.c, sim.w, sim.g
    return UnitTrace(v=rows["v"], i_ex=rows["i_ex"], i_in=rows["i_in"], ref=rows["ref"], spikes=spikes,
                     weights=w_rows, x_pre=x_rows, x_post=rows["x_post"], learned=learned, eligibility=c_rows,
                     theta=rows["theta"], n_post=rows["n_post"], led_frames=frames,
                     gradient=g_rows, duty=rows["duty"])
