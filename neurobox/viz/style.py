"""neurobox's one plotting style: figure sizes, font sizes, colours per population role.

Every figure of neurobox (neurobox.viz.*) is made with `figure` (or styled
with `apply`) and saved with `neurobox.viz.figure.save_figure`, at `DPI`.
Sizes are in inches and fonts in points at that saved size, so that the
smallest text (`FONT["small"]`) is `MIN_FONT_PT` (8 pt) or more where the
picture is looked at 1:1.

Colours go by a population's *role* (`ROLES`: input, excitatory,
inhibitory, learning, output, other), not by its place in a list, so that
"exc" is the same blue in every figure and on the board (the board's page
gets `board_colours` in its hello message; its dark background takes the
lighter variants, `BOARD_COLOURS`).
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

# matplotlib is imported where a figure is made, not here: the board takes its colours from this module
# without loading it.

DPI = 110
"""Dots per inch of every saved figure."""

MIN_FONT_PT = 8.0
"""The smallest text of any figure, points at the saved size."""

FONT = {"small": 8.0, "base": 9.0, "label": 9.0, "title": 10.0}
"""Font sizes (pt): tick labels, legends and annotations (small), axis labels, titles."""

WIDTH = {"full": 7.2, "wide": 10.0, "half": 4.8}
"""Figure widths (inches): one column of a page (full), a row of panels (wide), a small figure (half)."""

ROLE_COLOURS = {
    "input": "#b9770e",        # ochre: stimulus, pixels, Poisson sources
    "excitatory": "#2471a3",   # blue
    "inhibitory": "#c0392b",   # red
    "learning": "#239b56",     # green: plastic neurons (digits' learners)
    "output": "#7d3c98",       # violet: readouts, the network's answer
    "other": "#5d6d7e",        # slate
}
"""One colour per population role (on white)."""

BOARD_COLOURS = {
    "input": "#f5b942", "excitatory": "#4fc3f7", "inhibitory": "#ef6f6c",
    "learning": "#9ccc65", "output": "#ba68c8", "other": "#aab7b8",
}
"""The same roles on the board's dark page: the lighter variant of each hue."""

ROLES = tuple(ROLE_COLOURS)

MARK = {"stimulus": "#b9770e", "correct": "#239b56", "wrong": "#c0392b", "reference": "#7f8c8d",
        "chance": "#2471a3", "threshold": "#7f8c8d", "cycle": ["#2471a3", "#c0392b", "#239b56", "#b9770e",
                                                                "#7d3c98", "#17a589", "#5d6d7e"]}
"""Colours of marks: the presented stimulus, a right / wrong answer, reference lines, a cycle for series."""

def rc() -> dict:
    """matplotlib settings of the style (applied by `apply`)."""
    from cycler import cycler

    return {**RC, "axes.prop_cycle": cycler(color=MARK["cycle"])}


RC = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "font.size": FONT["base"],
    "axes.titlesize": FONT["title"], "axes.labelsize": FONT["label"], "figure.titlesize": FONT["title"],
    "xtick.labelsize": FONT["small"], "ytick.labelsize": FONT["small"], "legend.fontsize": FONT["small"],
    "legend.title_fontsize": FONT["small"], "legend.frameon": False,
    "axes.spines.top": False, "axes.spines.right": False, "axes.linewidth": 0.8,
    "lines.linewidth": 1.0, "image.interpolation": "nearest",
    "savefig.bbox": "tight", "savefig.pad_inches": 0.04,
}
"""matplotlib settings of the style, less the colour cycle (`rc` adds it)."""


def apply() -> None:
    """Make neurobox's style matplotlib's default (every figure made afterwards follows it)."""
    import matplotlib

    matplotlib.rcParams.update(rc())


@contextmanager
def context():
    """neurobox's style for the figures made inside the block only."""
    import matplotlib

    with matplotlib.rc_context(rc()):
        yield


