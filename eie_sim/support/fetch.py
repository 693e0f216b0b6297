"""Released compressed models, downloaded on request into a per-user cache and checked against pinned checksums.

A release is fetched from a pinned commit of its public repository, so the bytes are exactly those the tests and
the documentation's figures were measured on; every file is checked against its sha256 before it is put in place (pooch
downloads to a temporary file beside it), so the cache never holds a partial or altered file. A release counts as
fetched once all its files are in its cache directory; its name then works wherever a workload is accepted.

EIE_SIM_DATA_URL replaces the base URL (a mirror holding the same files); EIE_SIM_CACHE replaces the cache root
(default: the user cache directory, e.g. ~/.cache/eie-sim on Linux). Each release has a directory of its own there.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eie_sim.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

DATA_URL_VARIABLE = "EIE_SIM_DATA_URL"
CACHE_VARIABLE = "EIE_SIM_CACHE"


@dataclass(frozen=True)
class Release:
    """Files published by a model's authors: where they are, their checksums, and the one a workload loads."""

    name: str
    base_url: str
    sha256: dict[str, str]  # file name -> checksum, the loaded file first
    kind: str
    layers: int
    weights: int
    nonzeros: int
    description: str
    source: str

    @property
    def main_file(self) -> str:
        return next(iter(self.sha256))


RELEASES = {
    release.name: release
    for release in [
        Release(
            name="squeezenet-dc",
            base_url="https://raw.githubusercontent.com/songhan/SqueezeNet-Deep-Compression/"
            "fb13faa2cf121ced9999f8a9d538ec6c56084733/",
            sha256={
                "compressed_SqueezeNet.net": "e4ab6960ae8cd81505e1c2136921201507e930966c53deaf15862a395b3a3261",
                "SqueezeNet_deploy.prototxt": "3bcb0e792e2b50ddeb955b178ba6742e28d8950956915348eba355652040674c",
            },
            kind="cnn",
            layers=26,
            weights=1_244_448,
            nonzeros=415_921,
            description="SqueezeNet v1.0 as released by Deep Compression (660 KB, 8-bit codebooks), 227x227 input",
            source="songhan/SqueezeNet-Deep-Compression at commit fb13faa (BSD licence)",
        )
    ]
}


def _release(name: str) -> Release:
    try:
        return RELEASES[name]
    except KeyError:
        raise InputError(f"{name}: no such release; releases are {', '.join(RELEASES)}") from None


def cache_dir(name: str) -> Path:
    """Where release `name` is (or would be) kept."""
    import pooch

    root = os.environ.get(CACHE_VARIABLE) or pooch.os_cache("eie-sim")
    return Path(root).expanduser() / _release(name).name


def base_url(name: str) -> str:
    """The release's pinned URL, or the mirror EIE_SIM_DATA_URL names."""
    url = os.environ.get(DATA_URL_VARIABLE) or _release(name).base_url
    return url if url.endswith("/") else url + "/"


def fetched_file(name: str) -> Path | None:
    """The file a workload of release `name` loads, once every file of the release is in the cache; else None."""
    directory = cache_dir(name)
    release = _release(name)
    if all((directory / file).is_file() for file in release.sha256):
        return directory / release.main_file
    return None


def release_file(name: str) -> Path:
    """The cached file a workload of release `name` loads; an InputError saying how to fetch it when missing."""
    path = fetched_file(name)
    if path is None:
        raise InputError(f"{name}: not fetched yet; run `eie-sim fetch {name}` (it goes to {cache_dir(name)})")
    return path


def fetch(name: str, progress: bool = True) -> Path:
    """Download release `name` into the cache (files already there and intact are kept) and return its main file.

    Each file is checked against its pinned sha256 before it is put in place. Failures (no connection, an HTTP
    error, a checksum mismatch) raise InputError naming the URL and the cache directory; no partial file is left.
    `progress` shows a progress bar per download when standard error is a terminal.
    """
    import pooch
    import requests

    release = _release(name)
    directory = cache_dir(name)
    store = pooch.create(path=directory, base_url=base_url(name), registry=release.sha256)
    for file in release.sha256:
        url = store.get_url(file)
        try:
            with _quiet(pooch.get_logger()):
                store.fetch(file, progressbar=progress and sys.stderr.isatty())
        except requests.RequestException as exc:
            raise InputError(f"{url}: cannot download into {directory} ({_reason(exc)})") from None
        except ValueError as exc:  # pooch: the checksum differs (the download was deleted), or a scheme it lacks
            raise InputError(f"{url}: {str(exc).split('. ')[0]}; nothing was put in {directory}") from None
        except OSError as exc:
            raise InputError(f"{url}: cannot write into {directory} ({exc.strerror or exc})") from None
    return directory / release.main_file


def _reason(exc: Exception) -> str:
    """A short cause for a failed request (requests' own messages run to several hundred characters)."""
    import requests

    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "no connection to the server"
    return type(exc).__name__


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Silence pooch's "Downloading file ..." log lines: the caller reports what happened, in one place."""
    disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = disabled


def release_table() -> pd.DataFrame:
    """One row per release, in the columns of the built-in workload table plus `status` (fetched, and where)."""
    import pandas as pd

    rows = []
    for release in RELEASES.values():
        fetched = fetched_file(release.name) is not None
        status = f"fetched: {cache_dir(release.name)}" if fetched else f"not fetched: eie-sim fetch {release.name}"
        rows.append(
            {
                "name": release.name,
                "kind": release.kind,
                "layers": release.layers,
                "weights": release.weights,
                "nonzeros": release.nonzeros,
                "description": release.description,
                "source": release.source,
                "status": status,
            }
        )
    return pd.DataFrame(rows)
