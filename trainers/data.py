"""tf.data input from transformed, gzipped TFRecord shards."""
from __future__ import annotations

from typing import Iterable, Optional

import tensorflow as tf

from tfxp_contract.names import LABEL_KEY


def list_files(patterns: Iterable[str]) -> list[str]:
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
        raise FileNotFoundError(f"no input files match {list(patterns)}")
    return files


# A split whose serialized records fit in this many bytes is held in memory and shuffled whole
# at every epoch: a file sorted by label or by time then trains like a shuffled one.
WHOLE_SHUFFLE_BYTES = 512 * 1024 * 1024
SHUFFLE_BUFFER = 10_000  # records, for splits larger than that
INTERLEAVED_FILES = 16  # shards read at once, for splits larger than that


def count_records(patterns: Iterable[str]) -> tuple[int, int]:
    """(records, their serialized bytes) in the shards."""
    records = tf.data.TFRecordDataset(list_files(patterns), compression_type="GZIP")
    count, size = records.reduce((tf.constant(0, tf.int64), tf.constant(0, tf.int64)),
                                 lambda acc, r: (acc[0] + 1, acc[1] + tf.cast(tf.strings.length(r), tf.int64)))
    return int(count), int(size)


def label_moments(patterns: Iterable[str]) -> tuple[float, float]:
    """(mean, standard deviation) of a regression's label over the transformed examples."""
    records = tf.data.TFRecordDataset(list_files(patterns), compression_type="GZIP").batch(4096)
    labels = records.map(lambda r: tf.io.parse_example(r, {LABEL_KEY: tf.io.FixedLenFeature([], tf.float32)})[LABEL_KEY])
    zero = tf.constant(0.0, tf.float64)
    n, total, squares = labels.reduce((zero, zero, zero), lambda acc, y: (
        acc[0] + tf.cast(tf.size(y), tf.float64), acc[1] + tf.reduce_sum(tf.cast(y, tf.float64)),
        acc[2] + tf.reduce_sum(tf.square(tf.cast(y, tf.float64)))))
    n, total, squares = float(n), float(total), float(squares)
    mean = total / n if n else 0.0
    return mean, max(squares / n - mean * mean, 0.0) ** 0.5 if n else 1.0


def count_examples(patterns: Iterable[str]) -> int:
    return count_records(patterns)[0]


def shard_policy(num_files: int, num_workers: int) -> tf.data.experimental.AutoShardPolicy:
    """How workers split the input. FILE (each worker reads whole shards, no wasted reads)
    when the shards divide evenly among the workers; otherwise DATA (every worker reads all
    shards and keeps every n-th batch), so no worker gets more data than another."""
    if num_workers > 1 and num_files % num_workers == 0:
        return tf.data.experimental.AutoShardPolicy.FILE
    return tf.data.experimental.AutoShardPolicy.DATA


def make_dataset(patterns: Iterable[str], feature_spec: dict, batch_size: int, shuffle: bool, seed: int = 0,
                 *, repeat: bool = False, drop_remainder: bool = False, num_workers: int = 1,
                 split_size: Optional[tuple[int, int]] = None) -> tf.data.Dataset:
    """(features, label) batches (features alone when there is no label); the transformed
    feature spec comes from TFTransformOutput.

    ``batch_size`` is the global batch (per-replica batch x replicas); under a strategy,
    Keras splits it across replicas. Training input repeats with full batches only, so
    every step has the same static shape (TPUs need it) and every worker the same number
    of steps (multi-worker collectives need it).

    Shuffled input does not follow the files' order: a split of up to ``WHOLE_SHUFFLE_BYTES``
    (``split_size``: its records and bytes, from ``count_records``; counted here if not given)
    is read once into memory and shuffled whole every epoch; a larger one reads its shards in
    a new order every epoch, several at once, through a buffer of ``SHUFFLE_BUFFER`` records.
    """
    files = list_files(patterns)
    if not shuffle:
        dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    else:
        records, size = split_size or count_records(files)
        names = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed,
                                                                  reshuffle_each_iteration=True)
        dataset = names.interleave(lambda f: tf.data.TFRecordDataset(f, compression_type="GZIP"),
                                   cycle_length=min(len(files), INTERLEAVED_FILES), block_length=1,
                                   num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if size <= WHOLE_SHUFFLE_BYTES:
            dataset = dataset.cache().shuffle(max(records, 1), seed=seed, reshuffle_each_iteration=True)
        else:
            dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda records: tf.io.parse_example(records, feature_spec),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if LABEL_KEY in feature_spec:  # a generative model without a label trains on the features alone
        dataset = dataset.map(lambda features: (features, features.pop(LABEL_KEY)))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = shard_policy(len(files), num_workers)
    # No autotuning thread: deleting an iterator waits for that thread's next wake-up, and it
    # wakes ever less often (up to once a minute) -- Keras deletes the training iterator when
    # fit returns, which stalled MNIST's Trainer 0-56 s (8.5 s after 32 s of iterating in
    # isolation, 0.01 s without it), and every validation's iterator. AUTOTUNE below then takes
    # TensorFlow's static defaults, which read these splits as fast (5 epochs of MNIST's
    # batches in 2.2 s against 2.5 s autotuned), far ahead of training.
    options.autotune.enabled = False
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
