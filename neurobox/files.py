"""Atomic writing: a failed or killed save never leaves a half-written file, nor a half-written set of files.

One file (`atomic_write`, `atomic_write_text`, `write_arrays`): written to a
hidden temporary sibling `.NAME.PID.XXXXXXXX.tmp`, flushed to disk, then
renamed over NAME. An exception removes the temporary file; a process
killed outright (SIGKILL, power loss) can leave one, and the next write of
NAME removes it (a temporary file is stale when the process whose id it
carries is gone).

A set of files that belong together (`atomic_folder`): written into a
hidden temporary sibling folder `.NAME.tmp-PID-XXXX`, flushed to disk, and
only then put in the place of the folder NAME, in steps that a kill at any
point leaves recoverable:

    1. the complete folder is renamed `.NAME.new-PID-XXXX` (it is complete from now on);
    2. what the old folder holds that the new set does not replace (the user's other
       files) is moved into it, one rename each;
    3. the old folder is renamed `.NAME.old-PID-XXXX`, the new one renamed NAME;
    4. the old folder is removed.

A reader of NAME sees the old set or the new set, never a mix (between the
two renames of step 3, for an instant, no folder). The next `atomic_folder`
of NAME finishes what a killed one left: it removes a stale `.tmp-` folder
(incomplete), moves a stale `.new-` folder into place (it was complete)
and removes a stale `.old-` one (or renames it back when there is no NAME
and no new set).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Mapping

import numpy as np

from neurobox.errors import ConfigError

LEGACY_STALE_S = 60.0
"""A temporary file without a process id (written by an older neurobox) is stale after this many seconds."""


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _alive(pid: int) -> bool:
    """Whether process `pid` exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    except OSError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    """Flush a folder (or a file) to disk; best effort: a path that cannot be opened is skipped."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


# -- one file ----------------------------------------------------------------------------------
def _stale_files(path: Path) -> list[Path]:
    """Temporary files of earlier writes of `path` whose writers are gone."""
    stale = []
    pattern = re.compile(r"^\." + re.escape(path.name) + r"\.(?:(\d+)\.)?[^.]+\.tmp$")
    try:
        entries = list(os.scandir(path.parent))
    except FileNotFoundError:
        return []
    now = time.time()
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None or not entry.is_file(follow_symlinks=False):
            continue
        if m.group(1) is not None:
            if not _alive(int(m.group(1))):
                stale.append(Path(entry.path))
        else:
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime > LEGACY_STALE_S:
                    stale.append(Path(entry.path))
            except FileNotFoundError:
                pass
    return stale


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write `path` by calling write(file) on a temporary file, then renaming it into place.

    The earlier file (if any) stays intact until the new one is complete; no temporary file survives an
    exception, and one that a killed process left is removed now.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _stale_files(path):
        _remove(stale)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write named arrays to an .npz file atomically (no pickles: numbers and strings only)."""
    def write(f):
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
    return atomic_write(path, write)


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of an .npz file written by `write_arrays` (ConfigError naming the file if it is not one)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file") from None
    except (OSError, ValueError, EOFError) as err:
        raise ConfigError(str(path), f"not a readable .npz file ({err})") from None


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 digest of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_text(value) -> str:
    """JSON of `value` with numpy arrays and numbers as lists and Python numbers (exact for floats)."""
    def default(v):
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        raise TypeError(f"not JSON: {type(v).__name__}")
    return json.dumps(value, default=default)


# -- a set of files ------------------------------------------------------------------------------
_FOLDER_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|new|old)-(?P<pid>\d+)-[^.]+$")


def _siblings(final: Path, kind: str) -> list[tuple[Path, int]]:
    out = []
    try:
        entries = list(os.scandir(final.parent))
    except FileNotFoundError:
        return []
    for entry in entries:
        m = _FOLDER_TEMP.match(entry.name)
        if m and m.group("name") == final.name and m.group("kind") == kind:
            out.append((Path(entry.path), int(m.group("pid"))))
    return sorted(out)


def _is_stale_temp(name: str) -> bool:
    """Whether a folder entry is a temporary file or folder of a write whose process is gone."""
    m = _FOLDER_TEMP.match(name)
    if m:
        return not _alive(int(m.group("pid")))
    m = re.match(r"^\..+\.(\d+)\.[^.]+\.tmp$", name)
    return bool(m) and not _alive(int(m.group(1)))


def _move_others(old: Path, new: Path, replaces: Iterable[str] | None, moved: list[str]) -> None:
    """Move what `old` holds into `new`, except the entries `new` has, those it replaces (all when None)
    and stale temporaries; the names moved are appended to `moved`."""
    if replaces is None or not old.is_dir():
        return
    replaced = set(replaces)
    for entry in sorted(os.listdir(old)):
        if entry in replaced or _is_stale_temp(entry) or os.path.lexists(new / entry):
            continue
        os.rename(old / entry, new / entry)
        moved.append(entry)


