"""Labelled files inside a published tar archive, read as a stream (gzip cannot seek).

Two publishers' layouts, told apart by the spec:
  TF flowers  flower_photos.tgz:  flower_photos/<class>/<name>.jpg        (content: image)
  IMDB        aclImdb_v1.tar.gz:  aclImdb/<split>/<class>/<name>.txt      (content: text)
The class is the folder right above each file; with ``split_folder`` only members under
``<root>/<split_folder>/`` are read.

A member that is not what the spec says (an image that does not decode, an empty or
non-UTF-8 review) is reported by archive and member name and skipped; if more than
``MAX_BAD_SHARE`` of a split's files are bad, the archive is taken to be the wrong one and
the run stops with ``ArchiveFormatError`` naming them. A file over the size limit (the spec's
``archive_file_limit_mb``) is one of those bad files: skipped without being read, so a small
archive that unpacks to gigabytes cannot fill memory.
"""
from __future__ import annotations

import contextlib
import io
import lzma
import os
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Sequence

from components.ingest.workers.tar_stream import Entry, TarFormatError, TarStream, open_archive
from tfxp_contract.errors import ExplainedError

MAX_BAD_SHARE = 0.01
DEFAULT_MAX_MEMBER_BYTES = 256 << 20  # flowers' photos are under 1 MB, IMDB's reviews under 15 kB


class ArchiveFormatError(ExplainedError, ValueError):
    """The archive is unreadable or holds too many bad files; names the archive (and members)."""


@dataclass
class Record:
    member: str  # path inside the archive
    label: str  # the class folder's name
    content: bytes  # image file bytes, or UTF-8 text


@dataclass
class ReadReport:
    archive: str
    read: int = 0
    skipped: list[str] = field(default_factory=list)  # "member: why"

    def check(self) -> None:
        total = self.read + len(self.skipped)
        if total == 0:
            raise ArchiveFormatError(f"{self.archive}: no labelled files found")
        if len(self.skipped) > MAX_BAD_SHARE * total:
            shown = "; ".join(self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
            raise ArchiveFormatError(f"{self.archive}: {len(self.skipped)} of {total} files are bad "
                                     f"(more than {MAX_BAD_SHARE:.0%}): {shown}")


def image_problem(content: bytes) -> Optional[str]:
    """None if the bytes are a complete image PIL can decode, else why not."""
    from PIL import Image
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()  # decodes every pixel: a truncated JPEG fails here, not in training
        return None
    except Exception as err:  # PIL raises many types for bad data
        return f"not a decodable image ({type(err).__name__}: {err})"


def text_problem(content: bytes) -> Optional[str]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not UTF-8 text ({err})"
    return None if text.strip() else "empty text"


CONTENT_CHECKS = {"image": image_problem, "text": text_problem}


def content_problem(content: str, data: bytes) -> Optional[str]:
    """Why ``data`` is not a usable file of the spec's ``content`` kind (None if it is)."""
    return CONTENT_CHECKS[content](data)


@contextlib.contextmanager
def _members(path: str) -> Iterator[tuple[Iterator[Entry], Callable[[], bytes]]]:
    """(the entries, a function reading the current one's data) of a tar archive, or of a local
    folder's files (names relative to it, in sorted order, as a tar of it would list them)."""
    if "://" not in path and os.path.isdir(path):  # local: a folder of the user's own
        current: list[str] = [""]

        def entries() -> Iterator[Entry]:
            for root, folders, files in os.walk(path):  # local: as above
                folders.sort()
                for name in sorted(files):
                    current[0] = os.path.join(root, name)
                    size = os.path.getsize(current[0])  # local: as above
                    yield Entry(os.path.relpath(current[0], path).replace(os.sep, "/"), size, "file", 0)

        def read() -> bytes:
            with open(current[0], "rb") as f:  # local: as above
                return f.read()
        yield entries(), read
        return
    with open_archive(path) as stream:
        archive = TarStream(stream)
        yield iter(archive), archive.read


def read_archive(path: str, content: str, labels: Sequence[str], extensions: Sequence[str],
                 split_folder: Optional[str] = None, limit: Optional[int] = None,
                 report: Optional[ReadReport] = None,
                 max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES, validate: bool = True) -> Iterator[Record]:
    """Yields the archive's labelled files in archive order; bad ones go to ``report``.
    ``limit``: about that many files, an equal share per class (a slice for tests).
    Without ``validate``, contents are not checked here (``content_problem`` later, elsewhere):
    only files over the size limit are reported."""
    report = report if report is not None else ReadReport(path)
    check = CONTENT_CHECKS[content] if validate else (lambda data: None)
    wanted = {label.lower(): label for label in labels}
    # A slice takes an equal share of every class: archives list one class after another.
    quota = -(-limit // len(labels)) if limit else None
    taken = dict.fromkeys(labels, 0)
    suffixes = tuple(extensions)
    try:
        with _members(path) as (members, read):
            for member in members:
                if quota is not None and all(n >= quota for n in taken.values()):
                    return
                parts = member.name.strip("/").split("/")
                # <class>/<file>, anywhere below the root (a tar often has one top folder)
                if member.kind not in ("file", "sparse") or not parts[-1].lower().endswith(suffixes) \
                        or len(parts) < 2:
                    continue
                if split_folder is not None and (len(parts) < 3 or parts[-3] != split_folder):
                    continue
                label = wanted.get(parts[-2].lower())
                if label is None:
                    continue  # a folder that is not one of the spec's classes (e.g. IMDB's train/unsup)
                if quota is not None and taken[label] >= quota:
                    continue
                if member.kind == "sparse":
                    report.skipped.append(f"{member.name}: a GNU sparse file, which this reader does not unpack")
                    continue
                if member.size > max_member_bytes:
                    report.skipped.append(f"{member.name}: {member.size:,} bytes, over the limit of "
                                          f"{max_member_bytes:,} (archive_file_limit_mb); not read")
                    continue
                data = read()
                problem = check(data)
                if problem:
                    report.skipped.append(f"{member.name}: {problem}")
                    continue
                report.read += 1
                taken[label] += 1
                yield Record(member.name, label, data)
    except (TarFormatError, EOFError, OSError, zlib.error, lzma.LZMAError) as err:
        raise ArchiveFormatError(f"{path}: not a readable tar archive ({type(err).__name__}: {err})") from None
