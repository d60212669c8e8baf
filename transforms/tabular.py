"""preprocessing_fn for tabular specs: learned over the whole training split by tf.Transform.

Every raw feature arrives as a SparseTensor (the schema gives no fixed shape), so a row
with a missing value and a serving request without that feature both work. Three outputs:
- ``numeric_z`` [batch, numeric columns]: z-scores with the training mean and deviation of
  each column; a missing value becomes 0 (the mean);
- ``numeric_missing`` [batch, numeric columns]: 1 where the value was missing;
- ``categorical_ids`` [batch, categorical columns]: ids of ``column=value`` tokens in one
  vocabulary learned over the training data, with an out-of-vocabulary bucket so an unseen
  value at serving time is not an error. One vocabulary for all columns means one Beam
  analyzer instead of one per column (16 for house_votes: 9 s instead of 43 s here);
- a text column's own output, ``<column>`` [batch, sequence length]: token ids from a
  vocabulary learned over the training split, as the text family makes them
  (``transforms.text``), which the table's model embeds and averages;
- ``label``: the label's index in the spec's label values (fixed order, not learned, so
  the served class order is the one the spec documents), or a regression's number.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import tensorflow as tf
import tensorflow_transform as tft

from tfxp_contract.dataset_spec import DatasetSpec
from transforms.common import as_column, tfx_preprocessing_fn, to_dense, with_label
from transforms.text import text_ids, vocabulary_name

NUMERIC = "numeric_z"
MISSING = "numeric_missing"
CATEGORICAL = "categorical_ids"
VOCABULARY = "categorical_tokens"
OOV_BUCKETS = 1


@with_label
def transform_tabular(inputs: Dict[str, Any], spec: DatasetSpec) -> Dict[str, tf.Tensor]:
    outputs = {}
    numeric = [c.name for c in spec.feature_columns if c.type == "numeric"]
    categorical = [c.name for c in spec.feature_columns if c.type == "categorical"]
    if numeric:
        values = tf.sparse.concat(1, [as_column(inputs[n]) for n in numeric])
        present = tf.SparseTensor(values.indices, tf.ones_like(values.values), values.dense_shape)
        outputs[NUMERIC] = to_dense(tft.scale_to_z_score(values, elementwise=True), 0.0, len(numeric))
        outputs[MISSING] = 1.0 - to_dense(present, 0.0, len(numeric))
    if categorical:
        tokens = tf.concat([tf.strings.join([f"{n}=", to_dense(as_column(inputs[n]), "")]) for n in categorical], axis=1)
        outputs[CATEGORICAL] = tft.compute_and_apply_vocabulary(
            tokens, num_oov_buckets=OOV_BUCKETS, vocab_filename=VOCABULARY)
    for column in (c for c in spec.feature_columns if c.type == "text"):
        outputs[column.name] = text_ids(inputs[column.name], column)
    return outputs


preprocessing_fn = tfx_preprocessing_fn(transform_tabular)


def model_inputs(spec: DatasetSpec, vocabulary_size: Callable[[str], int]) -> Dict[str, Tuple[int, int]]:
    """Transformed feature -> (width, token count; 0 for numeric), for the model builder."""
    numeric = sum(c.type == "numeric" for c in spec.feature_columns)
    categorical = sum(c.type == "categorical" for c in spec.feature_columns)
    layout = {}
    if numeric:
        layout[NUMERIC] = (numeric, 0)
        layout[MISSING] = (numeric, 0)
    if categorical:
        layout[CATEGORICAL] = (categorical, vocabulary_size(VOCABULARY) + OOV_BUCKETS)
    for column in (c for c in spec.feature_columns if c.type == "text"):  # (length, ids incl. padding and OOV, kind)
        layout[column.name] = (column.sequence_length, vocabulary_size(vocabulary_name(column)) + 2, "text")
    return layout
