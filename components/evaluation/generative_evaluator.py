"""The Evaluator of generative models (task: generative), in the classifier Evaluator's place:
it measures the candidate and the last blessed model side by side on the same held-out images
and writes the same ModelBlessing artifact the Pusher and the resolver read.

Metrics (``components.evaluation.generative_metrics``): for a VAE, the mean negative ELBO per held-out
image (the model's ``negative_elbo`` signature: the course's reconstruction + KL); for both
families, the Fréchet distance between held-out images and ``generative_samples`` generated
ones in the feature space of an image classifier, and class coverage (the share of samples the
classifier puts in each class). The classifier is the newest one pushed by the pipeline of the
spec's ``evaluation_classifier`` (its ``image_features`` signature) when there is one; otherwise
one trained here on the spec's label, on up to ``CLASSIFIER_IMAGES`` training images through
the candidate's own transform (a small CNN, a fixed seed). Without either (no label, nothing
pushed) those two metrics cannot be measured and a threshold on them fails with that reason.
Both models are measured with the same classifier, so their numbers compare; the report says
which classifier was used and its held-out accuracy.

Beside the blessing: ``generative_evaluation.json`` (metrics, checks, verdict, coverage,
classifier, latent points of a VAE) and PNG grids (samples; a VAE's reconstructions) in the
evaluation artifact, which the run report shows.
"""

import json
import os
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import tensorflow as tf
import tf_keras as keras
from absl import logging
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.io import fileio
from tfx.types.standard_artifacts import Examples, Model, ModelBlessing, ModelEvaluation
from tfx.utils import io_utils, path_utils

from components.evaluation.generative_metrics import check, class_shares, frechet_distance, verdict
from components.evaluation.served_baseline import SERVED_VERSION, served_version
from components.ingest.workers.record_encoding import png_batch
from components.serving.atomic_pusher import served_versions
from tfxp_contract.dataset_spec import GENERATIVE_METRICS, DatasetSpec, spec_from_json
from tfxp_contract.names import (
    DECODE_SIGNATURE,
    ELBO_SIGNATURE,
    ENCODE_SIGNATURE,
    GENERATE_SIGNATURE,
    GENERATIVE_EVALUATION_FILE,
    IMAGE_FEATURES_SIGNATURE,
    LABEL_KEY,
    PROBABILITIES,
    TRANSFORM_SIGNATURE,
)

CLASSIFIER_IMAGES = 60_000
CLASSIFIER_EPOCHS = 5
BATCH = 500
SEED = 0
GRID = 8  # samples.png: GRID x GRID samples
LATENT_POINTS = 2000


def read_examples(examples_uri: str, split: str, limit: int) -> list[bytes]:
    """The first ``limit`` serialized examples of a split (files in name order)."""
    files = sorted(fileio.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit)]


def transformed(model, examples: list[bytes], image_key: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """(pixels [n, h, w, c], label indices [n] or None without a label) through the model's own
    transform."""
    transform = model.signatures[TRANSFORM_SIGNATURE]
    images, labels = [], []
    for start in range(0, len(examples), BATCH):
        out = transform(examples=tf.constant(examples[start:start + BATCH]))
        images.append(out[image_key].numpy())
        if LABEL_KEY in out:
            labels.append(out[LABEL_KEY].numpy().reshape(-1))
    return np.concatenate(images), np.concatenate(labels) if labels else None


def train_classifier(images: np.ndarray, labels: np.ndarray, num_classes: int) -> keras.Model:
    """A small CNN whose 128-wide ``features`` layer is the space the Fréchet distance uses;
    outputs (features, class probabilities)."""
    keras.utils.set_random_seed(SEED)
    inputs = keras.Input(images.shape[1:])
    x = inputs
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    features = keras.layers.Dense(128, activation="relu", name="features")(keras.layers.Flatten()(x))
    probabilities = keras.layers.Dense(num_classes, activation="softmax")(features)
    training = keras.Model(inputs, probabilities)
    training.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(), ["accuracy"])
    training.fit(images, labels, batch_size=128, epochs=CLASSIFIER_EPOCHS, verbose=0)
    return keras.Model(inputs, [features, probabilities])


