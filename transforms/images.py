"""preprocessing_fn for image specs: decode, resize to the spec's shape, scale pixels to [0, 1].

Decoding happens here, inside the Transform graph, so the served model takes the encoded
image bytes (PNG or JPEG) a client has, and training and serving decode identically.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import tensorflow as tf

from tfxp_contract.dataset_spec import Column, DatasetSpec
from transforms.common import as_column, tfx_preprocessing_fn, to_dense, with_label


def image_column(spec: DatasetSpec) -> Column:
    [column] = [c for c in spec.feature_columns if c.type == "image"]
    return column


def scale_pixels(encoded: tf.Tensor, shape: Tuple[int, int, int]) -> tf.Tensor:
    """[batch] encoded images -> [batch, height, width, channels] floats in [0, 1]."""
    height, width, channels = shape

    def decode(data):
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        return tf.image.resize(tf.cast(image, tf.float32), [height, width])

    images = tf.map_fn(decode, encoded, fn_output_signature=tf.TensorSpec([height, width, channels], tf.float32))
    return tf.reshape(images / 255.0, [-1, height, width, channels])


@with_label
def transform_images(inputs: Dict[str, Any], spec: DatasetSpec) -> Dict[str, tf.Tensor]:
    column = image_column(spec)
    encoded = tf.reshape(to_dense(as_column(inputs[column.name]), ""), [-1])
    return {column.name: scale_pixels(encoded, column.shape)}


preprocessing_fn = tfx_preprocessing_fn(transform_images)


def model_inputs(spec: DatasetSpec, vocabulary_size: Callable[[str], int]) -> Dict[str, Tuple[int, ...]]:
    """Transformed feature -> its shape, for the model builder."""
    column = image_column(spec)
    return {column.name: tuple(column.shape)}
