"""The fit loop validates after every ``validation_freq``-th epoch and after the last; the
report draws the validation curve at the epochs it has."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from tfxp_reports.report_html import training_chart
from trainers import train


def test_validation_epochs_are_every_nth_and_the_last():
    assert train.validation_epochs(1, 3) == [1, 2, 3]
    assert train.validation_epochs(2, 5) == [2, 4, 5]
    assert train.validation_epochs(5, 5) == [5]
    assert train.validation_epochs(10, 4) == [4]
    assert train.validation_epochs(3, 8, initial_epoch=5) == [6, 8]  # a second phase, numbered on


def test_a_run_validates_only_when_due_and_the_chart_places_it():
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices((rng.normal(size=(32, 3)).astype("float32"),
                                               rng.integers(2, size=32))).batch(8)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = train.fit(model, data, data, epochs=5, verbose=0, validation_freq=2).history
    assert len(history["loss"]) == 5 and len(history["val_loss"]) == 3  # after epochs 2, 4 and 5
    # the last validation is of the final weights
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(data, verbose=0), rel=1e-6)
    training = {"history": history, "validation_epochs": train.validation_epochs(2, 5)}
    assert training_chart({"training": training}).startswith("data:image/png;base64,")
