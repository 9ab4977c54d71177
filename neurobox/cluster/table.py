"""The table of a sweep: one row per run, written atomically as Parquet or CSV (by the file's suffix) and
read back to resume a sweep."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from neurobox.errors import ConfigError
from neurobox.files import atomic_write

SUFFIXES = (".parquet", ".csv")
KEY_COLUMNS = ("run", "seed")
"""Columns every sweep table starts with; then the swept paths, `status`, `error`, the run's figures."""


def table_format(path: str | Path, field: str = "--out") -> str:
    """"parquet" or "csv" from the suffix of `path` (one line naming the allowed suffixes otherwise)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(field, f"{path}: a sweep table is {' or '.join(SUFFIXES)}, got {suffix or 'no suffix'}")
    return suffix[1:]


def _pandas():
    from neurobox.io import require
    return require("pandas", "pandas")


def frame(rows: list[dict[str, Any]], paths: list[str]):
    """The rows as a pandas DataFrame, ordered by run, with the key columns, the swept paths and the status
    first."""
    pd = _pandas()
    df = pd.DataFrame(sorted(rows, key=lambda r: r["run"]))
    first = [c for c in (*KEY_COLUMNS, *paths, "status", "error") if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


def write(rows: list[dict[str, Any]], paths: list[str], path: str | Path) -> None:
    """Write the table (atomically: an earlier table stays intact until the new one is complete)."""
    df = frame(rows, paths)
    if table_format(path) == "csv":
        atomic_write(path, lambda f: f.write(df.to_csv(index=False).encode("utf-8")))
    else:
        def parquet(f):
            buffer = io.BytesIO()
            df.to_parquet(buffer, index=False)
            f.write(buffer.getvalue())
        atomic_write(path, parquet)


def read(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a sweep table written by `write` (ConfigError naming the file if it is not one)."""
    pd = _pandas()
    try:
        df = pd.read_csv(path) if table_format(path) == "csv" else pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise ConfigError(str(path), f"cannot read it as a sweep table: {err}") from None
    missing = [c for c in (*KEY_COLUMNS, "status") if c not in df.columns]
    if missing:
        raise ConfigError(str(path), f"is not a sweep table (no column {', '.join(missing)})")
    return df.to_dict("records")
