"""Opening a raw input file, a local path or a URL such as gs://, without TensorFlow.

The readers run inside Beam's workers, which import what the readers import: TensorFlow's
GFile cost every worker seconds of import (``components.shard_writing``). Local paths open
with Python's ``open``; anything with a scheme through Beam's file systems (gs:// on
Dataflow), read as stored (no decompression by file name: the readers decompress).
"""
from __future__ import annotations

import os
from typing import BinaryIO


def open_input(path: str) -> BinaryIO:
    if "://" not in path:
        return open(path, "rb")  # local: a path without a scheme
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def input_size(path: str) -> int:
    """The file's size in bytes (local or with a scheme)."""
    if "://" not in path:
        return os.path.getsize(path)  # local: a path without a scheme
    from apache_beam.io.filesystems import FileSystems
    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
