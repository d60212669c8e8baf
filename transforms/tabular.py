"""preprocessing_fn for tabular specs: learned over the whole training split by tf.Transform.

Every raw feature arrives as a SparseTensor (the schema gives no fixed shape), so a row
with a missing value and a serving request without that feature both work:
- numeric columns become z-scores with the training mean and deviation; a missing value
  becomes 0 (the mean) and a ``<name>_missing`` indicator of 1;
- categorical columns become integer ids from a vocabulary learned over the training data,
  with one out-of-vocabulary bucket (an unseen value at serving time is not an error);
- the label becomes its index in the spec's label values (fixed order, not learned, so the
  served class order is the one the spec documents).
"""
from __future__ import annotations

from typing import Any, Callable, Dict

import tensorflow as tf
import tensorflow_transform as tft

from pipelines.dataset_spec import DatasetSpec, spec_from_json

LABEL_KEY = "label"
OOV_BUCKETS = 1


def _densify(x, default):
    """[batch, 0 or 1] sparse -> [batch] dense, with ``default`` where the value is absent."""
    if isinstance(x, tf.SparseTensor):
        x = tft.sparse_tensor_to_dense_with_shape(x, [None, 1], default_value=default)
    return tf.reshape(x, [-1])


def label_index(raw_label: tf.Tensor, values: tuple[str, ...]) -> tf.Tensor:
    """Index of each raw label in ``values``; labels outside it are stopped by ExampleGen."""
    matches = tf.equal(tf.expand_dims(raw_label, 1), tf.constant(list(values)))
    return tf.argmax(tf.cast(matches, tf.int64), axis=1)


def vocabulary_name(feature: str) -> str:
    return f"{feature}_vocab"


def transform_tabular(inputs: Dict[str, Any], spec: DatasetSpec) -> Dict[str, tf.Tensor]:
    outputs = {}
    for column in spec.feature_columns:
        raw = inputs[column.name]
        if column.type == "numeric":
            present = _densify(tf.SparseTensor(raw.indices, tf.ones_like(raw.values), raw.dense_shape), 0.0)
            outputs[f"{column.name}_z"] = _densify(tft.scale_to_z_score(raw), 0.0)
            outputs[f"{column.name}_missing"] = 1.0 - present
        else:
            outputs[f"{column.name}_id"] = tft.compute_and_apply_vocabulary(
                _densify(raw, ""), num_oov_buckets=OOV_BUCKETS, vocab_filename=vocabulary_name(column.name))
    if spec.label.column in inputs:
        outputs[LABEL_KEY] = label_index(_densify(inputs[spec.label.column], ""), spec.label.values)
    return outputs


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, tf.Tensor]:
    """TFX Transform entry point; the pipeline passes the spec in ``custom_config``."""
    return transform_tabular(inputs, spec_from_json(custom_config["spec"]))


def model_inputs(spec: DatasetSpec, vocabulary_size: Callable[[str], int]) -> Dict[str, int]:
    """Transformed feature -> category count (0 for a numeric feature), for the model builder."""
    layout = {}
    for column in spec.feature_columns:
        if column.type == "numeric":
            layout[f"{column.name}_z"] = 0
            layout[f"{column.name}_missing"] = 0
        else:
            layout[f"{column.name}_id"] = vocabulary_size(vocabulary_name(column.name)) + OOV_BUCKETS
    return layout
