"""ExampleGen for delimited text files as UCI and others publish them (no header, `?` tokens).

TFX's CsvExampleGen needs a header line and reports a bad row without its file or line; this
one takes column names and types from the dataset spec, streams each file line by line, and
fails with the file and line of the first bad row. A plain-text file over
``delimited_rows.RANGE_BYTES`` is read in byte ranges spread over the workers (a bad row is
then named by its file and byte offset), so one large CSV does not wait on one worker.
The Beam step that parses is in ``components.ingest.workers.csv_reading``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import apache_beam as beam
import tensorflow as tf
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.ingest.sharded_example_gen import ShardedExampleGenExecutor, matching_files, pack_config, unpack_config
from components.ingest.workers.csv_reading import ParseRange
from components.ingest.workers.delimited_rows import RANGE_BYTES, byte_ranges, row_bytes
from components.ingest.workers.input_files import input_size
from tfxp_contract.dataset_spec import DatasetSpec, RawValue, spec_from_json


def to_example(row: dict[str, RawValue]) -> tf.train.Example:
    """A parsed row (``delimited_rows.parse_fields``) as the tf.Example this ExampleGen writes."""
    return tf.train.Example.FromString(row_bytes(row))


def file_ranges(files: list[str], splittable: bool, range_bytes: int = RANGE_BYTES) -> list[tuple[str, int, int, int]]:
    """(path, start, end, size) for each range of each file (a file is one range unless splittable)."""
    sized = [(path, input_size(path)) for path in files]
    return [(path, start, end, size) for path, size in sized
            for start, end in (byte_ranges(path, size, range_bytes) if splittable else [(0, size)])]


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def _CsvToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str):
    config = unpack_config(exec_properties)
    files = matching_files(exec_properties["input_base"], split_pattern)
    limit = int(config.get("max_examples") or 0)
    # Parquet: a file is read by row groups; a slice (max_examples) takes each file's first rows
    splittable = spec_from_json(config["spec"]).format == "csv" and not limit
    # Large plain-text files are read in byte ranges, so one big CSV spreads over every worker.
    return (pipeline
            | "Ranges" >> beam.Create(file_ranges(files, splittable, int(config.get("range_bytes") or RANGE_BYTES)))
            | "SpreadRanges" >> beam.Reshuffle()
            | "Parse" >> beam.ParDo(ParseRange(config["spec"], bool(config.get("label_optional")), limit)))


class Executor(ShardedExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _CsvToExample


class CsvSpecExampleGen(FileBasedExampleGen):
    """ExampleGen whose columns, types, missing token and label come from a DatasetSpec."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, input_base: str, spec: DatasetSpec, num_shards: int,
                 input_config: Optional[example_gen_pb2.Input] = None,
                 output_config: Optional[example_gen_pb2.Output] = None,
                 range_config: Optional[range_config_pb2.RangeConfig] = None, extra_config: Optional[dict] = None,
                 max_examples: Optional[int] = None):
        """``max_examples``: read only the first that many rows of each file (a quick slice)."""
        super().__init__(
            input_base=input_base,
            input_config=input_config,
            output_config=output_config,
            range_config=range_config,
            custom_config=pack_config({**(extra_config or {}), "spec": spec.to_json(), "num_shards": num_shards,
                                       "max_examples": int(max_examples or 0)}))
