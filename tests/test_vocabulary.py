"""The exact top-k vocabulary against tf.Transform's own, on tf.Transform's Beam implementation:
the same file line for line (ties included) and the same ids."""
import random

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from transforms.vocabulary import EMPTY_VOCABULARY, top_k_vocabulary

WIDTH = 30


def _analyse(rows, top_k, tmp_path):
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec({"text": tf.io.FixedLenFeature([], tf.string)})

    def dense(ids):
        return tf.reshape(tf.sparse.to_dense(tf.sparse.reset_shape(ids, [ids.dense_shape[0], WIDTH]), -1), [-1, WIDTH])

    def preprocessing_fn(inputs):
        tokens = tf.strings.split(inputs["text"], sep=" ").to_sparse()
        ours = tft.apply_vocabulary(tokens, top_k_vocabulary(tokens.values, top_k, "ours"), num_oov_buckets=1)
        theirs = tft.compute_and_apply_vocabulary(tokens, top_k=top_k, num_oov_buckets=1, vocab_filename="theirs")
        return {"ours": dense(ours), "theirs": dense(theirs)}

    with tft_beam.Context(temp_dir=str(tmp_path / "tmp"), force_tf_compat_v1=False):
        (out, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "transform"))
    return out, tft.TFTransformOutput(str(tmp_path / "transform"))


@pytest.mark.slow  # two tf.Transform analyses on Beam: ~25 s
def test_same_vocabulary_and_ids_as_tf_transform(tmp_path):
    rng = random.Random(0)
    words = [f"w{i}" for i in range(400)]
    rows = [{"text": " ".join(rng.choices(words, weights=range(400, 0, -1), k=rng.randint(0, 25)))}
            for _ in range(3000)]
    rows += [{"text": "tie_b tie_a"}] * 3 + [{"text": "line\nbreak"}]  # equal counts; a token with a line break
    out, output = _analyse(rows, 120, tmp_path)
    ours, theirs = output.vocabulary_by_name("ours"), output.vocabulary_by_name("theirs")
    assert len(ours) == 120 and ours == theirs
    assert output.vocabulary_size_by_name("ours") == 120
    assert np.array_equal(np.stack([r["ours"] for r in out]), np.stack([r["theirs"] for r in out]))
    assert (np.stack([r["ours"] for r in out]) == 120).any()  # out-of-vocabulary tokens get the OOV id

    _, output = _analyse(rows, 10_000, tmp_path / "all")  # top_k above the distinct tokens: all of them, ties ordered
    ours = output.vocabulary_by_name("ours")
    assert ours == output.vocabulary_by_name("theirs")
    assert ours.index(b"tie_b") + 1 == ours.index(b"tie_a") and not any(b"\n" in t for t in ours)


def test_no_tokens_gives_a_one_line_vocabulary(tmp_path):
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec({"text": tf.io.FixedLenFeature([], tf.string)})

    def preprocessing_fn(inputs):
        tokens = tf.strings.split(inputs["text"]).to_sparse()
        ids = tft.apply_vocabulary(tokens, top_k_vocabulary(tokens.values, 5, "ours"), num_oov_buckets=1)
        return {"count": tf.reshape(tf.sparse.reduce_sum(ids, axis=1, output_is_sparse=False) * 0 + 1, [-1])}

    with tft_beam.Context(temp_dir=str(tmp_path / "tmp"), force_tf_compat_v1=False):
        (out, _), transform_fn = ([{"text": ""}, {"text": " "}], metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "transform"))
    assert tft.TFTransformOutput(str(tmp_path / "transform")).vocabulary_by_name("ours") == [EMPTY_VOCABULARY]
    assert len(out) == 2