@dataclass
class Classifier:
    """What samples and real images are measured with: ``embed`` takes pixels [n, h, w, c] in
    [0, 1] to (feature vectors [n, d], class ids [n])."""
    embed: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    class_names: list[str]
    about: dict  # for the report: its source, and how it was trained when it was trained here


def trained_classifier(images: np.ndarray, labels: np.ndarray, class_names: list[str]) -> Classifier:
    model = train_classifier(images, labels, len(class_names))

    def embed(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, probabilities = model.predict(pixels, batch_size=BATCH, verbose=0)
        return features, probabilities.argmax(axis=1)
    return Classifier(embed, class_names, {"source": "trained in this evaluation (small CNN, fixed seed)",
                                           "training_images": len(images), "epochs": CLASSIFIER_EPOCHS})


def pushed_classifier(serving_root: str, probe: np.ndarray) -> tuple[Optional[Classifier], str]:
    """The newest complete version under ``serving_root`` as a Classifier, or (None, why not);
    ``probe``: a real image [1, h, w, c] it is first asked about."""
    versions = served_versions(serving_root) if serving_root else []
    if not versions:
        return None, f"no classifier has been pushed to {serving_root}"
    path = os.path.join(serving_root, str(versions[-1]))
    served = tf.saved_model.load(path)
    if IMAGE_FEATURES_SIGNATURE not in served.signatures:
        return None, f"the classifier at {path} has no {IMAGE_FEATURES_SIGNATURE} signature (pushed by an older version)"
    signature = served.signatures[IMAGE_FEATURES_SIGNATURE]

    def embed(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, classes = [], []
        for start in range(0, len(pixels), BATCH):
            out = signature(images=png_bytes(pixels[start:start + BATCH]))
            features.append(out["features"].numpy())
            classes.append(out[PROBABILITIES].numpy().argmax(axis=1))
        return np.concatenate(features), np.concatenate(classes)
    names = signature(images=png_bytes(probe[:1]))["class_names"].numpy()
    return Classifier(embed, [n.decode() for n in names], {"source": f"the classifier pushed to {path}"}), ""


def png_bytes(pixels: np.ndarray) -> tf.Tensor:
    """Pixels [n, h, w, c] in [0, 1] as the PNG bytes a client would send (exact for 8-bit images)."""
    return tf.constant(png_batch(np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)))


def generated(model, count: int) -> np.ndarray:
    """``count`` samples from the model's ``generate`` signature, seeded per batch."""
    generate = model.signatures[GENERATE_SIGNATURE]
    batches = [generate(count=tf.constant(min(BATCH, count - start)), seed=tf.constant(SEED + i))["images"].numpy()
               for i, start in enumerate(range(0, count, BATCH))]
    return np.concatenate(batches)


def measure(model, eval_examples: list[bytes], real_features: Optional[np.ndarray],
            classifier: Optional[Classifier], samples: int) -> tuple[dict, np.ndarray]:
    """The model's metrics, and its samples."""
    fake = generated(model, samples)
    metrics = {}
    if classifier is not None:
        fake_features, fake_classes = classifier.embed(fake)
        shares = class_shares(fake_classes, len(classifier.class_names))
        metrics = {"frechet_distance": frechet_distance(real_features, fake_features),
                   "min_class_share": float(shares.min()), "class_shares": [float(s) for s in shares]}
    if ELBO_SIGNATURE in model.signatures:
        elbo = model.signatures[ELBO_SIGNATURE]
        parts = {"negative_elbo": [], "reconstruction": [], "kl": []}
        for start in range(0, len(eval_examples), BATCH):
            out = elbo(examples=tf.constant(eval_examples[start:start + BATCH]))
            for name in parts:
                parts[name].append(out[name].numpy())
        metrics.update({name: float(np.concatenate(values).mean()) for name, values in parts.items()})
    return metrics, fake


def _grid(images: np.ndarray, columns: int) -> bytes:
    """Images [n, h, w, c] in [0, 1] tiled in rows of ``columns`` -> PNG bytes."""
    n, h, w, c = images.shape
    rows = -(-n // columns)
    canvas = np.ones((rows * (h + 2), columns * (w + 2), c), np.float32)
    for i, image in enumerate(images):
        r, k = divmod(i, columns)
        canvas[r * (h + 2) + 1:r * (h + 2) + 1 + h, k * (w + 2) + 1:k * (w + 2) + 1 + w] = image
    return tf.io.encode_png(tf.cast(np.round(canvas * 255), tf.uint8)).numpy()


def _write(folder: str, name: str, data) -> str:
    path = os.path.join(folder, name)
    with fileio.open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return name


def _raw_images(examples: list[bytes], image_key: str) -> list[bytes]:
    return [tf.train.Example.FromString(e).features.feature[image_key].bytes_list.value[0] for e in examples]


def vae_views(model, eval_examples: list[bytes], eval_images: np.ndarray, labels: Optional[np.ndarray],
              image_key: str, folder: str) -> dict:
    """A VAE's reconstructions (first row originals, one per class when there are labels, second
    row decoded means) and its latent means of held-out images, 2-D (the first two principal
    axes when the latent is wider)."""
    encode, decode = model.signatures[ENCODE_SIGNATURE], model.signatures[DECODE_SIGNATURE]
    picks = (list(range(min(10, len(eval_examples)))) if labels is None
             else [int(np.flatnonzero(labels == k)[0]) for k in np.unique(labels)][:10])
    means = encode(images=tf.constant(_raw_images([eval_examples[i] for i in picks], image_key)))["latent_mean"]
    decoded = decode(latent=means)["images"].numpy()
    views = {"reconstructions": _write(folder, "reconstructions.png",
                                       _grid(np.concatenate([eval_images[picks], decoded]), len(picks)))}
    subset = eval_examples[:LATENT_POINTS]
    latent = np.concatenate([encode(images=tf.constant(_raw_images(subset[s:s + BATCH], image_key)))["latent_mean"]
                             .numpy() for s in range(0, len(subset), BATCH)])
    projection = "latent dimensions 1 and 2"
    if latent.shape[1] > 2:
        centred = latent - latent.mean(0)
        latent = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
        projection = f"first two principal axes of the {centred.shape[1]}-D latent means"
    views["latent"] = {"points": latent.round(4).tolist(),
                       "labels": None if labels is None else labels[:len(subset)].tolist(), "projection": projection}
    return views


def choose_classifier(spec: DatasetSpec, candidate, examples_uri: str, eval_images: np.ndarray,
                      classifier_serving_root: str, image_key: str) -> tuple[Optional[Classifier], str]:
    """The pushed classifier of ``spec.evaluation_classifier`` if there is one, else one trained
    here on the label; (None, why) when neither can be had."""
    classifier, why = pushed_classifier(classifier_serving_root, eval_images) if spec.evaluation_classifier \
        else (None, "no evaluation_classifier in the spec")
    if classifier is not None:
        return classifier, ""
    if spec.label is None:
        return None, f"{why}, and without a label none can be trained here"
    logging.info("GenerativeEvaluator: %s; training one on the label", why)
    train_images, train_labels = transformed(candidate, read_examples(examples_uri, "train", CLASSIFIER_IMAGES),
                                             image_key)
    classifier = trained_classifier(train_images, train_labels, list(spec.label.names))
    classifier.about["instead_of_pushed"] = why if spec.evaluation_classifier else ""
    return classifier, ""


def evaluate(spec: DatasetSpec, examples_uri: str, model_dir: str, baseline_dir: Optional[str],
             folder: str, classifier_serving_root: str = "") -> dict:
    """Everything the blessing and the report need; PNGs written into ``folder``."""
    [image_key] = [c.name for c in spec.feature_columns]
    candidate = tf.saved_model.load(model_dir)
    eval_examples = read_examples(examples_uri, "eval", spec.generative_samples)
    eval_images, eval_labels = transformed(candidate, eval_examples, image_key)
    classifier, unmeasured = choose_classifier(spec, candidate, examples_uri, eval_images, classifier_serving_root,
                                               image_key)
    logging.info("GenerativeEvaluator: %d held-out images, %d samples; classifier: %s", len(eval_images),
                 spec.generative_samples, classifier.about["source"] if classifier else unmeasured)
    real_features, real_classes = classifier.embed(eval_images) if classifier else (None, None)
    metrics, samples = measure(candidate, eval_examples, real_features, classifier, spec.generative_samples)
    baseline = None
    if baseline_dir:
        baseline, _ = measure(tf.saved_model.load(baseline_dir), eval_examples, real_features, classifier,
                              spec.generative_samples)
    checks = [check(t.name, metrics.get(t.name), GENERATIVE_METRICS[t.name],
                    t.upper_bound if GENERATIVE_METRICS[t.name] else t.lower_bound,
                    None if baseline is None else baseline.get(t.name), spec.change_tolerance) for t in spec.metrics]
    for c in checks:
        if c.value is None and unmeasured:
            c.failure += f" ({unmeasured})"
    about = None
    if classifier:
        names_match = spec.label is not None and list(spec.label.names) == classifier.class_names
        about = {**classifier.about, "feature_width": int(real_features.shape[1]),
                 "held_out_accuracy": float(np.mean(real_classes == eval_labels)) if names_match else None,
                 # what it makes of real images: the coverage a perfect generator would get
                 "held_out_class_shares": [float(x) for x in class_shares(real_classes, len(classifier.class_names))]}
    result = {
        "blessed": all(c.passed for c in checks), "verdict": verdict(checks, baseline is not None),
        "checks": [c.to_dict() for c in checks], "metrics": metrics, "baseline": baseline,
        "class_names": classifier.class_names if classifier else [], "held_out_images": len(eval_images),
        "samples": spec.generative_samples, "classifier": about, "unmeasured": unmeasured,
        "images": {"samples": _write(folder, "samples.png", _grid(samples[:GRID * GRID], GRID))},
    }
    if DECODE_SIGNATURE in candidate.signatures:
        views = vae_views(candidate, eval_examples, eval_images, eval_labels, image_key, folder)
        result["images"]["reconstructions"] = views.pop("reconstructions")
        result.update(views)
    return result


@component
def GenerativeEvaluator(examples: InputArtifact[Examples], model: InputArtifact[Model],
                        evaluation: OutputArtifact[ModelEvaluation], blessing: OutputArtifact[ModelBlessing],
                        spec_json: Parameter[str], baseline_model: InputArtifact[Model] = None,
                        classifier_serving_root: Parameter[str] = "", code_version: Parameter[str] = "") -> None:
    """Blesses a generative model on the spec's bounds and the model served now (``baseline_model``)
    (``classifier_serving_root``: where the spec's evaluation_classifier is pushed;
    ``code_version``: cache key only)."""
    spec = spec_from_json(spec_json)
    fileio.makedirs(evaluation.uri)
    if baseline_model and not served_version(baseline_model):
        baseline_model = None  # nothing was served: the first run has no baseline
    result = evaluate(spec, examples.uri, path_utils.serving_model_path(model.uri),
                      path_utils.serving_model_path(baseline_model.uri) if baseline_model else None, evaluation.uri,
                      classifier_serving_root)
    _write(evaluation.uri, GENERATIVE_EVALUATION_FILE, json.dumps(result, indent=1))
    logging.info("GenerativeEvaluator: %s", result["verdict"])
    # The properties TFX's Evaluator sets (the Pusher reads the blessing).
    blessing.set_string_custom_property("current_model", model.uri)
    blessing.set_int_custom_property("current_model_id", model.id)
    if baseline_model:
        blessing.set_string_custom_property("baseline_model", baseline_model.uri)
        blessing.set_int_custom_property("baseline_model_id", baseline_model.id)
        blessing.set_string_custom_property(SERVED_VERSION, served_version(baseline_model))
    blessing.set_int_custom_property("blessed", int(result["blessed"]))
    io_utils.write_string_file(os.path.join(blessing.uri, "BLESSED" if result["blessed"] else "NOT_BLESSED"), "")
