"""The vehicle on the chips: sensor units on ADC pins, motor units on PWM pins, held against hand computations,
the pin planner, simavr (bit-exact with the twin's units for a recorded run) and Braitenberg's 2a on the twin."""
import math

import numpy as np
import pytest

from conftest import require_tool
from neurobox.errors import ConfigError
from neurobox.hardware.analog import adc_millivolts, fixed_motor, fixed_sensor, motor_step
from neurobox.hardware.avr import config, pins
from neurobox.hardware.plan import plan_unit
from neurobox.hardware.unit import Input, UnitDescription, fixed_unit, simulate
from neurobox.tasks.vehicle.world import Arena, Pose, World
from neurobox.tasks.vehicle_chips import ChipVehicle, chip_board, chip_network, population_units, verify_on_chips

RATES = {"rate_min_hz": 5.0, "rate_max_hz": 200.0}
MOTOR = {"tau_ms": 60.0, "full_hz": 150.0}
OPEN = Arena(obstacles=())


def sensor(address=3):
    return fixed_unit(UnitDescription("eye", {}, 1.0, sensor=RATES, address=address))


def xorshift(x):
    """The generator, written out again with Python integers."""
    x ^= (x << 7) & 0xFFFF
    x ^= x >> 9
    return x ^ ((x << 8) & 0xFFFF)


def test_sensor_threshold_by_hand():
    s = fixed_sensor(RATES, 1.0, 3, "eye")
    # p_min = 0.005 * 65535 = 327.7; span = 0.195 * 65535 * 1024 / 1023 = 12792.0
    assert (s.p_min, s.span) == (328, 12792)
    unit = sensor()
    adc = np.array([0, 512, 1023] * 400)
    trace = simulate(unit, np.zeros((adc.size, 0), bool), adc=adc)
    x, want = unit.sensor.seed, []
    for a in adc:
        x = xorshift(x)
        want.append(x - 1 < 328 + ((12792 * int(a)) >> 10))     # 512: 328 + 6396 = 6724
    assert trace.spikes.tolist() == want
    assert 328 + ((12792 * 1023) >> 10) == 13107                 # 200 Hz at 1 ms: 0.2 * 65535 = 13107


@pytest.mark.parametrize("reading", [0.0, 0.25, 0.5, 1.0])
def test_sensor_rate_follows_the_reading(reading):
    # the loop's mapping: rate_min + (rate_max - rate_min) * reading; 40,000 ticks, 4 binomial sigmas + 1 %
    steps = 40_000
    p = (5.0 + 195.0 * reading) * 1e-3
    trace = simulate(sensor(7), np.zeros((steps, 0), bool), adc=np.full(steps, round(reading * 1023)))
    tolerance = 4 * math.sqrt(p * (1 - p) / steps) + 0.01 * p
    assert abs(trace.spikes.mean() - p) < tolerance


