"""TF flowers and IMDB through the same factory, on slices: archive -> examples -> Transform
(decode/resize, or a vocabulary) -> Trainer -> Evaluator -> Pusher; the served models take a
JPEG's bytes or a review's raw text."""
import json

import numpy as np
import pytest
import tensorflow as tf

from components.ingest.workers.archive_records import read_archive
from pipelines.local_run import LocalRun
from tests.helpers import builtin_spec_dict, tfxp_here, write_spec
from tests.pipeline_checks import executions_by_node, run_pipeline, serving_versions
from tfxp_reports.outcome import latest_outcome

pytestmark = pytest.mark.e2e


def _serve(run: LocalRun):
    [version] = serving_versions(run.serving_root)
    return tf.saved_model.load(f"{run.serving_root}/{version}").signatures["serving_default"]


def _examples(feature: str, contents: list) -> tf.Tensor:
    return tf.constant([tf.train.Example(features=tf.train.Features(feature={
        feature: tf.train.Feature(bytes_list=tf.train.BytesList(value=[c]))})).SerializeToString() for c in contents])


@pytest.mark.parametrize("family, hyperparameters", [
    ("cnn", {"filters": [8, 16], "dense_units": 16, "epochs": 2, "batch_size": 16, "translate": 0.1,
             "test_time_flip": True}),
    ("mobilenet_v2", {"weights": "random", "alpha": 0.35, "epochs": 1, "fine_tune_epochs": 1, "batch_size": 16}),
], ids=["cnn-from-scratch", "mobilenet-v2-transfer"])
def test_flowers_slice_serves_jpeg_bytes(tmp_path, data_dir, family, hyperparameters):
    raw = builtin_spec_dict("flowers")
    raw["columns"][0]["shape"] = [96, 96, 3]
    raw["model"] = {"family": family, "hyperparameters": hyperparameters}
    raw["metrics"] = [{"name": "accuracy", "lower_bound": 0.0}]  # a slice and 1-2 epochs: shape, not skill
    run = LocalRun(dataset=str(write_spec(tmp_path, raw, "flowers.yaml")), data_dir=str(data_dir),
                   output_dir=str(tmp_path / "out"), max_examples=150, num_shards=2)
    run_pipeline(run)
    assert latest_outcome(run.metadata_path).pushed
    assert executions_by_node(run.metadata_path, "flowers")["ArchiveExampleGen"][-1].last_known_state == 3

    photos = list(read_archive(str(data_dir / "flowers" / "flower_photos.tgz"), "image",
                               raw["label"]["values"], (".jpg",), limit=10))
    outputs = _serve(run)(examples=_examples("image", [p.content for p in photos]))
    assert outputs["probabilities"].shape == (len(photos), 5)
    np.testing.assert_allclose(outputs["probabilities"].numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert set(outputs["classes"].numpy()) <= {v.encode() for v in raw["label"]["values"]}


def test_imdb_slice_learns_a_vocabulary_and_serves_raw_text(tmp_path, data_dir):
    raw = builtin_spec_dict("imdb")
    raw["columns"][0].update(vocabulary_size=3000, sequence_length=200)  # weighted nb, as the spec's
    raw["model"] = {"family": "text_nb", "hyperparameters": {"epochs": 5, "batch_size": 32, "learning_rate": 0.01}}
    raw["metrics"] = [{"name": "accuracy", "lower_bound": 0.55}]
    run = LocalRun(dataset=str(write_spec(tmp_path, raw, "imdb.yaml")), data_dir=str(data_dir),
                   output_dir=str(tmp_path / "out"), max_examples=1000, num_shards=2)
    run_pipeline(run)
    outcome = latest_outcome(run.metadata_path)
    assert outcome.blessed and outcome.pushed, outcome.summary()

    reviews = list(read_archive(str(data_dir / "imdb" / "aclImdb_v1.tar.gz"), "text", ["neg", "pos"], (".txt",),
                                split_folder="test", limit=200))
    outputs = _serve(run)(examples=_examples("review", [r.content for r in reviews]))  # raw text, no label
    assert outputs["probabilities"].shape == (200, 2) and outputs["classes"].dtype == tf.string
    assert set(outputs["classes"].numpy()) <= {b"negative", b"positive"}
    truth = np.array([r.label == "pos" for r in reviews])
    assert np.mean(outputs["class_ids"].numpy() == truth) > 0.6  # 1,000 training reviews; chance is 50%

    # `tfxp predict` with two sentences, the newest served version found in the output folder.
    sentences = ["A wonderful film, moving and beautifully acted.", "Dull, far too long, and the plot makes no sense."]
    result = tfxp_here("predict", tmp_path / "imdb.yaml", "--output-dir", run.output_dir, "--text", sentences[0],
                       "--text", sentences[1], "--out", tmp_path / "p.json")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads((tmp_path / "p.json").read_text())
    assert [r["input"] for r in rows] == ["text 1", "text 2"]
    direct = _serve(run)(examples=_examples("review", [s.encode() for s in sentences]))["probabilities"].numpy()
    assert np.allclose([[r["p(negative)"], r["p(positive)"]] for r in rows], direct, atol=1e-5)
