"""Predictions from a pushed model on the user's own inputs: image files, text files or strings,
table rows (CSV or Parquet).

Every input becomes the raw tf.Example a client sends to the served model (the image file's
bytes, the text, the row's raw columns; never the label), and the model's own transform does
the rest (decoding, resizing, vocabularies). A bad input (an image that does not decode, text
that is not UTF-8, a row with a wrong column count) is named and skipped. Inputs whose label is
known (a table's label column, or an image or text file in a folder named like a class) are
scored: accuracy and a confusion matrix.
"""
from __future__ import annotations

import csv
import itertools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

from components.ingest.csv_example_gen import to_example
from components.ingest.workers.archive_records import image_problem, text_problem
from components.ingest.workers.delimited_rows import RawDataError, parse_fields
from components.serving.atomic_pusher import served_versions
from tfxp_contract.dataset_spec import DatasetSpec
from tfxp_contract.errors import ExplainedError
from tfxp_contract.names import GENERATE_SIGNATURE, PREDICTIONS, PROBABILITIES, SERVING_SIGNATURE, SOURCE_FILE_FEATURE

BATCH = 256


class PredictError(ExplainedError, ValueError):
    """No model to ask, or inputs of a kind the dataset does not take."""


@dataclass
class Item:
    name: str  # file name, "file:line", or "text N"
    example: bytes  # serialized raw tf.Example
    label: Optional[float] = None  # class index (a regression: the number), when the input carries its label


@dataclass
class Predictions:
    names: list[str] = field(default_factory=list)
    labels: list[Optional[float]] = field(default_factory=list)
    probabilities: "object" = None  # numpy [inputs, classes]; a regression's predictions [inputs]


def model_dir(spec: DatasetSpec, output_dir: str, version: Optional[str] = None, model: Optional[str] = None) -> str:
    """``model``, or ``<output_dir>/<dataset>/serving/<version>`` (default: the newest complete one)."""
    if model:
        if not os.path.exists(os.path.join(model, "saved_model.pb")):
            raise PredictError(f"{model}: no saved_model.pb (give a SavedModel folder, e.g. a serving/<version>/)")
        return model
    serving = os.path.join(output_dir, spec.name, "serving")
    versions = [str(v) for v in served_versions(serving)]
    if not versions:
        raise PredictError(f"{serving}: no served model yet; run `tfxp run {spec.name}` first (or give --model DIR)")
    if version is None:
        return os.path.join(serving, versions[-1])
    if version not in versions:
        raise PredictError(f"{serving}: no version {version}; served versions: {', '.join(versions)}")
    return os.path.join(serving, version)


class DamagedModelError(PredictError):
    """A SavedModel that does not load: its files are cut, damaged or missing."""


def load_signature(model: str, signature: str):
    """``model``'s ``signature``, or a DamagedModelError naming the folder and what to do."""
    import tensorflow as tf
    try:
        return tf.saved_model.load(model).signatures[signature]
    except Exception as err:  # a damaged SavedModel raises protobuf, TensorFlow and index errors alike
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise DamagedModelError(
            f"{model}: the model does not load ({type(err).__name__}: {first}); its files are damaged or "
            "incomplete: push it again (tfxp run), or choose another served version with --version") from None


def _label_from_folder(spec: DatasetSpec, path: Path) -> Optional[int]:
    folder = path.parent.name.lower()
    for index, (value, name) in enumerate(zip(spec.label.values, spec.label.names)):
        if folder in (value.lower(), name.lower()):
            return index
    return None


def _feature_example(feature: str, content: bytes):
    import tensorflow as tf
    return tf.train.Example(features=tf.train.Features(feature={
        feature: tf.train.Feature(bytes_list=tf.train.BytesList(value=[content]))})).SerializeToString()


def check_task(spec: DatasetSpec, command: str) -> None:
    """``predict`` and ``predictions`` are a classifier's, ``generate`` a generative model's."""
    if (spec.task == "generative") != (command == "generate"):
        other = "tfxp generate" if spec.task == "generative" else "tfxp predict"
        raise PredictError(f"{spec.name} is a {spec.task} model; `tfxp {command}` is not for it (use `{other}`)")


