"""Files in and out without surprises: text inputs read whole but never without bound, and outputs written so that
an interruption never leaves a partial one (written beside, then renamed atomically)."""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

from eie_sim.errors import InputError

TEXT_LIMIT = 16 << 20
"""The largest text input read (a workload spec, an architecture file, a prototxt, an energy table), in bytes.

Such files are a few KiB, written by hand or by a small script; one larger than this is a mistake (or endless, as
/dev/zero is), and reading it whole could take all the memory there is.
"""


def read_text(path: str | Path, what: str, limit: int = TEXT_LIMIT) -> str:
    """The UTF-8 text of the file at `path`, a `what` (e.g. "architecture file"), read whole if at most `limit` bytes.

    Every failure (missing, a directory, unreadable, too large, not UTF-8) is an InputError naming the file. Lines
    end in "\\n" whatever they ended in, as with open()'s universal newlines. A FIFO is read until its writer closes it.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (the {what})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if len(data) > limit:
        raise InputError(
            f"{path}: more than {limit / (1 << 20):g} MiB, far larger than any {what}; not read (the limit keeps an "
            "endless or mistaken file from filling the memory)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: the {what} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


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
