"""tf.data input from transformed, gzipped TFRecord shards."""
from __future__ import annotations

from typing import Iterable

import tensorflow as tf

from tfxp_contract.names import LABEL_KEY


def list_files(patterns: Iterable[str]) -> list[str]:
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
        raise FileNotFoundError(f"no input files match {list(patterns)}")
    return files


def count_examples(patterns: Iterable[str]) -> int:
    records = tf.data.TFRecordDataset(list_files(patterns), compression_type="GZIP")
    return int(records.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def shard_policy(num_files: int, num_workers: int) -> tf.data.experimental.AutoShardPolicy:
    """How workers split the input. FILE (each worker reads whole shards, no wasted reads)
    when the shards divide evenly among the workers; otherwise DATA (every worker reads all
    shards and keeps every n-th batch), so no worker gets more data than another."""
    if num_workers > 1 and num_files % num_workers == 0:
        return tf.data.experimental.AutoShardPolicy.FILE
    return tf.data.experimental.AutoShardPolicy.DATA


def make_dataset(patterns: Iterable[str], feature_spec: dict, batch_size: int, shuffle: bool, seed: int = 0,
                 *, repeat: bool = False, drop_remainder: bool = False, num_workers: int = 1) -> tf.data.Dataset:
    """(features, label) batches (features alone when there is no label); the transformed
    feature spec comes from TFTransformOutput.

    ``batch_size`` is the global batch (per-replica batch x replicas); under a strategy,
    Keras splits it across replicas. Training input repeats with full batches only, so
    every step has the same static shape (TPUs need it) and every worker the same number
    of steps (multi-worker collectives need it).
    """
    files = list_files(patterns)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if shuffle:
        dataset = dataset.shuffle(10_000, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda records: tf.io.parse_example(records, feature_spec),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if LABEL_KEY in feature_spec:  # a generative model without a label trains on the features alone
        dataset = dataset.map(lambda features: (features, features.pop(LABEL_KEY)))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = shard_policy(len(files), num_workers)
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
