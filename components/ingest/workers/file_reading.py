"""The Beam step that reads loose files into records, importable by Beam's workers without
TensorFlow or TFX (see ``components.ingest.workers.shard_writing``)."""
from __future__ import annotations

import apache_beam as beam
from absl import logging

from components.ingest.workers.archive_records import content_problem
from components.ingest.workers.input_files import input_size, open_input
from components.ingest.workers.record_encoding import example_bytes
from components.ingest.workers.shard_writing import record_batches
from tfxp_contract.names import SOURCE_FILE_FEATURE

SKIPPED = beam.metrics.Metrics.counter("file_example_gen", "skipped_files")


def file_example(feature: str, content: bytes, path: str) -> bytes:
    """A file's record as a serialized tf.Example: its content and its path."""
    return example_bytes({feature: content, SOURCE_FILE_FEATURE: path.encode()})


class ReadFile(beam.DoFn):
    """A file's path -> its record as a batch of one; a file that is over the size limit or not
    usable content is logged by name, counted and skipped."""

    def __init__(self, config: dict):
        self._config = config

    def process(self, path: str):
        c = self._config
        size = input_size(path)
        if size > int(c["max_file_bytes"]):
            problem = f"{size:,} bytes, over the limit of {int(c['max_file_bytes']):,} (archive_file_limit_mb)"
        else:
            with open_input(path) as f:
                content = f.read()
            problem = content_problem(c["content"], content)
        if problem:
            logging.warning("%s: skipped: %s", path, problem)
            SKIPPED.inc()
            return
        yield from record_batches([file_example(c["feature"], content, path)])  # a file is a batch
