"""Keras model builders, one screen each. Keras 2 (tf_keras), as TFX 1.16's Transform and TFMA use.

A builder takes the transformed-input layout (feature -> (width, token count; 0 for numeric)),
the number of classes and the spec's hyperparameters, and returns a compiled model whose
output is class probabilities.
"""
from __future__ import annotations

from typing import Callable, Dict, Sequence, Tuple

import tensorflow as tf
import tf_keras as keras

from trainers.autograph import skip_autograph_for_libraries


Layout = Dict[str, Tuple[int, int]]


def tabular_inputs(layout: Layout):
    """Keras inputs for a transformed tabular row, and their concatenated encoding.

    Token ids become a multi-hot vector; tokens are ``column=value``, so this is the
    one-hot encoding of every categorical column side by side.
    """
    inputs, encoded = {}, []
    for name, (width, tokens) in sorted(layout.items()):
        inputs[name] = keras.Input(shape=(width,), name=name, dtype=tf.int64 if tokens else tf.float32)
        encoded.append(keras.layers.CategoryEncoding(num_tokens=tokens, output_mode="multi_hot")(inputs[name])
                       if tokens else inputs[name])
    return inputs, (keras.layers.Concatenate()(encoded) if len(encoded) > 1 else encoded[0])


def class_probabilities(x, num_classes: int):
    """The output layer; float32 even under a bfloat16 mixed-precision policy, so the
    softmax and the loss stay exact."""
    return keras.layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32")(x)


def compiled_classifier(inputs, outputs, learning_rate: float) -> keras.Model:
    """Every builder's model: Adam, cross-entropy on integer labels, accuracy."""
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def build_dense_classifier(layout: Layout, num_classes: int, hidden_units: Sequence[int] = (16,),
                           dropout: float = 0.2, l2: float = 1e-3, learning_rate: float = 1e-2,
                           **_training_args) -> keras.Model:
    """A small MLP over one-hot categoricals, z-scored numerics and missing indicators."""
    inputs, x = tabular_inputs(layout)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=keras.regularizers.l2(l2))(x)
        x = keras.layers.Dropout(dropout)(x)
    outputs = class_probabilities(x, num_classes)
    return compiled_classifier(inputs, outputs, learning_rate)


def build_cnn(layout: Dict[str, Tuple[int, ...]], num_classes: int, filters: Sequence[int] = (32, 64),
              dense_units: int = 128, dropout: float = 0.4, learning_rate: float = 1e-3,
              **_training_args) -> keras.Model:
    """Conv blocks (two 3x3 convolutions, batch norm, max pooling each), then a dense head."""
    [(name, shape)] = layout.items()
    inputs = keras.Input(shape=shape, name=name)
    x = inputs
    for width in filters:
        for _ in range(2):
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            # momentum 0.9: the moving statistics settle within tens of steps, so a short
            # run on a slice evaluates sensibly as well (Keras' 0.99 needs hundreds).
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Dense(dense_units, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = class_probabilities(x, num_classes)
    return compiled_classifier(inputs, outputs, learning_rate)


BUILDERS: Dict[str, Callable[..., keras.Model]] = {
    "dense": build_dense_classifier,
    "cnn": build_cnn,
}


def build_model(family: str, layout: Layout, num_classes: int, hyperparameters: dict) -> keras.Model:
    skip_autograph_for_libraries()
    if family not in BUILDERS:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[family](layout, num_classes, **hyperparameters)
