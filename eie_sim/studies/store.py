"""The sweep store: the finished points of one sweep, in SQLite, each keyed by all that determines its result.

SQLite (in the standard library) because each point is committed in one transaction, atomic and fsync'd: a kill at
any moment leaves every committed point and nothing half-written, so nothing needs mending. The database also
records which sweep made it (its SweepIdentity and the keys of its points, in order), so a store is never resumed by
another sweep, and the file is locked (flock) for the length of a sweep, so two sweeps never write it at once; the
kernel drops the lock when the process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.errors import InputError

KEY = "point_key"  # column of the results: the point's key in the store


@dataclass(frozen=True)
class SweepIdentity:
    """All that a sweep's results depend on besides the architecture; one store holds the points of one identity."""

    workload: str  # as the user named it, for messages (a file may move: its content identifies it)
    content: str  # "built-in NAME", or the sha256 of the workload file (and of the prototxt beside a .net)
    image: str  # "" without --image, a sample photo's name, or the sha256 of the image file
    seed: int
    engine: str
    version: str  # of eie-sim: another version may compute other figures, or other columns
    energy_table: str = ""  # "" for the packaged table, else the sha256 of the user's table file


@dataclass(frozen=True)
class SweepRequest:
    """The points one sweep command asks for: their keys in order, and the axes and base architecture they come from
    (for messages)."""

    keys: tuple[str, ...]
    axes: Mapping[str, Sequence[Any]]
    base: Mapping[str, Any]


def sweep_identity(
    workload: str, image: str | None = None, seed: int = 0, engine: str = "fast", energy_table: str | None = None
) -> SweepIdentity:
    """The identity of a sweep of `workload` (a built-in name or a file), reading and hashing the files it names."""
    from eie_sim.formats.workloads import list_workloads

    if workload in list_workloads():
        content = f"built-in {workload}"
    else:
        path = Path(workload)
        content = _sha256(path)
        if path.suffix.lower() == ".net":
            content += "".join(f", {p.name} {_sha256(p)}" for p in sorted(path.parent.glob("*.prototxt")))
    if image is None:
        picture = ""
    else:
        picture = _sha256(Path(image)) if Path(image).is_file() else image
    table = _sha256(Path(energy_table)) if energy_table else ""
    return SweepIdentity(workload, content, picture, seed, engine, metadata.version("eie-sim"), table)


