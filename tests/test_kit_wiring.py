"""The kit's wiring plan (neurobox.kit.wiring): exactly the model's synapses as cables (or bus address
pairs), on the planner's pins, with lengths from the layout."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from neurobox.errors import ConfigError
from neurobox.kit.units import kit_for
from neurobox.kit.wiring import Layout, bus_pairs, cable_length, cables, write_wiring
from neurobox.network.modelfile import load

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "examples" / "board.toml"


@pytest.fixture(scope="module")
def net():
    return load(BOARD)


def synapses(net) -> Counter:
    """(source neuron, target neuron) of every synapse, drawn from the network's projections directly."""
    def name(pop, i):
        return pop.name if pop.n == 1 else f"{pop.name}.{i}"

    out = Counter()
    for key, proj in net.projections.items():
        syn = proj.build(net.seed, float(net.dt), key)
        for a, b in zip(np.asarray(syn.pre), np.asarray(syn.post)):
            out[(name(proj.pre, int(a)), name(proj.post, int(b)))] += 1
    return out


def test_every_synapse_of_the_board_is_one_cable(net):
    kit = kit_for(net, "wired", "board")
    cable_list = cables(kit, Layout("layers", 80))
    expected = synapses(net)
    assert sum(expected.values()) == 11            # the model file: 4 + 2 + 2 + 1 + 2
    assert Counter((c.source, c.target) for c in cable_list) == expected
    boxes = {b.name: b for b in kit.boxes}
    for c in cable_list:
        assert c.source_connector == "AXON" and c.target_connector.startswith("D")
        j = int(c.target_connector[1:])
        assert boxes[c.target].sources[j] == c.source     # the input the planner put on that dendrite
    # every dendrite connector of every unit takes exactly one cable
    taken = Counter((c.target, c.target_connector) for c in cable_list)
    assert set(taken.values()) == {1}
    assert set(taken) == {(b.name, f"D{j}") for b in kit.boxes for j in range(len(b.sources))}


def test_the_bus_is_a_daisy_chain_and_each_synapse_an_address_pair(net):
    kit = kit_for(net, "bus", "board")
    cable_list = cables(kit, Layout("grid", 80))
    chain = [c for c in cable_list if c.signal == "bus"]
    # from the host through the units in address order: sense.0 @0, sense.1 @1, relay @2, brake @3
    assert [(c.source, c.target) for c in chain] == [("host", "sense.0"), ("sense.0", "sense.1"),
                                                     ("sense.1", "relay"), ("relay", "brake")]
    assert all((c.source_connector, c.target_connector) == ("BUS_OUT", "BUS_IN") for c in chain)
    # the input boxes (no chip) go to the host, which sends their bytes
    rest = [(c.source, c.source_connector, c.target, c.target_connector) for c in cable_list if c not in chain]
    assert rest == [("touch.0", "AXON", "host", "D0"), ("touch.1", "AXON", "host", "D1")]
    pairs = bus_pairs(kit)
    assert Counter((s, t) for s, _, t, _, _ in pairs) == synapses(net)
    address = {b.name: b.address for b in kit.boxes}
    assert all(address[s] == sa and address[t] == ta for s, sa, t, ta, _ in pairs)


def test_lengths_follow_the_layout():
    # along the table at right angles, 100 mm slack, rounded up to 10 mm
    assert cable_length((0, 0), (80, 0)) == 180
    assert cable_length((0, 0), (80, 80)) == 260
    assert cable_length((0, 0), (0, 0)) == 100
    assert cable_length((0, 0), (33, 0)) == 140


def test_layers_put_inputs_left_and_populations_in_columns(net):
    kit = kit_for(net, "wired", "board")
    at = Layout("layers", 100).positions(kit)
    assert at["touch.0"][0] == at["touch.1"][0] == 0
    assert at["sense.0"][0] == at["sense.1"][0] == 100
    assert at["relay"][0] == 200 and at["brake"][0] == 300
    grid = Layout("grid", 50).positions(kit)           # 6 boxes on a 3 x 2 grid
    assert sorted(grid.values()) == sorted((x, y) for x in (0, 50, 100) for y in (0, 50))


def test_the_table_and_the_drawing(net, tmp_path):
    kit = kit_for(net, "wired", "board")
    summary = write_wiring(kit, tmp_path, Layout("layers", 80))
    rows = list(csv.DictReader((tmp_path / "wiring.csv").open()))
    assert len(rows) == summary["cables"] == 11
    assert [int(r["cable"]) for r in rows] == list(range(1, 12))
    pins = {b.name: b.pins for b in kit.boxes}
    for r in rows:
        assert r["to_pin"] == pins[r["to_box"]].dendrites[int(r["to_connector"][1:])]
        assert r["from_pin"] == ("button" if r["from_box"].startswith("touch") else "PB1")
    assert summary["total_length_mm"] == sum(float(r["length_mm"]) for r in rows)
    # touch.0 -> sense.0 is one column over, same row: 80 mm + slack
    first = rows[0]
    assert (first["from_box"], first["to_box"], first["length_mm"]) == ("touch.0", "sense.0", "180")
    assert summary["splits"] == {"touch.0": 2, "touch.1": 2, "relay": 3, "brake": 2}
    assert (tmp_path / "wiring.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bus_mode_writes_the_address_table(net, tmp_path):
    summary = write_wiring(kit_for(net, "bus", "board"), tmp_path, Layout("grid", 80))
    rows = list(csv.DictReader((tmp_path / "bus_addresses.csv").open()))
    assert len(rows) == summary["address_pairs"] == 11 and summary["cables"] == 6
    assert (tmp_path / "wiring.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind, spacing, field", [("ring", 80, "--layout"), ("grid", 10, "--spacing-mm"),
                                                  ("grid", float("nan"), "--spacing-mm")])
def test_bad_layouts_are_refused(kind, spacing, field):
    with pytest.raises(ConfigError, match=field):
        Layout(kind, spacing)


LEARNER = """
[network]
dt = 1.0
seed = 3
duration = 100.0
[populations.pad]
n = 2
model = "poisson_generator"
params = { rate = 20.0 }
[populations.learner]
n = 1
model = "iaf_psc_exp"
params = { t_ref = 2.0 }
[[projections]]
pre = "pad"
post = "learner"
rule = "all_to_all"
weight = 500.0
delay = 1.0
plasticity = { rule = "rstdp", tau_plus = 8.0, tau_c = 64.0, tau_d = 20.0, A_plus = 300.0, A_minus = 0.0, w_min = 0.0, w_max = 2000.0 }
"""


@pytest.mark.parametrize("mode", ["wired", "bus"])
def test_a_unit_that_learns_by_reward_gets_the_hosts_line(mode):
    from neurobox.kit.wiring import HOST, pin_of
    from neurobox.network.modelfile import loads

    kit = kit_for(loads(LEARNER), mode, "learner")
    cable_list = cables(kit, Layout("layers", 80))
    from_host = [c for c in cable_list if c.source == HOST]
    assert len(from_host) == 1
    if mode == "wired":
        assert (from_host[0].target, from_host[0].target_connector) == ("learner", "REWARD")
        assert pin_of(kit, "learner", "REWARD") == "PD2/PD3"
        assert len(cable_list) == 3                   # two synapses and the reward line
    else:                                             # the host's bytes (rewards too) come down the bus
        assert (from_host[0].target, from_host[0].target_connector) == ("learner", "BUS_IN")
        assert len(bus_pairs(kit)) == 2
