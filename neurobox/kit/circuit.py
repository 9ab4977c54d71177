"""Each kind of box's circuit: described as parts and nets, checked and exported with SKiDL (a KiCad netlist
and its electrical-rules check), and drawn with schemdraw (a block schematic PNG).

A neuron box: an ATmega8A-PU (DIP-28) at 16 MHz (crystal and two 22 pF capacitors on PB6/PB7), 100 nF on
VCC, AVCC and AREF, a 10 kOhm pull-up on RESET (PC6), the 6-pin AVR ISP header, the WS2812B on PB0 through
330 Ohm with its own 100 nF, a 100 uF bulk capacitor at the 5 V power connector; wired: a 2-pin dendrite
connector per input on the pin the planner chose, the axon connector on PB1, a 3-pin reward connector (reward
and punishment lines) for a unit that learns by reward; bus: a BUS_IN/BUS_OUT pair (one shared open-drain
line: RXD on the line, TXD onto it through a Schottky diode; the line's one 1 kOhm pull-up sits at the host).
Every pin comes from the box's PinMap (neurobox.kit.units), the one source of truth.

An input box has no chip (neurobox has no input-box firmware: stimuli come from the engine or the host): a
push button from 5 V through 100 Ohm onto its axon line, held low by 100 kOhm with 100 nF across it. A press
is one clean rising edge (the capacitor rides out contact bounce and decays with tau = 10 ms after release),
which is exactly what a dendrite pin counts as a spike. On the bus a host must send the input's byte.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from neurobox.errors import ConfigError
from neurobox.files import atomic_write_text
from neurobox.hardware.avr.pins import RESERVED, USABLE
from neurobox.kit.units import BOX_INPUT, Box, BoxKind, Kit, connectors

ATMEGA8_DIP28 = {
    "PC6": 1, "PD0": 2, "PD1": 3, "PD2": 4, "PD3": 5, "PD4": 6, "VCC": 7, "GND": 8, "PB6": 9, "PB7": 10,
    "PD5": 11, "PD6": 12, "PD7": 13, "PB0": 14, "PB1": 15, "PB2": 16, "PB3": 17, "PB4": 18, "PB5": 19,
    "AVCC": 20, "AREF": 21, "AGND": 22, "PC0": 23, "PC1": 24, "PC2": 25, "PC3": 26, "PC4": 27, "PC5": 28,
}
"""The ATmega8's DIP-28 pin number of each port pin and supply pin (datasheet, "Pin Configurations")."""
ISP_PINS = {"MISO": 1, "VCC": 2, "SCK": 3, "MOSI": 4, "RESET": 5, "GND": 6}
"""The 6-pin AVR ISP header (Atmel AVR910 layout)."""
ISP_PORT = {"MISO": "PB4", "SCK": "PB5", "MOSI": "PB3"}
NC = "NC"
"""The net name of a pin left unconnected on purpose."""

JST2 = ("Connector_JST:JST_XH_B2B-XH-A_1x02_P2.50mm_Vertical", "B2B-XH-A", "JST XH 2-pin header")
JST3 = ("Connector_JST:JST_XH_B3B-XH-A_1x03_P2.50mm_Vertical", "B3B-XH-A", "JST XH 3-pin header")
R_FP = "Resistor_THT:R_Axial_DIN0207_L6.3mm_D2.5mm_P7.62mm_Horizontal"
C_FP = "Capacitor_THT:C_Disc_D5.0mm_W2.5mm_P5.00mm"


@dataclass(frozen=True)
class PartSpec:
    """One part: its reference, symbol name, value, KiCad footprint, a typical part number, and its pins as
    (number, name, type) with type one of "io", "in", "out", "power", "passive"."""

    ref: str
    symbol: str
    value: str
    footprint: str
    part_number: str
    description: str
    pins: tuple[tuple[int, str, str], ...]


