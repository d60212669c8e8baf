"""Streaming reader for IDX files (MNIST, Fashion-MNIST), as published: gzipped, big-endian.

An IDX file starts with two zero bytes, a type code (0x08 = unsigned byte) and the number
of dimensions, then one big-endian uint32 per dimension, then the data. Images (3 dims)
and labels (1 dim) come in separate files; ``read_pairs`` walks both in step, one record
at a time, so a 47 MB training set is never held in memory (or the images alone, for data
without labels). A wrong magic number, a count
mismatch, a file that ends early (or a gzip stream cut short) and a header that promises
impossible sizes (a dimension of 0, or one record over ``MAX_RECORD_BYTES``) raise
IdxFormatError naming the file, before anything is allocated from the header's numbers.
"""
from __future__ import annotations

import contextlib
import gzip
import math
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional, Tuple

import numpy as np

from components.ingest.workers.input_files import open_input
from tfxp_contract.errors import ExplainedError

UNSIGNED_BYTE = 0x08
MAX_RECORD_BYTES = 64 << 20  # one image; MNIST's are 784 bytes


class IdxFormatError(ExplainedError, ValueError):
    """An IDX file is not what its header or its pair promises; the message names the file."""


@dataclass(frozen=True)
class IdxHeader:
    dims: Tuple[int, ...]

    @property
    def count(self) -> int:
        return self.dims[0]

    @property
    def record_shape(self) -> Tuple[int, ...]:
        return self.dims[1:]

    @property
    def record_size(self) -> int:
        return math.prod(self.record_shape)  # Python ints: a lying header cannot overflow it


@contextlib.contextmanager
def _open(path: str) -> Iterator[BinaryIO]:
    with open_input(path) as raw:  # local paths and gs:// alike
        yield gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw


def read_header(stream: BinaryIO, path: str) -> IdxHeader:
    try:
        magic = stream.read(4)
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise IdxFormatError(f"{path}: not a gzip-compressed IDX file ({err})") from None
    if len(magic) < 4 or magic[:2] != b"\x00\x00" or magic[2] != UNSIGNED_BYTE or not 1 <= magic[3] <= 4:
        raise IdxFormatError(f"{path}: wrong magic number {magic.hex() or '(empty file)'}; "
                             "expected 0000080N (unsigned-byte IDX with N dimensions)")
    size = _read(stream, 4 * magic[3], path)
    if len(size) < 4 * magic[3]:
        raise IdxFormatError(f"{path}: header ends early")
    header = IdxHeader(struct.unpack(f">{magic[3]}I", size))
    if 0 in header.record_shape:
        raise IdxFormatError(f"{path}: header gives dimensions {header.dims}; a record dimension of 0 "
                             "holds nothing")
    if header.record_size > MAX_RECORD_BYTES:
        raise IdxFormatError(f"{path}: header gives dimensions {header.dims}, {header.record_size:,} bytes per "
                             f"record (the limit is {MAX_RECORD_BYTES:,}); not an image file")
    return header


def _read(stream: BinaryIO, size: int, path: str) -> bytes:
    try:
        return stream.read(size)
    except (EOFError, OSError, zlib.error) as err:  # a gzip stream cut short, a damaged block
        raise IdxFormatError(f"{path}: the gzip stream is truncated or damaged ({type(err).__name__}: "
                             f"{err}); fetch the file again") from None


def read_pairs(images_path: str, labels_path: Optional[str], limit: Optional[int] = None
               ) -> Iterator[Tuple[int, np.ndarray, Optional[int]]]:
    """Yields (index, image as uint8 array, label) for each record, up to ``limit``; the label
    is None when there is no labels file (``labels_path`` None)."""
    with _open(images_path) as images, (_open(labels_path) if labels_path else contextlib.nullcontext()) as labels:
        image_header = read_header(images, images_path)
        if len(image_header.dims) < 2:
            raise IdxFormatError(f"{images_path}: expected an image file (2 or more dimensions), "
                                 f"found dimensions {image_header.dims}")
        count = image_header.count if limit is None else min(limit, image_header.count)
        if labels is None:
            for index in range(count):
                yield index, _image(images, image_header, images_path, index), None
            return
        label_header = read_header(labels, labels_path)
        if len(label_header.dims) != 1:
            raise IdxFormatError(f"{labels_path}: expected a label file (1 dimension), "
                                 f"found dimensions {label_header.dims}")
        if image_header.count != label_header.count:
            raise IdxFormatError(f"{images_path} holds {image_header.count} images but {labels_path} "
                                 f"holds {label_header.count} labels")
        for index in range(count):
            pixels = _image(images, image_header, images_path, index)
            label = _read(labels, 1, labels_path)
            if not label:
                raise IdxFormatError(f"{labels_path}: truncated: header promises {label_header.count} labels, "
                                     f"data ends at label {index}")
            yield index, pixels, label[0]


def _image(stream: BinaryIO, header: IdxHeader, path: str, index: int) -> np.ndarray:
    pixels = _read(stream, header.record_size, path)
    if len(pixels) < header.record_size:
        raise IdxFormatError(f"{path}: truncated: header promises {header.count} images, data ends in image {index}")
    return np.frombuffer(pixels, np.uint8).reshape(header.record_shape)


def find_pair(paths: list[str], labelled: bool = True) -> Tuple[str, Optional[str]]:
    """The (images, labels) files among ``paths``, told apart by their headers; without
    ``labelled``, (images, None): the images file alone, any labels file ignored."""
    images, labels = [], []
    for path in paths:
        with _open(path) as stream:
            header = read_header(stream, path)
        (labels if len(header.dims) == 1 else images).append(path)
    if not labelled:
        if len(images) != 1:
            raise IdxFormatError(f"expected one image file, found {images or 'none'} among {paths}")
        return images[0], None
    if len(images) != 1 or len(labels) != 1:
        raise IdxFormatError(f"expected one image file and one label file, found images {images} "
                             f"and labels {labels}")
    return images[0], labels[0]
