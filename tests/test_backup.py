"""A training run that fails resumes from its last backup, which is at most a tenth of the run back."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from trainers import train


class FailingAt(train.EpochTimer):
    """The run fails as this epoch begins (after the backups of the epochs before it)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("the machine went away")
        super().on_epoch_begin(epoch, logs)


def _model() -> keras.Model:
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_a_failed_run_resumes_after_its_last_backup(tmp_path):
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices((rng.normal(size=(32, 3)).astype("float32"),
                                               rng.integers(2, size=32))).batch(8)
    backup_dir = str(tmp_path / "backup")
    epochs = 20  # a backup every 2 epochs: after epochs 1, 3, 5, ... (0-based)
    with pytest.raises(RuntimeError, match="went away"):
        train.fit(_model(), data, None, epochs=epochs, verbose=0, backup_dir=backup_dir, timer=FailingAt(5))
    assert tf.io.gfile.listdir(backup_dir), "the backup outlives the failure"

    timer = train.EpochTimer()
    history = train.fit(_model(), data, None, epochs=epochs, verbose=0, backup_dir=backup_dir, timer=timer)
    assert len(timer.seconds) == epochs - 4  # epoch 4 finished, but its backup was not due: run again
    assert history.epoch[0] == 4
    assert not tf.io.gfile.listdir(backup_dir)  # a finished run removes its backup
