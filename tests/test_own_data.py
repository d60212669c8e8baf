"""A user's own table, without a pipeline: reading it (header order, byte-order mark, CRLF,
Parquet), fetching it without a checksum (digest and data version), drafting its spec, and
the schema rules for declared missing values."""
import pandas as pd
import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from components.ingest.workers.delimited_rows import RawDataError, read_rows
from components.validation.schema_from_spec import tighten_schema
from tests.own_table import EVAL_ONLY, SCATTERED, spec_dict, write_table
from tfxp_cli.main import main
from tfxp_cli.spec_draft import draft_spec, render_yaml
from tfxp_contract.dataset_spec import load_spec, spec_from_dict
from tfxp_contract.fetch import DataSourceError, fetch_data


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "data" / "customers.csv"
    path.parent.mkdir()
    return path, write_table(path, rows=300)


def test_header_order_bom_and_crlf(table):
    path, missing = table
    spec = spec_from_dict(spec_dict(str(path)))
    rows = list(read_rows(spec, str(path)))
    assert len(rows) == 300
    first = rows[0]
    assert set(first) == {"age", "income", "tenure_months", "plan", "region", "churn"}  # customer_id not listed
    assert first["churn"] in ("yes", "no") and isinstance(first["age"], float)  # no '\ufeff', no '\r'
    for column in SCATTERED + EVAL_ONLY:
        assert sum(r[column] is None for r in rows) == missing["train"][column] + missing["eval"][column]
    assert all(missing["train"][c] == 0 and missing["eval"][c] > 0 for c in EVAL_ONLY)


def test_a_header_without_a_listed_column_is_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,x\n")
    raw = {**spec_dict(str(path)), "columns": [{"name": "a", "type": "numeric"}, {"name": "c", "type": "numeric"},
                                               {"name": "label", "type": "categorical"}],
           "label": {"column": "label", "values": ["x", "y"]}, "metrics": [{"name": "accuracy", "lower_bound": 0.5}]}
    with pytest.raises(RawDataError, match=rf"{path}:1: the header lacks column\(s\) \['c'\] that the spec lists"):
        list(read_rows(spec_from_dict(raw), str(path)))


def test_parquet_rows_are_read_by_column_name(tmp_path, table):
    path, _ = table
    frame = pd.read_csv(path, encoding="utf-8-sig", na_values=["?"], keep_default_na=False)
    parquet = tmp_path / "customers.parquet"
    frame[list(reversed(frame.columns))].to_parquet(parquet)  # another column order
    spec = spec_from_dict({**spec_dict(str(parquet)), "format": "parquet"})
    from_parquet = list(read_rows(spec, str(parquet)))
    from_csv = list(read_rows(spec_from_dict(spec_dict(str(path))), str(path)))
    assert from_parquet == from_csv


def test_own_file_without_sha256_gets_a_digest_and_a_new_version_when_it_changes(tmp_path, table):
    path, _ = table
    spec = spec_from_dict(spec_dict(str(path)))
    cache = tmp_path / "cache"
    first = fetch_data(spec, cache_dir=cache, log=lambda _: None)
    assert (first.folder / "customers.csv").read_bytes() == path.read_bytes()  # read in place, through a link
    assert first.folder.parent == cache and len(first.digests["customers.csv"]) == 64
    assert fetch_data(spec, cache_dir=cache).version == first.version
    data = bytearray(path.read_bytes())
    data[-5] = ord("0") if data[-5] != ord("0") else ord("1")  # one byte
    path.write_bytes(bytes(data))
    assert fetch_data(spec, cache_dir=cache).version != first.version

    pinned = spec_from_dict({**spec_dict(str(path)), "files": [{"path": str(path), "sha256": "0" * 64}]})
    with pytest.raises(DataSourceError, match="but the spec pins 0000"):
        fetch_data(pinned, cache_dir=cache)
    gone = spec_from_dict(spec_dict(str(tmp_path / "nowhere.csv")))
    with pytest.raises(DataSourceError, match="nowhere.csv: file not found"):
        fetch_data(gone, cache_dir=cache)


def test_relative_paths_are_relative_to_the_spec_file(tmp_path, table):
    path, _ = table
    spec_file = tmp_path / "specs" / "mine.yaml"
    spec_file.parent.mkdir()
    import yaml
    spec_file.write_text(yaml.safe_dump(spec_dict("../data/customers.csv")))
    assert load_spec(str(spec_file)).files[0].path == str(path)


