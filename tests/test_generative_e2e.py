"""Generative models through the one factory (LocalDagRunner, real Fashion-MNIST slices): a VAE
(of images without labels) and a GAN are ingested, transformed, trained, evaluated
(GenerativeEvaluator), checked in a fresh process and pushed; a generator that does not learn is
stopped by class coverage."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from components.ingest.workers.idx_records import read_pairs
from components.serving.serving_check import WARMUP_FILE
from pipelines.local_run import LocalRun
from tests.helpers import builtin_spec_dict, tfxp_here, unlabelled_vae_dict, write_spec
from tests.pipeline_checks import run_pipeline, serving_versions
from tfxp_contract.names import GENERATIVE_EVALUATION_FILE, REPORT_DIR, REPORT_FILE, SUMMARY_FILE
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

pytestmark = pytest.mark.e2e

SLICE = 1000  # images per published split


def _run(tmp_path, data_dir, raw: dict, file: str, distribution=None, **hyperparameters) -> LocalRun:
    raw = {**raw, "generative_samples": 300}
    run = LocalRun(dataset=str(write_spec(tmp_path, raw, file)), data_dir=str(data_dir),
                   output_dir=str(tmp_path / "out"), max_examples=SLICE, num_shards=2,
                   hyperparameters={"epochs": 3, **hyperparameters}, distribution=distribution or {})
    run_pipeline(run)
    return run


def _report(run) -> tuple[dict, str]:
    evaluation = newest_artifact_uri(run.metadata_path, "ModelEvaluation", run.name)
    with open(os.path.join(evaluation, GENERATIVE_EVALUATION_FILE)) as f:
        result = json.load(f)
    with open(os.path.join(evaluation, REPORT_DIR, REPORT_FILE)) as f:
        page = f.read()
    assert os.path.exists(os.path.join(evaluation, REPORT_DIR, SUMMARY_FILE))
    return result, page


def _raw_test_images(data_dir, count: int) -> list[bytes]:
    from components.ingest.idx_example_gen import to_example
    folder = data_dir / "fashion_mnist"
    pairs = read_pairs(str(folder / "t10k-images-idx3-ubyte.gz"), None, limit=count)
    return [to_example(pixels, label).features.feature["image"].bytes_list.value[0] for _, pixels, label in pairs]


def _warmup_request(version_dir: str):
    from tensorflow_serving.apis import prediction_log_pb2
    [record] = list(tf.data.TFRecordDataset(os.path.join(version_dir, WARMUP_FILE)))
    return prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request


def test_vae_without_a_label_is_measured_by_the_pushed_classifier_and_serves_generate_encode_decode(
        tmp_path, data_dir):
    """Images only (no label column, no labels files): the evaluation's feature space and classes
    come from the fashion_mnist classifier this product pushed earlier into the same output folder."""
    classifier_spec = {**builtin_spec_dict("fashion_mnist"), "metrics": [{"name": "accuracy", "lower_bound": 0.5}]}
    classifier = LocalRun(dataset=str(write_spec(tmp_path, classifier_spec, "classifier.yaml")),
                          data_dir=str(data_dir), output_dir=str(tmp_path / "out"), max_examples=SLICE,
                          num_shards=2, hyperparameters={"epochs": 5, "batch_size": 32})
    run_pipeline(classifier)
    [pushed] = serving_versions(classifier.serving_root)
    assert "image_features" in tf.saved_model.load(os.path.join(classifier.serving_root, pushed)).signatures

    raw = unlabelled_vae_dict()
    raw["metrics"] = [{"name": "negative_elbo", "upper_bound": 700}, {"name": "frechet_distance", "upper_bound": 1000},
                      {"name": "min_class_share", "lower_bound": 0.0}]  # bounds for a 3-epoch slice
    run = _run(tmp_path, data_dir, raw, "vae.yaml")
    outcome = latest_outcome(run.metadata_path, run.name)
    assert outcome.blessed and outcome.pushed, outcome.summary()
    assert outcome.serving_check.startswith("passed: 32 samples generated")

    result, page = _report(run)
    metrics = result["metrics"]
    assert 150 < metrics["negative_elbo"] < 700  # per image: 784 pixels' BCE + KL
    assert metrics["negative_elbo"] == pytest.approx(metrics["reconstruction"] + metrics["kl"], rel=1e-4)
    assert sum(metrics["class_shares"]) == pytest.approx(1.0) and len(metrics["class_shares"]) == 10
    assert result["classifier"]["source"] == (
        f"the classifier pushed to {os.path.join(classifier.serving_root, pushed)}")
    assert result["class_names"][0] == "T-shirt/top" and result["classifier"]["held_out_accuracy"] is None
    assert result["held_out_images"] == 300  # as many as samples generated
    assert len(result["latent"]["points"]) == 300 and result["latent"]["labels"] is None
    for section in ("Samples", "Reconstructions", "Class coverage", "Latent space", "Training curves"):
        assert section in page
    assert "Classifier: the classifier pushed to" in page and page.count("data:image/png;base64,") >= 5
    width = result["classifier"]["feature_width"]  # the served image_features signature's layer
    assert width >= 10 and f"read from ({width} features)." in page

    [version] = serving_versions(run.serving_root)
    served = tf.saved_model.load(os.path.join(run.serving_root, version))
    generated = served.signatures["generate"](count=tf.constant(4), seed=tf.constant(3))
    again = served.signatures["serving_default"](count=tf.constant(4), seed=tf.constant(3))
    assert generated["images"].shape == (4, 28, 28, 1) and np.array_equal(generated["images"], again["images"])
    assert tf.io.decode_png(generated["png"][0]).shape == (28, 28, 1)
    raw_images = _raw_test_images(data_dir, 5)
    latent = served.signatures["encode"](images=tf.constant(raw_images))["latent_mean"]
    assert latent.shape == (5, 8)  # the spec's latent_dim
    decoded = served.signatures["decode"](latent=latent)
    assert decoded["images"].shape == (5, 28, 28, 1) and len(decoded["png"].numpy()) == 5
    request = _warmup_request(os.path.join(run.serving_root, version))
    assert request.model_spec.signature_name == "generate" and tf.make_ndarray(request.inputs["count"]) == 32

    # `tfxp generate`: PNG files from the newest served version, the same for the same seed
    def generate(folder, seed):
        done = tfxp_here("generate", tmp_path / "vae.yaml", "--count", "5", "--seed", seed, "--out", tmp_path / folder,
                         "--output-dir", run.output_dir)
        assert done.returncode == 0, done.stderr[-3000:]
        return [p.read_bytes() for p in sorted((tmp_path / folder).glob("*.png"))]
    first, same, other = generate("a", 1), generate("b", 1), generate("c", 2)
    assert len(first) == 5 and first == same and first != other
    assert tf.io.decode_png(first[0]).shape == (28, 28, 1)


def test_gan_is_blessed_and_a_generator_that_does_not_learn_is_stopped_by_coverage(tmp_path, data_dir):
    """The GAN trains on a real 2-process MultiWorkerMirroredStrategy cluster (its two optimizers
    and alternating steps in its own train_step)."""
    raw = builtin_spec_dict("fashion_mnist_gan")
    raw["metrics"] = [{"name": "frechet_distance", "upper_bound": 1000}, {"name": "min_class_share", "lower_bound": 0.0}]
    raw["change_tolerance"] = 1.0  # this test is about the bounds, not the comparison
    run = _run(tmp_path, data_dir, raw, "gan.yaml", distribution={"strategy": "multi_worker", "local_workers": 2})
    outcome = latest_outcome(run.metadata_path, run.name)
    assert outcome.blessed and outcome.pushed, outcome.summary()
    # no fashion_mnist classifier pushed in this output folder: one is trained on the label
    result, _ = _report(run)
    assert result["classifier"]["source"].startswith("trained in this evaluation")
    assert result["classifier"]["instead_of_pushed"].startswith("no classifier has been pushed to")
    assert result["classifier"]["training_images"] == SLICE and result["classifier"]["held_out_accuracy"] > 0.5
    model_run = newest_artifact_uri(run.metadata_path, "ModelRun", run.name)
    with open(os.path.join(model_run, "training_summary.json")) as f:
        summary = json.load(f)
    assert (summary["strategy"], summary["workers"], summary["replicas"]) == ("multi_worker", 2, 2)
    assert set(summary["history"]) >= {"d_loss", "g_loss"}
    for index in (0, 1):
        with open(os.path.join(model_run, "workers", f"worker-{index}.log")) as f:
            assert f"worker {index}: model gan" in f.read()
    [version] = serving_versions(run.serving_root)
    served = tf.saved_model.load(os.path.join(run.serving_root, version))
    assert set(served.signatures) >= {"generate", "serving_default"} and "encode" not in served.signatures
    assert served.signatures["generate"](count=tf.constant(2), seed=tf.constant(0))["images"].shape == (2, 28, 28, 1)

    # The same pipeline with a generator that never moves from its initial weights: its samples
    # are one blur, which the classifier puts in a single class.
    raw["metrics"][1]["lower_bound"] = 0.001
    broken = _run(tmp_path, data_dir, raw, "gan.yaml", generator_learning_rate=0.0)
    outcome = latest_outcome(broken.metadata_path, broken.name)
    assert not outcome.blessed and not outcome.pushed, outcome.summary()
    assert any(f.startswith("min_class_share = 0.0000, below the bound 0.0010") for f in outcome.failures)
    result, page = _report(broken)
    assert max(result["metrics"]["class_shares"]) == 1.0  # every sample in one class
    assert result["baseline"] is not None  # the blessed GAN, measured in the same run
    assert "NOT BLESSED" in page
    assert serving_versions(run.serving_root) == [version]  # the blessed GAN stays served
