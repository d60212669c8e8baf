"""Staging a dataset's raw files to gs://bucket/prefix, where cloud pipelines read them.

Each file goes up with a resumable upload (chunked, so a dropped connection resumes rather
than restarts) and is checked against its local MD5 afterwards; a file already there with
the same MD5 is skipped, so staging again after an interruption only sends what is missing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tfxp_contract.errors import ExplainedError
from tfxp_contract.fetch import md5_base64

CHUNK_SIZE = 8 * 1024 * 1024  # a multiple of 256 KiB, as resumable uploads require


class StagingError(ExplainedError, RuntimeError):
    """Staging failed; the message names the file and the destination."""


@dataclass
class StagedFile:
    local: str
    remote: str
    action: str  # uploaded | skipped (already there, same MD5)
    size: int


def split_gs_url(url: str) -> tuple[str, str]:
    if not url.startswith("gs://") or len(url) <= 5:
        raise StagingError(f"{url!r} is not a gs://bucket/prefix location")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix.strip("/")


def stage_files(files: list[Path], destination: str, client, progress: Optional[Callable[[str], None]] = None
                ) -> list[StagedFile]:
    """Uploads ``files`` under ``destination`` (gs://bucket/prefix); ``client`` is a
    google.cloud.storage.Client."""
    bucket_name, prefix = split_gs_url(destination)
    bucket = client.bucket(bucket_name)
    staged = []
    for path in files:
        name = f"{prefix}/{path.name}" if prefix else path.name
        remote = f"gs://{bucket_name}/{name}"
        local_md5 = md5_base64(path)
        blob = bucket.get_blob(name)
        if blob is not None and blob.md5_hash == local_md5:
            staged.append(StagedFile(str(path), remote, "skipped", path.stat().st_size))
            if progress:
                progress(f"{remote}: already there (same MD5), skipped")
            continue
        blob = bucket.blob(name, chunk_size=CHUNK_SIZE)
        try:
            blob.upload_from_filename(str(path), checksum="md5")
        except Exception as err:  # network, permission and checksum failures all end here
            raise StagingError(f"uploading {path} to {remote} failed: {type(err).__name__}: {err}") from None
        blob.reload()
        if blob.md5_hash != local_md5:
            raise StagingError(f"{remote}: MD5 after upload {blob.md5_hash} differs from {path}'s {local_md5}")
        staged.append(StagedFile(str(path), remote, "uploaded", path.stat().st_size))
        if progress:
            progress(f"{remote}: uploaded {path.stat().st_size:,} bytes")
    return staged


def verify_staged(spec, destination: str, client) -> None:
    """Reads every staged file back and checks it against the spec's sha256."""
    bucket_name, prefix = split_gs_url(destination)
    bucket = client.bucket(bucket_name)
    for source in spec.files:
        name = f"{prefix}/{source.name}" if prefix else source.name
        blob = bucket.get_blob(name)
        if blob is None:
            raise StagingError(f"gs://{bucket_name}/{name}: not found after staging")
        digest = hashlib.sha256()
        with blob.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() not in source.sha256:
            raise StagingError(f"gs://{bucket_name}/{name}: sha256 {digest.hexdigest()} is not the published "
                               f"file's ({', '.join(source.sha256)})")
