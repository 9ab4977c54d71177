"""Model files shipped with neurobox; `path(name)` finds one ("coba" or "coba.toml")."""
from __future__ import annotations

from pathlib import Path

from neurobox.errors import ConfigError

HERE = Path(__file__).parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.toml"))


def path(name: str) -> Path:
    stem = name[:-5] if name.endswith(".toml") else name
    candidate = HERE / f"{stem}.toml"
    if not candidate.is_file():
        raise ConfigError("model", f"no built-in model {name!r}; built-in models: {', '.join(names())}")
    return candidate