def generate_images(model: str, count: int, seed: int, folder: str) -> list[str]:
    """``count`` samples from a generative model's ``generate`` signature as PNG files in
    ``folder`` (sample-<seed>-<n>.png); the same seed gives the same images."""
    import tensorflow as tf
    from tqdm import tqdm
    generate = load_signature(model, GENERATE_SIGNATURE)
    os.makedirs(folder, exist_ok=True)
    paths = []
    with tqdm(total=count, desc="generating", unit=" images", disable=None, leave=False) as progress:
        for start in range(0, count, BATCH):
            # each batch its own seed, derived from the user's: batches never repeat each other
            png = generate(count=tf.constant(min(BATCH, count - start)),
                           seed=tf.constant(seed * 1_000_003 + start // BATCH))["png"].numpy()
            for data in png:
                paths.append(os.path.join(folder, f"sample-{seed}-{len(paths):05d}.png"))
                with open(paths[-1], "wb") as f:
                    f.write(data)
            progress.update(len(png))
    return paths


def read_inputs(spec: DatasetSpec, paths: Sequence[str], texts: Sequence[str] = (),
                skip: Callable[[str], None] = lambda problem: None) -> Iterator[Item]:
    """Streams the raw examples for ``paths`` (and ``texts`` for text datasets), one file or row at
    a time; a bad input is passed to ``skip`` as "name: why" and left out."""
    family = spec.data_family
    if texts and family != "text":
        raise PredictError(f"{spec.name} takes {family} inputs; --text is for text datasets")
    for path in map(Path, paths):
        if not path.is_file():
            skip(f"{path}: no such file")
        elif family == "tabular":
            yield from _read_table(spec, path, skip)
        else:
            content = path.read_bytes()
            problem = image_problem(content) if family == "image" else text_problem(content)
            if problem:
                skip(f"{path}: {problem}")
                continue
            [feature] = spec.feature_columns
            yield Item(str(path), _feature_example(feature.name, content), _label_from_folder(spec, path))
    [feature] = spec.feature_columns if texts else [None]
    for n, text in enumerate(texts, 1):
        yield Item(f"text {n}", _feature_example(feature.name, text.encode()))


def _table_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line or row number, fields as text) of a CSV or Parquet file; the Parquet file's column
    names come first as row 1, then its rows a row group at a time."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq
        parquet = pq.ParquetFile(path)
        yield 1, list(parquet.schema_arrow.names)
        number = 1
        for batch in parquet.iter_batches(batch_size=4096):
            for row in zip(*batch.to_pydict().values()):
                number += 1
                yield number, ["" if value is None or value != value else str(value) for value in row]
        return
    with open(path, newline="", encoding="utf-8-sig") as f:
        for number, fields in enumerate(csv.reader(f), 1):
            if fields:
                yield number, fields


def _read_table(spec: DatasetSpec, path: Path, skip: Callable[[str], None]) -> Iterator[Item]:
    """Rows with the spec's raw columns: named by a header row, or in the spec's order with or
    without the label column."""
    label = spec.label.column
    features = [c.name for c in spec.feature_columns]
    header: Optional[dict[str, int]] = None  # column -> field index
    try:
        for number, fields in _table_rows(path):
            where = f"{path}:{number}"
            if number == 1 and set(features) <= {f.strip() for f in fields}:
                header = {f.strip(): i for i, f in enumerate(fields)}
                continue
            if header is not None:
                if len(fields) != len(header):
                    skip(f"{where}: expected {len(header)} columns (as the header), found {len(fields)}")
                    continue
                # the spec's order; the label only when the header has it, an unnamed ignored column empty
                fields = [fields[header[c.name]] if c.name in header else spec.missing_tokens[0]
                          for c in spec.columns if c.name != label or label in header]
            try:
                row = parse_fields(spec, fields, where, label_optional=True)
            except RawDataError as err:
                skip(str(err))
                continue
            truth = None if label not in row else row.pop(label) if spec.is_regression else \
                spec.label.values.index(row.pop(label))
            yield Item(where, to_example(row).SerializeToString(), truth)
    except (UnicodeDecodeError, csv.Error, OSError, ValueError) as err:
        skip(f"{path}: not a readable CSV or Parquet table ({err})")


def predict(model: str, items: Iterable[Item], batch_size: int = BATCH, output: str = PROBABILITIES) -> Predictions:
    """Class probabilities (``output``: a regression's ``predictions``) for every item, read and
    sent ``batch_size`` at a time (only names, labels and outputs are kept), with a progress bar
    on a terminal."""
    import numpy as np
    import tensorflow as tf
    from tqdm import tqdm
    serve = load_signature(model, SERVING_SIGNATURE)
    out, batches = Predictions(), []
    with tqdm(desc="predicting", unit=" inputs", disable=None, leave=False) as progress:
        items = iter(items)
        while chunk := list(itertools.islice(items, batch_size)):
            batches.append(serve(examples=tf.constant([item.example for item in chunk]))[output].numpy())
            out.names += [item.name for item in chunk]
            out.labels += [item.label for item in chunk]
            progress.update(len(chunk))
    out.probabilities = np.concatenate(batches) if batches else np.zeros((0, 0))
    return out


def prediction_table(spec: DatasetSpec, predictions: Predictions):
    """A pandas DataFrame: input, predicted class, its probability, each class's probability,
    label (a regression: input, prediction, label)."""
    import pandas as pd
    if spec.is_regression:
        frame = pd.DataFrame({"input": predictions.names, "prediction": predictions.probabilities})
        if any(label is not None for label in predictions.labels):
            frame["label"] = predictions.labels
        return frame
    names, probabilities = list(spec.label.names), predictions.probabilities
    frame = pd.DataFrame({"input": predictions.names,
                          "class": [names[i] for i in probabilities.argmax(axis=1)],
                          "probability": probabilities.max(axis=1)})
    for index, name in enumerate(names):
        frame[f"p({name})"] = probabilities[:, index]
    if any(label is not None for label in predictions.labels):
        frame["label"] = [names[label] if label is not None else None for label in predictions.labels]
    return frame


def confusion(spec: DatasetSpec, frame) -> tuple[float, object]:
    """(accuracy, confusion matrix as a DataFrame: rows = label, columns = predicted) over labelled rows."""
    import pandas as pd
    labelled = frame.dropna(subset=["label"])
    names = list(spec.label.names)
    matrix = pd.crosstab(pd.Categorical(labelled["label"], names), pd.Categorical(labelled["class"], names),
                         rownames=["label"], colnames=["predicted"], dropna=False)
    return float((labelled["label"] == labelled["class"]).mean()), matrix


def regression_scores(frame) -> dict[str, float]:
    """RMSE, MAE and R² over the labelled rows (as the evaluation computes them)."""
    labelled = frame.dropna(subset=["label"])
    errors = labelled["prediction"] - labelled["label"]
    total = float(((labelled["label"] - labelled["label"].mean()) ** 2).sum())
    return {"rmse": float((errors ** 2).mean() ** 0.5), "mae": float(errors.abs().mean()),
            "r2": 1.0 - float((errors ** 2).sum()) / total if total > 0 else float("nan")}


def output_suffix(output: str) -> str:
    """``output``'s suffix, checked before any work is done."""
    suffix = Path(output).suffix.lower()
    if suffix not in (".csv", ".parquet", ".json"):
        raise PredictError(f"{output}: --output must end in .csv, .parquet or .json")
    return suffix


def show_table(frame, output: Optional[str]) -> None:
    """Writes ``frame`` to ``output`` (.csv, .parquet or .json), or prints it when there is none."""
    if not output:
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        return
    suffix = output_suffix(output)
    if suffix == ".csv":
        frame.to_csv(output, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(output, index=False)
    else:
        frame.to_json(output, orient="records", indent=1)
    print(f"{len(frame)} predictions written to {output}", file=sys.stderr)


def _raw_value(feature):
    """A raw feature's single value as shown in a table: text, a number, or None."""
    kind = feature.WhichOneof("kind") if feature is not None else None
    if kind == "bytes_list" and feature.bytes_list.value:
        return feature.bytes_list.value[0].decode("utf-8", "replace")
    if kind == "float_list" and feature.float_list.value:
        return feature.float_list.value[0]
    return None


def inference_table(spec: DatasetSpec, inference_uri: str):
    """The BulkInferrer's PredictionLogs as a DataFrame: each input (a table's raw columns; an
    image's file, a text's file and its first 80 characters), then the predicted class, its
    probability and each class's probability."""
    import pandas as pd
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2
    from tfx.dsl.io import fileio
    files = sorted(fileio.glob(os.path.join(inference_uri, "*.gz")))
    names = list(spec.label.names)
    family = spec.data_family
    output = PREDICTIONS if spec.is_regression else PROBABILITIES
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log
        examples = tf.make_ndarray(log.request.inputs["examples"]).reshape(-1)
        probabilities = tf.make_ndarray(log.response.outputs[output]).reshape(len(examples), -1)
        for serialized, p in zip(examples, probabilities):
            features = tf.train.Example.FromString(serialized).features.feature
            if family == "tabular":
                row = {column.name: _raw_value(features.get(column.name)) for column in spec.feature_columns}
            else:
                row = {"input": _raw_value(features.get(SOURCE_FILE_FEATURE))}
                if family == "text":
                    [column] = spec.feature_columns
                    row[column.name] = (_raw_value(features.get(column.name)) or "")[:80]
            if spec.is_regression:
                row["prediction"] = float(p[0])
            else:
                row["class"] = names[int(p.argmax())]
                row["probability"] = float(p.max())
                row.update({f"p({name})": float(p[i]) for i, name in enumerate(names)})
            rows.append(row)
    return pd.DataFrame(rows)
