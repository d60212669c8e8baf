"""ExampleGen for labelled files inside a published tar archive (TF flowers, IMDB reviews).

Each archive is read as one stream (a Beam element per archive: gzip cannot seek), so memory
holds one file at a time; bad members are reported by name and skipped under the rule in
``components.archive_records``. With a published split (IMDB), each split reads only its
own folder of the archive; otherwise the spec's hash split applies (flowers).
Records: the content under the spec's feature column (``image``: the file's bytes as
published; ``text``: the UTF-8 text) and the class folder's name under the label column.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import apache_beam as beam
import tensorflow as tf
from absl import logging
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.archive_records import DEFAULT_MAX_MEMBER_BYTES, ReadReport, read_archive
from components.sharded_example_gen import (
    ShardedExampleGenExecutor,
    matching_files,
    pack_config,
    parsed_split_configs,
    record_batches,
    unpack_config,
)
from tfxp_contract.dataset_spec import DatasetSpec

EXTENSIONS = {"image": (".jpg", ".jpeg", ".png"), "text": (".txt",)}


def archive_config(spec: DatasetSpec, max_examples: Optional[int]) -> dict:
    [feature] = spec.feature_columns
    return {"content": feature.type, "feature": feature.name, "label": spec.label.column,
            "labels": list(spec.label.values), "split_folders": dict(spec.archive_split_folders),
            "max_examples": max_examples or 0, "max_member_bytes": spec.archive_file_limit_mb << 20}


def to_example(feature: str, content: bytes, label_key: str, label: str) -> tf.train.Example:
    return tf.train.Example(features=tf.train.Features(feature={
        feature: tf.train.Feature(bytes_list=tf.train.BytesList(value=[content])),
        label_key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[label.encode()])),
    }))


class _ReadArchive(beam.DoFn):
    def __init__(self, config: dict, split_folder: Optional[str]):
        self._config = config
        self._split_folder = split_folder
        self._skipped = beam.metrics.Metrics.counter("archive_example_gen", "skipped_files")

    def process(self, path: str):
        c = self._config
        report = ReadReport(path)
        records = read_archive(path, c["content"], c["labels"], EXTENSIONS[c["content"]], self._split_folder,
                               int(c["max_examples"]) or None, report,
                               int(c.get("max_member_bytes") or DEFAULT_MAX_MEMBER_BYTES))
        yield from record_batches(to_example(c["feature"], r.content, c["label"], r.label) for r in records)
        for problem in report.skipped:
            logging.warning("%s: skipped %s", path, problem)
        self._skipped.inc(len(report.skipped))
        report.check()  # too many bad files: the wrong archive, stop with their names


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def _ArchiveToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str,
                      split_name: Optional[str] = None):
    config = unpack_config(exec_properties)
    files = matching_files(exec_properties["input_base"], split_pattern)
    split_folder = config["split_folders"].get(split_name) if split_name else None
    return (pipeline
            | "Archives" >> beam.Create(files)
            | "Read" >> beam.ParDo(_ReadArchive(config, split_folder)))


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
