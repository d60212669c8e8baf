"""The text transform on a few reviews, with tf.Transform's own Beam implementation: word
and word-pair vocabulary learned from the data, ids padded to the spec's length, a long
review cut to its first and last halves."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from tfxp_contract.dataset_spec import load_spec
from trainers import models
from transforms.common import raw_feature_spec
from transforms.text import head_and_tail, model_inputs, transform_text, vocabulary_name


def analyze_and_transform(spec, rows: list[dict], tmp_path) -> tuple[list[dict], tft.TFTransformOutput]:
    """The text transform analysed over ``rows`` and applied to them by tf.Transform's Beam
    implementation: (transformed rows, the written transform)."""
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(raw_feature_spec(spec))
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp"), force_tf_compat_v1=False):
        (out, _), transform_fn = ((rows, metadata)
                                  | tft_beam.AnalyzeAndTransformDataset(lambda x: transform_text(x, spec)))
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "transform"))
    return out, tft.TFTransformOutput(str(tmp_path / "transform"))


@pytest.mark.slow  # tf.Transform's Beam implementation: ~20 s
def test_ngram_vocabulary_and_padded_ids(tmp_path):
    spec = load_spec("imdb")
    column = dataclasses.replace(spec.columns[0], vocabulary_size=50, sequence_length=12, ngrams=2, weighting="none")
    spec = dataclasses.replace(spec, columns=(column,) + spec.columns[1:])
    reviews = [b"Not good. Not good at all!", b"Good film, good<br />acting", b"not bad",
               b"long and slow, it drags on and on, but the end is brilliant"]
    rows = [{"review": [r], "label": [b"pos" if i == 1 else b"neg"]} for i, r in enumerate(reviews)]
    out, output = analyze_and_transform(spec, rows, tmp_path)
    vocabulary = output.vocabulary_by_name(vocabulary_name(column))
    assert b"not good" in vocabulary and b"good" in vocabulary and b"acting" in vocabulary  # <br /> split words
    ids = np.stack([o["review"] for o in out])
    assert ids.shape == (4, 12)
    assert ids[0][:6].tolist() != [0] * 6 and ids[2][-1] == 0  # the short review is padded with 0
    # the long one (25 words and pairs) keeps its first 6 and its last 6: its verdict too
    assert ids[3][0] == vocabulary.index(b"long") + 1 and ids[3][-1] == vocabulary.index(b"brilliant") + 1
    assert [o["label"] for o in out] == [0, 1, 0, 0]

    layout = model_inputs(spec, output.vocabulary_size_by_name)
    assert layout == {"review": (12, len(vocabulary) + 2)}
    for family in ("text_bag", "text_cnn", "text_lstm"):
        model = models.build_model(family, layout, 2, {"kernel_size": 3} if family == "text_cnn" else {})
        probabilities = model.predict(ids, verbose=0)
        assert probabilities.shape == (4, 2) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5), family


def test_a_text_longer_than_the_sequence_keeps_its_first_and_last_halves():
    tokens = tf.ragged.constant([list(range(1, 11)), [1, 2, 3], [], list(range(1, 7)), list(range(1, 8))],
                                dtype=tf.int64)
    assert head_and_tail(tokens, 6).numpy().tolist() == [
        [1, 2, 3, 8, 9, 10], [1, 2, 3, -1, -1, -1], [-1] * 6, [1, 2, 3, 4, 5, 6], [1, 2, 3, 5, 6, 7]]
    assert head_and_tail(tokens, 5).numpy().tolist()[0] == [1, 2, 8, 9, 10]  # an odd length: the tail is longer


@pytest.mark.slow  # tf.Transform's Beam implementation: ~20 s
def test_nb_weighting_gives_distinct_tokens_and_their_naive_bayes_ratios(tmp_path):
    spec = load_spec("imdb")
    column = dataclasses.replace(spec.columns[0], vocabulary_size=50, sequence_length=8, ngrams=1, weighting="nb")
    spec = dataclasses.replace(spec, columns=(column,) + spec.columns[1:], model=dataclasses.replace(
        spec.model, family="text_nb", hyperparameters={}))
    reviews = [(b"good good film", b"pos"), (b"good acting", b"pos"), (b"bad film", b"neg"), (b"bad bad bad", b"neg")]
    rows = [{"review": [r], "label": [label]} for r, label in reviews]
    out, output = analyze_and_transform(spec, rows, tmp_path)
    vocabulary = [t.decode() for t in output.vocabulary_by_name(vocabulary_name(column))]
    ids = np.stack([o["review"] for o in out])
    ratios = np.stack([o["review_nb"] for o in out])
    assert ids.shape == (4, 8) and ratios.shape == (4, 8, 1)  # two classes: the second's ratios
    words = [[vocabulary[i - 1] for i in row if i] for row in ids]
    assert words == [["good", "film"], ["good", "acting"], ["bad", "film"], ["bad"]]  # each token once
    assert not ratios[3, 1:].any()  # padding has no weight

    # Wang & Manning's r for "pos" from the examples holding each word: p = 1 + positive ones,
    # q = 1 + negative ones, each normalised over the vocabulary (the OOV id is in no review).
    positive = {"good": 2, "film": 1, "acting": 1, "bad": 0}
    negative = {"good": 0, "film": 1, "acting": 0, "bad": 2}
    assert sorted(vocabulary) == sorted(positive)
    p = {w: 1 + positive[w] for w in vocabulary}
    q = {w: 1 + negative[w] for w in vocabulary}
    p_sum, q_sum = sum(p.values()), sum(q.values())
    for row, tokens in zip(ratios, words):
        for position, word in enumerate(tokens):
            expected = np.log((p[word] / p_sum) / (q[word] / q_sum))
            assert np.isclose(row[position, 0], expected, atol=1e-5), word

    layout = model_inputs(spec, output.vocabulary_size_by_name)
    assert layout == {"review": (8, len(vocabulary) + 2), "review_nb": (8, 1, "nb")}
    model = models.build_model("text_nb", layout, 2, {"learning_rate": 0.1})
    labels = np.array([o["label"] for o in out])
    model.fit({"review": ids, "review_nb": ratios}, labels, epochs=30, verbose=0)
    assert (model.predict({"review": ids, "review_nb": ratios}, verbose=0).argmax(axis=1) == labels).all()
