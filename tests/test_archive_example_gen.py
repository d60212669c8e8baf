"""The archive reader and ArchiveExampleGen's executor on real slices of TF flowers and IMDB."""
import io
import os
import tarfile

import pytest
import tensorflow as tf
from google.protobuf import json_format
from PIL import Image
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from components.ingest.archive_example_gen import Executor, archive_config
from components.ingest.sharded_example_gen import pack_config
from components.ingest.workers.archive_records import ArchiveFormatError, ReadReport, read_archive
from infra.dataflow import direct_runner_args
from pipelines.pipeline import split_configs
from tfxp_contract.dataset_spec import load_spec

FLOWERS = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


def test_flowers_slice_has_every_class_and_decodable_jpegs(data_dir):
    archive = str(data_dir / "flowers" / "flower_photos.tgz")
    records = list(read_archive(archive, "image", FLOWERS, (".jpg",), limit=50))
    assert len(records) == 50
    assert {r.label for r in records} == set(FLOWERS)  # 10 per class, not the first 50 daisies
    for r in records[:5]:
        assert r.member.startswith(f"flower_photos/{r.label}/") and r.member.endswith(".jpg")
        assert tf.io.decode_jpeg(r.content).shape[-1] == 3


def test_imdb_split_folders_keep_the_published_split(data_dir):
    archive = str(data_dir / "imdb" / "aclImdb_v1.tar.gz")
    test = list(read_archive(archive, "text", ["neg", "pos"], (".txt",), split_folder="test", limit=40))
    assert len(test) == 40 and {r.label for r in test} == {"neg", "pos"}
    assert all(r.member.startswith("aclImdb/test/") for r in test)
    assert all(r.content.decode().strip() for r in test)


def _tar(tmp_path, files: dict) -> str:
    path = tmp_path / "made.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)


def _jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_corrupt_jpeg_is_skipped_and_named(tmp_path):
    good = {f"photos/daisy/{i}.jpg": _jpeg("white") for i in range(120)}
    archive = _tar(tmp_path, {**good, "photos/roses/broken.jpg": _jpeg("red")[:40]})
    report = ReadReport(archive)
    records = list(read_archive(archive, "image", ["daisy", "roses"], (".jpg",), report=report))
    assert len(records) == 120 and report.read == 120
    assert len(report.skipped) == 1 and report.skipped[0].startswith("photos/roses/broken.jpg: not a decodable image")
    report.check()  # one bad file in 121 is under the 1% rule: skipped, reported, the run goes on


def test_too_many_bad_files_stop_with_their_names(tmp_path):
    archive = _tar(tmp_path, {"reviews/train/pos/1.txt": b"great film", "reviews/train/neg/2.txt": b"   ",
                              "reviews/train/neg/3.txt": b"\xff\xfe\x00bad"})
    report = ReadReport(archive)
    records = list(read_archive(archive, "text", ["neg", "pos"], (".txt",), split_folder="train", report=report))
    assert [r.content for r in records] == [b"great film"]
    with pytest.raises(ArchiveFormatError, match=r"2 of 3 files are bad .*reviews/train/neg/2.txt: empty text; "
                                                 r"reviews/train/neg/3.txt: not UTF-8 text"):
        report.check()


def test_a_truncated_archive_names_the_file(tmp_path, data_dir):
    cut = tmp_path / "flower_photos.tgz"
    cut.write_bytes((data_dir / "flowers" / "flower_photos.tgz").read_bytes()[:200_000])
    with pytest.raises(ArchiveFormatError, match=f"{cut}: not a readable tar archive"):
        list(read_archive(str(cut), "image", FLOWERS, (".jpg",)))


