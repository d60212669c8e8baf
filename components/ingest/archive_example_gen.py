"""ExampleGen for labelled files inside a published tar archive (TF flowers, IMDB reviews).

The Beam steps (read each archive as one stream, then check and encode its files on every
worker; bad files skipped by name under the 1% rule) are in ``components.ingest.workers.archive_reading``.
With a published split (IMDB), each split reads only its own folder of the archive; otherwise
the spec's hash split applies (flowers).
Records: the content under the spec's feature column (``image``: the file's bytes as
published; ``text``: the UTF-8 text) and the class folder's name under the label column.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import apache_beam as beam
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.ingest.sharded_example_gen import (
    ShardedExampleGenExecutor,
    matching_files,
    pack_config,
    parsed_split_configs,
    unpack_config,
)
from components.ingest.workers.archive_reading import ArchivesToRecords
from tfxp_contract.dataset_spec import DatasetSpec


def archive_config(spec: DatasetSpec, max_examples: Optional[int]) -> dict:
    [feature] = spec.feature_columns
    return {"content": feature.type, "feature": feature.name, "label": spec.label.column,
            "labels": list(spec.label.values), "split_folders": dict(spec.archive_split_folders),
            "max_examples": max_examples or 0, "max_member_bytes": spec.archive_file_limit_mb << 20}


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def _ArchiveToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str,
                      split_name: Optional[str] = None):
    config = unpack_config(exec_properties)
    split_folder = config["split_folders"].get(split_name) if split_name else None
    return pipeline | ArchivesToRecords(matching_files(exec_properties["input_base"], split_pattern), config,
                                        split_folder)


class Executor(ShardedExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _ArchiveToExample

    def GenerateExamplesByBeam(self, pipeline: beam.Pipeline, exec_properties: Dict[str, Any]):
        """Published splits live in one archive: tell each split which folder is its own."""
        input_config, output_config = parsed_split_configs(exec_properties)
        if output_config.split_config.splits:
            return super().GenerateExamplesByBeam(pipeline, exec_properties)
        return {split.name: pipeline | f"InputToRecord[{split.name}]" >> _ArchiveToExample(
                    exec_properties, split.pattern, split.name)
                for split in input_config.splits}


class ArchiveExampleGen(FileBasedExampleGen):
    """Class-folder archives -> tf.Examples with the file's content and its class."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, input_base: str, spec: DatasetSpec, num_shards: int, input_config: example_gen_pb2.Input,
                 max_examples: Optional[int] = None, output_config: Optional[example_gen_pb2.Output] = None,
                 range_config: Optional[range_config_pb2.RangeConfig] = None, extra_config: Optional[dict] = None):
        super().__init__(
            input_base=input_base, input_config=input_config, output_config=output_config,
            range_config=range_config,
            custom_config=pack_config({**(extra_config or {}), **archive_config(spec, max_examples),
                                       "num_shards": num_shards}))