def test_declared_missing_values_may_be_absent_in_any_split():
    """Inferred from a training split without gaps, presence would be 1.0; the spec says the
    value may be missing, so the rule is dropped; the label and kept tokens stay required."""
    spec = spec_from_dict({**spec_dict("/x.csv"), "columns": [
        *spec_dict("/x.csv")["columns"], {"name": "kind", "type": "categorical", "missing": "category"},
        {"name": "id_number", "type": "numeric", "missing": "never"}]})
    inferred = schema_pb2.Schema()
    for column in spec.columns:
        feature = inferred.feature.add(name=column.name)
        feature.presence.min_fraction = 1.0
    tightened = {f.name: f.presence.min_fraction for f in tighten_schema(inferred, spec).feature}
    assert tightened == {"churn": 1.0, "age": 0.0, "income": 0.0, "tenure_months": 0.0, "plan": 0.0,
                         "region": 0.0, "kind": 1.0, "id_number": 1.0}


def test_spec_init_drafts_a_spec_that_loads(tmp_path, table, capsys):
    path, _ = table
    out = tmp_path / "drafted.yaml"
    assert main(["spec", "init", str(path), "--label", "churn", "--out", str(out)]) == 0
    spec = load_spec(str(out))
    kinds = {c.name: c.type for c in spec.columns}
    assert kinds == {"customer_id": "ignore", "age": "numeric", "income": "numeric", "tenure_months": "numeric",
                     "plan": "categorical", "region": "categorical", "churn": "categorical"}
    assert spec.header and spec.missing_token == "?" and spec.label.values == ("no", "yes")
    assert spec.files[0].path == str(path) and not spec.files[0].sha256
    text = out.read_text()
    assert "# a different text in every row: an identifier" in text and "# A logistic regression on 300 rows" in text
    majority = max(spec.label.values, key=lambda v: sum(r["churn"] == v for r in read_rows(spec, str(path))))
    assert majority == "no"
    assert "next: tfxp run" in capsys.readouterr().err
    assert main(["spec", "init", str(path), "--label", "churn", "--out", str(out)]) == 1  # no silent overwrite
    # The commented search, uncommented as the comment says, is a valid tuning section.
    lines = text.splitlines()
    start = lines.index("# tuning:")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("#   "))
    tuned = tmp_path / "tuned.yaml"
    tuned.write_text("\n".join(lines[:start] + [line[2:] for line in lines[start:end]] + lines[end:]) + "\n")
    search = load_spec(str(tuned)).tuning
    assert search.objective == "val_loss" and search.max_trials == 4 and len(search.search["hidden_units"]) == 2


def test_spec_init_without_header_and_from_parquet(tmp_path):
    plain = tmp_path / "votes.data"
    plain.write_text("".join(f"{'y' if i % 3 else 'n'},{i % 7},{i * 1.5},{'a' if i % 2 else 'b'}\n" for i in range(60)))
    draft = draft_spec(str(plain), "col_4")
    assert not draft.header and [c.type for c in draft.columns] == ["categorical", "categorical", "numeric",
                                                                    "categorical"]
    out = tmp_path / "votes.yaml"
    out.write_text(render_yaml(draft, str(out)))
    assert load_spec(str(out)).label.values == ("a", "b")

    parquet = tmp_path / "votes.parquet"
    pd.DataFrame({"x": [float(i) for i in range(40)], "kind": ["p", "q"] * 20, "y": ["u", "v", "v", "v"] * 10}
                 ).to_parquet(parquet)
    draft = draft_spec(str(parquet), "y")
    out = tmp_path / "pq.yaml"
    out.write_text(render_yaml(draft, str(out)))
    spec = load_spec(str(out))
    assert spec.format == "parquet" and len(list(read_rows(spec, str(parquet)))) == 40


@pytest.mark.parametrize("label, message", [("nope", "no column 'nope'; columns: "),
                                            ("kind", "has one value only")])
