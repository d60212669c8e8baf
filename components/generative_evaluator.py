"""The Evaluator of generative models (task: generative), in the classifier Evaluator's place:
it measures the candidate and the last blessed model side by side on the same held-out images
and writes the same ModelBlessing artifact the Pusher and the resolver read.

Metrics (``components.generative_metrics``): for a VAE, the mean negative ELBO per held-out
image (the model's ``negative_elbo`` signature: the course's reconstruction + KL); for both
families, the Fréchet distance between held-out images and ``generative_samples`` generated
ones in the feature space of a Fashion-MNIST-style classifier, and class coverage (the share of
samples the classifier puts in each class). The classifier is trained here, on up to
``CLASSIFIER_IMAGES`` training images through the candidate's own transform (a small CNN, a
fixed seed), and both models are measured with it, so their numbers compare; the report says
which classifier was used and its held-out accuracy.

Beside the blessing: ``generative_evaluation.json`` (metrics, checks, verdict, coverage,
classifier, latent points of a VAE) and PNG grids (samples; a VAE's reconstructions) in the
evaluation artifact, which the run report shows.
"""

import json
import os
from typing import Optional

import numpy as np
import tensorflow as tf
import tf_keras as keras
from absl import logging
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.io import fileio
from tfx.types.standard_artifacts import Examples, Model, ModelBlessing, ModelEvaluation
from tfx.utils import io_utils, path_utils

