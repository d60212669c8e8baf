"""LazyAdam against Keras' Adam: dense gradients alike; sparse ones update only their rows."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from trainers.lazy_adam import LazyAdam

INITIAL = np.arange(10, dtype=np.float32).reshape(5, 2) / 10


def _sparse(rows, values):
    return tf.IndexedSlices(tf.constant(values, tf.float32), tf.constant(rows, tf.int64), tf.constant([5, 2], tf.int64))


def _apply(optimizer, gradients):
    variable = tf.Variable(INITIAL)
    history = []
    for gradient in gradients:
        optimizer.apply_gradients([(gradient, variable)])
        history.append(variable.numpy().copy())
    return history


def test_dense_gradients_as_adam():
    gradients = [tf.constant(np.full((5, 2), g, np.float32)) for g in (0.5, -1.0, 2.0)]
    ours = _apply(LazyAdam(0.1), gradients)
    theirs = _apply(keras.optimizers.Adam(0.1), gradients)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_sparse_gradients_touch_only_their_rows():
    first = _sparse([0, 1, 1], [[1.0, -1.0], [0.5, 0.5], [0.5, 0.5]])  # row 1 twice: summed
    second = _sparse([3], [[2.0, 2.0]])
    ours = _apply(LazyAdam(0.1), [first, second])
    theirs = _apply(keras.optimizers.Adam(0.1), [first, second])
    # Step 1 (moments start at zero): Adam moves the same rows by the same amounts.
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours[0][:2], INITIAL[:2]) and np.array_equal(ours[0][2:], INITIAL[2:])
    # Step 2: Adam keeps moving rows 0 and 1 on their momentum; LazyAdam leaves them until
    # they are used again, and moves row 3 as Adam does (same moments for a fresh row).
    np.testing.assert_array_equal(ours[1][:2], ours[0][:2])
    assert not np.allclose(theirs[1][:2], theirs[0][:2])
    np.testing.assert_allclose(ours[1][3], theirs[1][3], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours[1][[2, 4]], INITIAL[[2, 4]])


@pytest.mark.slow  # fits a model twice per strategy: ~25 s
@pytest.mark.parametrize("strategy", ["none", "mirrored"])
def test_trains_an_embedding_model(strategy):
    keras.utils.set_random_seed(0)
    ids = np.random.default_rng(0).integers(1, 50, size=(256, 6))
    labels = (ids % 2 == 0).sum(axis=1) > 3
    with (tf.distribute.MirroredStrategy() if strategy == "mirrored" else tf.distribute.get_strategy()).scope():
        model = keras.Sequential([keras.layers.Embedding(50, 8), keras.layers.GlobalAveragePooling1D(),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(LazyAdam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, labels.astype(int), epochs=15, batch_size=32, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] * 0.7 and history["accuracy"][-1] > 0.8
