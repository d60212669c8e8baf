"""The batched hash split and shard writer every ExampleGen of ours shares, importable by
Beam's workers without TensorFlow or TFX.

A worker unpickles each DoFn by importing the module that defines it. With the DoFns next to
the TFX components, every worker of every multi-process ExampleGen run imported TensorFlow and
all of ``tfx.components`` (a fresh process importing apache_beam took 3-4 s; apache_beam,
tensorflow and tfx.components 11.7 s). So this module, like the readers' Beam modules,
imports neither:
- a record's split is the one TFX's ExampleGen gives it: sha256 of its deterministic
  serialization, modulo the total of the hash buckets, bisected into their running totals
  (tested against TFX's own function). A split by a feature's value must parse the record:
  only then is TFX's function (and TensorFlow) imported;
- each shard is one gzipped TFRecord file: per record its length (8 bytes, little-endian), the
  masked CRC-32C of those 8 bytes, the record, its masked CRC-32C (google-crc32c computes the
  CRCs in C), written through Beam's file systems (local paths, gs://) to a temporary name,
  then renamed into place, so a shard file is whole or absent.

Readers hand on **batches** of serialized records (``record_batches``), not one record per
Beam element: Beam's own cost per element (about 100 µs on the DirectRunner, measured by
profiling ``bench.ingest``) is then paid once per batch. Every reader counts what it reads
(``RECORDS_READ``) and the writer counts what it writes.
"""
from __future__ import annotations

import bisect
import hashlib
import itertools
import random
import struct
import uuid
from typing import Iterable, Iterator, List, Optional, Sequence

import apache_beam as beam
import google_crc32c
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

COUNTERS = "tfxp_example_gen"
RECORDS_READ = beam.metrics.Metrics.counter(COUNTERS, "records_read")  # readers: .inc() per record
RECORDS_WRITTEN = beam.metrics.Metrics.counter(COUNTERS, "records_written")
BATCH = 256  # records per Beam element
_MASK_DELTA = 0xA282EAD8


def serialized(record) -> bytes:
    """Deterministic, as TFX serializes a record to hash it: each record keeps its split.
    ``record``: bytes, or a protobuf message such as a tf.train.Example."""
    return record if isinstance(record, bytes) else record.SerializeToString(deterministic=True)


def record_batches(records: Iterable, size: int = BATCH) -> Iterator[List[bytes]]:
    """A reader's records as Beam elements: lists of ``size`` records, ``serialized`` once,
    counted as read."""
    batch: List[bytes] = []
    for record in records:
        batch.append(serialized(record))
        if len(batch) == size:
            RECORDS_READ.inc(size)
            yield batch
            batch = []
    if batch:
        RECORDS_READ.inc(len(batch))
        yield batch


def hash_split(record: bytes, bounds: Sequence[int]) -> int:
    """The index of the split TFX's ExampleGen puts ``record`` in; ``bounds``: the running
    totals of the splits' hash buckets (e.g. [4, 5] for 4 train buckets and 1 eval)."""
    return bisect.bisect(bounds, int(hashlib.sha256(record).hexdigest(), 16) % bounds[-1])


class SplitBatches(beam.DoFn):
    """A batch -> (split index, its records of that split), as TFX's ExampleGen splits them.
    ``hash_buckets``: each output split's; with ``partition_feature``, ``split_config_json``
    is the output SplitConfig as JSON (kept as text: this module imports no TFX protos)."""

    def __init__(self, hash_buckets: Sequence[int], partition_feature: Optional[str] = None,
                 split_config_json: Optional[str] = None):
        self._bounds = list(itertools.accumulate(hash_buckets))
        self._feature = partition_feature
        self._config_json = split_config_json

    def setup(self):
        self._by_feature = None
        if self._feature:  # parsing records: TFX's own function, with TensorFlow
            import tensorflow as tf
            from google.protobuf import json_format
            from tfx.components.example_gen.base_example_gen_executor import _PartitionFn
            from tfx.proto import example_gen_pb2
            config = json_format.Parse(self._config_json, example_gen_pb2.SplitConfig())
            self._by_feature = lambda record: _PartitionFn(tf.train.Example.FromString(record), len(self._bounds),
                                                           self._bounds, config)

    def process(self, batch: List[bytes]):
        parts: List[List[bytes]] = [[] for _ in self._bounds]
        for record in batch:
            index = self._by_feature(record) if self._by_feature else hash_split(record, self._bounds)
            parts[index].append(record)
        for index, part in enumerate(parts):
            if part:
                yield index, part


def split_index(indexed, _count: int) -> int:
    """For ``beam.Partition``: the split index ``SplitBatches`` put first."""
    return indexed[0]


class DealToShards(beam.DoFn):
    """A batch -> (shard, its records), dealt round-robin from where the last batch stopped."""

    def __init__(self, num_shards: int):
        self._shards = num_shards

    def setup(self):
        self._next = random.randrange(self._shards)  # workers start apart, so small inputs spread too

    def process(self, batch: List[bytes]):
        start, self._next = self._next, (self._next + len(batch)) % self._shards
        for offset in range(min(self._shards, len(batch))):
            yield (start + offset) % self._shards, batch[offset::self._shards]


def shard_path(prefix: str, shard: int, num_shards: int) -> str:
    return f"{prefix}-{shard:05d}-of-{num_shards:05d}.gz"


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def tfrecord_frames(records: Iterable[bytes]) -> bytes:
    """The records in TFRecord framing, as TensorFlow's TFRecordWriter writes them."""
    frames = []
    for record in records:
        length = struct.pack("<Q", len(record))
        frames += (length, struct.pack("<I", _masked_crc(length)), record, struct.pack("<I", _masked_crc(record)))
    return b"".join(frames)


def write_shard(shard_and_parts, prefix: str, num_shards: int) -> int:
    """Writes one shard's records (an empty shard too) as a gzipped TFRecord file: to a
    temporary name first, so a shard file is whole or absent. Returns the count written."""
    shard, parts = shard_and_parts
    path = shard_path(prefix, shard, num_shards)
    incomplete = f"{path}.incomplete-{uuid.uuid4().hex}"
    count = 0
    try:
        with FileSystems.create(incomplete, compression_type=CompressionTypes.GZIP) as out:
            for part in parts:
                out.write(tfrecord_frames(part))
                count += len(part)
        FileSystems.rename([incomplete], [path])
    finally:
        if FileSystems.exists(incomplete):
            FileSystems.delete([incomplete])
    RECORDS_WRITTEN.inc(count)
    return count


@beam.ptransform_fn
def WriteShards(batches: beam.PCollection, prefix: str, num_shards: int):
    """Record batches -> exactly ``num_shards`` gzipped TFRecord files named ``prefix``-NNNNN-of-MMMMM.gz."""
    every_shard = batches.pipeline | "EveryShard" >> beam.Create([(shard, []) for shard in range(num_shards)])
    return ((batches | "Deal" >> beam.ParDo(DealToShards(num_shards)), every_shard)
            | "Flatten" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "Write" >> beam.Map(write_shard, prefix, num_shards))
