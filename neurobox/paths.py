"""Checks of the paths neurobox reads and writes, made before any work starts.

Inputs (`read_text_limited`): a model file must be a regular file (not a
folder, a device such as /dev/zero, a FIFO or a socket, also not through
a link) of at most MAX_MODEL_BYTES; it is refused with one line before a
byte is read.

Outputs, checked by every command that writes (`output_file`,
`output_folder`), before the command does its work:

- a file output must not be a folder or a special file; the folder it
  goes in must exist or be creatable, and be writable (tried with a
  temporary file, which also catches read-only file systems and /proc);
- an existing file is overwritten only with --force, unless neurobox
  wrote it itself as the same kind of output (a PNG figure carries
  "Software: neurobox", a results .npz its meta entry, a replay page its
  generator tag, an NWB file notes whose JSON names neurobox as its
  generator), so that re-running a command with the same --plot or
  --out keeps working;
- a folder output must not be an existing file; it is created now and
  marked as the command's own (MARKER, which names the command); an
  existing folder is written into when it is empty or carries the same
  command's marker, and otherwise only with --force.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path

from neurobox.errors import ConfigError

MAX_MODEL_BYTES = 64 * 1024 * 1024
"""Largest model file read (64 MiB). The shipped model files are a few KB and a saved trained network
(explicit weights) a few hundred KB; 64 MiB is room for about two million explicit synapses, while the
parsed TOML of such a file already takes about ten times its size in memory."""

MARKER = ".neurobox-output"
"""The file that marks a folder as written by a neurobox command (JSON: {"command": ...})."""

_PNG = b"\x89PNG\r\n\x1a\n"
_HDF5 = b"\x89HDF\r\n\x1a\n"
GENERATOR = "neurobox"
"""What neurobox writes as the PNG "Software" entry and the replay page's generator tag."""