def test_motor_duty_by_hand():
    m = fixed_motor(MOTOR, 1.0, "motor")
    assert (m.shift, m.inc) == (6, 6800)             # 2**6 = 64 ms ~ 60 ms; 255 * 256 / (0.15 * 64) = 6800
    unit = fixed_unit(UnitDescription("wheel", {"I_e": 330.0}, 1.0, inputs=(Input("eye", "excitatory", 4000.0),),
                                      motor=MOTOR))
    pre = np.zeros((400, 1), bool)
    pre[::3] = True
    trace = simulate(unit, pre)
    assert trace.spikes.sum() > 20
    acc, want = 0, []
    for fired in trace.spikes:
        acc = acc - acc // 64 + (6800 if fired else 0)
        want.append(min(acc // 256, 255))
    assert trace.duty.tolist() == want
    first = int(np.argmax(trace.spikes))
    assert trace.duty[first] == 26 and trace.duty[:first].sum() == 0     # 6800 // 256


def test_motor_duty_at_half_the_full_rate():
    # a spike train of 75 Hz (Bernoulli, 1 ms ticks) keeps the duty near half of 255 (full at 150 Hz)
    m = fixed_motor(MOTOR, 1.0, "motor")
    fired = np.random.default_rng(5).random(20_000) < 0.075
    acc, duty = 0, []
    for f in fired:
        acc, d = motor_step(acc, bool(f), m.shift, m.inc)
        duty.append(d)
    assert abs(np.mean(duty[1000:]) - 127.5) < 4


def test_planner_gives_adc_and_pwm_pins_and_refuses_what_the_chip_lacks():
    eye = plan_unit(sensor(), "bus")
    assert eye.adc == "PC0" and eye.pwm is None and eye.dendrites == ()
    wheel = pins.plan("wheel", 17, "wired", pwm=1)
    assert wheel.pwm == "PB3" and "PB3" not in wheel.dendrites and len(set(wheel.dendrites)) == 17
    assert "PB3" in pins.plan("plain", 18, "wired").dendrites
    with pytest.raises(ConfigError, match=r"units\.wheel\.inputs.*at most 17 fit.*PWM pin PB3"):
        pins.plan("wheel", 18, "wired", pwm=1)
    with pytest.raises(ConfigError, match=r"units\.wheel\.motor.*2 PWM outputs.*has 1 \(OC2 on PB3\)"):
        pins.plan("wheel", 1, "bus", pwm=2)
    with pytest.raises(ConfigError, match=r"units\.eye\.inputs.*sensor.*no inputs"):
        pins.plan("eye", 1, "bus", adc=1)
    with pytest.raises(ConfigError, match=r"units\.eye\.sensor.*consecutive ticks.*by the bus"):
        plan_unit(sensor(), "wired")
    with pytest.raises(ConfigError, match=r"units\.eye\.sensor.*ADC channel"):
        config.header(sensor(), pins.plan("eye", 0, "bus"), addresses={})
    with pytest.raises(ConfigError, match=r"units\.eye\.sensor.*no inputs"):
        fixed_unit(UnitDescription("eye", {}, 1.0, inputs=(Input("x", "excitatory", 1.0),), sensor=RATES))
    with pytest.raises(ConfigError, match=r"units\.eye\.sensor\.rate_max_hz.*more than one spike a tick"):
        fixed_unit(UnitDescription("eye", {}, 1.0, sensor={"rate_min_hz": 0.0, "rate_max_hz": 2000.0}))


def test_adc_millivolts_convert_back():
    # simavr (and the chip) convert floor(mV * 1023 / 5000)
    for value in (0, 1, 511, 1022, 1023):
        assert adc_millivolts(value) * 1023 // 5000 == value


def test_reduced_fear_vehicle_on_the_twin_turns_away_from_the_light():
    net = chip_network(2)
    board = chip_board(net)
    groups = population_units(board)
    assert len(board.units) == 12 and len(groups) == 6 and all(len(groups[p]) == 2 for p in groups)
    assert not board.sources
    world = World(OPEN, Pose(250.0, 500.0, 0.35), (500.0, 500.0))     # the light on its right, 250 mm ahead
    poses = ChipVehicle(net, world).run(4.0).poses
    bearing = np.arctan2(500.0 - poses[:, 1], 500.0 - poses[:, 0]) - poses[:, 2]
    bearing = np.abs(np.arctan2(np.sin(bearing), np.cos(bearing)))
    distance = np.hypot(500.0 - poses[:, 0], 500.0 - poses[:, 1])
    assert bearing[-1] > math.pi / 2                  # the light is behind it
    assert distance.min() > OPEN.reach_mm
    assert distance[-1] > distance[0]
    assert poses[-1, 2] > 0.35                        # it turned left, away from the light on its right
    again = ChipVehicle(chip_network(2), World(OPEN, Pose(250.0, 500.0, 0.35), (500.0, 500.0)))
    assert np.array_equal(poses, again.run(4.0).poses)
    with pytest.raises(ConfigError, match=r"adc: an ADC value is an integer in \[0, 1023\]"):
        again.twin.set_adc("light_left", 1024)
    with pytest.raises(ConfigError, match="'motor_left' is not a population of sensor units"):
        again.twin.set_adc("motor_left", 5)
    with pytest.raises(ConfigError, match="record: the firmware starts from power-up"):
        verify_on_chips(again, again.run(0.02), "unused")


def test_firmware_motor_outputs_equal_the_twins_for_a_recorded_run(tmp_path):
    require_tool("avr-gcc", "apt-get install gcc-avr avr-libc binutils-avr")
    require_tool("simavr", "apt-get install simavr libsimavr-dev libelf-dev")
    vehicle = ChipVehicle(chip_network(2), World(Arena(), Pose(430.0, 420.0, 0.35), (500.0, 500.0)))
    record = vehicle.run(0.6)                         # near the light and an obstacle: 600 ticks
    groups = vehicle.groups
    assert record.spikes[:, groups["light_left"] + groups["light_right"]].sum() > 20
    assert record.duty[:, groups["motor_left"] + groups["motor_right"]].max() > 0
    assert len(set(record.adc[:, groups["light_left"][0]])) > 1           # the world's reading changes
    checked = verify_on_chips(vehicle, record, tmp_path)
    assert len(checked) == 12
    for c in checked:
        assert c["bit_exact"] and c["output_ok"] and c["spikes_equal_twin"], c
        assert c["duty_equal_twin"] in ((True,) if c["unit"].startswith("motor") else (None,)), c
