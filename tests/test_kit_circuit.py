"""Each kind's circuit: SKiDL's ERC passes, the KiCad netlist has every pin the firmware uses on the ATmega8 pin
the planner chose (read back from the .net file), the parts scale with the dendrites, the schematic is
written."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.conftest import require_module

for _module in ("skidl", "schemdraw"):   # found, not imported: neurobox.kit.circuit imports SKiDL quietly
    if importlib.util.find_spec(_module) is None:
        require_module(_module, "kit")

from neurobox.hardware.avr import pins as avr_pins
from neurobox.kit import circuit
from neurobox.kit.units import BOX_NEURON, Box, Kit, kit_for
from neurobox.network.modelfile import load

BOARD = Path(__file__).resolve().parent.parent / "examples" / "board.toml"
DATASHEET_ORDER = ["PC6", "PD0", "PD1", "PD2", "PD3", "PD4", "VCC", "GND", "PB6", "PB7", "PD5", "PD6", "PD7", "PB0",
                   "PB1", "PB2", "PB3", "PB4", "PB5", "AVCC", "AREF", "GND", "PC0", "PC1", "PC2", "PC3", "PC4", "PC5"]
"""The ATmega8's PDIP-28 pins 1..28 (datasheet, Pin Configurations), written out independently."""
DIP = {name: k + 1 for k, name in enumerate(DATASHEET_ORDER) if name != "GND"}


def sexp(text: str):
    """A KiCad netlist as nested lists of strings."""
    stack: list[list] = [[]]
    for token in re.findall(r'\(|\)|"(?:[^"\\]|\\.)*"|[^\s()]+', text):
        if token == "(":
            stack.append([])
        elif token == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token.strip('"'))
    return stack[0][0]


def children(node, tag):
    return [c for c in node if isinstance(c, list) and c and c[0] == tag]


def value(node, tag):
    found = children(node, tag)
    return found[0][1] if found and len(found[0]) > 1 else ""


def read_net(path):
    """components: ref -> (value, footprint); nets: name -> {(ref, pin)}."""
    tree = sexp(Path(path).read_text())
    comps = {value(c, "ref"): (value(c, "value"), value(c, "footprint"))
             for c in children(children(tree, "components")[0], "comp")}
    nets = {value(n, "name"): {(value(x, "ref"), value(x, "pin")) for x in children(n, "node")}
            for n in children(children(tree, "nets")[0], "net")}
    return comps, nets


def connector(comps, name):
    refs = [ref for ref, (val, _) in comps.items() if ref.startswith("J") and val == name]
    assert len(refs) == 1, (name, refs)
    return refs[0]


def mcu_pin_of(nets, node):
    """The ATmega8 (U1) pin number on the net of `node`."""
    net = [members for members in nets.values() if node in members]
    assert len(net) == 1, node
    pins = [int(pin) for ref, pin in net[0] if ref == "U1"]
    assert len(pins) == 1, (node, net[0])
    return pins[0]


@pytest.fixture(scope="module")
def board_circuits(tmp_path_factory):
    net = load(BOARD)
    out = {}
    for mode in ("wired", "bus"):
        kit = kit_for(net, mode, "board")
        out[mode] = (kit, circuit.write_circuits(kit, tmp_path_factory.mktemp(mode)))
    return out


def test_pin_table_is_the_datasheet():
    for name, number in DIP.items():
        assert circuit.ATMEGA8_DIP28[name] == number
    assert circuit.ATMEGA8_DIP28["AGND"] == 22 and len(circuit.ATMEGA8_DIP28) == 28


