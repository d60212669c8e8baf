"""What our custom ExampleGens share: configuration in custom_config and a writer with a shard count.

TFX's ExampleGen writes each split with however many shards the runner picks. Ours take
``num_shards`` (and any reader settings) through the standard ``custom_config`` field, packed
as a protobuf Struct so it survives compilation for Kubeflow / Vertex unchanged.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List

import apache_beam as beam
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

SHARD_FILE_PREFIX = "data_tfrecord"


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
                 | f"Serialize[{split}]" >> beam.Map(lambda r: r if isinstance(r, bytes) else r.SerializeToString())
                 | f"Shuffle[{split}]" >> beam.Reshuffle()
                 | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                     os.path.join(artifact_utils.get_split_uri(examples, split), SHARD_FILE_PREFIX),
                     file_name_suffix=".gz", num_shards=num_shards))
        examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
