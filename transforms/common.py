"""Pieces every preprocessing_fn shares: sparse raw columns, the label index."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import tensorflow as tf

from tfxp_contract.dataset_spec import DatasetSpec, spec_from_json
from tfxp_contract.names import LABEL_KEY
from transforms.autograph import skip_autograph_for_libraries


def raw_feature_spec(spec: DatasetSpec) -> Dict[str, tf.io.VarLenFeature]:
    """Parsing spec of raw examples, as the pipeline's schema gives it: no fixed shapes, so
    rows with a missing value and serving requests without a feature parse too."""
    return {c.name: tf.io.VarLenFeature(tf.float32 if c.type in ("numeric", "datetime") else tf.string)
            for c in spec.columns if c.type != "ignore"}


def as_column(x: tf.SparseTensor) -> tf.SparseTensor:
    """A [batch, 0 or 1] VarLen feature as a [batch, 1] sparse column."""
    return tf.SparseTensor(x.indices, x.values, tf.stack([x.dense_shape[0], tf.constant(1, tf.int64)]))


def to_dense(x: tf.SparseTensor, default, width: int = 1) -> tf.Tensor:
    """Dense [batch, width] with a static width, as tf.Transform needs for its output schema."""
    return tf.reshape(tf.sparse.to_dense(x, default_value=default), [-1, width])


def label_index(raw_label: tf.SparseTensor, values: Tuple[str, ...]) -> tf.Tensor:
    """[batch] index of each raw label in ``values`` (fixed order, not learned, so the served
    class order is the spec's); labels outside it are stopped by ExampleGen."""
    labels = tf.reshape(to_dense(as_column(raw_label), ""), [-1])
    matches = tf.equal(tf.expand_dims(labels, 1), tf.constant(list(values)))
    return tf.argmax(tf.cast(matches, tf.int64), axis=1)


FeatureTransform = Callable[[Dict[str, Any], DatasetSpec], Dict[str, tf.Tensor]]


def with_label(transform: FeatureTransform) -> FeatureTransform:
    """Adds the label to a family's feature transform: a class's index, or a regression's
    number as it is (when the label is present: the serving signature passes raw features
    without it)."""
    def transform_with_label(inputs: Dict[str, Any], spec: DatasetSpec) -> Dict[str, tf.Tensor]:
        outputs = transform(inputs, spec)
        if spec.label and spec.label.column in inputs and spec.is_regression:
            outputs[LABEL_KEY] = tf.reshape(to_dense(as_column(inputs[spec.label.column]), 0.0), [-1])
        elif spec.label and spec.label.column in inputs:
            outputs[LABEL_KEY] = label_index(inputs[spec.label.column], spec.label.values)
        return outputs
    return transform_with_label


def tfx_preprocessing_fn(transform: FeatureTransform):
    """TFX Transform's entry point for a family; the pipeline passes the spec in custom_config."""
    def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, tf.Tensor]:
        skip_autograph_for_libraries()
        return transform(inputs, spec_from_json(custom_config["spec"]))
    return preprocessing_fn
