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
        if "/" in name or "\\" in name or "." in name:   # a file name: no list of built-in names
            raise ConfigError(name, "file not found")
        raise ConfigError(name, f"file not found, and no built-in model of that name "
                                f"(built-in models: {', '.join(names())})")
    return candidate


def resolve(model: str) -> Path:
    """The model file `model` names: an existing file, else a built-in model of that name.

    A name that looks like a path (it contains a / or ends in .toml) and
    is not a built-in model is returned as a path, so that the loader
    reports "NAME: file not found"; a bare name that is neither is
    refused the same way, with the built-in names as a hint.
    """
    given = Path(model)
    if given.exists() or "/" in model:
        return given
    stem = model[:-5] if model.endswith(".toml") else model
    if (HERE / f"{stem}.toml").is_file():
        return HERE / f"{stem}.toml"
    if model.endswith(".toml"):
        return given
    return path(model)
