"""The model code without TFX: the same transform, builder and fit loop on rows in memory."""
import numpy as np
import pytest
import tf_keras as keras

from components.ingest.workers.delimited_rows import read_rows
from tfxp_contract.dataset_spec import load_spec
from trainers.models import ViewsAveraged, build_model
from trainers.standalone import train_and_evaluate


def _split(rows, every=5):
    return [r for i, r in enumerate(rows) if i % every], [r for i, r in enumerate(rows) if not i % every]


def test_dense_classifier_outputs_probabilities():
    model = build_model("dense", {"numeric_z": (2, 0), "categorical_ids": (3, 9)}, 3, {"hidden_units": [8]})
    out = model.predict({"numeric_z": np.array([[0.5, -1.0], [0, 0]], np.float32),
                         "categorical_ids": np.array([[1, 3, 8], [0, 4, 5]])}, verbose=0)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_cnn_with_stem_augmentation_and_pooled_head():
    settings = {"filters": [4, 8], "convs_per_block": 1, "stem_stride": 2, "head": "gap", "dense_units": 0,
                "flip": True, "rotate": 0.1, "zoom": 0.1, "translate": 0.1, "fill_mode": "reflect"}
    model = build_model("cnn", {"image": (32, 32, 3)}, 5, settings)
    images = np.random.default_rng(0).random((3, 32, 32, 3), np.float32)
    served = model.predict(images, verbose=0)
    assert served.shape == (3, 5)
    np.testing.assert_allclose(served, model.predict(images, verbose=0), rtol=1e-6)  # no augmentation when serving
    assert not any(isinstance(layer, keras.layers.Dense) for layer in model.layers[:-1])  # pooled straight to classes
    assert model.layers[-1].input_shape == (None, 8)
    with np.testing.assert_raises_regex(ValueError, "head 'mean' is not 'flatten' or 'gap'"):
        build_model("cnn", {"image": (32, 32, 3)}, 5, {"head": "mean"})


def test_weight_decay_shrinks_every_weight_by_its_rate_times_the_learning_rate():
    images = np.random.default_rng(2).random((8, 12, 12, 1), np.float32)
    labels = np.arange(8) % 3
    steps = {}
    for decay in (0.0, 0.25):
        keras.utils.set_random_seed(0)
        model = build_model("cnn", {"image": (12, 12, 1)}, 3, {"filters": [4], "dense_units": 8, "dropout": 0.0,
                                                              "learning_rate": 0.01, "weight_decay": decay})
        before = [w.numpy() for w in model.trainable_weights]
        model.train_on_batch(images, labels)
        steps[decay] = (before, [w.numpy() for w in model.trainable_weights])
    (start, plain), (same_start, decayed) = steps[0.0], steps[0.25]
    for w0, w0_again, a, b in zip(start, same_start, plain, decayed):
        np.testing.assert_array_equal(w0, w0_again)
        # the same Adam step on the same gradient, and the weight shrunk by 0.25 x 0.01 of itself
        np.testing.assert_allclose(b - a, -0.0025 * w0, rtol=1e-4, atol=1e-7)
    assert any(np.abs(w).max() > 0.1 for w in start)  # a shrink the comparison can see


def test_test_time_flip_serves_an_image_and_its_mirror_image_alike_and_trains_on_the_image_alone(tmp_path):
    model = build_model("cnn", {"image": (12, 12, 1)}, 3, {"filters": [4], "dense_units": 8, "dropout": 0.0, "test_time_flip": True})
    images = np.random.default_rng(0).random((4, 12, 12, 1), np.float32)
    served = model.predict(images, verbose=0)
    np.testing.assert_allclose(served, model.predict(images[:, :, ::-1], verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(served.sum(axis=1), 1.0, rtol=1e-5)
    # (found by type: its name's number depends on the layers other tests made in this process)
    [features] = [layer.inner for layer in model.layers if isinstance(layer, ViewsAveraged)]
    assert not np.allclose(features(images), features(images[:, :, ::-1]))  # the network itself is not symmetric
    # Saved and loaded back as TFMA loads a served model (a Keras SavedModel).
    model.save(tmp_path / "model", save_format="tf", include_optimizer=False)
    loaded = keras.models.load_model(tmp_path / "model", compile=False)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), served, rtol=1e-5, atol=1e-6)
    # Training sees the image alone (batch statistics of one pass; no dropout, so comparable):
    trained = model(images, training=True).numpy()
    output = model.layers[-1]
    np.testing.assert_allclose(trained, output(features(images, training=True)).numpy(), rtol=1e-5, atol=1e-6)


def test_test_time_shift_serves_the_mean_of_the_image_moved_each_way(tmp_path):
    model = build_model("cnn", {"image": (10, 10, 1)}, 3, {"filters": [4], "dense_units": 8, "dropout": 0.0,
                                                          "test_time_shift": 2})
    images = np.random.default_rng(1).random((3, 10, 10, 1), np.float32)
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)])
    # the image, then moved 2 pixels down, up, right and left, the uncovered border black
    views = [images] + [padded[:, 2 - dy:12 - dy, 2 - dx:12 - dx] for dy, dx in ((2, 0), (-2, 0), (0, 2), (0, -2))]
    assert views[1][0, 2, 0, 0] == images[0, 0, 0, 0] and not views[1][:, :2].any()
    [features] = [layer.inner for layer in model.layers if isinstance(layer, ViewsAveraged)]
    expected = model.layers[-1](np.mean([features(v).numpy() for v in views], axis=0)).numpy()
    served = model.predict(images, verbose=0)
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(served, model.layers[-1](features(images)).numpy())  # the views change the answer
    rebuilt = keras.models.model_from_json(model.to_json())  # the layer has a config, the inner network in it
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(images, verbose=0), served, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "model", save_format="tf", include_optimizer=False)
    loaded = keras.models.load_model(tmp_path / "model", compile=False)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), served, rtol=1e-5, atol=1e-6)


def test_unknown_model_family_is_named():
    try:
        build_model("transformer", {"numeric_z": (1, 0)}, 2, {})
    except ValueError as err:
        assert "unknown model family 'transformer'" in str(err)
    else:
        raise AssertionError("expected ValueError")


@pytest.mark.slow
def test_house_votes_model_learns_from_the_spec(data_dir):
    spec = load_spec("house_votes")
    train_rows, eval_rows = _split(list(read_rows(spec, str(data_dir / "house_votes" / "house-votes-84.data"))))
    result = train_and_evaluate(spec, train_rows, eval_rows, {"epochs": 20})
    assert result["accuracy"] > 0.9 and result["auc"] > 0.95, result
    assert isinstance(result["model"], keras.Model)


@pytest.mark.slow
def test_mammographic_model_learns_from_the_spec(data_dir):
    spec = load_spec("mammographic")
    train_rows, eval_rows = _split(list(read_rows(spec, str(data_dir / "mammographic" / "mammographic_masses.data"))))
    result = train_and_evaluate(spec, train_rows, eval_rows, {"epochs": 20})
    assert result["accuracy"] > 0.72 and result["auc"] > 0.8, result
