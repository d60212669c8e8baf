"""tf.data input from transformed, gzipped TFRecord shards."""
from __future__ import annotations

from typing import Iterable

import tensorflow as tf

from transforms.common import LABEL_KEY


def list_files(patterns: Iterable[str]) -> list[str]:
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
        raise FileNotFoundError(f"no input files match {list(patterns)}")
    return files


def make_dataset(patterns: Iterable[str], feature_spec: dict, batch_size: int,
                 shuffle: bool, seed: int = 0) -> tf.data.Dataset:
    """(features, label) batches; the transformed feature spec comes from TFTransformOutput."""
    files = list_files(patterns)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if shuffle:
        dataset = dataset.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(lambda records: tf.io.parse_example(records, feature_spec),
                          num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.map(lambda features: (features, features.pop(LABEL_KEY)))
    return dataset.prefetch(tf.data.AUTOTUNE)
