"""Fitting a model: shared by the TFX run_fn, the benchmark and the tests."""
from __future__ import annotations

from typing import Optional

import tensorflow as tf
import tf_keras as keras

TRAINING_ARGS = ("epochs", "batch_size")


def training_settings(spec_hyperparameters: dict, overrides: Optional[dict] = None) -> tuple[dict, int, int]:
    """(model builder arguments, batch size, epochs): the spec's values, overridden per run."""
    merged = {**spec_hyperparameters, **(overrides or {})}
    model_args = {k: v for k, v in merged.items() if k not in TRAINING_ARGS}
    return model_args, int(merged.get("batch_size", 32)), int(merged.get("epochs", 10))


def fit(model: keras.Model, train: tf.data.Dataset, validation: Optional[tf.data.Dataset], epochs: int,
        log_dir: Optional[str] = None, verbose: int = 2) -> keras.callbacks.History:
    callbacks = [keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch")] if log_dir else []
    return model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose)
