"""Keras inputs for each data family's transformed features (the builders' first layer)."""
from __future__ import annotations

from typing import Dict, Tuple

import tensorflow as tf
import tf_keras as keras

Layout = Dict[str, Tuple[int, int]]


def image_input(layout: Dict[str, Tuple[int, ...]]):
    """The one input of an image model: [height, width, channels] floats in [0, 1]."""
    [(name, shape)] = layout.items()
    return keras.Input(shape=shape, name=name)


def token_input(layout: Dict[str, Tuple[int, int]]):
    """The one input of a text model, and its id count: [sequence length] token ids (0 = padding)."""
    [(name, (length, ids))] = layout.items()
    return keras.Input(shape=(length,), name=name, dtype=tf.int64), ids


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
