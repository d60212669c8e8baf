"""Everyday tables through `tfxp spec init` (the draft unedited) and `tfxp run`: a numeric target
(a regression, beside scikit-learn's Ridge on the pipeline's own split), word labels with empty
cells in a string column, and one table sorted by its label against the same rows shuffled.
Data bundled with scikit-learn, or generated."""
import os
import random

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import tfxp_here
from tfxp_contract.dataset_spec import load_spec
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

pytestmark = pytest.mark.e2e


def _tfxp(*args, cwd):
    done = tfxp_here(*args, cwd=cwd)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    return done


def _drafted_and_run(folder, table, label: str):
    spec = folder / f"{table.stem}.yaml"
    _tfxp("spec", "init", table, "--label", label, "--out", spec, cwd=folder)
    _tfxp("run", spec, "--output-dir", folder / "out", cwd=folder)
    loaded = load_spec(str(spec))
    return loaded, str(folder / "out" / loaded.name / "metadata.sqlite")


def _split_rows(metadata: str, name: str, split: str) -> list[dict]:
    """The raw rows ExampleGen wrote to a split (the pipeline's own hash split): the run's first
    Examples artifact (Transform's come after it)."""
    from tfxp_reports.metadata_store import artifacts_of, open_store
    raw = min(artifacts_of(open_store(metadata), "Examples", name), key=lambda a: a.id)
    folder = os.path.join(raw.uri, f"Split-{split}")
    rows = []
    for record in tf.data.TFRecordDataset(tf.io.gfile.glob(f"{folder}/*.gz"), compression_type="GZIP"):
        features = tf.train.Example.FromString(record.numpy()).features.feature
        rows.append({k: (v.float_list.value[0] if v.float_list.value else v.bytes_list.value[0].decode())
                     for k, v in features.items() if v.float_list.value or v.bytes_list.value})
    return rows


def _overall(metadata: str, name: str) -> dict:
    import json
    summary = os.path.join(newest_artifact_uri(metadata, "ModelEvaluation", name), "report", "summary.json")
    checks = json.loads(open(summary).read())["evaluation"]["checks"]
    return {c["metric"]: c["value"] for c in checks if c["slice"] == "overall"}


def test_a_numeric_target_is_drafted_as_a_regression_and_matches_ridge_on_the_same_split(tmp_path):
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "diabetes.csv", index=False)
    spec, metadata = _drafted_and_run(tmp_path, tmp_path / "diabetes.csv", "target")
    assert spec.is_regression and latest_outcome(metadata).blessed and latest_outcome(metadata).pushed
    features = [c.name for c in spec.feature_columns]
    train, held = (_split_rows(metadata, spec.name, s) for s in ("train", "eval"))
    x_train, x_eval = (np.array([[r[f] for f in features] for r in rows]) for rows in (train, held))
    y_train, y_eval = (np.array([r["target"] for r in rows]) for rows in (train, held))
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-12
    ridge = Ridge().fit((x_train - mean) / std, y_train).predict((x_eval - mean) / std)
    ridge_r2 = 1 - ((y_eval - ridge) ** 2).sum() / ((y_eval - y_eval.mean()) ** 2).sum()
    ours = _overall(metadata, spec.name)["r2"]
    print(f"R² on the pipeline's eval split ({len(y_eval)} rows): pipeline {ours:.4f}, scikit-learn Ridge "
          f"{ridge_r2:.4f}")
    assert abs(ours - ridge_r2) <= 0.1 or ours > ridge_r2
    page = open(os.path.join(newest_artifact_uri(metadata, "ModelEvaluation", spec.name), "report", "report.html")).read()
    assert "<h2>Predicted and actual</h2>" in page and "predicted vs actual" not in page.split("<h2>Predicted")[0]


def test_word_labels_and_empty_cells_in_a_string_column_run_as_drafted(tmp_path):
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    rng = random.Random(0)
    # a string column with empty cells, as spreadsheets export it
    frame["colour"] = ["" if rng.random() < 0.1 else ("deep" if v > 5 else "light") for v in frame["color_intensity"]]
    frame.to_csv(tmp_path / "wine.csv", index=False)
    spec, metadata = _drafted_and_run(tmp_path, tmp_path / "wine.csv", "target")
    assert "" in spec.missing_tokens and spec.label.values == ("barbera", "barolo", "grignolino")
    outcome = latest_outcome(metadata)
    assert outcome.blessed and outcome.pushed, outcome.summary()


def _rows(count: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, 10))
    weights = rng.normal(size=10)
    y = (x @ weights + rng.normal(scale=1.0, size=count)) > 0
    return [[f"{v:.4f}" for v in row] + ["yes" if label else "no"] for row, label in zip(x, y)]


