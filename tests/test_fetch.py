"""`eie-sim fetch squeezenet-dc` against a local mirror: checked files in the cache, the name as a workload, errors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import eie_sim
from eie_sim.cli import main
from eie_sim.errors import InputError
from eie_sim.formats.workloads import load_workload

FILES = ["compressed_SqueezeNet.net", "SqueezeNet_deploy.prototxt"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _serve(directory: Path) -> Iterator[str]:
    """An HTTP server on the loopback interface serving `directory`; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _unreachable_url() -> str:
    """A loopback URL where nothing listens (a port the system just handed out and took back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/mirror"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache root; returns the release's directory in it (not created yet)."""
    monkeypatch.setenv("EIE_SIM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "squeezenet-dc"


@pytest.fixture
def mirror(tmp_path: Path, real_model, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local HTTP mirror of the release (copies of the real files), set as EIE_SIM_DATA_URL; yields its directory."""
    directory = tmp_path / "mirror"
    directory.mkdir()
    for source in (real_model.net, real_model.prototxt):
        shutil.copyfile(source, directory / source.name)
    with _serve(directory) as url:
        monkeypatch.setenv("EIE_SIM_DATA_URL", url)
        yield directory


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], *names: object) -> str:
    """The CLI exits 2 with one stderr line that mentions every one of `names`."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("eie-sim: error: "), err
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def _files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def _status(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["workloads", "--format", "json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    return rows["squeezenet-dc"]["status"]


def test_before_fetching_the_name_says_how_to_get_it(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _status(capsys) == "not fetched: eie-sim fetch squeezenet-dc"
    _fails(capsys, ["simulate", "squeezenet-dc"], "squeezenet-dc", "run `eie-sim fetch squeezenet-dc`", cache)
    with pytest.raises(InputError, match="eie-sim fetch squeezenet-dc"):
        load_workload("squeezenet-dc")


def test_fetch_puts_checked_files_in_the_cache_and_the_name_loads(
    mirror: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fetch", "squeezenet-dc"]) == 0
    out = capsys.readouterr().out
    for name in FILES:
        assert (cache / name).read_bytes() == (mirror / name).read_bytes()
        assert str(cache / name) in out
    assert _files_in(cache) == sorted(FILES)  # no temporary file left beside them
    assert _status(capsys) == f"fetched: {cache}"
    network = load_workload("squeezenet-dc")
    assert len(network.layers) == 26 and sum(layer.nnz for layer in network.layers) == 415_921


def test_fetch_again_keeps_intact_files_offline_and_replaces_a_damaged_one(
    mirror: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = eie_sim.fetch("squeezenet-dc")
    assert net == cache / "compressed_SqueezeNet.net"
    with monkeypatch.context() as offline:
        offline.setenv("EIE_SIM_DATA_URL", _unreachable_url())
        assert eie_sim.fetch("squeezenet-dc") == net  # checked in place, nothing downloaded
    net.write_bytes(b"damaged")
    eie_sim.fetch("squeezenet-dc")
    assert net.read_bytes() == (mirror / net.name).read_bytes()


@pytest.mark.parametrize("url", [_unreachable_url(), "file:///nonexistent/mirror"], ids=["unreachable", "file-url"])
def test_offline_is_one_line_naming_the_url_and_the_cache(
    url: str, cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EIE_SIM_DATA_URL", url)
    _fails(capsys, ["fetch", "squeezenet-dc"], f"{url}/compressed_SqueezeNet.net", cache)
    assert _files_in(cache) == []


def test_a_file_missing_from_the_mirror_is_an_http_error(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    with _serve(tmp_path / "empty") as url:
        monkeypatch.setenv("EIE_SIM_DATA_URL", url)
        _fails(capsys, ["fetch", "squeezenet-dc"], f"{url}/compressed_SqueezeNet.net", "HTTP 404", cache)
    assert _files_in(cache) == []


def test_checksum_mismatch_leaves_nothing(mirror: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damaged = bytearray((mirror / "compressed_SqueezeNet.net").read_bytes())
    damaged[1000] ^= 0xFF
    (mirror / "compressed_SqueezeNet.net").write_bytes(bytes(damaged))
    url = f"{os.environ['EIE_SIM_DATA_URL']}/compressed_SqueezeNet.net"
    _fails(capsys, ["fetch", "squeezenet-dc"], url, "does not match the known hash", cache)
    assert _files_in(cache) == []
    assert _status(capsys) == "not fetched: eie-sim fetch squeezenet-dc"


def test_unknown_release(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails(capsys, ["fetch", "squeezenet"], "squeezenet: no such release", "squeezenet-dc")
