"""ExampleGen for loose image or text files, one example per file: new photos or reviews to
score (batch inference) in the form a user has them, not the publisher's archive or IDX pair.

Each example holds the file's content under the spec's feature column, as the served model
takes it (``image``: the file's bytes; ``text``: its UTF-8 text) and the file's path under
``SOURCE_FILE_FEATURE``. Files whose extension is not one of the family's are left alone;
a file that does not decode (or is not UTF-8, or is empty, or is over the spec's
``archive_file_limit_mb``) is logged by name and skipped; if none is usable the run stops.
The Beam step that reads is in ``components.ingest.workers.file_reading``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import apache_beam as beam
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.ingest.sharded_example_gen import ShardedExampleGenExecutor, matching_files, pack_config, unpack_config
from components.ingest.workers.archive_reading import EXTENSIONS
from components.ingest.workers.delimited_rows import RawDataError
from components.ingest.workers.file_reading import ReadFile
from tfxp_contract.dataset_spec import DatasetSpec


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def _FilesToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str):
    config = unpack_config(exec_properties)
    files = [f for f in matching_files(exec_properties["input_base"], split_pattern)
             if f.lower().endswith(tuple(EXTENSIONS[config["content"]]))]
    if not files:
        raise RawDataError(f"{exec_properties['input_base']}/{split_pattern}: no {config['content']} file matches "
                           f"(extensions {', '.join(EXTENSIONS[config['content']])})")
    return (pipeline
            | "Files" >> beam.Create(files)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(ReadFile(config)))


class Executor(ShardedExampleGenExecutor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _FilesToExample


class FilesExampleGen(FileBasedExampleGen):
    """Loose image or text files -> tf.Examples with the file's content and path."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, input_base: str, spec: DatasetSpec, num_shards: int, input_config: example_gen_pb2.Input,
                 output_config: Optional[example_gen_pb2.Output] = None, extra_config: Optional[dict] = None):
        [feature] = spec.feature_columns
        super().__init__(
            input_base=input_base, input_config=input_config, output_config=output_config,
            custom_config=pack_config({**(extra_config or {}), "content": feature.type, "feature": feature.name,
                                       "max_file_bytes": spec.archive_file_limit_mb << 20,
                                       "num_shards": num_shards}))
