"""The twin as a target (neurobox.targets): every neuron a unit on its own clock, over wires or a bus."""
from __future__ import annotations

from neurobox.hardware.board import units_from_network
from neurobox.twin.session import TwinSession


class Twin:
    """The physical board as independent fixed-point units (neurobox.twin)."""

    name = "twin"
    summary = "the board of physical units: own clocks, wires or a bus, faults"

    def check(self, net) -> list:
        """What keeps the twin from running `net` as built: the board (units_from_network) and the planner
        (neurobox.hardware.plan: every unit and the bus fit in some connection mode; the run's transport is
        planned again when it opens)."""
        from neurobox.hardware.plan import check_network

        return check_network(net)

    def open(self, net, *, progress: bool | None = None, **options) -> TwinSession:
        """A TwinSession of `net`'s board; options: those of TwinSession (transport, faults, seed, wire, bus, ...)."""
        return TwinSession(units_from_network(net), **options)
