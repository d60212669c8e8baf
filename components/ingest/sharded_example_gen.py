"""What our custom ExampleGens share: configuration in custom_config and a writer with a shard count.

TFX's ExampleGen writes each split with however many shards the runner picks. Ours take
``num_shards`` (and any reader settings) through the standard ``custom_config`` field, packed
as a protobuf Struct so it survives compilation for Kubeflow / Vertex unchanged.

The record batches, the hash split and the shard writer are in ``components.ingest.workers.shard_writing``
(which Beam's workers import without TensorFlow or TFX). Every reader counts what it reads
(``RECORDS_READ``) and the writer counts what it writes; the run fails if the two Beam
counters differ at the end, so no record is lost silently.
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

from components.ingest.workers.delimited_rows import RawDataError
from components.ingest.workers.shard_writing import COUNTERS, SplitBatches, WriteShards, split_index
from tfxp_contract.errors import ExplainedError

SHARD_FILE_PREFIX = "data_tfrecord"


class RecordCountError(ExplainedError, RuntimeError):
    """An ExampleGen wrote a different number of records than its readers read."""


def _split_batches(config: example_gen_pb2.SplitConfig) -> SplitBatches:
    return SplitBatches([split.hash_buckets for split in config.splits], config.partition_feature_name or None,
                        json_format.MessageToJson(config) if config.partition_feature_name else None)


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


def parsed_split_configs(exec_properties: Dict[str, Any]) -> tuple[example_gen_pb2.Input, example_gen_pb2.Output]:
    """The ExampleGen's input and output split configs, from their JSON exec properties."""
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
    output_config = example_gen_pb2.Output()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
    return input_config, output_config


class ShardedExampleGenExecutor(BaseExampleGenExecutor):
    """Base executor that writes exactly ``num_shards`` gzipped TFRecord files per split.
    ``GetInputSourceToExamplePTransform`` gives a PCollection of record batches
    (``record_batches``), not of single records."""

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline,
                               exec_properties: Dict[str, Any]) -> Dict[str, beam.PCollection]:
        """Each output split's record batches: an input split's own, or their share of the one
        input split under the output's hash split (TFX's partition of each record)."""
        input_config, output_config = parsed_split_configs(exec_properties)
        names = utils.generate_output_split_names(input_config, output_config)
        exec_properties["_beam_pipeline_args"] = self._beam_pipeline_args or []
        to_batches = self.GetInputSourceToExamplePTransform()
        if not output_config.split_config.splits:
            return {name: pipeline | f"InputToRecord[{name}]" >> to_batches(exec_properties, split.pattern)
                    for name, split in zip(names, input_config.splits)}
        if len(input_config.splits) != 1:
            raise ValueError("an output split config needs exactly one input split, "
                             f"found {[split.name for split in input_config.splits]}")
        parts = (pipeline
                 | "InputToRecord" >> to_batches(exec_properties, input_config.splits[0].pattern)
                 | "SplitData" >> beam.ParDo(_split_batches(output_config.split_config))
                 | "BySplit" >> beam.Partition(split_index, len(names)))
        return {name: part | f"Batches[{name}]" >> beam.Values() for name, part in zip(names, parts)}

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        num_shards = int(unpack_config(exec_properties).get("num_shards", 1))
        input_config, output_config = parsed_split_configs(exec_properties)
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact = artifact_utils.get_single_instance(examples)
        artifact.split_names = artifact_utils.encode_split_names(
            utils.generate_output_split_names(input_config, output_config))
        with self._make_beam_pipeline() as pipeline:
            for split, batches in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                # No reshuffle before the writer: grouping by shard spreads the writing over the
                # workers, and on the DirectRunner a reshuffle keeps the order anyway (it cost
                # 7-10% of IDX ingest; bench.ingest). Training input shuffles.
                _ = batches | f"Write[{split}]" >> WriteShards(
                    os.path.join(artifact_utils.get_split_uri(examples, split), SHARD_FILE_PREFIX), num_shards)
        totals = counter_totals(pipeline.result)
        logging.info("%s: %d records read, %d written", exec_properties["input_base"],
                     totals.get("records_read", 0), totals.get("records_written", 0))
        check_counts(totals, exec_properties["input_base"])
        examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
