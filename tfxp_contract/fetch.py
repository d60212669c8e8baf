"""Getting a dataset's published files: from a local mirror, the cache, or the canonical URL.

Every file is checked against the spec's sha256 before a pipeline sees it. Downloads go to
a temporary name and are renamed into the cache only once verified, so an interrupted
download never leaves a file that looks complete.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from tfxp_contract.dataset_spec import DatasetSpec, SourceFile
from tfxp_contract.errors import ExplainedError

DATA_DIR_ENV = "TFXP_DATA_DIR"
CACHE_DIR_ENV = "TFXP_CACHE_DIR"


class DataSourceError(ExplainedError, RuntimeError):
    """A source file is missing, unreachable or not the published file; the message names it."""


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tfx-training-pipeline"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, source: SourceFile) -> None:
    if not path.is_file():
        raise DataSourceError(f"{path}: file not found (expected {source.name}, published at {source.url})")
    actual = sha256_of(path)
    if actual not in source.sha256:
        raise DataSourceError(
            f"{path}: checksum mismatch: sha256 {actual}, expected {' or '.join(source.sha256)}. "
            "The file is damaged or is not the published one; delete it or fix the mirror.")


def _download(source: SourceFile, target: Path, log: Callable[[str], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"downloading {source.url}")
    fd, tmp = tempfile.mkstemp(prefix=f".{source.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(source.url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while block := response.read(1 << 20):
                out.write(block)
                done += len(block)
                if total:
                    log(f"  {source.name}: {done * 100 // total}% of {total / 1e6:.1f} MB")
        verify(Path(tmp), source)
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise DataSourceError(
            f"could not download {source.url}: {err}. Without internet access, point "
            f"--data-dir (or {DATA_DIR_ENV}) at a local mirror holding {source.name}.") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fetch_dataset(spec: DatasetSpec, data_dir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)) -> Path:
    """Returns a local directory holding every file of the spec, each verified.

    With ``data_dir`` the files are read in place from ``<data_dir>/<mirror_folder>/`` (or
    from ``data_dir`` itself); nothing is downloaded. Otherwise they come from the cache,
    downloading what is not there yet.
    """
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataSourceError(f"{data_dir}: data dir does not exist")
        folder = data_dir / spec.mirror_folder
        if not folder.is_dir() and (data_dir / spec.files[0].name).exists():
            folder = data_dir
        for source in spec.files:
            verify(folder / source.name, source)
        return folder
    folder = Path(cache_dir or default_cache_dir()) / spec.name
    for source in spec.files:
        path = folder / source.name
        if path.is_file():
            try:
                verify(path, source)
                continue
            except DataSourceError as err:
                log(f"{err} Downloading it again.")
                path.unlink()
        _download(source, path, log)
    return folder


SPAN_FOLDER = "span-{SPAN}"


def span_root(spec: DatasetSpec, data_dir: str | os.PathLike | None) -> Path:
    """The folder where a dataset's spans arrive: ``<data_dir>/<mirror_folder>/span-N/``.

    Spans are new data from the user's own systems, not the published files, so there is
    no checksum to verify; ExampleGen takes the newest span on each run.
    """
    if data_dir is None:
        raise DataSourceError(f"{spec.name}: spans need --data-dir, the folder where span-N/ folders arrive")
    folder = Path(data_dir) / spec.mirror_folder
    if not folder.is_dir():
        folder = Path(data_dir)
    if not any(p.is_dir() and p.name.startswith("span-") for p in folder.glob("span-*")):
        raise DataSourceError(f"{folder}: no span-N/ folder (expected e.g. {folder}/span-1/{spec.files[0].name})")
    return folder
