"""Writing files so that an interruption never leaves a partial one: write beside, then rename atomically."""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

from eie_sim.errors import InputError


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Replace `path` with `data` in one step; on any failure or interruption the old file (or no file) remains.

    A symbolic link's target is replaced, not the link; a device or pipe (/dev/null, /dev/stdout) is written in place.
    A replaced file keeps its permissions; a new one gets those the umask allows, as any other program's would.
    """
    data = data.encode() if isinstance(data, str) else data
    try:
        mode: int | None = os.stat(path).st_mode
    except OSError:
        mode = None
    tmp: str | None = None
    try:
        if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            with open(path, "wb") as handle:
                handle.write(data)
            return
        target = Path(os.path.realpath(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        part = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to open()
        tmp = part
        if mode is not None:
            os.fchmod(fd, stat.S_IMODE(mode))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot write ({exc.strerror})") from None
        raise


def check_writable(path: str | Path, option: str, directory: bool = False) -> None:
    """Fail at once, before any work, when `path` (a file, or a directory to write files in) cannot be written.

    Nothing is created: the nearest existing ancestor must be a directory where a file can be made.
    """
    path = Path(path)
    if path.exists() and path.is_dir() != directory:
        raise InputError(f"{option}: {path} is {'not ' if directory else ''}a directory")
    existing = path if directory else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{option}: cannot write {path}: {existing} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise InputError(f"{option}: cannot write {path} ({exc.strerror})") from None
