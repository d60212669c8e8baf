"""The IDX ExampleGen on real MNIST / Fashion-MNIST slices, and the IDX reader on bad files."""
import gzip
import io
import os

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import json_format
from PIL import Image
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from components.ingest.idx_example_gen import Executor
from components.ingest.sharded_example_gen import RecordCountError, check_counts, counter_totals, pack_config
from components.ingest.workers.idx_records import IdxFormatError, find_pair, read_pairs
from components.ingest.workers.shard_writing import RECORDS_READ, RECORDS_WRITTEN
from infra.dataflow import direct_runner_args

SPLITS = example_gen_pb2.Input(splits=[
    example_gen_pb2.Input.Split(name="train", pattern="train-*-ubyte.gz"),
    example_gen_pb2.Input.Split(name="eval", pattern="t10k-*-ubyte.gz")])


def run_executor(input_base, output_dir, num_shards, max_examples, beam_args=()):
    examples = standard_artifacts.Examples()
    examples.uri = str(output_dir)
    exec_properties = {
        standard_component_specs.INPUT_BASE_KEY: str(input_base),
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(SPLITS),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(example_gen_pb2.Output()),
        standard_component_specs.CUSTOM_CONFIG_KEY: json_format.MessageToJson(
            pack_config({"num_shards": num_shards, "max_examples": max_examples})),
        standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
    }
    context = BaseBeamExecutor.Context(beam_pipeline_args=list(beam_args), tmp_dir=str(output_dir) + "-tmp")
    Executor(context).Do({}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties)
    return examples


def read_split(examples, split):
    files = sorted(fileio.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*")))
    records = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files, "GZIP")]
    return files, records


MULTI_PROCESSING = tuple(direct_runner_args(2))


@pytest.mark.slow
@pytest.mark.parametrize("dataset, first_train_label, beam_args", [
    ("mnist", b"5", ()), ("fashion_mnist", b"9", MULTI_PROCESSING)])
def test_published_split_is_kept_with_png_images_labels_and_shards(tmp_path, data_dir, dataset, first_train_label,
                                                                   beam_args):
    examples = run_executor(data_dir / dataset, tmp_path / "out", num_shards=3, max_examples=300,
                            beam_args=beam_args)
    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "eval"]
    for split in ["train", "eval"]:
        files, records = read_split(examples, split)
        assert len(files) == 3 and len(records) == 300
        labels = [r.features.feature["label"].bytes_list.value[0] for r in records]
        assert set(labels) <= {str(d).encode() for d in range(10)} and len(set(labels)) == 10
        image = np.array(Image.open(io.BytesIO(records[0].features.feature["image"].bytes_list.value[0])))
        assert image.shape == (28, 28) and image.dtype == np.uint8 and image.max() > 0
    # The first published training label is kept (records are shuffled across shards).
    _, pixels, label = next(read_pairs(str(data_dir / dataset / "train-images-idx3-ubyte.gz"),
                                       str(data_dir / dataset / "train-labels-idx1-ubyte.gz")))
    assert str(label).encode() == first_train_label


def _idx(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(magic + b"".join(d.to_bytes(4, "big") for d in dims) + payload)
    return str(path)


def test_truncated_images_file_is_named(tmp_path):
    images = _idx(tmp_path / "images.gz", b"\x00\x00\x08\x03", [3, 2, 2], bytes(10))
    labels = _idx(tmp_path / "labels.gz", b"\x00\x00\x08\x01", [3], bytes(3))
    with pytest.raises(IdxFormatError, match=r"images.gz: truncated: header promises 3 images, data ends in image 2"):
        list(read_pairs(images, labels))


def test_wrong_magic_number_is_named(tmp_path):
    images = _idx(tmp_path / "images.gz", b"\x00\x00\x0d\x03", [1, 2, 2], bytes(16))
    labels = _idx(tmp_path / "labels.gz", b"\x00\x00\x08\x01", [1], bytes(1))
    with pytest.raises(IdxFormatError, match=r"images.gz: wrong magic number 00000d03"):
        list(read_pairs(images, labels))


def test_not_gzip_and_count_mismatch_are_named(tmp_path):
    bogus = tmp_path / "images.gz"
    bogus.write_bytes(b"this is not gzip")
    labels = _idx(tmp_path / "labels.gz", b"\x00\x00\x08\x01", [2], bytes(2))
    with pytest.raises(IdxFormatError, match=r"images.gz: not a gzip-compressed IDX file"):
        list(read_pairs(str(bogus), labels))
    images = _idx(tmp_path / "images2.gz", b"\x00\x00\x08\x03", [3, 2, 2], bytes(12))
    with pytest.raises(IdxFormatError, match=r"images2.gz holds 3 images but .*labels.gz holds 2 labels"):
        list(read_pairs(images, labels))


def test_images_without_labels_are_read_alone_and_a_missing_images_file_is_named(tmp_path):
    pixels = np.arange(12, dtype=np.uint8).tobytes()
    images = _idx(tmp_path / "train-images.gz", b"\x00\x00\x08\x03", [3, 2, 2], pixels)
    labels = _idx(tmp_path / "train-labels.gz", b"\x00\x00\x08\x01", [3], bytes([4, 5, 6]))
    assert find_pair([images, labels], labelled=False) == (images, None)  # a labels file beside it is ignored
    records = list(read_pairs(images, None, limit=2))
    assert [(i, label) for i, _, label in records] == [(0, None), (1, None)]
    assert records[1][1].tolist() == [[4, 5], [6, 7]]
    with pytest.raises(IdxFormatError, match=r"images.gz: truncated: header promises 4 images, data ends in image 3"):
        list(read_pairs(_idx(tmp_path / "short-images.gz", b"\x00\x00\x08\x03", [4, 2, 2], pixels), None))
    with pytest.raises(IdxFormatError, match=r"expected one image file, found none"):
        find_pair([labels], labelled=False)
    with pytest.raises(IdxFormatError, match=r"expected one image file and one label file"):
        find_pair([images])


def _read_one(index: int) -> bytes:
    RECORDS_READ.inc()
    return str(index).encode()


def _write_one(record: bytes) -> bytes:
    RECORDS_WRITTEN.inc()
    return record


def test_a_record_lost_between_reader_and_writer_fails_the_run():
    with beam.Pipeline() as pipeline:
        (pipeline
         | beam.Create(range(7)) | beam.Map(_read_one)
         | "LoseOne" >> beam.Filter(lambda record: record != b"3")
         | beam.Map(_write_one))
    totals = counter_totals(pipeline.result)
    assert (totals["records_read"], totals["records_written"]) == (7, 6)
    with pytest.raises(RecordCountError, match="in/: the readers read 7 records but 6 were written"):
        check_counts(totals, "in/")
    check_counts({"records_read": 6, "records_written": 6}, "in/")