def _run_executor(data_dir, dataset: str, out, num_shards: int, max_examples: int, input_base=None):
    """ArchiveExampleGen's executor as the pipeline configures it, with Beam's DirectRunner in
    multi-processing mode (two worker processes); ``input_base``: another folder than the mirror's."""
    spec = load_spec(dataset)
    input_config, output_config = split_configs(spec)
    examples = standard_artifacts.Examples()
    examples.uri = str(out / "examples")
    exec_properties = {
        standard_component_specs.INPUT_BASE_KEY: str(input_base or data_dir / dataset),
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(input_config),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
            output_config or example_gen_pb2.Output()),
        standard_component_specs.CUSTOM_CONFIG_KEY: json_format.MessageToJson(
            pack_config({**archive_config(spec, max_examples), "num_shards": num_shards})),
        standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
    }
    context = BaseBeamExecutor.Context(beam_pipeline_args=direct_runner_args(2), tmp_dir=str(out / "tmp"))
    Executor(context).Do({}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties)
    splits = {}
    for split in artifact_utils.decode_split_names(examples.split_names):
        files = sorted(fileio.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*.gz")))
        splits[split] = (files, [tf.train.Example.FromString(r.numpy())
                                 for r in tf.data.TFRecordDataset(files, "GZIP")])
    return splits


def _value(example, key):
    return example.features.feature[key].bytes_list.value[0]


@pytest.mark.slow
def test_imdb_executor_keeps_the_published_split_in_shards(tmp_path, data_dir):
    splits = _run_executor(data_dir, "imdb", tmp_path, num_shards=3, max_examples=40)
    assert sorted(splits) == ["eval", "train"]
    for files, records in splits.values():
        assert len(files) == 3 and len(records) == 40
        assert {_value(r, "label") for r in records} == {b"neg", b"pos"}
        assert all(_value(r, "review").decode().strip() for r in records)
    train_texts = {_value(r, "review") for r in splits["train"][1]}
    assert not train_texts & {_value(r, "review") for r in splits["eval"][1]}


@pytest.mark.slow
def test_flowers_executor_hash_splits_jpegs_into_shards(tmp_path, data_dir):
    splits = _run_executor(data_dir, "flowers", tmp_path, num_shards=2, max_examples=100)
    assert sorted(splits) == ["eval", "train"]
    assert [len(files) for files, _ in splits.values()] == [2, 2]
    records = splits["train"][1] + splits["eval"][1]
    assert len(records) == 100 and 0.6 < len(splits["train"][1]) / 100 < 0.95  # 4:1 hash buckets
    assert {_value(r, "label").decode() for r in records} == set(FLOWERS)
    image = tf.io.decode_jpeg(_value(records[0], "image"))
    assert image.shape[-1] == 3 and image.shape[0] > 100


def _flowers_like(folder, good: int, bad: int) -> None:
    """An archive named and laid out as TF flowers publishes it: ``good`` decodable JPEGs and
    ``bad`` cut ones, spread over the classes."""
    folder.mkdir()
    files = {f"flower_photos/{FLOWERS[i % 5]}/{i}.jpg": _jpeg((i % 255, 90, 30)) for i in range(good)}
    files.update({f"flower_photos/{FLOWERS[i % 5]}/cut{i}.jpg": _jpeg("red")[:40] for i in range(bad)})
    os.replace(_tar(folder, files), folder / "flower_photos.tgz")


@pytest.mark.slow
def test_executor_checks_files_on_the_workers_and_skips_a_few_bad_ones(tmp_path, data_dir):
    _flowers_like(tmp_path / "input", good=150, bad=1)
    splits = _run_executor(data_dir, "flowers", tmp_path, num_shards=2, max_examples=0, input_base=tmp_path / "input")
    records = splits["train"][1] + splits["eval"][1]
    assert len(records) == 150  # the cut JPEG is skipped (1 in 151 is under the 1% rule)
    assert all(tf.io.decode_jpeg(_value(r, "image")).shape == (8, 8, 3) for r in records)


@pytest.mark.slow
def test_executor_stops_when_too_many_files_are_bad_and_names_them(tmp_path, data_dir):
    _flowers_like(tmp_path / "input", good=20, bad=3)
    with pytest.raises(Exception, match=r"3 of 23 files are bad .*flower_photos/\w+/cut0.jpg: not a decodable image"):
        _run_executor(data_dir, "flowers", tmp_path, num_shards=2, max_examples=0, input_base=tmp_path / "input")