def point_key(identity: SweepIdentity, arch: ArchConfig, requantize: bool) -> str:
    """The key of one point: a sha256 of the identity (the workload's content, not its name), every ArchConfig field,
    and whether codebooks are re-quantized to the point's weight_bits."""
    described = {
        "sweep": {f.name: getattr(identity, f.name) for f in fields(identity) if f.name != "workload"},
        "arch": {f.name: getattr(arch, f.name) for f in fields(arch)},
        "requantize": requantize,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def store_path(out: str | Path) -> Path:
    """Where the store of the results file `out` lives: beside it, named after it."""
    out = Path(out)
    return out.with_name(out.name + ".sqlite")


class SweepStore:
    """The finished points of one sweep, by key; made by open_store()."""

    def __init__(self, connection: sqlite3.Connection, name: str) -> None:
        self._db = connection
        self.name = name

    def finished(self) -> set[str]:
        with self._errors("read"):
            return {key for (key,) in self._db.execute("SELECT key FROM points")}

    def add(self, key: str, rows: pd.DataFrame) -> None:
        """Commit one point's rows: after a crash, all of them are there or none."""
        table = json.dumps(rows.to_dict(orient="split", index=False))  # Python's json: floats round-trip exactly
        with self._errors("write"), self._transaction():
            self._db.execute("INSERT INTO points (key, rows) VALUES (?, ?)", (key, table))

    def read(self) -> pd.DataFrame:
        """Every finished point's rows in the order of the stored keys, with its place there as its "point" number."""
        with self._errors("read"):
            order = json.loads(self._meta()["keys"])
            stored = dict(self._db.execute("SELECT key, rows FROM points"))
        frames = []
        for number, key in enumerate(order):
            if key in stored:
                frame = _stored_frame(json.loads(stored[key]))
                frame.insert(0, "point", number)
                frame.insert(1, KEY, key)
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _claim(self, identity: SweepIdentity, request: SweepRequest, extend: bool) -> None:
        """Make the store this sweep's, or check that it is: the same identity, and the same points unless `extend`."""
        with self._errors("open"), self._transaction():
            tables = {name for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables <= {"meta", "points"}:
                raise InputError(f"{self.name}: not a sweep store (tables {', '.join(sorted(tables))})")
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS points (key TEXT PRIMARY KEY, rows TEXT NOT NULL)")
            keys = list(request.keys)
            sweep = {"axes": request.axes, "base": request.base, "extended": False}
            if self._meta():
                held_identity, held_keys, held_sweep = self._held()
                _check_identity(self.name, held_identity, identity)
                if held_keys != keys and not extend:
                    raise InputError(
                        f"{self.name}: holds {_request_difference(held_sweep, request)}; pass --extend to add these "
                        "points to it, or choose another --out"
                    )
                if held_keys != keys:
                    keys = held_keys + [key for key in keys if key not in set(held_keys)]
                    sweep = {**held_sweep, "extended": True}
            values = {"identity": asdict(identity), "keys": keys, "sweep": sweep}
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                [(name, json.dumps(value)) for name, value in values.items()],
            )

    def _held(self) -> tuple[SweepIdentity, list[str], dict[str, Any]]:
        """The identity, the points' keys and the description of the sweep that made the store."""
        meta = self._meta()
        try:
            return SweepIdentity(**json.loads(meta["identity"])), json.loads(meta["keys"]), json.loads(meta["sweep"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{self.name}: not a sweep store this eie-sim can read; choose another --out") from None

    def _meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT name, value FROM meta"))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """SQLite's errors (a full disk, a file that is not a database) as one clear line naming the store."""
        try:
            yield
        except sqlite3.Error as exc:
            raise InputError(f"{self.name}: cannot {action} the sweep store ({exc})") from None


@contextmanager
def open_store(
    path: Path | None, identity: SweepIdentity, request: SweepRequest, extend: bool = False
) -> Iterator[SweepStore]:
    """The store at `path` (in memory if None), locked for as long as the context lasts and checked to be this
    sweep's: made by the same identity, for the same points unless `extend` (then the request's new points are
    added)."""
    with ExitStack() as stack:
        if path is not None:
            # closed last, after SQLite's connection: closing any descriptor of the file drops SQLite's own locks
            stack.callback(os.close, _lock(path))
        try:
            connection = sqlite3.connect(":memory:" if path is None else path, isolation_level=None)
            connection.execute("PRAGMA synchronous = FULL")  # a commit is on disk when it returns
        except sqlite3.Error as exc:
            raise InputError(f"{path}: cannot open the sweep store ({exc})") from None
        stack.callback(connection.close)
        store = SweepStore(connection, str(path) if path is not None else "sweep store")
        store._claim(identity, request, extend)
        yield store


def _lock(path: Path) -> int:
    """An open descriptor of `path` holding its exclusive lock; the kernel drops it when the process dies."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise InputError(f"{path}: cannot open the sweep store ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if isinstance(exc, BlockingIOError):
            raise InputError(
                f"{path}: another sweep is writing it now; wait for it to end, or choose another --out"
            ) from None
        raise InputError(f"{path}: cannot lock the sweep store ({exc.strerror})") from None
    return fd


def _check_identity(name: str, stored: SweepIdentity, wanted: SweepIdentity) -> None:
    differences = []
    if stored.content != wanted.content:
        differences.append(f"results of {_workload(stored)}, not of {_workload(wanted)}")
    if stored.image != wanted.image:
        differences.append(f"--image {_short(stored.image) or 'none'}, not {_short(wanted.image) or 'none'}")
    if stored.seed != wanted.seed:
        differences.append(f"--seed {stored.seed}, not --seed {wanted.seed}")
    if stored.engine != wanted.engine:
        differences.append(f"--engine {stored.engine}, not --engine {wanted.engine}")
    if stored.energy_table != wanted.energy_table:
        tables = (_short(table) or "the packaged one" for table in (stored.energy_table, wanted.energy_table))
        differences.append("energy table {}, not {}".format(*tables))
    if stored.version != wanted.version:
        differences.append(f"made by eie-sim {stored.version}, not {wanted.version}")
    if differences:
        raise InputError(
            f"{name}: holds another sweep ({'; '.join(differences)}); choose another --out, or delete it to start over"
        )


def _workload(identity: SweepIdentity) -> str:
    built_in = identity.content == f"built-in {identity.workload}"
    return identity.workload if built_in else f"{identity.workload} ({_short(identity.content)})"


def _request_difference(stored: Mapping[str, Any], request: SweepRequest) -> str:
    """How the points in the store differ from those asked for, in the words of their axes and base."""
    held = f"the sweep {_axes(stored['axes'])}"
    if stored["extended"]:
        return f"{held} and the points --extend added to it, not {_axes(request.axes)} alone"
    if json.dumps(stored["axes"]) != json.dumps(request.axes):
        return f"{held}, not {_axes(request.axes)}"
    changed = [f"{k} {stored['base'].get(k)}, not {v}" for k, v in request.base.items() if stored["base"].get(k) != v]
    return f"{held} on another base architecture ({', '.join(changed) or 'other points'})"


def _axes(axes: Mapping[str, Sequence[Any]]) -> str:
    return " ".join(f"{name}={','.join(str(v) for v in values)}" for name, values in axes.items()) or "of no axes"


def _short(text: str) -> str:
    """sha256 digests cut to 12 digits, enough to tell two files apart in a message."""
    return re.sub(r"\b([0-9a-f]{12})[0-9a-f]{52}\b", r"\1...", text)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    return f"sha256 {digest.hexdigest()}"


def _stored_frame(split: dict[str, Any]) -> pd.DataFrame:
    """A point's stored rows; a column of JSON integers with missing values stays integer (nullable), as it was."""
    frame = pd.DataFrame(**split)
    for i, column in enumerate(split["columns"]):
        values = [row[i] for row in split["data"]]
        present = [v for v in values if v is not None]
        if len(present) < len(values) and present and all(type(v) is int for v in present):
            frame[column] = frame[column].astype("Int64")
    return frame