@dataclass
class Design:
    """A kind's circuit: its parts, its nets (name -> [(ref, pin number)]) and, per ATmega8 pin, what hangs on
    it (for the schematic)."""

    kind: BoxKind
    parts: list[PartSpec] = field(default_factory=list)
    nets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, prefix: str, symbol: str, value: str, footprint: str, part_number: str, description: str,
            pins) -> str:
        ref = f"{prefix}{sum(p.ref.rstrip('0123456789') == prefix for p in self.parts) + 1}"
        self.parts.append(PartSpec(ref, symbol, value, footprint, part_number, description, tuple(pins)))
        return ref

    def connect(self, net: str, *nodes: tuple[str, int]) -> None:
        self.nets.setdefault(net, []).extend(nodes)

    def resistor(self, value: str, part_number: str, a: str, b: str) -> str:
        ref = self.add("R", "R", value, R_FP, part_number, f"resistor {value}, 1/4 W, 1 %", _two("passive"))
        self.connect(a, (ref, 1))
        self.connect(b, (ref, 2))
        return ref

    def capacitor(self, value: str, part_number: str, a: str, b: str, footprint: str = C_FP,
                  description: str = "") -> str:
        ref = self.add("C", "C", value, footprint, part_number, description or f"ceramic capacitor {value}, 50 V",
                       _two("passive"))
        self.connect(a, (ref, 1))
        self.connect(b, (ref, 2))
        return ref

    def connector(self, name: str, nets: list[str]) -> str:
        footprint, number, description = JST2 if len(nets) == 2 else JST3
        ref = self.add("J", f"Conn_01x{len(nets):02d}", name, footprint, number, description,
                       [(k + 1, net, "passive") for k, net in enumerate(nets)])
        for k, net in enumerate(nets):
            self.connect(net, (ref, k + 1))
        return ref


def _two(kind: str):
    return ((1, "1", kind), (2, "2", kind))


def _mcu_pins():
    types = {"VCC": "power", "AVCC": "power", "GND": "power", "AGND": "power", "AREF": "passive", "PC6": "in"}
    names = {"AGND": "GND"}
    return [(num, names.get(name, name), types.get(name, "io")) for name, num in ATMEGA8_DIP28.items()]


def _kind_pins(kind: BoxKind, boxes: list[Box]):
    """The one pin map a kind's boxes share (they differ only in their unit's name)."""
    first = boxes[0].pins
    for box in boxes[1:]:
        if (box.pins.led, box.pins.axon, box.pins.uart, box.pins.dendrites, box.pins.reward) != \
                (first.led, first.axon, first.uart, first.dendrites, first.reward):
            raise ConfigError(f"units.{box.name}.pins", f"unit {box.name} is of kind {kind.name} but its pins "
                                                        f"differ from {boxes[0].name}'s; one kind has one circuit")
    return first


