"""Train and evaluate a spec's model outside TFX, on rows in memory.

The same preprocessing_fn (run by tf.Transform's Beam implementation), model builder and
fit loop as the pipeline's Transform and Trainer: the benchmark's cross-validation and the
unit tests use this, so they measure the code the pipeline runs.
"""
from __future__ import annotations

import tempfile
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
import tf_keras as keras
from sklearn.metrics import roc_auc_score
from tensorflow_transform.tf_metadata import dataset_metadata

from tfxp_contract.dataset_spec import DatasetSpec, RawValue
from tfxp_contract.names import LABEL_KEY
from trainers import models, train
from transforms.autograph import skip_autograph_for_libraries
from transforms.common import raw_feature_spec
from transforms.tabular import model_inputs, transform_tabular


def _instances(spec: DatasetSpec, rows: Sequence[dict[str, RawValue]]) -> list[dict]:
    names = raw_feature_spec(spec)
    return [{name: [] if row.get(name) is None else [row[name]] for name in names} for row in rows]


def transform_rows(spec: DatasetSpec, train_rows, eval_rows, work_dir: str):
    """Analyzes the training rows, transforms both sets; returns (train, eval, TFTransformOutput)."""
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(raw_feature_spec(spec))
    with tft_beam.Context(temp_dir=f"{work_dir}/tmp", force_tf_compat_v1=False):
        (train_out, _), transform_fn = (
            (_instances(spec, train_rows), metadata)
            | tft_beam.AnalyzeAndTransformDataset(lambda inputs: transform_tabular(inputs, spec)))
        eval_out, _ = ((_instances(spec, eval_rows), metadata), transform_fn) | tft_beam.TransformDataset()
        _ = transform_fn | tft_beam.WriteTransformFn(f"{work_dir}/transform")
    return train_out, eval_out, tft.TFTransformOutput(f"{work_dir}/transform")


def _dataset(instances: list[dict], batch_size: int, shuffle: bool, seed: int = 0) -> tf.data.Dataset:
    columns = {k: np.stack([np.asarray(i[k]) for i in instances]) for k in instances[0]}
    labels = columns.pop(LABEL_KEY)
    dataset = tf.data.Dataset.from_tensor_slices((columns, labels))
    if shuffle:
        dataset = dataset.shuffle(len(instances), seed=seed)
    return dataset.batch(batch_size)


def train_and_evaluate(spec: DatasetSpec, train_rows, eval_rows, hyperparameters: Optional[dict] = None,
                       seed: int = 0, verbose: int = 0) -> dict:
    """Fits the spec's model on ``train_rows``; returns accuracy (and AUC if binary) on ``eval_rows``."""
    skip_autograph_for_libraries()
    model_args, batch_size, epochs, _ = train.training_settings(spec.model.hyperparameters, hyperparameters)
    with tempfile.TemporaryDirectory() as work_dir:
        train_set, eval_set, transform_output = transform_rows(spec, train_rows, eval_rows, work_dir)
        layout = model_inputs(spec, transform_output.vocabulary_size_by_name)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = models.build_model(spec.model.family, layout, spec.num_classes, model_args)
    train.fit(model, _dataset(train_set, batch_size, shuffle=True, seed=seed), None,
              epochs=epochs, verbose=verbose)
    probabilities = model.predict(_dataset(eval_set, 256, shuffle=False), verbose=0)
    labels = np.array([i[LABEL_KEY] for i in eval_set])
    result = {"accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)), "model": model}
    if spec.num_classes == 2:
        result["auc"] = float(roc_auc_score(labels, probabilities[:, 1]))
    return result
