"""FilesExampleGen (batch inference on loose files): one example per image or text file, its
content as the served model takes it and its path; bad files named and skipped."""
import os

import pytest
import tensorflow as tf
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs

from components.ingest.file_example_gen import Executor
from components.ingest.formats import inference_example_gen_for
from components.ingest.workers.archive_records import read_archive
from components.ingest.workers.delimited_rows import RawDataError
from tfxp_contract.dataset_spec import load_spec

pytestmark = pytest.mark.slow


def _run(folder, pattern: str, out):
    component = inference_example_gen_for(load_spec("imdb"), str(folder), pattern, {})
    examples = standard_artifacts.Examples()
    examples.uri = str(out / "examples")
    exec_properties = {**component.exec_properties,  # as the component hands them to its executor
                       standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE}
    context = BaseBeamExecutor.Context(beam_pipeline_args=[], tmp_dir=str(out / "tmp"))
    Executor(context).Do({}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties)
    files = fileio.glob(os.path.join(artifact_utils.get_split_uri([examples], "unlabelled"), "*.gz"))
    return [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files, "GZIP")]


def test_text_files_become_one_example_each_and_bad_ones_are_skipped(tmp_path, data_dir):
    reviews = list(read_archive(str(data_dir / "imdb" / "aclImdb_v1.tar.gz"), "text", ["neg", "pos"], (".txt",),
                                split_folder="test", limit=6))
    new = tmp_path / "new"
    new.mkdir()
    for i, review in enumerate(reviews):
        (new / f"review-{i}.txt").write_bytes(review.content)
    (new / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))  # not UTF-8
    (new / "empty.txt").write_text("  \n")
    (new / "notes.md").write_text("not a .txt file: left alone")
    examples = _run(new, "*", tmp_path / "out")
    got = {e.features.feature["source_file"].bytes_list.value[0].decode():
           e.features.feature["review"].bytes_list.value[0] for e in examples}
    assert got == {str(new / f"review-{i}.txt"): r.content for i, r in enumerate(reviews)}
    assert all("label" not in e.features.feature for e in examples)


def test_no_matching_file_names_the_pattern(tmp_path):
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(RawDataError, match=r"no text file matches \(extensions \.txt\)"):
        _run(tmp_path, "*", tmp_path / "out")
