"""Keras inputs for each data family's transformed features (the builders' first layer)."""
from __future__ import annotations

from typing import Dict, Tuple

import tensorflow as tf
import tf_keras as keras

Layout = Dict[str, Tuple]  # feature -> (width, token count; 0 for numeric), or (length, ids, "text")


def image_input(layout: Dict[str, Tuple[int, ...]]):
    """The one input of an image model: [height, width, channels] floats in [0, 1]."""
    [(name, shape)] = layout.items()
    return keras.Input(shape=shape, name=name)


def token_input(layout: Dict[str, Tuple[int, int]]):
    """The one input of a text model, and its id count: [sequence length] token ids (0 = padding)."""
    [(name, (length, ids))] = layout.items()
    return keras.Input(shape=(length,), name=name, dtype=tf.int64), ids


def nb_inputs(layout: Layout):
    """The inputs of a text model over naive-Bayes-weighted tokens (``transforms.text.nb_features``):
    by name, and as ([sequence length] distinct token ids (0 = padding), [sequence length,
    width] their ratios (a class's against the others; two classes: the second's alone), the id
    count)."""
    [(ratios_name, (length, width, _))] = [(k, v) for k, v in layout.items() if v[2:] == ("nb",)]
    [(ids_name, (_, ids))] = [(k, v) for k, v in layout.items() if k != ratios_name]
    inputs = {ids_name: keras.Input(shape=(length,), name=ids_name, dtype=tf.int64),
              ratios_name: keras.Input(shape=(length, width), name=ratios_name)}
    return inputs, (inputs[ids_name], inputs[ratios_name], ids)


def tabular_inputs(layout: Layout, embedding_dim: int = 16):
    """Keras inputs for a transformed tabular row, and their concatenated encoding.

    Token ids become a multi-hot vector; tokens are ``column=value``, so this is the
    one-hot encoding of every categorical column side by side. A text column's ids (layout
    ``(length, ids, "text")``) become the average of their embeddings (padding masked).
    """
    inputs, encoded = {}, []
    for name, (width, tokens, *kind) in sorted(layout.items()):
        inputs[name] = keras.Input(shape=(width,), name=name, dtype=tf.int64 if tokens else tf.float32)
        if kind == ["text"]:
            embedded = keras.layers.Embedding(tokens, embedding_dim, mask_zero=True)(inputs[name])
            encoded.append(keras.layers.GlobalAveragePooling1D()(embedded))
        else:
            encoded.append(keras.layers.CategoryEncoding(num_tokens=tokens, output_mode="multi_hot")(inputs[name])
                           if tokens else inputs[name])
    return inputs, (keras.layers.Concatenate()(encoded) if len(encoded) > 1 else encoded[0])
