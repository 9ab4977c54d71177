"""Demo networks for `neurobox board --demo NAME`.

Each builder returns a fresh Network. Demos that need learning (digits,
XOR) are named here so that the command knows them, and say that they
arrive with the plasticity work instead of showing something fake.
"""
from __future__ import annotations

from typing import Callable

import neurobox as nb
from neurobox.errors import NeuroboxError

LIF = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}
"""iaf_psc_exp parameters of the demo neurons (pF, ms, mV): rheobase 375 pA."""


class DemoNotReady(NeuroboxError):
    """A demo that needs a part of neurobox that does not exist yet."""


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


def _needs_learning(name: str) -> Callable[[], nb.Network]:
    def build() -> nb.Network:
        raise DemoNotReady(f"the {name!r} demo arrives with the learning work: it needs plasticity, which the "
                           "engine does not have yet; try --demo recurrent or --demo gap")
    return build


DEMOS: dict[str, Callable[[], nb.Network]] = {
    "recurrent": recurrent,
    "gap": gap_pair,
    "digits": _needs_learning("digits"),
    "xor": _needs_learning("xor"),
}
"""Every demo name the board knows, with its builder."""


def build_demo(name: str) -> nb.Network:
    """The demo network `name`, or a clear error for unknown or not-yet-available demos."""
    if name not in DEMOS:
        from neurobox.errors import ConfigError
        raise ConfigError("--demo", f"unknown demo {name!r}; demos: {', '.join(DEMOS)}")
    return DEMOS[name]()
