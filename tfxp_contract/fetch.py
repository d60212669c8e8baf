"""Getting a dataset's published files: from a local mirror, the cache, or the canonical URL.

Every file is checked against the spec's sha256 before a pipeline sees it. Downloads grow in
``.<name>.partial`` and are renamed into the cache only once verified, so an interrupted
download never leaves a file that looks complete; a cut connection is retried with backoff and
resumed with an HTTP range (on this run's later attempts and on the next run), and a download
that stays short says how many bytes came.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tqdm import tqdm

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
    """A file's sha256; a folder's is over its files' relative paths and contents, in order."""
    digest = hashlib.sha256()
    files = [(p.relative_to(path).as_posix(), p) for p in sorted(Path(path).rglob("*")) if p.is_file()] \
        if Path(path).is_dir() else [("", Path(path))]
    for name, file in files:
        digest.update(f"{name}\n".encode() if name else b"")
        with open(file, "rb") as f:
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
    if not path.is_file() and not (source.is_own and path.is_dir()):
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


RETRY_WAITS = (2.0, 8.0, 30.0)  # seconds before the 2nd, 3rd and 4th attempt


class _Interrupted(Exception):
    """The connection ended before the announced length: worth another attempt."""


def partial_path(target: Path) -> Path:
    """Where a download grows until it is complete and verified (kept between attempts and
    runs, so an interrupted download resumes where the server allows ranges)."""
    return target.with_name(f".{target.name}.partial")


def download(source: SourceFile, target: Path, log: Callable[[str], None],
             waits: tuple[float, ...] = RETRY_WAITS, sleep: Callable[[float], None] = time.sleep) -> None:
    """``source.url`` to ``target``: retried after each of ``waits``, resumed with an HTTP range
    where the server grants it, verified, then renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(target)
    log(f"downloading {source.url}")
    last: Optional[BaseException] = None
    for attempt in range(1, len(waits) + 2):
        try:
            _fetch_into(source.url, partial)
            last = None
            break
        except urllib.error.HTTPError as err:
            if err.code == 416 and partial.exists():
                last = None  # nothing left to send: the partial file is whole (verified next)
                break
            if err.code < 500 and err.code != 429:
                raise _failure(source, err, attempt) from None  # 404 and the like: the same on every attempt
            last = err
        except urllib.error.URLError as err:
            if isinstance(err.reason, (ConnectionRefusedError, socket.gaierror)):
                raise _failure(source, err, attempt) from None  # no server, no name: offline, not flaky
            last = err
        except (_Interrupted, OSError, TimeoutError) as err:
            last = err
        if attempt <= len(waits):
            log(f"  {source.name}: {last}; attempt {attempt + 1} of {len(waits) + 1} in {waits[attempt - 1]:.0f} s")
            sleep(waits[attempt - 1])
    if last is not None:
        raise _failure(source, last, len(waits) + 1)
    try:
        verify(partial, source)
    except DataSourceError:
        partial.unlink()  # whole but not the published bytes: never resume from it
        raise
    os.replace(partial, target)


def _failure(source: SourceFile, err: BaseException, attempts: int) -> DataSourceError:
    if isinstance(err, _Interrupted):
        return DataSourceError(f"{source.url}: {err} ({attempts} attempts). Run again to resume it, or point "
                               f"--data-dir (or {DATA_DIR_ENV}) at a local mirror holding {source.name}.")
    return DataSourceError(f"could not download {source.url}: {err} ({attempts} attempts). Without internet "
                           f"access, point --data-dir (or {DATA_DIR_ENV}) at a local mirror holding {source.name}.")


def _fetch_into(url: str, partial: Path) -> None:
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        if have and response.status != 206:
            have = 0  # the server sends the whole file: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length else None
        done = have
        with open(partial, "ab" if have else "wb") as out, \
                tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=partial.name[1:-len(".partial")],
                     disable=None, file=sys.stderr, leave=False) as bar:
            while True:
                try:
                    block = response.read(1 << 20)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
                    raise _Interrupted(f"download interrupted after {done} of {total or '?'} bytes ({err})") from None
                if not block:
                    break
                out.write(block)
                done += len(block)
                bar.update(len(block))
    if total is not None and done < total:
        raise _Interrupted(f"download interrupted after {done} of {total} bytes")


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
        if path.is_dir() and not path.is_symlink():
            raise DataSourceError(f"{path}: a folder where the cache keeps the file {source.name}; remove it and "
                                  "run again")
        if source.is_own and source.path.startswith("gs://"):
            _download_gcs(source, path, log)
        elif source.is_own:
            own_file = Path(source.path)
            if not own_file.is_file() and not own_file.is_dir():
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
            download(source, path, log)
        else:
            download(source, path, log)
        digests[source.name] = verify(path, source)
    return FetchedData(folder, digests)


def fetch_dataset(spec: DatasetSpec, data_dir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)) -> Path:
    """The folder of ``fetch_data``."""
    return fetch_data(spec, data_dir, cache_dir, log).folder


SPAN_FOLDER = "span-{SPAN}"


SPAN_DONE_MARKER = "_SUCCESS"  # as Hadoop and Beam writers leave: the folder is complete


def newest_span(spec: DatasetSpec, data_dir: str | os.PathLike | None,
                log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)) -> tuple[Path, int]:
    """The folder where a dataset's spans arrive (``<data_dir>/<mirror_folder>/span-N/``) and
    the newest span that is complete: one holding a ``_SUCCESS`` file. A newer span without
    it is still being copied; it is skipped with a message and read by a later run.

    Spans are new data from the user's own systems, not the published files, so there is
    no checksum to verify.
    """
    if data_dir is None:
        raise DataSourceError(f"{spec.name}: spans need --data-dir, the folder where span-N/ folders arrive")
    folder = inside(Path(data_dir), spec.mirror_folder)
    if not folder.is_dir():
        folder = Path(data_dir)
    spans = sorted((int(p.name[len("span-"):]), p) for p in folder.glob("span-*")
                   if p.is_dir() and p.name[len("span-"):].isdigit())
    if not spans:
        raise DataSourceError(f"{folder}: no span-N/ folder (expected e.g. {folder}/span-1/{spec.files[0].name} "
                              f"and {folder}/span-1/{SPAN_DONE_MARKER} once it is complete)")
    for number, path in reversed(spans):
        if (path / SPAN_DONE_MARKER).exists():
            return folder, number
        log(f"{path}: no {SPAN_DONE_MARKER} file yet (still being written?); skipped until it has one")
    raise DataSourceError(f"{folder}: no span-N/ folder is complete yet: the writer of a span puts an empty "
                          f"{SPAN_DONE_MARKER} file in it last")