# -- inputs -------------------------------------------------------------------
def check_input_file(path: str | os.PathLike, what: str = "model file", limit: int = MAX_MODEL_BYTES) -> Path:
    """`path` if it is a regular file of at most `limit` bytes; FileNotFoundError if it does not exist;
    ConfigError (naming the path) for a folder, a special file or a file too large."""
    path = Path(path)
    try:
        info = os.stat(path)  # follows links: a link to /dev/zero is a character device
    except FileNotFoundError:
        raise
    except OSError as err:  # a path through a file, a link loop, no permission
        raise ConfigError(str(path), f"cannot read the {what}: {err.strerror or err}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(str(path), f"is a folder, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(str(path), f"is not a regular file ({_kind(info.st_mode)}); a {what} must be a file")
    if info.st_size > limit:
        raise ConfigError(str(path), f"is {_size(info.st_size)}; a {what} may be at most {_size(limit)}")
    return path


def read_text_limited(path: str | os.PathLike, what: str = "model file", limit: int = MAX_MODEL_BYTES) -> str:
    """The UTF-8 text of `path`, checked by `check_input_file` first; at most `limit` bytes are read
    (a file that grows while read, or reports no size, is refused the same way)."""
    path = check_input_file(path, what, limit)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ConfigError(str(path), f"cannot read the {what}: {err.strerror or err}") from None
    if len(data) > limit:
        raise ConfigError(str(path), f"is larger than {_size(limit)}; a {what} may be at most {_size(limit)}")
    return data.decode("utf-8")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def _size(n: int) -> str:
    if n >= 1024 ** 3:
        return f"{n / 1024 ** 3:.1f} GiB"
    if n >= 1024 ** 2:
        return f"{n / 1024 ** 2:.0f} MiB" if n % 1024 ** 2 == 0 else f"{n / 1024 ** 2:.1f} MiB"
    return f"{n} bytes"


# -- outputs ------------------------------------------------------------------
def output_file(path: str | os.PathLike | None, flag: str, *, force: bool = False, kind: str | None = None) -> Path | None:
    """Check a file output (None: no output). kind: "png", "npz", "html" or "nwb", the kind of file the command
    writes (an existing neurobox file of that kind is overwritten without --force)."""
    if path is None:
        return None
    path = Path(path)
    if str(path) in ("", "."):
        raise ConfigError(flag, "needs a file name")
    if path.is_dir():
        raise ConfigError(flag, f"{path} is a folder; give a file name (for example {path / _example(kind)})")
    exists = os.path.lexists(path)
    if exists and path.exists() and not path.is_file():
        raise ConfigError(flag, f"{path} is not a regular file ({_kind(os.stat(path).st_mode)})")
    _writable_folder(path.parent, flag, path)
    if exists and not force and not _ours(path, kind):
        raise ConfigError(flag, f"{path} exists; use --force to overwrite it")
    return path


def output_folder(path: str | os.PathLike, flag: str, command: str, *, force: bool = False,
                  claim: bool = True) -> Path:
    """Check a folder output and claim it now: create it (and its parents) and write MARKER into it.

    command: what the marker names (e.g. "train digits"); a folder with the same command's marker is
    reused, an empty one taken, any other existing folder needs --force. claim: False only checks (call
    `claim_folder` once the command's inputs are known good, so that a typo leaves no folder behind).
    """
    path = Path(path)
    if str(path) == "":
        raise ConfigError(flag, "needs a folder name")
    if os.path.lexists(path) and not path.is_dir():
        what = "a file" if path.is_file() else ("a broken link" if not path.exists() else "not a folder")
        raise ConfigError(flag, f"{path} is {what}; give a folder (it is created if it does not exist)")
    if path.is_dir():
        owner = _owner(path)
        if not force and owner != command and any(True for _ in path.iterdir()):
            whose = (f"holds the output of `neurobox {owner}`" if owner else "is not empty and was not made by "
                     f"`neurobox {command}`")
            raise ConfigError(flag, f"{path} {whose}; use --force to write into it anyway, or give another folder")
    else:
        _writable_folder(path, flag, path)
    if claim:
        claim_folder(path, flag, command)
    return path


def claim_folder(path: Path, flag: str, command: str) -> Path:
    """Create the folder `path` (checked by `output_folder`) and mark it as `command`'s."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        marker = path / MARKER
        if _owner(path) != command:
            marker.write_text(json.dumps({"command": command}) + "\n")
    except OSError as err:
        raise ConfigError(flag, f"cannot write in {path}: {err.strerror or err}") from None
    return path


def _owner(folder: Path) -> str | None:
    """The command named by `folder`'s marker, or None."""
    try:
        return str(json.loads((folder / MARKER).read_text())["command"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _writable_folder(folder: Path, flag: str, target: Path) -> None:
    """ConfigError unless `folder` exists and can take a new file, or can be created (its nearest existing
    ancestor is a writable folder)."""
    folder = Path(folder) if str(folder) else Path(".")
    probe = folder
    while not os.path.lexists(probe):
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(flag, f"cannot write {target}: {probe} is a file, not a folder")
    if not probe.exists():
        raise ConfigError(flag, f"cannot write {target}: {probe} is a broken link")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".neurobox-check.", dir=probe)
    except OSError as err:
        reason = {errno.EROFS: "a read-only file system", errno.EACCES: "permission denied",
                  errno.EPERM: "not permitted", errno.ENOENT: "no files can be created there",
                  errno.ENOSPC: "no space left"}.get(err.errno, err.strerror or str(err))
        raise ConfigError(flag, f"cannot write {target}: {probe} is not writable ({reason})") from None
    os.close(fd)
    os.unlink(tmp)


def _ours(path: Path, kind: str | None) -> bool:
    """Whether the existing file `path` is neurobox's own output of this kind (so may be replaced)."""
    try:
        if kind == "png":
            with open(path, "rb") as f:
                head = f.read(8192)
            return head.startswith(_PNG) and b"Software\x00" + GENERATOR.encode() in head
        if kind == "npz":
            with zipfile.ZipFile(path) as z:
                return {"meta.npy", "model_toml.npy"} <= set(z.namelist())
        if kind == "html":
            with open(path, "rb") as f:
                head = f.read(4096)
            return f'<meta name="generator" content="{GENERATOR}">'.encode() in head
        if kind == "nwb":
            return _nwb_generator(path) == GENERATOR
    except (OSError, zipfile.BadZipFile):
        return False
    return False


def _nwb_generator(path: Path) -> str | None:
    """The generator an NWB file's notes name (JSON {"generator": ...}, as neurobox writes them), or None."""
    with open(path, "rb") as f:
        if f.read(8) != _HDF5:
            return None
    try:
        import h5py  # the optional extra neurobox[exchange]; without it no NWB file was written here
    except ImportError:
        return None
    try:
        with h5py.File(path, "r") as h:
            notes = h["general/notes"][()] if "general/notes" in h else b""
        info = json.loads(notes.decode() if isinstance(notes, bytes) else str(notes))
        return str(info.get("generator")) if isinstance(info, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


def _example(kind: str | None) -> str:
    return {"png": "raster.png", "npz": "results.npz", "html": "replay.html", "nwb": "run.nwb"}.get(kind or "",
                                                                                                   "out")
