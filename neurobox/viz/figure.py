"""What every figure of neurobox shares: the headless matplotlib backend and atomic saving as PNG."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neurobox.files import atomic_write  # noqa: E402

__all__ = ["plt", "save_figure"]


def save_figure(fig, path: str | os.PathLike, *, dpi: float | None = None) -> Path:
    """Lay out `fig`, write it as a PNG to `path` (atomically), close it and return the path.

    The PNG's "Software" entry is "neurobox": how neurobox.paths knows a figure it may overwrite.
    """
    fig.tight_layout()
    out = atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi,
                                                             metadata={"Software": "neurobox"}))
    plt.close(fig)
    return out
