"""The plain script of ``bench.large_table``: what a user writes without the pipeline, importing
only pandas, NumPy and Keras (and the pipeline's AutoGraph setting); its time is the baseline.

  python -m bench.large_table_script TABLE.csv DRAFTED_SPEC.yaml   # prints its accuracy as JSON
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

LABEL = "churn"


def plain_script(table: str, spec_path: str) -> None:
    """pandas.read_csv, a 4:1 split by row content, z-scores learned on the training rows (an
    empty cell: the mean, and a missing indicator), one-hot categoricals, the drafted model's
    layers trained one epoch; prints the held-out accuracy as JSON."""
    import numpy as np
    import pandas as pd
    import tf_keras as keras

    from transforms.autograph import skip_autograph_for_libraries

    # As the pipeline's Trainer does: without it a plain tf_keras script here spends ~30 s of
    # AutoGraph on its first trace; the baseline is not charged for that.
    skip_autograph_for_libraries()

    spec = yaml.safe_load(Path(spec_path).read_text())
    hyperparameters = spec["model"]["hyperparameters"]
    frame = pd.read_csv(table, keep_default_na=False, dtype=str)
    train = np.asarray(pd.util.hash_pandas_object(frame, index=False) % 5 != 0)  # 4:1, by row content
    numeric = [c["name"] for c in spec["columns"] if c["type"] == "numeric"]
    categorical = [c["name"] for c in spec["columns"] if c["type"] == "categorical" and c["name"] != LABEL]
    parts = []
    for name in numeric:
        values = pd.to_numeric(frame[name].replace("", np.nan), errors="coerce").to_numpy(dtype="float32")
        missing = np.isnan(values)
        mean, deviation = np.nanmean(values[train]), np.nanstd(values[train]) or 1.0
        parts += [np.where(missing, 0.0, (values - mean) / deviation), missing.astype("float32")]
    features = np.column_stack(parts + [pd.get_dummies(frame[categorical]).to_numpy(dtype="float32")])
    labels = (frame[LABEL] == "yes").to_numpy(dtype="int64")

    inputs = keras.Input(shape=(features.shape[1],))
    x = inputs
    for units in hyperparameters.get("hidden_units", [16]):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-3))(x)
        x = keras.layers.Dropout(hyperparameters.get("dropout", 0.2))(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(hyperparameters.get("learning_rate", 0.01)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(features[train], labels[train], batch_size=hyperparameters.get("batch_size", 32), epochs=1, verbose=2)
    _, accuracy = model.evaluate(features[~train], labels[~train], batch_size=4096, verbose=0)
    print(json.dumps({"accuracy": accuracy, "train_rows": int(train.sum()), "eval_rows": int((~train).sum())}))


if __name__ == "__main__":
    plain_script(*sys.argv[1:3])
