"""A table with a free-text column beside numbers and categories: the dense family embeds the
text's ids (averaged, padding masked) beside the other inputs, and learns from both."""
import numpy as np
import pytest

from trainers.models import build_model


@pytest.mark.slow
def test_the_dense_model_takes_text_ids_beside_numeric_and_categorical_inputs():
    rng = np.random.default_rng(0)
    n, length, ids = 600, 12, 50
    label = rng.integers(0, 2, size=n)
    # each class has its own half of the words, mixed with words from anywhere
    own = np.where(label[:, None] == 0, rng.integers(2, ids // 2, size=(n, length)),
                   rng.integers(ids // 2, ids, size=(n, length)))
    text = np.where(rng.random((n, length)) < 0.6, own, rng.integers(2, ids, size=(n, length)))
    text[:, 8:] = 0  # padding
    layout = {"numeric_z": (2, 0), "numeric_missing": (2, 0), "categorical_ids": (1, 4), "review": (length, ids, "text")}
    inputs = {"numeric_z": rng.normal(size=(n, 2)).astype(np.float32), "numeric_missing": np.zeros((n, 2), np.float32),
              "categorical_ids": rng.integers(0, 4, size=(n, 1)), "review": text}
    model = build_model("dense", layout, 2, {"hidden_units": [16], "learning_rate": 0.01, "embedding_dim": 8})
    history = model.fit(inputs, label, epochs=15, batch_size=32, verbose=0).history
    assert history["accuracy"][-1] > 0.8 > history["accuracy"][0]