def test_a_table_sorted_by_label_trains_as_well_as_the_same_rows_shuffled(tmp_path):
    rows = _rows(3000)
    header = ",".join([f"x{i}" for i in range(10)] + ["label"])
    accuracies = {}
    for order, ordered in [("sorted", sorted(rows, key=lambda r: r[-1])), ("shuffled", rows)]:
        folder = tmp_path / order
        folder.mkdir()
        (folder / f"{order}.csv").write_text(header + "\n" + "\n".join(",".join(r) for r in ordered) + "\n")
        spec, metadata = _drafted_and_run(folder, folder / f"{order}.csv", "label")
        accuracies[order] = _overall(metadata, spec.name)["accuracy"]
        assert latest_outcome(metadata).blessed, order
    print(f"accuracy, sorted by label {accuracies['sorted']:.4f}, shuffled {accuracies['shuffled']:.4f}")
    assert abs(accuracies["sorted"] - accuracies["shuffled"]) <= 0.02


def test_a_folder_of_class_named_png_folders_runs_as_drafted(tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for index, (pixels, target) in enumerate(zip(digits.images, digits.target)):
        if target <= 2:
            folder = tmp_path / "digits" / str(target)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((pixels * 16).clip(0, 255).astype(np.uint8)).resize((16, 16)).save(folder / f"{index}.png")
    spec_path = tmp_path / "digits.yaml"
    _tfxp("spec", "init", tmp_path / "digits", "--out", spec_path, cwd=tmp_path)
    spec = load_spec(str(spec_path))
    assert spec.format == "archive" and spec.label.values == ("0", "1", "2")
    assert spec.feature_columns[0].shape == (16, 16, 1)
    _tfxp("run", spec_path, "--output-dir", tmp_path / "out", cwd=tmp_path)
    outcome = latest_outcome(str(tmp_path / "out" / "digits" / "metadata.sqlite"))
    assert outcome.blessed and outcome.pushed, outcome.summary()


def test_free_text_in_a_quoted_csv_column_beats_a_tfidf_baseline(tmp_path, data_dir):
    """IMDB reviews in a CSV column as pandas writes it (quotes, commas, line breaks; over 1 MiB):
    drafted as text (the text_nb family), blessed, at least as accurate as TF-IDF + logistic
    regression on the same split (measured: 91.8% against 89.7%)."""
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from components.ingest.workers.archive_records import read_archive

    reviews = [{"review": r.content.decode().replace("<br /><br />", "\n\n"), "sentiment": r.label}
               for r in read_archive(str(data_dir / "imdb" / "aclImdb_v1.tar.gz"), "text", ["neg", "pos"], (".txt",),
                                     split_folder="train", limit=2000)]
    pd.DataFrame(reviews).sample(frac=1, random_state=0).to_csv(tmp_path / "reviews.csv", index=False)
    assert (tmp_path / "reviews.csv").stat().st_size > 1 << 20
    spec, metadata = _drafted_and_run(tmp_path, tmp_path / "reviews.csv", "sentiment")
    assert [c.type for c in spec.feature_columns] == ["text"]
    assert latest_outcome(metadata).blessed
    train, held = (_split_rows(metadata, spec.name, s) for s in ("train", "eval"))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=20000)
    model = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform([r["review"] for r in train]),
                                                  [r["sentiment"] for r in train])
    tfidf = float((model.predict(vectorizer.transform([r["review"] for r in held])) ==
                   np.array([r["sentiment"] for r in held])).mean())
    ours = _overall(metadata, spec.name)["accuracy"]
    print(f"accuracy on the pipeline's eval split ({len(held)} reviews): pipeline {ours:.4f}, TF-IDF + logistic "
          f"regression {tfidf:.4f}")
    assert ours >= tfidf


def test_parquet_with_nulls_a_boolean_a_date_and_a_timestamp_runs_as_drafted(tmp_path):
    """Dates become calendar features: the label depends on the weekday and the hour, which a
    model of the raw day count cannot see."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 2000
    day = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    seen = pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 24 * 365, n), unit="h")
    x = rng.normal(size=n)
    label = np.where(x + 1.5 * (day.dayofweek >= 5) + 1.5 * (seen.hour < 6) + rng.normal(scale=0.5, size=n) > 0.8,
                     "buy", "skip")
    frame = pd.DataFrame({"x": np.where(rng.random(n) < 0.05, np.nan, x),
                          "member": pd.array(np.where(rng.random(n) < 0.05, None, rng.random(n) < 0.5), dtype="boolean"),
                          "day": day.date, "seen": seen, "label": label})
    frame.loc[rng.random(n) < 0.03, "day"] = None
    frame.to_parquet(tmp_path / "events.parquet")
    spec, metadata = _drafted_and_run(tmp_path, tmp_path / "events.parquet", "label")
    assert {c.name: c.type for c in spec.feature_columns} == {"x": "numeric", "member": "categorical",
                                                              "day": "datetime", "seen": "datetime"}
    outcome = latest_outcome(metadata)
    assert outcome.blessed and outcome.pushed, outcome.summary()
    assert _overall(metadata, spec.name)["accuracy"] > 0.78  # the calendar features were learned
