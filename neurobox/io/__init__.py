"""Exchange with the rest of the field: the files other tools write and read.

One module per format. Network formats (`NETWORK_FORMATS`: a module with
`SUFFIXES`, `read(path) -> Network` and `write(net, path) -> list[str]`,
the notes a user should read about what the file holds) back `neurobox
export` and `neurobox import`; `neurobox.io.neo` turns Results into Neo
objects and NWB files. The format libraries are the optional extra
`neurobox[exchange]`; `require` imports one or says in one line what to
install.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from neurobox.errors import ConfigError, ToolMissingError

NETWORK_FORMATS = {
    "nir": "neurobox.io.nir",
    "neuroml": "neurobox.io.neuroml",
}
"""Format name -> module that reads and writes networks in it."""


def require(module: str, package: str) -> ModuleType:
    """Import `module` of the optional extra, or raise one line naming the pip package that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ToolMissingError(f"reading and writing this format needs the Python package {package}: "
                               f"pip install 'neurobox[exchange]' (or pip install {package})") from None


def network_format(name: str, field: str = "--to") -> ModuleType:
    """The module of network format `name` (checked: one line naming the allowed formats)."""
    if name not in NETWORK_FORMATS:
        raise ConfigError(field, f"unknown format {name!r}; allowed: {', '.join(NETWORK_FORMATS)}")
    return importlib.import_module(NETWORK_FORMATS[name])


def format_of(path: str, field: str) -> str:
    """The network format a file name's suffix says (one line naming the known suffixes otherwise)."""
    lower = str(path).lower()
    known = {}
    for name in NETWORK_FORMATS:
        for suffix in importlib.import_module(NETWORK_FORMATS[name]).SUFFIXES:
            known[suffix] = name
            if lower.endswith(suffix):
                return name
    raise ConfigError(field, f"cannot tell the format of {path} from its name; name it with --from, or use "
                             f"one of the suffixes {', '.join(sorted(known))}")
