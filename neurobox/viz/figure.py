"""What every figure of neurobox shares: the headless matplotlib backend, the style and atomic saving as PNG."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neurobox.files import atomic_write  # noqa: E402
from neurobox.viz import style  # noqa: E402

__all__ = ["plt", "save_figure", "style"]


def save_figure(fig, path: str | os.PathLike, *, dpi: float | None = None, layout: bool = True) -> Path:
    """Lay out `fig` (unless `layout` is False: the caller placed its axes), write it as a PNG to `path` (atomically, at style.DPI), close it and return the path.

    The PNG's "Software" entry is "neurobox": how neurobox.paths knows a figure it may overwrite.
    """
    if layout and not fig.get_layout_engine():
        fig.tight_layout()
    out = atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi or style.DPI,
                                                   metadata={"Software": "neurobox"}))
    plt.close(fig)
    return out