from components.generative_metrics import check, class_shares, frechet_distance, verdict
from tfxp_contract.dataset_spec import GENERATIVE_METRICS, DatasetSpec, spec_from_json
from tfxp_contract.names import (
    DECODE_SIGNATURE,
    ELBO_SIGNATURE,
    ENCODE_SIGNATURE,
    GENERATE_SIGNATURE,
    GENERATIVE_EVALUATION_FILE,
    LABEL_KEY,
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


def transformed(model, examples: list[bytes], image_key: str) -> tuple[np.ndarray, np.ndarray]:
    """(pixels [n, h, w, c], label indices [n]) through the model's own transform."""
    transform = model.signatures[TRANSFORM_SIGNATURE]
    images, labels = [], []
    for start in range(0, len(examples), BATCH):
        out = transform(examples=tf.constant(examples[start:start + BATCH]))
        images.append(out[image_key].numpy())
        labels.append(out[LABEL_KEY].numpy().reshape(-1))
    return np.concatenate(images), np.concatenate(labels)


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


def _classify(classifier: keras.Model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features, probabilities = classifier.predict(images, batch_size=BATCH, verbose=0)
    return features, probabilities.argmax(axis=1)


def generated(model, count: int) -> np.ndarray:
    """``count`` samples from the model's ``generate`` signature, seeded per batch."""
    generate = model.signatures[GENERATE_SIGNATURE]
    batches = [generate(count=tf.constant(min(BATCH, count - start)), seed=tf.constant(SEED + i))["images"].numpy()
               for i, start in enumerate(range(0, count, BATCH))]
    return np.concatenate(batches)


def measure(model, eval_examples: list[bytes], real_features: np.ndarray, classifier: keras.Model,
            num_classes: int, samples: int) -> tuple[dict, np.ndarray]:
    """The model's metrics, and its samples."""
    fake = generated(model, samples)
    fake_features, fake_classes = _classify(classifier, fake)
    shares = class_shares(fake_classes, num_classes)
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


def vae_views(model, eval_examples: list[bytes], labels: np.ndarray, image_key: str, folder: str) -> dict:
    """A VAE's reconstructions (first row originals, second row decoded means) and its latent
    means of held-out images, 2-D (the first two principal axes when the latent is wider)."""
    encode, decode = model.signatures[ENCODE_SIGNATURE], model.signatures[DECODE_SIGNATURE]
    picks = [int(np.flatnonzero(labels == k)[0]) for k in np.unique(labels)][:10]
    originals = transformed(model, [eval_examples[i] for i in picks], image_key)[0]
    means = encode(images=tf.constant(_raw_images([eval_examples[i] for i in picks], image_key)))["latent_mean"]
    decoded = decode(latent=means)["images"].numpy()
    views = {"reconstructions": _write(folder, "reconstructions.png",
                                       _grid(np.concatenate([originals, decoded]), len(picks)))}
    subset = eval_examples[:LATENT_POINTS]
    latent = np.concatenate([encode(images=tf.constant(_raw_images(subset[s:s + BATCH], image_key)))["latent_mean"]
                             .numpy() for s in range(0, len(subset), BATCH)])
    projection = "latent dimensions 1 and 2"
    if latent.shape[1] > 2:
        centred = latent - latent.mean(0)
        latent = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
        projection = f"first two principal axes of the {centred.shape[1]}-D latent means"
    views["latent"] = {"points": latent.round(4).tolist(), "labels": labels[:len(subset)].tolist(),
                       "projection": projection}
    return views


def evaluate(spec: DatasetSpec, examples_uri: str, model_dir: str, baseline_dir: Optional[str],
             folder: str) -> dict:
    """Everything the blessing and the report need; PNGs written into ``folder``."""
    [image_key] = [c.name for c in spec.feature_columns]
    candidate = tf.saved_model.load(model_dir)
    train_images, train_labels = transformed(candidate, read_examples(examples_uri, "train", CLASSIFIER_IMAGES),
                                             image_key)
    eval_examples = read_examples(examples_uri, "eval", spec.generative_samples)
    eval_images, eval_labels = transformed(candidate, eval_examples, image_key)
    logging.info("GenerativeEvaluator: classifier on %d training images, %d held-out images, %d samples",
                 len(train_images), len(eval_images), spec.generative_samples)
    classifier = train_classifier(train_images, train_labels, spec.num_classes)
    real_features, real_classes = _classify(classifier, eval_images)
    metrics, samples = measure(candidate, eval_examples, real_features, classifier, spec.num_classes,
                               spec.generative_samples)
    baseline = None
    if baseline_dir:
        baseline, _ = measure(tf.saved_model.load(baseline_dir), eval_examples, real_features, classifier,
                              spec.num_classes, spec.generative_samples)
    checks = [check(t.name, metrics.get(t.name), GENERATIVE_METRICS[t.name],
                    t.upper_bound if GENERATIVE_METRICS[t.name] else t.lower_bound,
                    None if baseline is None else baseline.get(t.name), spec.change_tolerance) for t in spec.metrics]
    result = {
        "blessed": all(c.passed for c in checks), "verdict": verdict(checks, baseline is not None),
        "checks": [c.to_dict() for c in checks], "metrics": metrics, "baseline": baseline,
        "class_names": list(spec.label.names), "held_out_images": len(eval_images),
        "samples": spec.generative_samples,
        "classifier": {"source": "trained in this evaluation (small CNN, fixed seed)",
                       "training_images": len(train_images), "epochs": CLASSIFIER_EPOCHS,
                       "held_out_accuracy": float(np.mean(real_classes == eval_labels)),
                       # what it makes of real images: the coverage a perfect generator would get
                       "held_out_class_shares": [float(x) for x in class_shares(real_classes, spec.num_classes)]},
        "images": {"samples": _write(folder, "samples.png", _grid(samples[:GRID * GRID], GRID))},
    }
    if DECODE_SIGNATURE in candidate.signatures:
        views = vae_views(candidate, eval_examples, eval_labels, image_key, folder)
        result["images"]["reconstructions"] = views.pop("reconstructions")
        result.update(views)
    return result


@component
def GenerativeEvaluator(examples: InputArtifact[Examples], model: InputArtifact[Model],
                        evaluation: OutputArtifact[ModelEvaluation], blessing: OutputArtifact[ModelBlessing],
                        spec_json: Parameter[str], baseline_model: InputArtifact[Model] = None,
                        code_version: Parameter[str] = "") -> None:
    """Blesses a generative model on the spec's bounds and the last blessed model (``code_version``:
    cache key only)."""
    spec = spec_from_json(spec_json)
    fileio.makedirs(evaluation.uri)
    result = evaluate(spec, examples.uri, path_utils.serving_model_path(model.uri),
                      path_utils.serving_model_path(baseline_model.uri) if baseline_model else None, evaluation.uri)
    _write(evaluation.uri, GENERATIVE_EVALUATION_FILE, json.dumps(result, indent=1))
    logging.info("GenerativeEvaluator: %s", result["verdict"])
    # The properties TFX's Evaluator sets: LatestBlessedModelStrategy and the Pusher read them.
    blessing.set_string_custom_property("current_model", model.uri)
    blessing.set_int_custom_property("current_model_id", model.id)
    if baseline_model:
        blessing.set_string_custom_property("baseline_model", baseline_model.uri)
        blessing.set_int_custom_property("baseline_model_id", baseline_model.id)
    blessing.set_int_custom_property("blessed", int(result["blessed"]))
    io_utils.write_string_file(os.path.join(blessing.uri, "BLESSED" if result["blessed"] else "NOT_BLESSED"), "")
