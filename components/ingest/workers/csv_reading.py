"""The Beam step that parses delimited files (whole, or in byte ranges) into record batches,
importable by Beam's workers without TensorFlow or TFX (see ``components.ingest.workers.shard_writing``)."""
from __future__ import annotations

import itertools

import apache_beam as beam
from absl import logging

from components.ingest.workers.delimited_rows import header_row, read_range, read_rows, row_bytes
from components.ingest.workers.shard_writing import record_batches
from tfxp_contract.dataset_spec import spec_from_json


class ParseRange(beam.DoFn):
    """(path, start, end, size) -> the rows whose first byte lies in [start, end) as batches of
    serialized tf.Examples; with ``limit``, a whole file's first ``limit`` rows only."""

    def __init__(self, spec_json: str, label_optional: bool = False, limit: int = 0):
        self._spec_json = spec_json
        self._label_optional = label_optional
        self._limit = limit
        self._out_of_range = beam.metrics.Metrics.counter("csv_example_gen", "out_of_range_values")

    def setup(self):
        self._spec = spec_from_json(self._spec_json)

    def process(self, element):
        path, start, end, size = element

        def out_of_range(column: str, value: float) -> None:
            self._out_of_range.inc()
            logging.warning("%s: %s=%s is outside the documented range; treated as missing", path, column, value)

        if (start, end) == (0, size):  # the whole file: read with line numbers
            rows = read_rows(self._spec, path, out_of_range, self._label_optional)
            if self._limit:
                rows = itertools.islice(rows, self._limit)
        else:
            rows = read_range(self._spec, path, start, end, header_row(self._spec, path), out_of_range,
                              self._label_optional)
        yield from record_batches(row_bytes(row) for row in rows)
