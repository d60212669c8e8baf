"""Fitting a model: shared by the TFX run_fn, the benchmark and the tests."""
from __future__ import annotations

from typing import Optional

import tensorflow as tf
import tf_keras as keras

TRAINING_ARGS = ("epochs", "batch_size")


def split_hyperparameters(hyperparameters: dict) -> tuple[dict, dict]:
    """(model builder arguments, training arguments)."""
    model_args = {k: v for k, v in hyperparameters.items() if k not in TRAINING_ARGS}
    train_args = {k: v for k, v in hyperparameters.items() if k in TRAINING_ARGS}
    return model_args, train_args


def fit(model: keras.Model, train: tf.data.Dataset, validation: Optional[tf.data.Dataset], epochs: int,
        log_dir: Optional[str] = None, verbose: int = 2) -> keras.callbacks.History:
    callbacks = [keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch")] if log_dir else []
    return model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose)
