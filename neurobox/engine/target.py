"""The engine as a target (neurobox.targets): the description's precision, or the chips' fixed point."""
from __future__ import annotations

from neurobox.engine.precision import engine_model
from neurobox.engine.simulation import Simulation
from neurobox.errors import ConfigError


class Engine:
    """The compiled clock-driven engine, in the precision the description asks for (float unless it says fixed)."""

    name = "engine"
    summary = "the compiled engine"
    precision: str | None = None

    def check(self, net) -> list:
        from neurobox.targets import Unsupported

        problems = []
        for pop in net.populations.values():
            try:
                engine_model(pop, self.precision or net.precision)
            except ConfigError as err:
                problems.append(Unsupported(err.field, err.message))
        return problems

    def open(self, net, *, progress: bool | None = None, learning: bool = True,
             threads: int | None = None) -> Simulation:
        """A Simulation of `net` (in this target's precision) on `threads` threads (None: every core)."""
        if self.precision is not None and net.precision != self.precision:
            net = net.copy()
            net.precision = self.precision
        return Simulation(net, progress=progress, learning=learning, threads=threads)


class FixedEngine(Engine):
    """The compiled engine in the integer arithmetic of the chips (iaf_psc_exp and pair STDP)."""

    name = "fixed"
    summary = "the compiled engine in the chips' fixed-point arithmetic"
    precision = "fixed"
