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


DATETIME_NUMBERS = ("year", "hour", "days")  # numeric features of a datetime column
DATETIME_CATEGORIES = ("month", "weekday")  # and its categorical ones


def civil_date(days: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(year, month 1-12) of whole days since 1970-01-01 (int64): the proleptic Gregorian
    calendar's days-to-civil conversion (Howard Hinnant's), in integer arithmetic."""
    z = days + 719468
    era = tf.math.floordiv(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = tf.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + tf.cast(month <= 2, tf.int64), month


def datetime_parts(raw: tf.SparseTensor) -> tuple[list[tf.SparseTensor], list[tf.SparseTensor]]:
    """A datetime column (days since 1970-01-01) -> (year, hour of day, days) as sparse numeric
    columns and (month, day of the week) as sparse tokens, missing where it is missing."""
    column = as_column(raw)
    days = column.values
    whole = tf.cast(tf.math.floor(days), tf.int64)
    year, month = civil_date(whole)
    hour = tf.math.floor((days - tf.math.floor(days)) * 24.0)
    weekday = tf.math.floormod(whole + 4, 7)  # 1970-01-01 was a Thursday; 0 = Sunday

    def like(values):
        return tf.SparseTensor(column.indices, values, column.dense_shape)
    numbers = [like(tf.cast(year, tf.float32)), like(hour), like(days)]
    categories = [like(tf.strings.as_string(month)), like(tf.strings.as_string(weekday))]
    return numbers, categories


@with_label
def transform_tabular(inputs: Dict[str, Any], spec: DatasetSpec) -> Dict[str, tf.Tensor]:
    outputs = {}
    numeric_columns = {n: as_column(inputs[n]) for n in (c.name for c in spec.feature_columns if c.type == "numeric")}
    categorical_columns = {n: to_dense(as_column(inputs[n]), "")
                           for n in (c.name for c in spec.feature_columns if c.type == "categorical")}
    for column in (c for c in spec.feature_columns if c.type == "datetime"):
        numbers, categories = datetime_parts(inputs[column.name])
        numeric_columns.update({f"{column.name}.{part}": v for part, v in zip(DATETIME_NUMBERS, numbers)})
        categorical_columns.update({f"{column.name}.{part}": to_dense(v, "")
                                    for part, v in zip(DATETIME_CATEGORIES, categories)})
    numeric, categorical = list(numeric_columns), list(categorical_columns)
    if numeric:
        values = tf.sparse.concat(1, list(numeric_columns.values()))
        present = tf.SparseTensor(values.indices, tf.ones_like(values.values), values.dense_shape)
        outputs[NUMERIC] = to_dense(tft.scale_to_z_score(values, elementwise=True), 0.0, len(numeric))
        outputs[MISSING] = 1.0 - to_dense(present, 0.0, len(numeric))
    if categorical:
        tokens = tf.concat([tf.strings.join([f"{n}=", categorical_columns[n]]) for n in categorical], axis=1)
        outputs[CATEGORICAL] = tft.compute_and_apply_vocabulary(
            tokens, num_oov_buckets=OOV_BUCKETS, vocab_filename=VOCABULARY)
    for column in (c for c in spec.feature_columns if c.type == "text"):
        outputs[column.name] = text_ids(inputs[column.name], column)
    return outputs


preprocessing_fn = tfx_preprocessing_fn(transform_tabular)


def model_inputs(spec: DatasetSpec, vocabulary_size: Callable[[str], int]) -> Dict[str, Tuple[int, int]]:
    """Transformed feature -> (width, token count; 0 for numeric), for the model builder."""
    datetimes = sum(c.type == "datetime" for c in spec.feature_columns)
    numeric = sum(c.type == "numeric" for c in spec.feature_columns) + len(DATETIME_NUMBERS) * datetimes
    categorical = sum(c.type == "categorical" for c in spec.feature_columns) + len(DATETIME_CATEGORIES) * datetimes
    layout = {}
    if numeric:
        layout[NUMERIC] = (numeric, 0)
        layout[MISSING] = (numeric, 0)
    if categorical:
        layout[CATEGORICAL] = (categorical, vocabulary_size(VOCABULARY) + OOV_BUCKETS)
    for column in (c for c in spec.feature_columns if c.type == "text"):  # (length, ids incl. padding and OOV, kind)
        layout[column.name] = (column.sequence_length, vocabulary_size(vocabulary_name(column)) + 2, "text")
    return layout
