"""The boxes a network needs, and what each one's case and circuit depend on.

Every unit of the board (neurobox.hardware.board.units_from_network) is a neuron box: an ATmega8 with its
WS2812 LED, one dendrite connector per input (wired mode: on the pin the planner gave it) or a bus
connector (bus mode), an axon connector, and, for a unit that learns by reward, the reward and the
punishment lines. Every stimulus source neuron is an input box: a touch pad (or button) whose touches are
the spikes it sends. Boxes with the same numbers share a `BoxKind` (one case design, one circuit).
"""
from __future__ import annotations

from dataclasses import dataclass

from neurobox.hardware.avr.pins import PinMap

BOX_NEURON = "neuron"
BOX_INPUT = "input"


@dataclass(frozen=True)
class Box:
    """One physical box: a unit (`role` "neuron") or a stimulus input (`role` "input")."""

    name: str
    role: str
    pins: PinMap | None
    """The unit's pin map (neuron boxes); None for an input box (its one output is its axon)."""
    sources: tuple[str, ...] = ()
    """The box each input comes from, in input order (the dendrite pins' order in wired mode)."""
    reward: bool = False
    """Whether the unit learns by reward (its reward and punishment lines)."""
    address: int = 0
    """Its bus address (bus mode)."""

    @property
    def kind(self) -> "BoxKind":
        dendrites = len(self.pins.dendrites) if self.pins is not None else 0
        return BoxKind(self.role, self.pins.mode if self.pins is not None else "", dendrites, self.reward)


@dataclass(frozen=True)
class BoxKind:
    """What a case and a circuit depend on: the role, the connection mode, the dendrite connectors and the
    reward lines. Boxes of one kind are built alike."""

    role: str
    mode: str
    dendrites: int
    reward: bool

    @property
    def name(self) -> str:
        """A file-safe name: "neuron-wired-4in", "neuron-bus-reward", "input"."""
        if self.role == BOX_INPUT:
            return "input"
        parts = [self.role, self.mode]
        if self.mode == "wired":
            parts.append(f"{self.dendrites}in")
        if self.reward:
            parts.append("reward")
        return "-".join(parts)


@dataclass(frozen=True)
class Kit:
    """A network's boxes (units in address order, then inputs) and its connection mode."""

    network: str
    mode: str
    boxes: tuple[Box, ...]

    def kinds(self) -> dict[BoxKind, list[Box]]:
        """Each kind of box with its boxes, in the order the kinds first appear."""
        out: dict[BoxKind, list[Box]] = {}
        for box in self.boxes:
            out.setdefault(box.kind, []).append(box)
        return out


def kit_for(net, mode: str | None = None, name: str = "network") -> Kit:
    """The boxes of `net` in connection `mode` ("wired" or "bus"; None: wired when every unit fits its
    pins, else the bus), checked by the pin planner (one ConfigError naming the unit that does not fit)."""
    from neurobox.hardware.board import units_from_network
    from neurobox.hardware.plan import plan_board
    from neurobox.errors import ConfigError

    board = units_from_network(net)
    fixed = board.fixed()
    if mode is None:
        try:
            plan = plan_board(board, "wired", fixed)
        except ConfigError:
            plan = plan_board(board, "bus", fixed)
    else:
        plan = plan_board(board, mode, fixed)
    boxes = [Box(u.name, BOX_NEURON, plan.pins[u.name], tuple(u.sources), u.rstdp is not None, u.address)
             for u in fixed]
    boxes += [Box(source, BOX_INPUT, None, (), False, board.addresses[source]) for source in board.sources]
    return Kit(name, plan.mode, tuple(boxes))


@dataclass(frozen=True)
class Cable:
    """One cable between two boxes (neurobox.kit.wiring): from a connector of `source` to one of `target`
    (connector names as the circuit's: "AXON", "D3" for dendrite 3, "BUS_IN", "BUS_OUT", "REWARD"), what it
    carries, and its length for the chosen layout (mm, slack included)."""

    source: str
    source_connector: str
    target: str
    target_connector: str
    signal: str
    length_mm: float