def figure(nrows: int = 1, ncols: int = 1, *, width: float | str = "full", height: float = 3.0, **kwargs):
    """plt.subplots in neurobox's style: width (inches, or a WIDTH name) x height (inches), at DPI, laid out
    by matplotlib's constrained layout (titles, legends and labels outside the axes keep their room)."""
    from neurobox.viz.figure import plt

    apply()
    w = WIDTH[width] if isinstance(width, str) else float(width)
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(w, height), dpi=DPI, **kwargs)


def role_of(name: str, *, source: bool = False) -> str:
    """A population's role, from its name (and whether it is a spike source): one of ROLES."""
    n = name.lower()
    if source or n.startswith(("in", "stim", "pix", "poisson", "noise", "drive", "sensor")) and not n.startswith("inh"):
        return "input"
    if n.startswith(("inh", "i_")) or n in ("i", "inhib"):
        return "inhibitory"
    if n.startswith(("exc", "e_")) or n in ("e", "pyr"):
        return "excitatory"
    if n.startswith(("learn", "plastic")):
        return "learning"
    if n.startswith(("out", "read", "motor", "answer", "class")):
        return "output"
    return "other"


def colour(role_or_name: str, *, source: bool = False, board: bool = False) -> str:
    """The colour of a role (ROLES) or of a population named so (`role_of`); board: the dark page's variant."""
    role = role_or_name if role_or_name in ROLE_COLOURS else role_of(role_or_name, source=source)
    return (BOARD_COLOURS if board else ROLE_COLOURS)[role]


def shades(base: str, k: int) -> list[str]:
    """k shades of one colour, from the colour itself towards darker and lighter variants (one population's lines)."""
    import matplotlib.colors as mcolors

    rgb = mcolors.to_rgb(base)
    if k <= 1:
        return [mcolors.to_hex(rgb)]
    out = []
    for f in np.linspace(-0.45, 0.5, k):
        target = (0.0, 0.0, 0.0) if f < 0 else (1.0, 1.0, 1.0)
        a = abs(f)
        out.append(mcolors.to_hex(tuple((1 - a) * c + a * t for c, t in zip(rgb, target))))
    order = sorted(range(k), key=lambda j: abs(np.linspace(-0.45, 0.5, k)[j]))
    return [out[j] for j in order]


def population_colours(names, *, sources=(), roles: dict | None = None, board: bool = False) -> dict[str, str]:
    """Colour per population name: its role from `roles` (name -> role) or `role_of`; where two populations
    would share a colour, the later ones take the next free colour of the cycle."""
    out, used = {}, set()
    spare = [c for c in MARK["cycle"] if c not in ROLE_COLOURS.values()] + list(ROLE_COLOURS.values())
    for name in names:
        role = (roles or {}).get(name) or role_of(name, source=name in sources)
        c = (BOARD_COLOURS if board else ROLE_COLOURS)[role]
        if c in used:
            c = next((s for s in spare if s not in used), c)
        out[name] = c
        used.add(c)
    return out


def colour_norm(values, *, decades: float = 1.0):
    """A colour scale that fits `values` (finite ones): logarithmic (LogNorm, over the positive ones) where
    they span more than `decades` decades, else linear from their least to their greatest."""
    import matplotlib.colors as mcolors

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    pos = v[v > 0]
    if pos.size >= 2 and pos.max() / pos.min() > 10 ** decades:
        return mcolors.LogNorm(vmin=pos.min(), vmax=pos.max())
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    return mcolors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)


def every_nth(shown: int, total: int) -> str:
    """How a raster subsampled a population, in words: 'all 800', 'every 4th of 3200', 'first 500 of 3200'."""
    if shown >= total:
        return f"all {total}"
    step = max(1, round(total / shown))
    if shown * step >= total - step + 1 and step > 1:
        return f"every {_ordinal(step)} of {total}"
    return f"first {shown} of {total}"


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"