@pytest.mark.parametrize("mode", ["wired", "bus"])
def test_every_kind_passes_erc_and_writes_its_files(board_circuits, mode):
    kit, reports = board_circuits[mode]
    assert [r["kind"] for r in reports] == [k.name for k in kit.kinds()]
    assert sorted(b for r in reports for b in r["boxes"]) == sorted(b.name for b in kit.boxes)
    for r in reports:
        assert r["erc_errors"] == 0, r["erc_messages"]
        assert Path(r["netlist"]).name == f"{r['kind']}.net"
        assert Path(r["netlist"]).read_text().startswith("(export")
        png = Path(r["schematic"]).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_netlist_has_every_planned_pin_on_the_planners_pin(board_circuits):
    kit, reports = board_circuits["wired"]
    by_kind = {r["kind"]: r for r in reports}
    for box in kit.boxes:
        if box.role != BOX_NEURON:
            continue
        comps, nets = read_net(by_kind[box.kind.name]["netlist"])
        assert comps["U1"] == ("ATMEGA8A-PU", "Package_DIP:DIP-28_W7.62mm")
        for j, port in enumerate(box.pins.dendrites):
            assert mcu_pin_of(nets, (connector(comps, f"D{j}"), "1")) == DIP[port]
        assert mcu_pin_of(nets, (connector(comps, "AXON"), "1")) == DIP[box.pins.axon] == 15
        led = next(ref for ref, (val, _) in comps.items() if val == "WS2812B")
        din = next(members for members in nets.values() if (led, "4") in members)
        series, series_pin = next(node for node in din if node[0] != led)
        assert comps[series][0] == "330"
        assert mcu_pin_of(nets, (series, "1" if series_pin == "2" else "2")) == DIP["PB0"] == 14
        isp = connector(comps, "ISP")
        for isp_pin, port in (("1", "PB4"), ("3", "PB5"), ("4", "PB3"), ("5", "PC6")):
            assert mcu_pin_of(nets, (isp, isp_pin)) == DIP[port]
        crystal = next(ref for ref in comps if ref.startswith("Y"))
        assert {mcu_pin_of(nets, (crystal, "1")), mcu_pin_of(nets, (crystal, "2"))} == {9, 10}
    sense0 = next(b for b in kit.boxes if b.name == "sense.0")
    assert sense0.pins.dendrites[:2] == ("PC0", "PC1")        # the planner's choice: PC0 = 23, PC1 = 24
    comps, nets = read_net(by_kind[sense0.kind.name]["netlist"])
    assert mcu_pin_of(nets, (connector(comps, "D1"), "1")) == 24


def test_bus_netlist_puts_the_uart_on_the_bus(board_circuits):
    _, reports = board_circuits["bus"]
    r = next(r for r in reports if r["kind"] == "neuron-bus")
    comps, nets = read_net(r["netlist"])
    bus_in, bus_out = connector(comps, "BUS_IN"), connector(comps, "BUS_OUT")
    assert mcu_pin_of(nets, (bus_in, "1")) == DIP["PD0"] == 2
    bus = next(m for m in nets.values() if (bus_in, "1") in m)
    assert (bus_out, "1") in bus
    diode = next(ref for ref, (val, _) in comps.items() if val == "BAT85")
    assert (diode, "2") in bus and mcu_pin_of(nets, (diode, "1")) == DIP["PD1"] == 3
    assert not any(val in ("AXON", "D0") for val, _ in comps.values())


def test_reward_unit_and_isp_shared_dendrites(tmp_path):
    """A reward unit's lines on PD2/PD3; 16 dendrites reach PB3-PB5, which the ISP header shares."""
    pm = avr_pins.plan("learner", 16, "wired", reward=True)
    kit = Kit("t", "wired", (Box("learner", BOX_NEURON, pm, tuple(f"s{i}" for i in range(16)), True),))
    (r,) = circuit.write_circuits(kit, tmp_path)
    assert r["kind"] == "neuron-wired-16in-reward" and r["erc_errors"] == 0
    comps, nets = read_net(r["netlist"])
    reward = connector(comps, "REWARD")
    assert mcu_pin_of(nets, (reward, "1")) == DIP["PD2"] == 4
    assert mcu_pin_of(nets, (reward, "2")) == DIP["PD3"] == 5
    isp = connector(comps, "ISP")
    for j, port in enumerate(pm.dendrites):
        assert mcu_pin_of(nets, (connector(comps, f"D{j}"), "1")) == DIP[port]
    assert pm.dendrites[-1] == "PB5"
    assert mcu_pin_of(nets, (isp, "3")) == DIP["PB5"]
    last = next(m for m in nets.values() if (connector(comps, f"D{len(pm.dendrites) - 1}"), "1") in m)
    assert (isp, "3") in last


def test_parts_scale_with_the_dendrites(board_circuits):
    _, reports = board_circuits["wired"]
    jst = {}
    for r in reports:
        comps, _ = read_net(r["netlist"])
        jst[r["kind"]] = sum("JST_XH_B2B" in fp for _, fp in comps.values())
        rows = {row["part_number"]: row["quantity"] for row in r["parts"]}
        assert rows.get("B2B-XH-A") == jst[r["kind"]]
        assert sum(row["quantity"] for row in r["parts"]) == len(comps)
    assert jst == {"neuron-wired-4in": 6, "neuron-wired-2in": 4, "neuron-wired-1in": 3, "input": 2}


def test_erc_catches_a_conflict():
    """Two outputs on one net are an ERC error (the check is not a no-op)."""
    d = circuit.Design(kit_for(load(BOARD), "wired").boxes[0].kind)
    a = d.add("U", "X", "x", "", "", "", ((1, "O", "out"),))
    b = d.add("U", "X", "x", "", "", "", ((1, "O", "out"),))
    d.connect("CLASH", (a, 1), (b, 1))
    _, errors, _, messages = circuit.netlist(d)
    assert errors >= 1 and messages
