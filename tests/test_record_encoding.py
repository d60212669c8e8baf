import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from components.ingest.workers.record_encoding import example_bytes, png_batch


def _reference(features: dict) -> bytes:
    """What TensorFlow's own protobuf classes serialize for the same features."""
    feature = {}
    for name, value in features.items():
        if value is None:
            continue
        if isinstance(value, bytes):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        elif isinstance(value, list):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=value))
        else:
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


@pytest.mark.parametrize("features", [
    {},
    {"label": None},
    {"age": 61.0, "shape": b"3", "density": None, "margin": b""},
    {"zeta": 0.1, "Alpha": -2.5e-7, "alpha": 3.4e38, "é": b"x", "b": 1e39, "c": -1e39, "n": 7},
    {"image": bytes(range(256)) * 70, "label": b"7"},  # lengths over 127 and 16,383: longer varints
    {"text": "Ein schöner Film. 映画".encode(), "label": b"pos"},
    {"tokens": [b"a", b"", b"ccc" * 50], "k" * 200: b"long key"},
])
def test_example_bytes_equal_tensorflows_deterministic_serialization(features):
    assert example_bytes(features) == _reference(features)


def test_example_bytes_on_random_rows_equal_tensorflows():
    rng = np.random.default_rng(0)
    for _ in range(300):
        names = [f"c{i}" for i in rng.permutation(12)[:rng.integers(0, 12)]]
        row = {}
        for name in names:
            kind = rng.integers(0, 3)
            row[name] = (None if kind == 0 else float(rng.normal() * 10.0 ** rng.integers(-8, 8)) if kind == 1
                         else rng.bytes(int(rng.integers(0, 300))))
        assert example_bytes(row) == _reference(row)


def test_example_bytes_refuse_a_value_of_another_type():
    with pytest.raises(TypeError, match="not str"):
        example_bytes({"name": "text, not bytes"})


@pytest.mark.parametrize("shape,mode", [((5, 28, 28), "L"), ((3, 7, 11, 1), "L"), ((2, 9, 4, 2), "LA"),
                                        ((4, 6, 5, 3), "RGB"), ((2, 3, 8, 4), "RGBA")])
def test_png_batch_decodes_to_the_same_pixels(shape, mode):
    images = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    pngs = png_batch(images)
    assert len(pngs) == shape[0]
    for image, png in zip(images, pngs):
        with Image.open(io.BytesIO(png)) as decoded:
            assert decoded.mode == mode
            np.testing.assert_array_equal(np.asarray(decoded).reshape(image.shape), image)
        by_tf = tf.io.decode_png(png).numpy()
        np.testing.assert_array_equal(by_tf.reshape(image.shape), image)


def test_png_batch_of_mnist_digits_is_smaller_than_pils(data_dir):
    from components.ingest.workers.idx_records import read_pairs
    mnist = data_dir / "mnist"
    digits = np.stack([p for _, p, _ in read_pairs(str(mnist / "t10k-images-idx3-ubyte.gz"),
                                                   str(mnist / "t10k-labels-idx1-ubyte.gz"), limit=200)])
    ours = sum(len(png) for png in png_batch(digits))
    pils = 0
    for digit in digits:
        buffer = io.BytesIO()
        Image.fromarray(digit).save(buffer, format="PNG")
        pils += buffer.tell()
    assert ours < pils


@pytest.mark.parametrize("images,message", [
    (np.zeros((2, 4, 4), np.float32), "uint8"),
    (np.zeros((4, 4), np.uint8), "uint8 images"),
    (np.zeros((2, 4, 4, 5), np.uint8), "cannot store"),
    (np.zeros((2, 0, 4), np.uint8), "cannot store"),
])
def test_png_batch_refuses_what_png_cannot_hold(images, message):
    with pytest.raises(ValueError, match=message):
        png_batch(images)
