"""Demo networks for `neurobox board --demo NAME`.

`build_demo` returns a Demo: a fresh Network and, for the learning demos,
the task (neurobox.board.tasks) that the board runs with it: it feeds the
inputs, reads the answers, rewards and keeps the score the page shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import neurobox as nb

LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
"""iaf_psc_exp parameters of the demo neurons (pF, ms, mV): rheobase 375 pA."""


@dataclass
class Demo:
    """A board demo: its network and, optionally, its task (see the module docstring)."""

    net: nb.Network
    task: object | None = None


def recurrent(n_input: int = 3, n_exc: int = 12, n_inh: int = 4, rate_hz: float = 15.0,
              seed: int = 1) -> nb.Network:
    """Poisson touch inputs -> a recurrent excitatory group with an inhibitory brake.

    n_input, n_exc, n_inh: neurons per population; rate_hz: input rate, Hz.
    """
    net = nb.Network(dt=0.1, seed=seed, duration=2000.0)
    net.add(nb.PoissonSource(n_input, rate_hz, name="touch"))
    net.population("exc", n_exc, "iaf_psc_exp", LIF,
                   initial={"V_m": {"distribution": "uniform", "low": -70.0, "high": -60.0}})
    net.population("inh", n_inh, "iaf_psc_exp", LIF)
    net.connect("touch", "exc", "fixed_outdegree", outdegree=max(1, n_exc // 3), weight=2500.0, delay=1.0)
    net.connect("exc", "exc", "fixed_probability", p=min(1.0, 2.5 / n_exc), weight=2000.0, delay=2.0)
    net.connect("exc", "inh", "fixed_probability", p=min(1.0, 4.0 / n_exc), weight=1500.0, delay=1.0)
    net.connect("inh", "exc", "fixed_probability", p=0.5, weight=-3000.0, delay=1.0)
    return net


def gap_pair(weight_nS: float = 20.0, rate_hz: float = 20.0, seed: int = 1) -> nb.Network:
    """Two neurons coupled by a gap junction of `weight_nS`; only the left one gets Poisson input (Hz).

    The right LED follows the left membrane below threshold (each left spike
    resets both); raise the right current slider or poke it to make it fire.
    """
    net = nb.Network(dt=0.1, seed=seed, duration=2000.0)
    net.add(nb.PoissonSource(1, rate_hz, name="drive"))
    net.population("left", 1, "iaf_psc_exp", LIF)
    net.population("right", 1, "iaf_psc_exp", LIF)
    net.connect("drive", "left", "one_to_one", weight=2500.0, delay=1.0)
    net.add(nb.GapJunction("left", "right", "one_to_one", weight=weight_nS, name="gap"))
    return net


def digits(seed: int = 0) -> Demo:
    """The digits network (the reduced sizes of tasks.digits.QUICK: 64 pixels, 40 learning neurons), untrained:
    it learns on the page from scratch while it is shown training digits, and answers digits drawn on its pixels."""
    from neurobox.board.tasks import DigitsTask
    from neurobox.tasks import digits as task

    return Demo(task.build_network(task.QUICK, seed), DigitsTask(task.QUICK, seed))


def xor(seed: int = 0) -> Demo:
    """The XOR learner the units can run (tasks.xor.PHYSICAL: 1 ms ticks, fixed point), untrained: it learns by
    reward-modulated STDP while you watch, on the engine in the units' arithmetic or on the twin's units."""
    from neurobox.board.tasks import XorTask
    from neurobox.tasks import xor as task

    return Demo(task.build_network(task.PHYSICAL, seed), XorTask(task.PHYSICAL, seed))


def vehicle(which: str | None = None) -> Demo:
    """A Braitenberg vehicle driving live in its arena next to its network: `which` is "fear" (2a, the default),
    "explorer" (3b) or a vehicle model file; drag the light or an obstacle (neurobox.board.vehicle)."""
    from neurobox.board.vehicle import vehicle_demo

    return vehicle_demo(which)


DEMOS: dict[str, Callable[[], nb.Network | Demo]] = {
    "recurrent": recurrent,
    "gap": gap_pair,
    "digits": digits,
    "xor": xor,
    "vehicle": vehicle,
}
"""Every demo name the board knows, with its builder."""
CHOOSING = ("vehicle",)
"""The demos that take a choice (`build_demo(name, which)`): the vehicle's, which vehicle."""


def build_demo(name: str, which: str | None = None) -> Demo:
    """The demo `name` (with `which`, for the demos in CHOOSING), or a clear error for unknown demos."""
    from neurobox.errors import ConfigError
    if name not in DEMOS:
        raise ConfigError("--demo", f"unknown demo {name!r}; demos: {', '.join(DEMOS)}")
    if which is not None and name not in CHOOSING:
        raise ConfigError("--demo", f"the {name} demo takes no choice, got {which!r}")
    built = DEMOS[name](which) if name in CHOOSING else DEMOS[name]()
    return built if isinstance(built, Demo) else Demo(built)
