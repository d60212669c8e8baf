"""Getting a dataset's published files: from a local mirror, the cache, or the canonical URL.

Every file is checked against the spec's sha256 before a pipeline sees it. Downloads go to
a temporary name and are renamed into the cache only once verified, so an interrupted
download never leaves a file that looks complete.
"""
from __future__ import annotations

import base64
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
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


def md5_base64(path: Path) -> str:
    """A file's MD5 as GCS reports it (base64), to tell whether a copy is the object."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode()


def verify(path: Path, source: SourceFile) -> str:
    """The file's sha256, which must be one the spec accepts (if it lists any)."""
    if not path.is_file():
        where = f"published at {source.url}" if source.url else f"your file {source.path}"
        raise DataSourceError(f"{path}: file not found (expected {source.name}, {where})")
    actual = sha256_of(path)
    if source.sha256 and actual not in source.sha256:
        raise DataSourceError(
            f"{path}: checksum mismatch: sha256 {actual}, expected {' or '.join(source.sha256)}. "
            "The file is damaged or is not the published one; delete it or fix the mirror."
            if source.url else
            f"{path}: checksum mismatch: sha256 {actual}, but the spec pins {' or '.join(source.sha256)}. "
            "Remove the spec's sha256 to accept the file as a new data version.")
    return actual


def inside(folder: Path, name: str) -> Path:
    """``folder/name``, refusing a name that would leave the folder (the spec checks names
    already; this guards every path fetch writes)."""
    path = Path(os.path.abspath(folder / name))
    if path.parent != Path(os.path.abspath(folder)):
        raise DataSourceError(f"{name!r}: not a plain file name inside {folder}")
    return path


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


def _download_gcs(source: SourceFile, target: Path, log: Callable[[str], None]) -> None:
    """A gs:// file into the cache; skipped when the cached copy has the object's MD5."""
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import storage

    bucket, _, name = source.path[len("gs://"):].partition("/")
    try:
        blob = storage.Client().bucket(bucket).get_blob(name)
    except DefaultCredentialsError:
        raise DataSourceError(f"{source.path}: no Google Cloud credentials to read it (run `gcloud auth "
                              "application-default login`)") from None
    if blob is None:
        raise DataSourceError(f"{source.path}: not found")
    if target.is_file() and md5_base64(target) == blob.md5_hash:
        return
    log(f"downloading {source.path}")
    fd, tmp = tempfile.mkstemp(prefix=f".{source.name}.", dir=target.parent)
    os.close(fd)
    try:
        blob.download_to_filename(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _link(target: Path, link: Path) -> None:
    """``link`` -> ``target``, replaced atomically (a symlink, so the user's file is read in place)."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.link")
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


@dataclass(frozen=True)
class FetchedData:
    folder: Path  # holds every file of the spec under its name
    digests: dict  # file name -> sha256 of the bytes that will be read

    @property
    def version(self) -> str:
        """Names the data: the same files give the same version, one changed byte a new one."""
        return data_version(self.digests)


def data_version(digests: dict) -> str:
    text = "".join(f"{name} {digest}\n" for name, digest in sorted(digests.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def fetch_data(spec: DatasetSpec, data_dir: str | os.PathLike | None = None,
               cache_dir: str | os.PathLike | None = None,
               log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)) -> FetchedData:
    """Every file of the spec in one local folder, each checked, with its sha256.

    Published files: with ``data_dir`` read in place from ``<data_dir>/<mirror_folder>/`` (or
    from ``data_dir`` itself), nothing downloaded; otherwise from the cache, downloading what
    is not there yet, checked against the spec's sha256. The user's own files (``path:``):
    read where they are (a local file, linked into the cache folder) or copied from gs://;
    their sha256 is computed here and, if the spec pins one, checked.
    """
    digests: dict[str, str] = {}
    own = [f for f in spec.files if f.is_own]
    if data_dir is not None and not own:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataSourceError(f"{data_dir}: data dir does not exist")
        folder = inside(data_dir, spec.mirror_folder)
        if not folder.is_dir() and (data_dir / spec.files[0].name).exists():
            folder = data_dir
        for source in spec.files:
            digests[source.name] = verify(inside(folder, source.name), source)
        return FetchedData(folder, digests)
    folder = inside(Path(cache_dir or default_cache_dir()), spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    for source in spec.files:
        path = inside(folder, source.name)
        if source.is_own and source.path.startswith("gs://"):
            _download_gcs(source, path, log)
        elif source.is_own:
            own_file = Path(source.path)
            if not own_file.is_file():
                raise DataSourceError(f"{own_file}: file not found (files[].path of {spec.name})")
            _link(own_file.absolute(), path)
        elif data_dir is not None:
            mirrored = inside(inside(Path(data_dir), spec.mirror_folder), source.name)
            _link(mirrored.absolute(), path)
        elif path.is_file():
            try:
                digests[source.name] = verify(path, source)
                continue
            except DataSourceError as err:
                log(f"{err} Downloading it again.")
                path.unlink()
            _download(source, path, log)
        else:
            _download(source, path, log)
        digests[source.name] = verify(path, source)
    return FetchedData(folder, digests)


def fetch_dataset(spec: DatasetSpec, data_dir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)) -> Path:
    """The folder of ``fetch_data``."""
    return fetch_data(spec, data_dir, cache_dir, log).folder


SPAN_FOLDER = "span-{SPAN}"


def span_root(spec: DatasetSpec, data_dir: str | os.PathLike | None) -> Path:
    """The folder where a dataset's spans arrive: ``<data_dir>/<mirror_folder>/span-N/``.

    Spans are new data from the user's own systems, not the published files, so there is
    no checksum to verify; ExampleGen takes the newest span on each run.
    """
    if data_dir is None:
        raise DataSourceError(f"{spec.name}: spans need --data-dir, the folder where span-N/ folders arrive")
    folder = inside(Path(data_dir), spec.mirror_folder)
    if not folder.is_dir():
        folder = Path(data_dir)
    if not any(p.is_dir() and p.name.startswith("span-") for p in folder.glob("span-*")):
        raise DataSourceError(f"{folder}: no span-N/ folder (expected e.g. {folder}/span-1/{spec.files[0].name})")
    return folder
