"""Which ExampleGen reads each raw format: the keys of ``tfxp_contract.families.FORMATS``.

A new format is a row here (and its data families in ``FORMATS``): the factory asks this
table, never the format's name.
"""
from __future__ import annotations

from typing import Optional, Protocol

from tfx.components import FileBasedExampleGen
from tfx.proto import example_gen_pb2, range_config_pb2

from components.ingest.archive_example_gen import ArchiveExampleGen
from components.ingest.csv_example_gen import CsvSpecExampleGen
from components.ingest.file_example_gen import FilesExampleGen
from components.ingest.idx_example_gen import IdxExampleGen
from tfxp_contract.dataset_spec import DatasetSpec

INFERENCE_SPLIT = "unlabelled"


class MakeExampleGen(Protocol):
    """Builds a format's ExampleGen component."""

    def __call__(self, spec: DatasetSpec, root: str, shards: int, inputs: example_gen_pb2.Input,
                 outputs: Optional[example_gen_pb2.Output], limit: Optional[int], extra: dict,
                 span: Optional[range_config_pb2.RangeConfig]) -> FileBasedExampleGen: ...


def _table(spec, root, shards, inputs, outputs, limit, extra, span) -> FileBasedExampleGen:
    # CSV and Parquet rows are parsed by one reader (components.ingest.workers.delimited_rows).
    return CsvSpecExampleGen(input_base=root, spec=spec, num_shards=shards, input_config=inputs,
                             output_config=outputs, extra_config=extra, range_config=span, max_examples=limit)


def _idx(spec, root, shards, inputs, outputs, limit, extra, span) -> FileBasedExampleGen:
    return IdxExampleGen(input_base=root, num_shards=shards, input_config=inputs, output_config=outputs,
                         max_examples=limit, extra_config=extra, range_config=span, labelled=spec.label is not None)


def _archive(spec, root, shards, inputs, outputs, limit, extra, span) -> FileBasedExampleGen:
    return ArchiveExampleGen(input_base=root, spec=spec, num_shards=shards, input_config=inputs,
                             output_config=outputs, max_examples=limit, extra_config=extra, range_config=span)


# Each takes ``limit`` (--max-examples): the first that many examples of each file (tables) or
# of each published split.
EXAMPLE_GENS: dict[str, MakeExampleGen] = {"csv": _table, "parquet": _table, "idx": _idx, "archive": _archive}


def example_gen_for(spec: DatasetSpec, data_root: str, num_shards: int, input_config: example_gen_pb2.Input,
                    output_config: Optional[example_gen_pb2.Output], max_examples: Optional[int],
                    extra_config: Optional[dict] = None, span: Optional[int] = None) -> FileBasedExampleGen:
    """``extra_config``: recorded with the ExampleGen's execution (e.g. the data version);
    ``span``: read that span (input patterns hold ``{SPAN}``), not the newest."""
    make = EXAMPLE_GENS[spec.format]  # the spec's format was checked against FORMATS when it loaded
    ranges = None if span is None else range_config_pb2.RangeConfig(
        static_range=range_config_pb2.StaticRange(start_span_number=span, end_span_number=span))
    return make(spec, data_root, num_shards, input_config, output_config, max_examples,
                       dict(extra_config or {}), ranges)


def inference_example_gen_for(spec: DatasetSpec, folder: str, pattern: str, extra_config: dict) -> FileBasedExampleGen:
    """New data to score, as one split named "unlabelled": a table's rows (its own reader, the
    label column optional), or loose image / text files for the other formats (whose published
    form, an archive of class folders or an IDX pair, is for labelled data)."""
    inputs = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="files", pattern=pattern)])
    # one output split holding everything (TFX's default for one input split is train:eval 2:1)
    outputs = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name=INFERENCE_SPLIT, hash_buckets=1)]))
    if spec.format in ("csv", "parquet"):
        return example_gen_for(spec, folder, 1, inputs, outputs, None, {**extra_config, "label_optional": True})
    return FilesExampleGen(input_base=folder, spec=spec, num_shards=1, input_config=inputs, output_config=outputs,
                           extra_config=extra_config)