def neuron_design(kind: BoxKind, pins) -> Design:
    """The circuit of a neuron box with pin map `pins` (neurobox.hardware.avr.pins.PinMap)."""
    d = Design(kind)
    u = d.add("U", "ATmega8", "ATMEGA8A-PU", "Package_DIP:DIP-28_W7.62mm", "ATMEGA8A-PU",
              "8-bit AVR microcontroller, 8 KiB flash, DIP-28", _mcu_pins())
    mcu: dict[str, str] = {}

    def pin(port: str, net: str, note: str) -> None:
        if port in mcu:
            raise ConfigError(f"units.{pins.unit}.pins", f"pin {port} is given twice ({mcu[port]} and {net})")
        mcu[port] = net
        d.notes[port] = note
        d.connect(net, (u, ATMEGA8_DIP28[port]))

    for supply in ("VCC", "AVCC"):
        d.connect("+5V", (u, ATMEGA8_DIP28[supply]))
    for ground in ("GND", "AGND"):
        d.connect("GND", (u, ATMEGA8_DIP28[ground]))
    d.connect("AREF", (u, ATMEGA8_DIP28["AREF"]))
    bulk = d.capacitor("100uF", "UVR1A101MDD", "+5V", "GND", "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm",
                       "electrolytic capacitor 100 uF, 10 V (bulk, at the power input)")
    vcc_c = d.capacitor("100nF", "FG28X7R1H104KNT06", "+5V", "GND")
    avcc_c = d.capacitor("100nF", "FG28X7R1H104KNT06", "+5V", "GND")
    aref_c = d.capacitor("100nF", "FG28X7R1H104KNT06", "AREF", "GND")
    d.notes.update(VCC=f"+5V, {vcc_c} 100nF", AVCC=f"+5V, {avcc_c} 100nF", AREF=f"{aref_c} 100nF to GND",
                   GND=f"GND ({bulk} 100uF bulk at PWR)", AGND="GND")

    y = d.add("Y", "Crystal", "16MHz", "Crystal:Crystal_HC49-U_Vertical", "ABL-16.000MHZ-B2",
              "crystal 16.000 MHz, HC-49/U, 18 pF load", _two("passive"))
    pin("PB6", "XTAL1", f"{y} 16 MHz, 22pF to GND")
    pin("PB7", "XTAL2", f"{y} 16 MHz, 22pF to GND")
    d.connect("XTAL1", (y, 1))
    d.connect("XTAL2", (y, 2))
    d.capacitor("22pF", "FG28C0G1H220JNT06", "XTAL1", "GND")
    d.capacitor("22pF", "FG28C0G1H220JNT06", "XTAL2", "GND")
    reset_r = d.resistor("10k", "MFR-25FBF52-10K", "RESET", "+5V")
    pin("PC6", "RESET", f"RESET, {reset_r} 10k to +5V, ISP 5")

    led = d.add("D", "WS2812B", "WS2812B", "LED_SMD:LED_WS2812B_PLCC4_5.0x5.0mm_P3.2mm", "WS2812B",
                "addressable RGB LED, 5050", ((1, "VDD", "power"), (2, "DOUT", "out"), (3, "VSS", "power"),
                                              (4, "DIN", "in")))
    d.connect("+5V", (led, 1))
    d.connect("GND", (led, 3))
    d.connect(NC, (led, 2))
    d.connect("LED_DIN", (led, 4))
    led_r = d.resistor("330", "MFR-25FBF52-330R", "LED", "LED_DIN")
    led_c = d.capacitor("100nF", "FG28X7R1H104KNT06", "+5V", "GND")
    pin(pins.led, "LED", f"{led} WS2812B DIN via {led_r} 330R ({led_c} 100nF at the LED)")

    if pins.mode == "wired":
        pin(pins.axon, "AXON", "AXON connector")
        for j, port in enumerate(pins.dendrites):
            pin(port, f"D{j}", f"dendrite D{j} connector")
        if pins.reward:
            pin(pins.reward[0], "REWARD", "REWARD connector, pin 1")
            pin(pins.reward[1], "PUNISH", "REWARD connector, pin 2 (punishment)")
    else:
        rxd, txd = pins.uart
        pin(rxd, "BUS", "RXD: the bus line (BUS_IN/BUS_OUT pin 1)")
        diode = d.add("D", "D_Schottky", "BAT85", "Diode_THT:D_DO-35_SOD27_P7.62mm_Horizontal", "BAT85",
                      "Schottky diode 30 V 200 mA, DO-35 (open-drain bus driver)",
                      ((1, "K", "passive"), (2, "A", "passive")))
        pin(txd, "TXD", f"TXD onto the bus through {diode} BAT85")
        d.connect("TXD", (diode, 1))
        d.connect("BUS", (diode, 2))

    isp = d.add("J", "AVR-ISP-6", "ISP", "Connector_PinHeader_2.54mm:PinHeader_2x03_P2.54mm_Vertical",
                "61300621121", "pin header 2x3, 2.54 mm (AVR ISP)",
                [(num, name, "passive") for name, num in ISP_PINS.items()])
    for signal, num in ISP_PINS.items():
        port = ISP_PORT.get(signal)
        if port is None:
            d.connect({"VCC": "+5V"}.get(signal, signal), (isp, num))
            continue
        net = mcu.get(port)
        if net is None:
            pin(port, signal, f"{signal}, ISP {num}")
        else:
            d.notes[port] += f"; {signal}, ISP {num}"
        d.connect(mcu[port], (isp, num))

    for port in USABLE + tuple(RESERVED):
        if port not in mcu:
            pin(port, NC, "not connected")
    _headers(d, kind)
    return d


def _headers(d: Design, kind: BoxKind) -> None:
    """A header for every connector of the kind (neurobox.kit.units.connectors: the case's openings and the
    wiring's cable ends have the same names), its pins on the nets of their signals."""
    for c in connectors(kind):
        d.connector(c.name, list(c.signals))


def input_design(kind: BoxKind) -> Design:
    """The circuit of an input box: a debounced push button that drives its axon line high while pressed."""
    d = Design(kind)
    sw = d.add("SW", "SW_Push", "button", "Connector_Wire:SolderWire-0.5sqmm_1x02_P4.6mm_D0.9mm_OD2.1mm",
               "PBS-33B", "momentary push button, 12 mm panel mount (in the lid; wired to the board)",
               _two("passive"))
    d.connect("+5V", (sw, 1))
    d.connect("SW", (sw, 2))
    d.resistor("100", "MFR-25FBF52-100R", "SW", "AXON")
    d.resistor("100k", "MFR-25FBF52-100K", "AXON", "GND")
    d.capacitor("100nF", "FG28X7R1H104KNT06", "AXON", "GND")
    _headers(d, kind)
    return d