def _install(new: Path, final: Path, replaces: Iterable[str] | None) -> None:
    """Steps 2-4 of the module docstring: `new` (complete) takes the place of `final`. An error (not a kill)
    on the way puts everything back as it was and removes `new`."""
    parent = final.parent
    if not os.path.lexists(final):
        os.rename(new, final)
        _fsync_dir(parent)
        return
    moved: list[str] = []
    old = None
    try:
        _move_others(final, new, replaces, moved)
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-{os.getpid()}-", dir=parent))
        os.rmdir(old)
        os.rename(final, old)
        os.rename(new, final)
    except BaseException:
        if old is not None and os.path.lexists(old) and not os.path.lexists(final):
            os.rename(old, final)
        for entry in moved:
            if os.path.lexists(new / entry) and not os.path.lexists(final / entry):
                os.rename(new / entry, final / entry)
        _remove(new)
        raise
    _fsync_dir(parent)
    try:
        _remove(old)
    except OSError:
        pass  # left beside it: the next write removes it


def recover_folder(path: str | os.PathLike) -> None:
    """Finish or undo what an `atomic_folder` of `path` that was killed left beside it (see the module
    docstring); writes by processes still running are left alone."""
    final = Path(os.path.realpath(path))
    for tmp, pid in _siblings(final, "tmp"):
        if not _alive(pid):
            _remove(tmp)
    news = [(p, pid) for p, pid in _siblings(final, "new") if not _alive(pid)]
    olds = [(p, pid) for p, pid in _siblings(final, "old") if not _alive(pid)]
    if news:  # a complete set was on its way in: finish (the newest one; an older one is outdated)
        newest = max(news, key=lambda item: item[0].stat().st_mtime)[0]
        if not os.path.lexists(final) and olds:
            # killed between the renames of step 3: the other files are in the new set already
            os.rename(newest, final)
        else:
            # step 2 had not finished: keep every file that is left (which of them the killed write meant
            # to drop is not known; keeping one too many is better than losing one of the user's)
            _install(newest, final, ())
        for p, _ in news:
            if p != newest:
                _remove(p)
        for p, _ in olds:
            _remove(p)
        _fsync_dir(final.parent)
        return
    for old, _ in olds:
        if not os.path.lexists(final):
            os.rename(old, final)   # the old set is all there is: put it back
        else:
            _remove(old)
    _fsync_dir(final.parent)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            _fsync_dir(Path(dirpath) / name)      # a file flushes the same way
        _fsync_dir(Path(dirpath))


@contextmanager
def atomic_folder(path: str | os.PathLike, *, replaces: Iterable[str] | None = None) -> Iterator[Path]:
    """Write a set of files that belong together: `with atomic_folder(out) as tmp:` write into `tmp`;
    when the block ends without an exception the set takes the place of `out` (module docstring).

    replaces: names in `out` that belong to the set: those the new set does not contain are dropped with
    the old set; every other entry of `out` (the user's own files) is kept. None: `out` is replaced as a
    whole. An exception removes the temporary folder and leaves `out` as it was; leftovers of a killed
    write are cleaned up (or finished) first.
    """
    given = Path(path)
    final = Path(os.path.realpath(given))
    if final.exists() and not final.is_dir():
        raise ConfigError(str(given), "is a file, not a folder")
    cwd = Path(os.path.realpath(os.getcwd()))
    if cwd == final or final in cwd.parents:
        raise ConfigError(str(given), "is the current folder or holds it: results are put in place as a "
                                      "whole folder; choose a folder inside it (for example --out results)")
    parent = final.parent
    parent.mkdir(parents=True, exist_ok=True)
    recover_folder(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-{os.getpid()}-", dir=parent))
    try:
        mode = final.stat().st_mode & 0o7777 if final.is_dir() else 0o777 & ~_umask()
        os.chmod(tmp, mode)
        yield tmp
        _fsync_tree(tmp)
        new = tmp.with_name(f".{final.name}.new-" + tmp.name[len(f".{final.name}.tmp-"):])
        os.rename(tmp, new)          # step 1: complete
    except BaseException:
        _remove(tmp)
        raise
    _install(new, final, replaces)


def remove_folder(path: str | os.PathLike) -> None:
    """Remove a folder that `atomic_folder` wrote, with its leftovers beside it."""
    final = Path(os.path.realpath(path))
    recover_folder(final)
    if final.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-{os.getpid()}-", dir=final.parent))
        os.rmdir(old)
        try:
            os.rename(final, old)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise
            return
        _remove(old)


__all__ = ["atomic_write", "atomic_write_text", "write_arrays", "read_arrays", "sha256_file", "json_text",
           "atomic_folder", "recover_folder", "remove_folder"]
