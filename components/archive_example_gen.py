"""ExampleGen for labelled files inside a published tar archive (TF flowers, IMDB reviews).

Each archive is read as one stream (a Beam element per archive: gzip cannot seek), so memory
holds one batch of files at a time; checking the files (decoding each image) and encoding them,
most of the work, is spread over every worker after the read. Bad members are reported by
name and skipped under the rule in ``components.archive_records``, applied to each split's
totals once every file is checked. With a published split (IMDB), each split reads only its
own folder of the archive; otherwise the spec's hash split applies (flowers).
Records: the content under the spec's feature column (``image``: the file's bytes as
published; ``text``: the UTF-8 text) and the class folder's name under the label column.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import apache_beam as beam
from absl import logging
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2

from components.archive_records import DEFAULT_MAX_MEMBER_BYTES, ReadReport, content_problem, read_archive
from components.record_encoding import example_bytes
from components.sharded_example_gen import (
    RECORDS_READ,
    ShardedExampleGenExecutor,
    matching_files,
    pack_config,
    parsed_split_configs,
    unpack_config,
)
from tfxp_contract.dataset_spec import DatasetSpec

FILE_BATCH = 64  # files per Beam element between the reader and the checkers
SKIPPED = "skipped"
EXTENSIONS = {"image": (".jpg", ".jpeg", ".png"), "text": (".txt",)}


def archive_config(spec: DatasetSpec, max_examples: Optional[int]) -> dict:
    [feature] = spec.feature_columns
    return {"content": feature.type, "feature": feature.name, "label": spec.label.column,
            "labels": list(spec.label.values), "split_folders": dict(spec.archive_split_folders),
            "max_examples": max_examples or 0, "max_member_bytes": spec.archive_file_limit_mb << 20}


def record_bytes(feature: str, content: bytes, label_key: str, label: str) -> bytes:
    """A file's record as a serialized tf.Example: its content and its class, as bytes."""
    return example_bytes({feature: content, label_key: label.encode()})


class _ReadFiles(beam.DoFn):
    """An archive -> its labelled files, unchecked, as batches of (member, label, content);
    files over the size limit to the ``skipped`` output as "member: why"."""

    def __init__(self, config: dict, split_folder: Optional[str]):
        self._config = config
        self._split_folder = split_folder

    def process(self, path: str):
        c = self._config
        report = ReadReport(path)
        files = read_archive(path, c["content"], c["labels"], EXTENSIONS[c["content"]], self._split_folder,
                             int(c["max_examples"]) or None, report,
                             int(c.get("max_member_bytes") or DEFAULT_MAX_MEMBER_BYTES), validate=False)
        batch = []
        for record in files:
            batch.append((record.member, record.label, record.content))
            if len(batch) == FILE_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch
        for problem in report.skipped:
            yield beam.pvalue.TaggedOutput(SKIPPED, problem)


class _CheckAndEncode(beam.DoFn):
    """A batch of files -> the good ones as one batch of records (counted as read); each bad
    one (an image that does not decode, an empty review) to the ``skipped`` output."""

    def __init__(self, config: dict):
        self._config = config
        self._skipped = beam.metrics.Metrics.counter("archive_example_gen", "skipped_files")

    def process(self, batch: List[tuple]):
        c = self._config
        records = []
        for member, label, content in batch:
            problem = content_problem(c["content"], content)
            if problem:
                self._skipped.inc()
                yield beam.pvalue.TaggedOutput(SKIPPED, f"{member}: {problem}")
                continue
            records.append(record_bytes(c["feature"], content, c["label"], label))
        RECORDS_READ.inc(len(records))
        if records:
            yield records


def _check_share(archives: List[str], read: int, skipped: List[str]) -> None:
    """The split's verdict on its bad files (``ReadReport.check``): over the share, it stops."""
    for problem in skipped:
        logging.warning("%s: skipped %s", ", ".join(archives), problem)
    ReadReport(", ".join(archives), read, sorted(skipped)).check()


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def _ArchiveToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any], split_pattern: str,
                      split_name: Optional[str] = None):
    config = unpack_config(exec_properties)
    files = matching_files(exec_properties["input_base"], split_pattern)
    split_folder = config["split_folders"].get(split_name) if split_name else None
    # Reading an archive is sequential (one stream); checking and encoding its files, most of
    # the work (a JPEG is decoded to be checked), is spread over every worker.
    read = (pipeline
            | "Archives" >> beam.Create(files)
            | "Read" >> beam.ParDo(_ReadFiles(config, split_folder)).with_outputs(SKIPPED, main="files"))
    checked = (read.files
               | "Spread" >> beam.Reshuffle()
               | "CheckAndEncode" >> beam.ParDo(_CheckAndEncode(config)).with_outputs(SKIPPED, main="records"))
    skipped = ((read[SKIPPED], checked[SKIPPED]) | "Skipped" >> beam.Flatten()
               | "AllSkipped" >> beam.combiners.ToList())
    count = checked.records | "Sizes" >> beam.Map(len) | "Count" >> beam.CombineGlobally(sum)
    _ = (pipeline
         | "Split" >> beam.Create([files])
         | "CheckShare" >> beam.Map(_check_share, beam.pvalue.AsSingleton(count), beam.pvalue.AsSingleton(skipped)))
    return checked.records


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
