"""The Beam steps that turn tar archives into record batches, importable by Beam's workers
without TensorFlow or TFX (see ``components.ingest.workers.shard_writing``).

Each archive is read as one stream (a Beam element per archive: gzip cannot seek), so memory
holds one batch of files at a time; checking the files (decoding each image) and encoding them,
most of the work, is spread over every worker after the read. Bad members are reported by
name and skipped under the rule in ``components.ingest.workers.archive_records``, applied to each split's
totals once every file is checked.
"""
from __future__ import annotations

from typing import List, Optional

import apache_beam as beam
from absl import logging

from components.ingest.workers.archive_records import DEFAULT_MAX_MEMBER_BYTES, ReadReport, content_problem, read_archive
from components.ingest.workers.record_encoding import example_bytes
from components.ingest.workers.shard_writing import RECORDS_READ

FILE_BATCH = 64  # files per Beam element between the reader and the checkers
SKIPPED = "skipped"
EXTENSIONS = {"image": (".jpg", ".jpeg", ".png"), "text": (".txt",)}


def record_bytes(feature: str, content: bytes, label_key: str, label: str) -> bytes:
    """A file's record as a serialized tf.Example: its content and its class, as bytes."""
    return example_bytes({feature: content, label_key: label.encode()})


class ReadFiles(beam.DoFn):
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


class CheckAndEncode(beam.DoFn):
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


def check_share(archives: List[str], read: int, skipped: List[str]) -> None:
    """The split's verdict on its bad files (``ReadReport.check``): over the share, it stops."""
    for problem in skipped:
        logging.warning("%s: skipped %s", ", ".join(archives), problem)
    ReadReport(", ".join(archives), read, sorted(skipped)).check()


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(List[bytes])
def ArchivesToRecords(pipeline: beam.Pipeline, files: List[str], config: dict, split_folder: Optional[str]):
    """The split's archives (``files``) -> batches of serialized records. ``config``: the
    ExampleGen's (``archive_example_gen.archive_config``)."""
    # Reading an archive is sequential (one stream); checking and encoding its files, most of
    # the work (a JPEG is decoded to be checked), is spread over every worker.
    read = (pipeline
            | "Archives" >> beam.Create(files)
            | "Read" >> beam.ParDo(ReadFiles(config, split_folder)).with_outputs(SKIPPED, main="files"))
    checked = (read.files
               | "Spread" >> beam.Reshuffle()
               | "CheckAndEncode" >> beam.ParDo(CheckAndEncode(config)).with_outputs(SKIPPED, main="records"))
    skipped = ((read[SKIPPED], checked[SKIPPED]) | "Skipped" >> beam.Flatten()
               | "AllSkipped" >> beam.combiners.ToList())
    count = checked.records | "Sizes" >> beam.Map(len) | "Count" >> beam.CombineGlobally(sum)
    _ = (pipeline
         | "Split" >> beam.Create([files])
         | "CheckShare" >> beam.Map(check_share, beam.pvalue.AsSingleton(count), beam.pvalue.AsSingleton(skipped)))
    return checked.records
