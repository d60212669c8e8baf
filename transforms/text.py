"""preprocessing_fn for text specs: tokens -> ids from a vocabulary learned over the training
split, truncated or padded to the spec's sequence length.

The vocabulary (the spec's ``vocabulary_size`` most frequent tokens, the rest one OOV id) is
learned exactly by ``transforms.vocabulary`` (tf.Transform's own vocabulary, counted in fewer
Beam elements) and is an asset of the Transform graph, so the served model takes raw text.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import tensorflow as tf
import tensorflow_transform as tft

from tfxp_contract.dataset_spec import Column, DatasetSpec
from transforms.common import as_column, tfx_preprocessing_fn, to_dense, with_label
from transforms.vocabulary import top_k_vocabulary

PADDING_ID = 0  # ids: 0 padding, 1..vocabulary_size tokens by frequency, vocabulary_size + 1 OOV


def text_column(spec: DatasetSpec) -> Column:
    [column] = [c for c in spec.feature_columns if c.type == "text"]
    return column


def vocabulary_name(column: Column) -> str:
    return f"{column.name}_vocabulary"


def tokens(text: tf.Tensor) -> tf.SparseTensor:
    """[batch] strings -> [batch, tokens]: lower case, HTML line breaks and punctuation as spaces."""
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    text = tf.strings.regex_replace(text, r"[^a-z0-9']+", " ")
    return tf.strings.split(text).to_sparse()


def text_ids(raw: tf.SparseTensor, column: Column) -> tf.Tensor:
    """A raw text column -> [batch, sequence length] ids (0 padding)."""
    text = tf.reshape(to_dense(as_column(raw), ""), [-1])
    words = tokens(text)
    if column.ngrams > 1:  # word n-grams join the vocabulary as tokens of their own ("not good")
        words = tft.ngrams(words, ngram_range=(1, column.ngrams), separator=" ")
    vocabulary = top_k_vocabulary(words.values, column.vocabulary_size, vocabulary_name(column))
    ids = tft.apply_vocabulary(words, vocabulary, num_oov_buckets=1)
    return head_and_tail(tf.RaggedTensor.from_sparse(ids), column.sequence_length) + 1  # -1 (padding) becomes 0


@with_label
def transform_text(inputs: Dict[str, Any], spec: DatasetSpec) -> Dict[str, tf.Tensor]:
    column = text_column(spec)
    return {column.name: text_ids(inputs[column.name], column)}


def head_and_tail(tokens: tf.RaggedTensor, length: int) -> tf.Tensor:
    """[batch, (tokens)] -> [batch, length], padded with -1. A text longer than ``length``
    keeps its first half and its last half: its ending counts (IMDB: +0.3 points, see its spec)."""
    head = length // 2
    lengths = tokens.row_lengths()
    tail = tf.gather(tokens, tf.ragged.range(tf.maximum(lengths - (length - head), head), lengths), batch_dims=1)
    kept = tf.concat([tokens[:, :head], tail], axis=1)
    return kept.to_tensor(default_value=-1, shape=[None, length])


preprocessing_fn = tfx_preprocessing_fn(transform_text)


def model_inputs(spec: DatasetSpec, vocabulary_size: Callable[[str], int]) -> Dict[str, Tuple[int, int]]:
    """Transformed feature -> (sequence length, number of ids incl. padding and OOV)."""
    column = text_column(spec)
    return {column.name: (column.sequence_length, vocabulary_size(vocabulary_name(column)) + 2)}
