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
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence

from components.archive_records import image_problem, text_problem
from components.atomic_pusher import served_versions
from components.delimited_rows import RawDataError, parse_fields, to_example
from tfxp_contract.dataset_spec import DatasetSpec
from tfxp_contract.errors import ExplainedError
from tfxp_contract.names import PROBABILITIES, SERVING_SIGNATURE

BATCH = 256


class PredictError(ExplainedError, ValueError):
    """No model to ask, or inputs of a kind the dataset does not take."""


@dataclass
class Item:
    name: str  # file name, "file:line", or "text N"
    example: bytes  # serialized raw tf.Example
    label: Optional[int] = None  # class index, when the input carries its label


@dataclass
class Inputs:
    items: list[Item] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: why"


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


def read_inputs(spec: DatasetSpec, paths: Sequence[str], texts: Sequence[str] = ()) -> Inputs:
    """The raw examples for ``paths`` (and ``texts`` for text datasets), bad ones in ``skipped``."""
    inputs = Inputs()
    family = spec.data_family
    if texts and family != "text":
        raise PredictError(f"{spec.name} takes {family} inputs; --text is for text datasets")
    for path in map(Path, paths):
        if not path.is_file():
            inputs.skipped.append(f"{path}: no such file")
        elif family == "tabular":
            _read_table(spec, path, inputs)
        else:
            content = path.read_bytes()
            problem = image_problem(content) if family == "image" else text_problem(content)
            if problem:
                inputs.skipped.append(f"{path}: {problem}")
                continue
            [feature] = spec.feature_columns
            inputs.items.append(Item(str(path), _feature_example(feature.name, content),
                                     _label_from_folder(spec, path)))
    [feature] = spec.feature_columns if texts else [None]
    for n, text in enumerate(texts, 1):
        inputs.items.append(Item(f"text {n}", _feature_example(feature.name, text.encode())))
    return inputs


def _table_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line or row number, fields as text) of a CSV or Parquet file."""
    if path.suffix.lower() == ".parquet":
        import pandas as pd
        frame = pd.read_parquet(path)
        yield 1, [str(c) for c in frame.columns]
        for number, row in enumerate(frame.itertuples(index=False), 2):
            yield number, ["" if value is None or value != value else str(value) for value in row]
        return
    with open(path, newline="", encoding="utf-8-sig") as f:
        for number, fields in enumerate(csv.reader(f), 1):
            if fields:
                yield number, fields


def _read_table(spec: DatasetSpec, path: Path, inputs: Inputs) -> None:
    """Rows with the spec's raw columns: named by a header row, or in the spec's order with or
    without the label column."""
    names = [c.name for c in spec.columns]
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
                order, width = header, len(header)
            elif len(fields) == len(names) - 1:
                order, width = {n: i for i, n in enumerate(n for n in names if n != label)}, len(names) - 1
            else:
                order, width = {n: i for i, n in enumerate(names)}, len(names)
            if len(fields) != width:
                inputs.skipped.append(f"{where}: expected {width} columns, found {len(fields)}")
                continue
            has_label = label in order
            full = [fields[order[n]] if n in order else spec.missing_token for n in names]
            if not has_label:
                full[names.index(label)] = spec.label.values[0]  # a placeholder, dropped below
            try:
                row = parse_fields(spec, full, where)
            except RawDataError as err:
                inputs.skipped.append(str(err))
                continue
            truth = spec.label.values.index(row.pop(label)) if has_label else None
            inputs.items.append(Item(where, to_example(row).SerializeToString(), truth))
    except (UnicodeDecodeError, csv.Error, OSError, ValueError) as err:
        inputs.skipped.append(f"{path}: not a readable CSV or Parquet table ({err})")


def predict(model: str, items: Sequence[Item], batch_size: int = BATCH):
    """Class probabilities for every item, [len(items), classes], in batches (with a progress bar
    on a terminal)."""
    import numpy as np
    import tensorflow as tf
    from tqdm import tqdm
    serve = tf.saved_model.load(model).signatures[SERVING_SIGNATURE]
    batches = []
    for start in tqdm(range(0, len(items), batch_size), desc="predicting", unit="batch", disable=None, leave=False):
        chunk = [item.example for item in items[start:start + batch_size]]
        batches.append(serve(examples=tf.constant(chunk))[PROBABILITIES].numpy())
    return np.concatenate(batches) if batches else np.zeros((0, 0))


def prediction_table(spec: DatasetSpec, items: Sequence[Item], probabilities):
    """A pandas DataFrame: input, predicted class, its probability, each class's probability, label."""
    import pandas as pd
    names = list(spec.label.names)
    frame = pd.DataFrame({"input": [item.name for item in items],
                          "class": [names[i] for i in probabilities.argmax(axis=1)] if len(items) else [],
                          "probability": probabilities.max(axis=1) if len(items) else []})
    for index, name in enumerate(names):
        frame[f"p({name})"] = probabilities[:, index] if len(items) else []
    if any(item.label is not None for item in items):
        frame["label"] = [names[item.label] if item.label is not None else None for item in items]
    return frame


def confusion(spec: DatasetSpec, frame) -> tuple[float, object]:
    """(accuracy, confusion matrix as a DataFrame: rows = label, columns = predicted) over labelled rows."""
    import pandas as pd
    labelled = frame.dropna(subset=["label"])
    names = list(spec.label.names)
    matrix = pd.crosstab(pd.Categorical(labelled["label"], names), pd.Categorical(labelled["class"], names),
                         rownames=["label"], colnames=["predicted"], dropna=False)
    return float((labelled["label"] == labelled["class"]).mean()), matrix


def write_table(frame, path: str) -> None:
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records", indent=1)
    else:
        raise PredictError(f"{path}: --output must end in .csv, .parquet or .json")


def inference_table(spec: DatasetSpec, inference_uri: str):
    """The BulkInferrer's PredictionLogs as a DataFrame: each example's raw columns, then the
    predicted class, its probability and each class's probability."""
    import pandas as pd
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2
    from tfx.dsl.io import fileio
    files = sorted(fileio.glob(os.path.join(inference_uri, "*.gz")))
    names = list(spec.label.names)
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log
        examples = tf.make_ndarray(log.request.inputs["examples"]).reshape(-1)
        probabilities = tf.make_ndarray(log.response.outputs[PROBABILITIES]).reshape(len(examples), -1)
        for serialized, p in zip(examples, probabilities):
            features = tf.train.Example.FromString(serialized).features.feature
            row = {}
            for column in spec.feature_columns:
                value = features.get(column.name)
                kind = value.WhichOneof("kind") if value is not None else None
                row[column.name] = (value.bytes_list.value[0].decode() if kind == "bytes_list" and
                                    value.bytes_list.value else
                                    value.float_list.value[0] if kind == "float_list" and value.float_list.value
                                    else None)
            row["class"] = names[int(p.argmax())]
            row["probability"] = float(p.max())
            row.update({f"p({name})": float(p[i]) for i, name in enumerate(names)})
            rows.append(row)
    return pd.DataFrame(rows)
