"""ExampleGen for IDX image/label file pairs as MNIST and Fashion-MNIST publish them.

Each input split's pattern matches one images file and one labels file (told apart by their
headers), e.g. ``train-*-ubyte.gz`` and ``t10k-*-ubyte.gz`` keep the published train/test
split. Every record becomes a tf.Example with the image as PNG bytes (``image``, what a
client would send to the served model) and the label as text (``label``, e.g. ``b"7"``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import apache_beam as beam
import numpy as np
import tensorflow as tf
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.idx_records import find_pair, read_pairs
from components.record_encoding import example_bytes, png_batch
from components.sharded_example_gen import RECORDS_READ, ShardedExampleGenExecutor, matching_files, pack_config, unpack_config

IMAGE_KEY = "image"
LABEL_KEY = "label"


def record_bytes(pixels: np.ndarray, labels: Sequence[Optional[int]]) -> List[bytes]:
    """Images [n, ...] uint8 and their labels -> serialized tf.Examples: the image as PNG bytes,
    the label as text (none where a label is None)."""
    return [example_bytes({IMAGE_KEY: png, LABEL_KEY: None if label is None else str(label).encode()})
            for png, label in zip(png_batch(pixels), labels)]


def to_example(pixels: np.ndarray, label: Optional[int]) -> tf.train.Example:
    """One image's record as a tf.Example (what a client would send to the served model)."""
    return tf.train.Example.FromString(record_bytes(pixels[None], [label])[0])


CHUNK = 1000  # images per Beam element between the (sequential) reader and the (parallel) encoders


def _read_chunks(files: list, limit: Optional[int], labelled: bool):
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


def _encode_chunk(chunk) -> List[bytes]:
    """A chunk of raw records (counted as read) -> one batch of serialized tf.Examples."""
    return record_bytes(*chunk)


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def _IdxToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str):
    config = unpack_config(exec_properties)
    files = matching_files(exec_properties["input_base"], split_pattern)
    limit = int(config["max_examples"]) if config.get("max_examples") else None
    # The pair is read by one worker (gzip cannot seek), streaming, in chunks of raw pixels;
    # the PNG encoding, most of the work, is spread over every worker after a reshuffle.
    return (pipeline
            | "Pair" >> beam.Create([files])
            | "Read" >> beam.FlatMap(_read_chunks, limit, bool(config.get("labelled", True)))
            | "Spread" >> beam.Reshuffle()
            | "Encode" >> beam.Map(_encode_chunk))


class Executor(ShardedExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _IdxToExample


class IdxExampleGen(FileBasedExampleGen):
    """IDX image/label pairs -> tf.Examples with PNG ``image`` and text ``label`` (without
    ``labelled``: each split's images file alone -> ``image`` only)."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, input_base: str, num_shards: int, input_config: example_gen_pb2.Input,
                 max_examples: Optional[int] = None,
                 output_config: Optional[example_gen_pb2.Output] = None,
                 range_config: Optional[range_config_pb2.RangeConfig] = None, extra_config: Optional[dict] = None,
                 labelled: bool = True):
        super().__init__(
            input_base=input_base, input_config=input_config, output_config=output_config,
            range_config=range_config,
            custom_config=pack_config({**(extra_config or {}), "num_shards": num_shards,
                                       "max_examples": max_examples or 0, "labelled": labelled}))
