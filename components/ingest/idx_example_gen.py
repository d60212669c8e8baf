"""ExampleGen for IDX image/label file pairs as MNIST and Fashion-MNIST publish them.

Each input split's pattern matches one images file and one labels file (told apart by their
headers), e.g. ``train-*-ubyte.gz`` and ``t10k-*-ubyte.gz`` keep the published train/test
split. Every record becomes a tf.Example with the image as PNG bytes (``image``, what a
client would send to the served model) and the label as text (``label``, e.g. ``b"7"``).
The Beam steps are in ``components.ingest.workers.idx_reading``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import apache_beam as beam
import numpy as np
import tensorflow as tf
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.ingest.sharded_example_gen import ShardedExampleGenExecutor, matching_files, pack_config, unpack_config
from components.ingest.workers.idx_reading import PairToRecords, record_bytes


def to_example(pixels: np.ndarray, label: Optional[int]) -> tf.train.Example:
    """One image's record as a tf.Example (what a client would send to the served model)."""
    return tf.train.Example.FromString(record_bytes(pixels[None], [label])[0])


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def _IdxToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str):
    config = unpack_config(exec_properties)
    files = matching_files(exec_properties["input_base"], split_pattern)
    limit = int(config["max_examples"]) if config.get("max_examples") else None
    return pipeline | PairToRecords(files, limit, bool(config.get("labelled", True)))


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