def test_spec_init_errors_are_one_line(tmp_path, capsys, label, message):
    path = tmp_path / "t.csv"
    path.write_text("x,kind\n" + "".join(f"{i},k\n" for i in range(20)))
    assert main(["spec", "init", str(path), "--label", label, "--out", str(tmp_path / "s.yaml")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_spec_init_declares_the_missing_tokens_the_file_holds_and_the_draft_reads_every_row(tmp_path):
    """Word labels, empty cells in a string column and 'NA' in a numeric one: both tokens are
    declared, and every row parses (an empty category is missing, not an unknown value)."""
    path = tmp_path / "wine.csv"
    lines = ["alcohol,colour,quality"]
    for i in range(200):
        colour = "" if i % 13 == 0 else ("red" if i % 2 else "white")
        alcohol = "NA" if i % 17 == 0 else f"{9 + (i % 50) / 10:.1f}"
        lines.append(f"{alcohol},{colour},{'good' if i % 3 else 'bad'}")
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "wine.yaml"
    out.write_text(render_yaml(draft_spec(str(path), "quality"), str(out)))
    spec = load_spec(str(out))
    assert set(spec.missing_tokens) == {"", "NA"} and spec.label.values == ("bad", "good")
    assert {c.name: c.type for c in spec.columns} == {"alcohol": "numeric", "colour": "categorical",
                                                      "quality": "categorical"}
    rows = list(read_rows(spec, str(path)))
    assert len(rows) == 200 and sum(r["colour"] is None for r in rows) == 16
    assert sum(r["alcohol"] is None for r in rows) == 12


@pytest.mark.parametrize("content, message", [
    (b"\x1f\x8b\x08\x00" + bytes(100), "gzip-compressed; decompress it first"),
    (b"a,b\n1,\x002\n", "holds NUL bytes: a binary file, not a text table"),
    (b"a" * (2 * 1024 * 1024) + b",b\n1,2\n", "its first line is over 1 MiB long: not a table of rows"),
    (b"x,y\n\xff\xfe,1\n" * 3, "not UTF-8 text"),
])
def test_spec_init_names_what_is_not_a_table_in_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    assert main(["spec", "init", str(path), "--label", "y", "--out", str(tmp_path / "s.yaml")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_spec_init_bounds_come_from_a_quick_logistic_regression(tmp_path):
    """A label a linear model predicts well: the accuracy bound is near what the baseline
    scores, far above the majority class's share."""
    import random

    rng = random.Random(1)
    lines = ["a,b,label"]
    for _ in range(3000):
        a, b = rng.gauss(0, 1), rng.gauss(0, 1)
        lines.append(f"{a:.3f},{b:.3f},{'yes' if a + 0.5 * b + rng.gauss(0, 0.3) > 0 else 'no'}")
    path = tmp_path / "linear.csv"
    path.write_text("\n".join(lines) + "\n")
    draft = draft_spec(str(path), "label")
    assert draft.baseline is not None and draft.baseline.accuracy > 0.85 and draft.baseline.auc > 0.9
    from tfxp_cli.spec_draft import metric_bounds
    accuracy, auc = metric_bounds(draft)
    assert accuracy >= draft.baseline.accuracy - 0.04 and accuracy > draft.majority + 0.2
    assert auc >= draft.baseline.auc - 0.04


@pytest.mark.parametrize("layout", ["folder", "tar-with-classes-at-its-root", "folder-with-splits"])
def test_class_folders_are_read_from_a_folder_or_a_tar_with_the_classes_at_its_root(tmp_path, layout):
    import io
    import tarfile

    from PIL import Image

    from components.ingest.workers.archive_records import read_archive
    from tfxp_cli.folder_draft import draft_folder

    def png(value: int) -> bytes:
        out = io.BytesIO()
        Image.new("L", (4, 4), value).save(out, format="PNG")
        return out.getvalue()
    root = tmp_path / "photos"
    for split in (["train", "test"] if layout == "folder-with-splits" else [""]):
        for cls, value in [("cats", 10), ("dogs", 200)]:
            (root / split / cls).mkdir(parents=True)
            for i in range(3):
                (root / split / cls / f"{i}.png").write_bytes(png(value))
    path = root
    if layout.startswith("tar"):
        path = tmp_path / "photos.tar"
        with tarfile.open(path, "w") as tar:
            for cls in ("cats", "dogs"):
                tar.add(root / cls, arcname=cls)  # no top folder
    split = "test" if layout == "folder-with-splits" else None
    records = list(read_archive(str(path), "image", ["cats", "dogs"], (".png",), split_folder=split))
    assert sorted(r.label for r in records) == ["cats"] * 3 + ["dogs"] * 3
    if layout != "tar-with-classes-at-its-root":
        draft = draft_folder(str(root))
        assert draft.classes == ["cats", "dogs"] and draft.shape == (4, 4, 1)
        assert draft.splits == ({"train": "train", "eval": "test"} if split else {})