def design(kind: BoxKind, boxes: list[Box]) -> Design:
    """The circuit of `kind` (whose boxes are `boxes`)."""
    return input_design(kind) if kind.role == BOX_INPUT else neuron_design(kind, _kind_pins(kind, boxes))


_SKIDL = None


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _skidl():
    """SKiDL, imported once without its terminal messages and without the log files it opens in the working
    folder (imported from a scratch folder; its file handlers closed and their files removed there); its
    messages go to a collector instead."""
    global _SKIDL
    if _SKIDL is None:
        cwd = os.getcwd()
        with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stderr(io.StringIO()):
            os.chdir(scratch)
            try:
                import skidl
                from skidl.logger import erc_logger, rt_logger
            finally:
                os.chdir(cwd)
            collect = _Collect()
            for logger in (erc_logger, rt_logger):
                for handler in list(logger.handlers):
                    if isinstance(handler, logging.FileHandler):
                        handler.close()
                        if Path(handler.baseFilename).parent == Path(scratch).resolve():
                            Path(handler.baseFilename).unlink(missing_ok=True)
                        logger.log_file_handlers.remove(handler)
                    logging.Logger.removeHandler(logger, handler)
                logger.addHandler(collect)
        _SKIDL = (skidl, erc_logger, collect)
    return _SKIDL


def netlist(d: Design) -> tuple[str, int, int, list[str]]:
    """The KiCad netlist of `d` (SKiDL's KiCad 8 export), with SKiDL's ERC errors and warnings (count and
    messages)."""
    skidl, erc_logger, collect = _skidl()
    types = {"io": skidl.Pin.types.BIDIR, "in": skidl.Pin.types.INPUT, "out": skidl.Pin.types.OUTPUT,
             "power": skidl.Pin.types.PWRIN, "passive": skidl.Pin.types.PASSIVE}
    circuit = skidl.Circuit()
    circuit.no_files = True
    parts = {}
    for spec in d.parts:
        part = skidl.Part(tool=skidl.SKIDL, name=spec.symbol, ref=spec.ref, tag=spec.ref, value=spec.value,
                          footprint=spec.footprint, description=spec.description, circuit=circuit,
                          pins=[skidl.Pin(num=n, name=name, func=types[t]) for n, name, t in spec.pins])
        part.fields["Part Number"] = spec.part_number
        parts[spec.ref] = part
    for name, nodes in d.nets.items():
        net = circuit.NC if name == NC else skidl.Net(name, circuit=circuit)
        if name in ("+5V", "GND"):
            net.drive = skidl.POWER
        for ref, num in nodes:
            net += parts[ref][num]
    collect.records.clear()
    circuit.ERC()
    messages = [r.getMessage().strip() for r in collect.records if r.levelno >= logging.WARNING]
    errors = erc_logger.error.count + erc_logger.bare_error.count
    warnings = erc_logger.warning.count + erc_logger.bare_warning.count
    text = str(circuit.generate_netlist(tool=skidl.KICAD8, do_backup=False, track_src=False))
    collect.records.clear()
    return text, errors, warnings, messages


def parts_table(d: Design) -> list[dict]:
    """The parts of `d`, one row per distinct part (same part number, value and footprint)."""
    rows: dict[tuple, dict] = {}
    for spec in d.parts:
        value = "connector" if spec.ref.startswith("J") and spec.symbol.startswith("Conn") else spec.value
        key = (spec.part_number, value, spec.footprint)
        row = rows.setdefault(key, {"ref": [], "value": value, "footprint": spec.footprint,
                                    "part_number": spec.part_number, "description": spec.description,
                                    "quantity": 0, "names": []})
        row["ref"].append(spec.ref)
        row["names"].append(spec.value)
        row["quantity"] += 1
    out = []
    for row in rows.values():
        names = row.pop("names")
        if row["value"] == "connector":
            row["value"] = " ".join(names)
        row["ref"] = " ".join(row["ref"])
        out.append(row)
    return out


