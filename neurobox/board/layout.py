"""Where every neuron and wire of the board goes.

World units are abstract (the page scales them to fit). Networks of up to
BOX_LIMIT neurons are drawn as neuron boxes: a few spike sources stand
in a column, a population of 3 to RING_LIMIT neurons sits on a ring, a
larger one on a grid. Bigger networks are drawn by population, as grids
of LEDs: a population of more than GRID_LIMIT neurons shows every
`stride`-th one (an even sample, not the first ones). A projection is
drawn synapse by synapse while it is small enough and not dense (a
projection that joins nearly every pair, such as all-to-all, is one
bundle), else as one bundle between its populations whose thickness is
the mean |weight|; the page draws a bundle from block to block and a
recurrent one as a loop over its block.
"""
from __future__ import annotations

import math

import numpy as np

BOX_LIMIT = 200
"""Networks up to this many neurons are drawn as neuron boxes."""
RING_LIMIT = 24
"""Box populations up to this size are laid out on a ring."""
GRID_LIMIT = 1024
"""LEDs shown per population in grid mode at most (an even sample of a larger one)."""
WIRE_LIMIT = 6000
"""Synapses drawn one by one, over all projections; the rest become bundles."""
DENSE = (400, 0.9)
"""A projection of more than DENSE[0] synapses joining at least DENSE[1] of all its pairs is one bundle."""
BOX = 40.0
"""Side of a neuron box, world units."""
PITCH = 72.0
"""Distance between neighbouring boxes on a grid, world units."""
LED_PITCH = 10.0
"""Distance between LEDs on a grid, world units."""
GAP = 140.0
"""Space between population blocks, world units."""


def _ring(n: int) -> tuple[np.ndarray, np.ndarray, float]:
    r = max(70.0, n * 1.9 * BOX / (2 * math.pi))
    a = -math.pi / 2 + 2 * math.pi * np.arange(n) / n
    return r * np.cos(a), r * np.sin(a), 2 * r + BOX


def _grid(n: int, pitch: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    k = np.arange(n)
    x = (k % cols - (cols - 1) / 2) * pitch
    y = (k // cols - (rows - 1) / 2) * pitch
    return x, y, cols * pitch, rows * pitch


def board_layout(compiled) -> tuple[dict, list[np.ndarray | None]]:
    """The layout of a compiled network (neurobox.engine.compile.CompiledNetwork), JSON-ready.

    Also returns, per edge, the mask of its synapses drawn as wires (None
    for a bundle), to pick the drawn weights out of the compiled arrays.
    """
    pops = compiled.populations
    boxes = sum(p.n for p in pops) <= BOX_LIMIT
    blocks, xs, ys = [], [], []
    offset, left = 0, 0.0
    for p in pops:
        stride = 1 if boxes else math.ceil(p.n / GRID_LIMIT)
        shown = math.ceil(p.n / stride)
        source = p.population.model.voltage is None
        if boxes and source and shown <= 12:
            x, y = np.zeros(shown), (np.arange(shown) - (shown - 1) / 2) * PITCH
            w, h = BOX, shown * PITCH
            shape = "column"
        elif boxes and 3 <= shown <= RING_LIMIT:
            x, y, w = _ring(shown)
            h = w
            shape = "ring"
        else:
            x, y, w, h = _grid(shown, PITCH if boxes else LED_PITCH)
            shape = "grid"
        cx = left + w / 2
        xs.append(x + cx)
        ys.append(y)
        model = p.population.model
        blocks.append({"name": p.name, "n": p.n, "shown": shown, "offset": offset, "model": model.name,
                       "source": source, "mode": "boxes" if boxes else "grid", "stride": stride,
                       "shape": shape, "x": round(cx, 1), "w": round(w, 1), "h": round(h, 1)})
        offset += shown
        left += w + GAP
    height = max(b["h"] for b in blocks) + 2 * BOX + 40
    width = left - GAP + 2 * BOX
    x = np.concatenate(xs) + BOX
    y = np.concatenate(ys) + height / 2
    for b in blocks:
        b["x"] += BOX
        b["y"] = round(height / 2, 1)
    edges, masks = _edges(compiled, blocks)
    return {"width": round(width, 1), "height": round(height, 1), "box": BOX if boxes else LED_PITCH * 0.8,
            "populations": blocks, "nodes": {"x": np.round(x, 1).tolist(), "y": np.round(y, 1).tolist()},
            "edges": edges}, masks


def _edges(compiled, blocks: list[dict]) -> tuple[list[dict], list[np.ndarray | None]]:
    edges, masks, budget = [], [], WIRE_LIMIT
    for cp in compiled.projections:
        pre, post, w, delay = cp.to_lists()
        kind = "inh" if compiled.populations[cp.post].population.model.receptors[cp.receptor] == "inhibitory" \
            else "exc"
        unit = "nS" if compiled.populations[cp.post].population.model.receptor_kind == "conductance" else "pA"
        edge = {"name": cp.name, "kind": kind, "pre": cp.pre, "post": cp.post, "unit": unit,
                "delay_ms": round(float(np.mean(delay)) * compiled.dt, 3) if delay.size else 0.0}
        b_pre, b_post = blocks[cp.pre], blocks[cp.post]
        keep = (pre < b_pre["shown"]) & (post < b_post["shown"])
        dense = keep.sum() > DENSE[0] and keep.sum() >= DENSE[1] * b_pre["shown"] * b_post["shown"]
        if b_pre["mode"] == "boxes" and int(keep.sum()) <= budget and not dense:
            budget -= int(keep.sum())
            edge.update(mode="wires", a=(pre[keep] + b_pre["offset"]).tolist(),
                        b=(post[keep] + b_post["offset"]).tolist())
            masks.append(keep)
        else:
            edge.update(mode="bundle", a=[], b=[])
            masks.append(None)
        edges.append(edge)
    for gap in compiled.gap_junctions:
        b_pre, b_post = blocks[gap.pre], blocks[gap.post]
        keep = (gap.a < b_pre["shown"]) & (gap.b < b_post["shown"])
        edges.append({"name": gap.name, "kind": "gap", "pre": gap.pre, "post": gap.post, "delay_ms": 0.0, "unit": "nS",
                      "mode": "wires", "a": (gap.a[keep] + b_pre["offset"]).tolist(),
                      "b": (gap.b[keep] + b_post["offset"]).tolist()})
        masks.append(keep)
    return edges, masks
