"""Malformed specs and cloud configs: each is one line naming the file and the field, never a
traceback; names that go into paths cannot leave their folder; the published JSON Schema is
the model's."""
import json
import os

import jsonschema
import pytest
import yaml

from infra.cloud_config import EXAMPLE, CloudConfigError, config_from_dict
from tests.helpers import builtin_spec_dict, write_spec
from tests.pipeline_checks import tree_snapshot
from tfxp_cli.main import main
from tfxp_contract.dataset_spec import SPECS_DIR, SpecError, builtin_spec_names, spec_from_dict, spec_json_schema
from tfxp_contract.fetch import DataSourceError, inside

SCHEMA_FILE = SPECS_DIR.parent / "spec.schema.json"

# (what is wrong, change to mammographic's spec, the field named, words of the message)
MALFORMED = [
    ("unknown top-level key", lambda r: r.update(colums=[]), "", "unknown field(s) ['colums']; did you mean 'columns'?"),
    ("unknown key in a column", lambda r: r["columns"][1].update(rnage=[0, 1]), "columns[1]",
     "unknown field(s) ['rnage']; did you mean 'range'?"),
    ("unknown key in the label", lambda r: r["label"].update(valuse=["0"]), "label", "did you mean 'values'?"),
    ("unknown key in the model", lambda r: r["model"].update(hyperparameter={}), "model",
     "did you mean 'hyperparameters'?"),
    ("unknown key in a file", lambda r: r["files"][0].update(sha=1), "files[0]", "did you mean 'sha256'?"),
    ("unknown key in a metric", lambda r: r["metrics"][0].update(lower=0.5), "metrics[0]",
     "did you mean 'lower_bound'?"),
    ("unknown key in distribution", lambda r: r.update(distribution={"stratgy": "none"}), "distribution",
     "did you mean 'strategy'?"),
    ("text for a count", lambda r: r.update(num_shards="four"), "num_shards", "valid integer, unable to parse"),
    ("a billion shards", lambda r: r.update(num_shards=1_000_000_000), "num_shards", "less than or equal to 1024"),
    ("no shards", lambda r: r.update(num_shards=0), "num_shards", "greater than or equal to 1"),
    ("a number for a sha256", lambda r: r["files"][0].update(sha256=123), "files[0].sha256",
     "needs a sha256 (64 hex digits), got 123"),
    ("64 characters that are not hex", lambda r: r["files"][0].update(sha256="z" * 64), "files[0].sha256",
     "needs a sha256 (64 hex digits)"),
    ("a short sha256", lambda r: r["files"][0].update(sha256="abc"), "files[0].sha256", "needs a sha256"),
    ("a published file without sha256", lambda r: r["files"][0].pop("sha256"), "files[0]", "needs a sha256"),
    ("a name that climbs out", lambda r: r.update(name="./../../escaped.data"), "name", "it names folders"),
    ("a name that is a path", lambda r: r.update(name="../../outside"), "name", "it names folders"),
    ("a file name that climbs out", lambda r: r["files"][0].update(name="../x.data"), "files[0]",
     "must be a plain file or folder name"),
    ("a hidden file name", lambda r: r["files"][0].update(name=".hidden"), "files[0]", "not hidden"),
    ("an absolute file name", lambda r: r["files"][0].update(name="/etc/passwd"), "files[0]", "not absolute"),
    ("a mirror folder that climbs out", lambda r: r.update(mirror_folder="../up"), "mirror_folder",
     "must be a plain file or folder name"),
    ("unknown format", lambda r: r.update(format="xlsx"), "format", "format 'xlsx' has no ExampleGen"),
    ("unknown model family", lambda r: r["model"].update(family="resnet"), "model.family",
     "unknown model family 'resnet'"),
    ("image model on tabular data", lambda r: r["model"].update(family="cnn"), "model.family",
     "model family 'cnn' takes image data, but mammographic is tabular data"),
    ("unknown metric", lambda r: r["metrics"].append({"name": "f1", "lower_bound": 0.5}), "metrics[2].name",
     "metric 'f1' is not computed"),
    ("text for a bound", lambda r: r["metrics"][0].update(lower_bound="high"), "metrics[0].lower_bound",
     "valid number"),
    ("columns as text", lambda r: r.update(columns="age"), "columns", "valid tuple"),
    ("a column as text", lambda r: r["columns"].append("age"), "columns[6]", "dictionary"),
    ("unknown missing policy", lambda r: r["columns"][1].update(missing="drop"), "columns[1].missing",
     "missing policy 'drop'"),
    ("unknown column type", lambda r: r["columns"][1].update(type="float"), "columns[1].type", "has type 'float'"),
    ("text for a flag", lambda r: r.update(header="maybe"), "header", "valid boolean"),
    ("a two-character delimiter", lambda r: r.update(delimiter=";;"), "delimiter", "at most 1 character"),
    ("an ftp url", lambda r: r["files"][0].update(url="ftp://x/y"), "files[0]", "must be an http(s):// address"),
    ("neither url nor path", lambda r: r["files"][0].pop("url"), "files[0]", "give either url"),
    ("a zero bucket", lambda r: r.update(train_eval_buckets=[4, 0]), "train_eval_buckets", "two counts >= 1"),
    ("a negative tolerance", lambda r: r.update(change_tolerance=-0.1), "change_tolerance", "greater than or equal"),
    ("one label value", lambda r: r["label"].update(values=["0"], names=["benign"]), "label.values",
     "two or more"),
    ("a column twice", lambda r: r["columns"].append({"name": "age", "type": "numeric"}), "columns",
     "duplicate column names"),
    ("a shape on a numeric column", lambda r: r["columns"][1].update(shape=[2, 2, 1]), "columns[1].shape",
     "only an image column has a shape"),
    ("a range of three", lambda r: r["columns"][1].update(range=[1, 2, 3]), "columns[1].range",
     "range must be [low, high]"),
    ("no files", lambda r: r.update(files=[]), "files", "at least 1 item"),
    ("hyperparameters as a list", lambda r: r["model"].update(hyperparameters=[1]), "model.hyperparameters",
     "valid dictionary"),
    ("a negative worker count", lambda r: r.update(distribution={"strategy": "multi_worker", "local_workers": -1}),
     "distribution.local_workers", "greater than or equal to 0"),
]