def write_circuits(kit: Kit, folder: Path) -> list[dict]:
    """Write every kind's netlist (`<kind>.net`) and schematic (`<kind>.png`) into `folder`; one report per
    kind (its boxes, files, ERC counts and parts). A kind whose ERC finds an error is a ConfigError."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    reports = []
    for kind, boxes in kit.kinds().items():
        d = design(kind, boxes)
        text, errors, warnings, messages = netlist(d)
        if errors:
            raise ConfigError(f"kit.{kind.name}", f"the circuit fails the electrical-rules check: "
                                                  f"{'; '.join(messages)}")
        net_path = atomic_write_text(folder / f"{kind.name}.net", text)
        png_path = draw(d, folder / f"{kind.name}.png", [b.name for b in boxes])
        reports.append({"kind": kind.name, "boxes": [b.name for b in boxes], "netlist": str(net_path),
                        "schematic": str(png_path), "erc_errors": errors, "erc_warnings": warnings,
                        "erc_messages": messages, "parts": parts_table(d)})
    return reports


__all__ = ["ATMEGA8_DIP28", "ISP_PINS", "Design", "PartSpec", "design", "netlist", "parts_table",
           "write_circuits"]


def _pin_label(port: str) -> str:
    alias = {"PC6": "RESET", "PB6": "XTAL1", "PB7": "XTAL2", "PD0": "RXD", "PD1": "TXD", "PD2": "INT0",
             "PD3": "INT1", "PB3": "MOSI", "PB4": "MISO", "PB5": "SCK", "AGND": "GND"}
    return f"{port}/{alias[port]}" if port in alias and port != "AGND" else alias.get(port, port)


def draw(d: Design, path: Path, boxes: list[str]) -> Path:
    """A block schematic of `d` as a PNG at `path`: the ATmega8 (DIP-28 pin numbers, pin names) with what hangs
    on every pin, or the input box's button circuit."""
    import schemdraw
    import schemdraw.elements as elm

    from neurobox.viz.figure import plt, save_figure

    title = f"{d.kind.name}: {', '.join(boxes)}"
    if d.kind.role == BOX_INPUT:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        s = schemdraw.Drawing(canvas=ax, show=False)
        s.config(fontsize=11)
        s.add(elm.Vdd().label("+5V (PWR 1)"))
        s.add(elm.Button().down().label("SW1 button", loc="bottom"))
        s.add(elm.Resistor().down().label("R1 100Ω", loc="bottom"))
        s.add(elm.Dot())
        s.push()
        s.add(elm.Resistor().down().label("R2 100k", loc="bottom"))
        s.add(elm.Ground())
        s.pop()
        s.add(elm.Line().right(2.5))
        s.add(elm.Dot())
        s.push()
        s.add(elm.Capacitor().down().label("C1 100nF", loc="bottom"))
        s.add(elm.Ground())
        s.pop()
        s.add(elm.Line().right(2.5))
        s.add(elm.Dot(open=True).label("AXON (J2 1)\nto the dendrites", loc="right"))
        s.draw(show=False)
        ax.axis("off")
        ax.set_title(title)
        return save_figure(fig, path)

    ports = sorted(ATMEGA8_DIP28, key=ATMEGA8_DIP28.get)
    ic_pins = [elm.IcPin(name=_pin_label(p), pin=str(ATMEGA8_DIP28[p]), side="left" if ATMEGA8_DIP28[p] <= 14
                         else "right", anchorname=p) for p in ports[:14][::-1] + ports[14:]]
    fig, ax = plt.subplots(figsize=(16, 8.5))
    s = schemdraw.Drawing(canvas=ax, show=False)
    s.config(fontsize=10)
    ic = s.add(elm.Ic(pins=ic_pins, size=(4.5, 15), pinspacing=1.0, edgepadW=0.5, leadlen=1.0,
                      plblsize=10).label("U1 ATmega8A-PU\nDIP-28, 16 MHz", "center"))
    s.draw(show=False)
    for port in ports:
        note = d.notes.get(port, "")
        left = ATMEGA8_DIP28[port] <= 14
        x, y = ic.absanchors[port]
        ax.text(x - 0.15 if left else x + 0.15, y, note, ha="right" if left else "left", va="center",
                fontsize=9, color="gray" if note == "not connected" else "black")
    legend = "\n".join(f"{row['ref']}: {row['value']} ({row['part_number']})" for row in parts_table(d))
    ax.text(11.0, ic.absanchors["PC5"][1], "Parts\n" + legend, ha="left", va="top", fontsize=9, family="monospace")
    ax.set_xlim(-8.5, 19.5)
    ax.axis("off")
    ax.set_title(title)
    return save_figure(fig, path)
