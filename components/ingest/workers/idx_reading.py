"""The Beam steps that turn an IDX pair into record batches, importable by Beam's workers
without TensorFlow or TFX (see ``components.ingest.workers.shard_writing``).

The pair is read by one worker (gzip cannot seek), streaming, ``CHUNK`` images at a time as
raw pixels; the PNG encoding, most of the work, is spread over every worker after a reshuffle.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import apache_beam as beam
import numpy as np

from components.ingest.workers.idx_records import find_pair, read_pairs
from components.ingest.workers.record_encoding import example_bytes, png_batch
from components.ingest.workers.shard_writing import RECORDS_READ

IMAGE_KEY = "image"
LABEL_KEY = "label"
CHUNK = 1000  # images per Beam element between the (sequential) reader and the (parallel) encoders


def record_bytes(pixels: np.ndarray, labels: Sequence[Optional[int]]) -> List[bytes]:
    """Images [n, ...] uint8 and their labels -> serialized tf.Examples: the image as PNG bytes,
    the label as text (none where a label is None)."""
    return [example_bytes({IMAGE_KEY: png, LABEL_KEY: None if label is None else str(label).encode()})
            for png, label in zip(png_batch(pixels), labels)]


def read_chunks(files: list, limit: Optional[int], labelled: bool):
    """The split's raw records, ``CHUNK`` at a time: (pixels [n, ...] uint8, labels or None)."""
    images, labels = find_pair(files, labelled)
    pixels, classes = [], []
    for _, image, label in read_pairs(images, labels, limit):
        pixels.append(image)
        classes.append(label)
        if len(pixels) == CHUNK:
            RECORDS_READ.inc(CHUNK)
            yield np.stack(pixels), classes
            pixels, classes = [], []
    if pixels:
        RECORDS_READ.inc(len(pixels))
        yield np.stack(pixels), classes


def encode_chunk(chunk) -> List[bytes]:
    """A chunk of raw records (counted as read) -> one batch of serialized tf.Examples."""
    return record_bytes(*chunk)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def PairToRecords(pipeline: beam.Pipeline, files: List[str], limit: Optional[int], labelled: bool):
    """A split's IDX files (images, and labels when ``labelled``) -> batches of serialized records."""
    return (pipeline
            | "Pair" >> beam.Create([files])
            | "Read" >> beam.FlatMap(read_chunks, limit, labelled)
            | "Spread" >> beam.Reshuffle()
            | "Encode" >> beam.Map(encode_chunk))
