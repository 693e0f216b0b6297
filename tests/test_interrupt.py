"""Ctrl-C and SIGTERM: the command stops cleanly (one line, exit 128 + signal), leaving no partial output file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eie_sim.support import files as eie_io
from eie_sim.support import processes

# A sweep whose points take seconds each, so that it is still running when it is interrupted.
LONG_SWEEP = ("sweep", "vgg16", "--pes", "16,32,64,128", "--jobs", "2")


def _start(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "eie_sim", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _handles_sigterm(pid: int) -> bool:
    """Whether the process catches SIGTERM yet, i.e. eie_sim.cli.main is running (SigCgt in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _stop(
    process: subprocess.Popen[str], signum: int, after: float, whole_group: bool = False
) -> tuple[int, str, float]:
    """Signal the process (or its whole group, as a terminal's Ctrl-C does) `after` seconds into main(), however
    slow the start; (exit code, stderr, seconds it took to exit)."""
    deadline = time.monotonic() + 60
    while not _handles_sigterm(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(after)
    assert process.poll() is None, "the command finished before it could be interrupted"
    sent = time.perf_counter()
    if whole_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    return process.returncode, err, time.perf_counter() - sent


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    "signum, whole_group", [(signal.SIGTERM, False), (signal.SIGINT, True)], ids=["SIGTERM", "Ctrl-C"]
)
def test_interrupted_simulation_leaves_no_output(tmp_path, signum, whole_group):
    out = tmp_path / "x.json"
    code, err, seconds = _stop(
        _start("simulate", "vgg16", "--format", "json", "--out", str(out)), signum, 2.0, whole_group
    )
    assert code == 128 + signum
    assert err.strip() == f"eie-sim: interrupted by {signal.Signals(signum).name}"
    assert _leftovers(tmp_path) == []  # neither x.json nor a .x.json.*.part temporary
    assert seconds < 10


def test_interrupted_parallel_sweep_stops_its_workers(tmp_path):
    """SIGTERM to the parent of a --jobs 2 sweep: the workers are stopped at once and quietly."""
    out = tmp_path / "sweep.csv"
    process = _start(*LONG_SWEEP, "--out", str(out))
    deadline = time.monotonic() + 60
    while len(_processes_writing(out)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_processes_writing(out)) == 3  # the parent and its two workers, busy with the first points
    code, err, seconds = _stop(process, signal.SIGTERM, 0.5)
    assert code == 128 + signal.SIGTERM and err.strip() == "eie-sim: interrupted by SIGTERM"
    assert seconds < 5
    time.sleep(0.5)
    assert _processes_writing(out) == [], "sweep workers outlived their parent"
    assert set(_leftovers(tmp_path)) <= {"sweep.csv.sqlite", "sweep.csv.sqlite-journal"}


def _until_none_left(out: Path, seconds: float) -> list[str]:
    """Wait up to `seconds` for every process naming `out` to end; those still running."""
    deadline = time.monotonic() + seconds
    while _processes_writing(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _processes_writing(out)


def test_workers_end_when_their_parent_is_killed(tmp_path):
    """SIGKILL to the parent alone (as the OOM killer sends it): its workers end too, instead of running on."""
    out = tmp_path / "sweep.csv"
    process = _start(*LONG_SWEEP, "--out", str(out))
    try:
        deadline = time.monotonic() + 60
        while len(_processes_writing(out)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_processes_writing(out)) == 3
        process.kill()
        process.wait()
        assert _until_none_left(out, 10) == [], "sweep workers outlived their killed parent"
    finally:
        for pid in _processes_writing(out):  # started by this test: end them whatever happened
            os.kill(int(pid), signal.SIGKILL)


def test_a_dead_parent_not_yet_reaped_is_not_alive():
    """A worker whose parent was killed before the worker asked for the kernel's notice must see it dead, even while
    the parent is a zombie its own starter has not yet waited for."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        assert not processes.alive(process.pid)
    finally:
        process.wait()
    assert not processes.alive(process.pid) and processes.alive(os.getpid())


WATCHED_CHILD = """
import multiprocessing, os, sys, time
from eie_sim.support import processes

def child(parent):
    processes.watch_parent(parent)
    time.sleep(600)

if __name__ == "__main__":
    worker = multiprocessing.get_context("fork").Process(target=child, args=(os.getpid(),))
    worker.start()
    print(worker.pid, flush=True)
    time.sleep(600)
"""


def test_the_portable_watch_ends_a_process_whose_parent_died(tmp_path):
    """The fallback where the kernel cannot be asked (no prctl): a thread that notices the parent is gone."""
    script = tmp_path / "watched.py"
    script.write_text(WATCHED_CHILD)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        assert _running(child)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child), "the watched process outlived its parent"
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether `pid` is alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _processes_writing(out: Path) -> list[str]:
    """Processes whose command line names `out` (forked workers share their parent's)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(out).encode() in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            continue
    return found


@pytest.mark.parametrize("existing", [False, True])
def test_interruption_inside_write_atomic_keeps_the_old_file_or_none(tmp_path, monkeypatch, existing):
    target = tmp_path / "out.csv"
    if existing:
        target.write_text("old contents\n")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(eie_io.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        eie_io.write_atomic(target, "new contents\n" * 1000)
    assert _leftovers(tmp_path) == (["out.csv"] if existing else [])
    if existing:
        assert target.read_text() == "old contents\n"


def test_write_atomic_gives_a_new_file_the_mode_the_umask_allows(tmp_path):
    previous = os.umask(0o022)
    try:
        eie_io.write_atomic(tmp_path / "new.csv", "a,b\n")
    finally:
        os.umask(previous)
    assert (tmp_path / "new.csv").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o444])
def test_write_atomic_keeps_the_mode_of_the_file_it_replaces(tmp_path, mode):
    target = tmp_path / "old.csv"
    target.write_text("old\n")
    target.chmod(mode)
    previous = os.umask(0o077)
    try:
        eie_io.write_atomic(target, "new\n")
    finally:
        os.umask(previous)
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == mode


def test_write_atomic_writes_devices_in_place_and_follows_links(tmp_path):
    eie_io.write_atomic("/dev/null", "discarded")
    assert Path("/dev/null").is_char_device()
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    eie_io.write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