@pytest.mark.parametrize("change, field, message", [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_a_malformed_spec_is_one_line_naming_file_and_field(tmp_path, capsys, change, field, message):
    raw = builtin_spec_dict("mammographic")
    change(raw)
    with pytest.raises(SpecError) as err:
        spec_from_dict(raw, where="my.yaml")
    text = str(err.value)
    assert text.startswith(f"my.yaml: {field}: " if field else "my.yaml: ") and message in text, text
    assert "\n" not in text

    path = write_spec(tmp_path, raw, "bad.yaml")  # the same through the command line
    assert main(["spec", "check", str(path)]) == 1
    err_text = capsys.readouterr().err
    assert err_text.startswith(f"error: {path}: ") and message in err_text and err_text.count("\n") == 1
    assert "Traceback" not in err_text


def test_there_are_at_least_25_malformed_cases():
    assert len(MALFORMED) >= 25


@pytest.mark.parametrize("text, message", [
    ("name: [unclosed", "not valid YAML"),
    ("- just\n- a list\n", "expected a mapping at the top level"),
    ("", "expected a mapping at the top level"),
])
def test_a_spec_file_that_is_not_a_mapping_is_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["spec", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("name", ["./../../escaped.data", "../../outside"])
def test_path_like_names_write_nothing_outside_the_cache(tmp_path, monkeypatch, capsys, name):
    """Two hostile specs: each is refused before anything is fetched, so
    nothing is written anywhere (the cache stays empty, its parent untouched)."""
    cache = tmp_path / "work" / "cache"
    cache.mkdir(parents=True)
    monkeypatch.setenv("TFXP_CACHE_DIR", str(cache))
    before = tree_snapshot(str(tmp_path))
    raw = builtin_spec_dict("house_votes")
    raw["name"] = name
    path = write_spec(tmp_path / "work", raw, "probe.yaml")
    before[os.path.relpath(path, tmp_path)] = path.stat().st_size
    assert main(["fetch", str(path)]) == 1
    assert "name: name" in capsys.readouterr().err
    assert tree_snapshot(str(tmp_path)) == before and not any(cache.iterdir())


@pytest.mark.parametrize("name", ["../x", "a/../../b", "/etc/passwd", ".."])
def test_fetch_refuses_any_path_outside_its_folder(tmp_path, name):
    with pytest.raises(DataSourceError, match="not a plain file name inside"):
        inside(tmp_path, name)
    assert inside(tmp_path, "file.csv") == tmp_path / "file.csv"


def test_the_published_json_schema_is_the_models_and_accepts_every_builtin_spec():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema == json.loads(json.dumps(spec_json_schema())), "run: tfxp spec schema > tfxp_contract/spec.schema.json"
    for name in builtin_spec_names():
        jsonschema.validate(yaml.safe_load((SPECS_DIR / f"{name}.yaml").read_text()), schema)
    bad = builtin_spec_dict("house_votes")
    bad["columns"][0]["rnage"] = [0, 1]
    with pytest.raises(jsonschema.ValidationError, match="rnage"):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize("changes, message", [
    ({"dataflow": {"max_worker": 3}}, "cloud.yaml: dataflow: unknown field(s) ['max_worker']; did you mean 'max_workers'?"),
    ({"training": {"chief": {"replica_count": "two"}}}, "cloud.yaml: training.chief.replica_count: Input should be a valid "
                                                        "integer"),
    ({"dataflow": {"disk_size_gb": 10 ** 9}}, "cloud.yaml: dataflow.disk_size_gb: Input should be less than or equal"),
    ({"projet": "x"}, "cloud.yaml: unknown field(s) ['projet']; did you mean 'project'?"),
])
def test_a_malformed_cloud_config_is_one_line_naming_the_field(changes, message):
    raw = {**yaml.safe_load(EXAMPLE.read_text()), **changes}
    with pytest.raises(CloudConfigError) as err:
        config_from_dict(raw, "cloud.yaml")
    assert str(err.value).startswith(message) and "\n" not in str(err.value), str(err.value)
