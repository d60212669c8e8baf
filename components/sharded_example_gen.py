"""What our custom ExampleGens share: configuration in custom_config and a writer with a shard count.

TFX's ExampleGen writes each split with however many shards the runner picks. Ours take
``num_shards`` (and any reader settings) through the standard ``custom_config`` field, packed
as a protobuf Struct so it survives compilation for Kubeflow / Vertex unchanged.

Every reader counts what it reads (``RECORDS_READ``) and the writer counts what it writes;
the run fails if the two Beam counters differ at the end, so no record is lost silently.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List

import apache_beam as beam
from absl import logging
from google.protobuf import json_format, struct_pb2
from tfx import types
from tfx.components.example_gen import utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components.delimited_rows import RawDataError
from tfxp_contract.errors import ExplainedError

SHARD_FILE_PREFIX = "data_tfrecord"
COUNTERS = "tfxp_example_gen"
RECORDS_READ = beam.metrics.Metrics.counter(COUNTERS, "records_read")  # readers: .inc() per record
RECORDS_WRITTEN = beam.metrics.Metrics.counter(COUNTERS, "records_written")


class RecordCountError(ExplainedError, RuntimeError):
    """An ExampleGen wrote a different number of records than its readers read."""


def _serialized(record) -> bytes:
    return record if isinstance(record, bytes) else record.SerializeToString()


def count_written(record: bytes) -> bytes:
    RECORDS_WRITTEN.inc()
    return record


def counter_totals(result: beam.runners.runner.PipelineResult) -> Dict[str, int]:
    """This run's ``tfxp_example_gen`` counters by name (committed where the runner has them)."""
    query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(COUNTERS))
    totals: Dict[str, int] = {}
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] = totals.get(counter.key.metric.name, 0) + (value or 0)
    return totals


def check_counts(totals: Dict[str, int], where: str) -> None:
    read, written = totals.get("records_read", 0), totals.get("records_written", 0)
    if read != written:
        raise RecordCountError(f"{where}: the readers read {read} records but {written} were written; "
                               "the output is incomplete and the run stops")


def matching_files(input_base: str, split_pattern: str) -> list[str]:
    """The input files of one split (local or gs://), sorted; none is an error naming the pattern."""
    pattern = os.path.join(input_base, split_pattern)
    files = sorted(fileio.glob(pattern))
    if not files:
        raise RawDataError(f"{pattern}: no input file matches")
    return files


def pack_config(config: Dict[str, Any]) -> example_gen_pb2.CustomConfig:
    struct = struct_pb2.Struct()
    struct.update(config)
    packed = example_gen_pb2.CustomConfig()
    packed.custom_config.Pack(struct)
    return packed


def unpack_config(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
    packed = example_gen_pb2.CustomConfig()
    json_format.Parse(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY], packed)
    struct = struct_pb2.Struct()
    packed.custom_config.Unpack(struct)
    return json_format.MessageToDict(struct)


class ShardedExampleGenExecutor(BaseExampleGenExecutor):
    """Base executor that writes exactly ``num_shards`` gzipped TFRecord files per split."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        num_shards = int(unpack_config(exec_properties).get("num_shards", 1))
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact = artifact_utils.get_single_instance(examples)
        artifact.split_names = artifact_utils.encode_split_names(
            utils.generate_output_split_names(input_config, output_config))
        with self._make_beam_pipeline() as pipeline:
            for split, records in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                (records
                 | f"Serialize[{split}]" >> beam.Map(_serialized)
                 # No reshuffle here: the writer's grouping by shard key already spreads records
                 # over shards and workers, and on the DirectRunner a reshuffle keeps their order
                 # anyway (it cost 7-10% of IDX ingest; bench.ingest). Training input shuffles.
                 | f"Count[{split}]" >> beam.Map(count_written)
                 | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                     os.path.join(artifact_utils.get_split_uri(examples, split), SHARD_FILE_PREFIX),
                     file_name_suffix=".gz", num_shards=num_shards))
        totals = counter_totals(pipeline.result)
        logging.info("%s: %d records read, %d written", exec_properties["input_base"],
                     totals.get("records_read", 0), totals.get("records_written", 0))
        check_counts(totals, exec_properties["input_base"])
        examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
