"""`tfxp predict`'s input reading: tables with or without a header and label, Parquet, bad rows
named, and inputs streamed (nothing read before it is asked for)."""
import pandas as pd
import tensorflow as tf

from tfxp_cli.predict import read_inputs
from tfxp_contract.dataset_spec import load_spec

MASSES = load_spec("mammographic")  # columns: bi_rads (ignored), age, shape, margin, density, severity


def _features(item):
    return {k: (v.float_list.value or v.bytes_list.value)[0]
            for k, v in tf.train.Example.FromString(item.example).features.feature.items()}


def test_headerless_rows_with_and_without_label_and_a_bad_row(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("5,67,3,5,3,1\n4,43,1,1,?\n4,43,1\n5,58,4,5,3,7\n")
    skipped = []
    items = list(read_inputs(MASSES, [str(path)], skip=skipped.append))
    assert [i.name for i in items] == [f"{path}:1", f"{path}:2"]
    assert items[0].label == 1 and items[1].label is None
    assert _features(items[0]) == {"age": 67.0, "shape": b"3", "margin": b"5", "density": 3.0}
    assert "density" not in _features(items[1])  # "?" is missing
    assert skipped == [f"{path}:3: expected 6 columns, found 3",
                       f"{path}:4: label severity='7' is not one of ['0', '1']"]


def test_parquet_with_a_header_in_another_order_and_no_label(tmp_path):
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"density": ["3", "2"], "margin": ["5", "1"], "shape": ["3", "1"],
                  "age": [67.0, None]}).to_parquet(path)
    skipped = []
    items = list(read_inputs(MASSES, [str(path)], skip=skipped.append))
    assert skipped == [] and [i.label for i in items] == [None, None]
    assert _features(items[0]) == {"age": 67.0, "shape": b"3", "margin": b"5", "density": 3.0}
    assert "age" not in _features(items[1])


def test_inputs_are_read_as_they_are_asked_for(tmp_path):
    first = tmp_path / "a.csv"
    first.write_text("5,67,3,5,3,1\n")
    skipped = []
    items = read_inputs(MASSES, [str(first), str(tmp_path / "later.csv")], skip=skipped.append)
    assert next(items).name == f"{first}:1" and skipped == []  # the second file not looked at yet
    (tmp_path / "later.csv").write_text("4,43,1,1,2,0\n")
    assert [i.label for i in items] == [0]
