"""The MobileNetV2 transfer-learning model with randomly initialised weights (ImageNet weights
cannot be downloaded here): shapes, frozen base, fine-tuning, local weights file, export."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from trainers import models

LAYOUT = {"image": (96, 96, 3)}
SMALL = {"weights": "random", "alpha": 0.35}


@pytest.mark.slow
def test_frozen_base_then_fine_tuning_and_export(tmp_path):
    keras.utils.set_random_seed(0)
    model = models.build_model("mobilenet_v2", LAYOUT, 5, SMALL)
    [base] = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert not base.trainable and len(model.trainable_weights) == 2  # only the new classifier
    images = np.random.rand(8, 96, 96, 3).astype("float32")
    labels = np.arange(8) % 5
    model.fit(images, labels, epochs=1, verbose=0)
    probabilities = model.predict(images, verbose=0)
    assert probabilities.shape == (8, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

    models.unfreeze(model, layers=10, learning_rate=1e-5)
    trainable = [layer for layer in base.layers if layer.trainable]
    assert 0 < len(trainable) <= 10 and trainable[-1] is base.layers[-1]
    model.fit(images, labels, epochs=1, verbose=0)

    model.save(str(tmp_path / "saved"), save_format="tf")
    served = tf.saved_model.load(str(tmp_path / "saved"))
    again = served.signatures["serving_default"](image=tf.constant(images))
    np.testing.assert_allclose(list(again.values())[0].numpy(), model.predict(images, verbose=0), atol=1e-5)


def test_weights_from_a_local_file(tmp_path):
    base = models.mobilenet_v2_base((96, 96, 3), "random", 0.35)
    path = str(tmp_path / "mobilenet_v2_no_top.h5")
    base.save_weights(path)
    loaded = models.mobilenet_v2_base((96, 96, 3), path, 0.35)
    for a, b in zip(base.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unreachable_or_missing_weights_are_a_clear_error(tmp_path):
    with pytest.raises(models.PretrainedWeightsError, match="give a local weights file"):
        models.mobilenet_v2_base((96, 96, 3), str(tmp_path / "missing.h5"), 0.35)
