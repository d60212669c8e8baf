"""Keras model builders, one screen each. Keras 2 (tf_keras), as TFX 1.16's Transform and TFMA use.

A builder takes the transformed-input layout (feature -> category count, 0 for numeric),
the number of classes and the spec's hyperparameters, and returns a compiled model whose
output is class probabilities.
"""
from __future__ import annotations

from typing import Callable, Dict, Sequence

import tensorflow as tf
import tf_keras as keras


def tabular_inputs(layout: Dict[str, int]):
    """Keras inputs for a transformed tabular row, and their concatenated encoding."""
    inputs, encoded = {}, []
    for name, categories in sorted(layout.items()):
        if categories:
            inputs[name] = keras.Input(shape=(), name=name, dtype=tf.int64)
            encoded.append(keras.layers.CategoryEncoding(num_tokens=categories, output_mode="one_hot")(inputs[name]))
        else:
            inputs[name] = keras.Input(shape=(), name=name, dtype=tf.float32)
            encoded.append(keras.layers.Reshape((1,))(inputs[name]))
    return inputs, keras.layers.Concatenate()(encoded)


def build_dense_classifier(layout: Dict[str, int], num_classes: int, hidden_units: Sequence[int] = (16,),
                           dropout: float = 0.2, l2: float = 1e-3, learning_rate: float = 1e-2,
                           **_training_args) -> keras.Model:
    """A small MLP over one-hot categoricals and z-scored numerics."""
    inputs, x = tabular_inputs(layout)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=keras.regularizers.l2(l2))(x)
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


BUILDERS: Dict[str, Callable[..., keras.Model]] = {
    "dense": build_dense_classifier,
}


def build_model(family: str, layout: Dict[str, int], num_classes: int, hyperparameters: dict) -> keras.Model:
    if family not in BUILDERS:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[family](layout, num_classes, **hyperparameters)
