"""The boxes a network needs, and what each one's case and circuit depend on.

Every unit of the board (neurobox.hardware.board.units_from_network) is a neuron box: an ATmega8 with its
WS2812 LED, one dendrite connector per input (wired mode: on the pin the planner gave it) or a bus
connector (bus mode), an axon connector, and, for a unit that learns by reward, the reward and the
punishment lines. Every stimulus source neuron is an input box: a push button in its lid whose presses are
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
class Connector:
    """One connector of a box: its name and its pins' signals, pin 1 first (a JST-XH header of that many
    pins). The names are the circuit's, the case's openings' and the wiring's."""

    name: str
    signals: tuple[str, ...]

    @property
    def pins(self) -> int:
        return len(self.signals)


def connectors(kind: BoxKind) -> tuple[Connector, ...]:
    """Every connector of a box of `kind`: the one list its case (openings), its circuit (headers) and the
    wiring (cable ends) are made from.

    Every box: PWR (5 V, GND). An input box: AXON (its button's line; on the bus too, where the host reads
    it). A neuron box, wired: AXON, D0 .. D(n-1) (input j on the dendrite pin the planner gave it), REWARD
    (reward, punishment, GND) for a unit that learns by reward; on the bus: BUS_IN and BUS_OUT (the one
    open-drain bus line and GND, daisy-chained)."""
    out = [Connector("PWR", ("+5V", "GND"))]
    if kind.role == BOX_INPUT:
        return (*out, Connector("AXON", ("AXON", "GND")))
    if kind.mode == "bus":
        return (*out, Connector("BUS_IN", ("BUS", "GND")), Connector("BUS_OUT", ("BUS", "GND")))
    out.append(Connector("AXON", ("AXON", "GND")))
    out += [Connector(f"D{j}", (f"D{j}", "GND")) for j in range(kind.dendrites)]
    if kind.reward:
        out.append(Connector("REWARD", ("REWARD", "PUNISH", "GND")))
    return tuple(out)


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
    (the names of `connectors`: "AXON", "D0" for input 0, "BUS_IN", "BUS_OUT", "REWARD"), what it carries, and
    its length for the chosen layout (mm, slack included)."""

    source: str
    source_connector: str
    target: str
    target_connector: str
    signal: str
    length_mm: float
