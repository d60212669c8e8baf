import pytest

from pipelines.pipeline import create_pipeline
from tests.helpers import builtin_spec_dict, unlabelled_vae_dict, write_spec
from tfxp_contract.dataset_spec import SpecError, builtin_spec_names, load_spec, spec_from_dict, spec_from_json


def test_builtin_specs_load_and_round_trip_through_json():
    assert {"house_votes", "mammographic"} <= set(builtin_spec_names())
    for name in builtin_spec_names():
        spec = load_spec(name)
        assert spec.name == name
        assert spec_from_json(spec.to_json()) == spec


def test_house_votes_keeps_question_mark_as_a_vote_value():
    spec = load_spec("house_votes")
    assert len(spec.feature_columns) == 16
    assert all(c.type == "categorical" and c.missing == "category" and "?" in c.values for c in spec.feature_columns)
    assert spec.label.values == ("democrat", "republican")


def test_mammographic_never_uses_bi_rads_as_a_feature():
    spec = load_spec("mammographic")
    assert [c.name for c in spec.feature_columns] == ["age", "shape", "margin", "density"]
    assert next(c for c in spec.columns if c.name == "bi_rads").type == "ignore"


def test_a_new_csv_dataset_is_a_spec_file_only(tmp_path):
    raw = builtin_spec_dict("mammographic")
    raw["name"] = "my_masses"
    spec = load_spec(str(write_spec(tmp_path, raw)))
    assert spec.name == "my_masses" and spec.mirror_folder == "my_masses"


@pytest.mark.parametrize("change, message", [
    (lambda r: r["metrics"].append({"name": "acuracy", "lower_bound": 0.5}), "metric 'acuracy' is not computed"),
    (lambda r: r["label"].update(column="nope"), "label column 'nope' is not among the columns"),
    (lambda r: r["columns"][1].update(type="float"), "has type 'float'"),
    (lambda r: r.pop("files"), "missing required field 'files'"),
    (lambda r: r.update(colums=[]), "unknown field(s) ['colums']"),
    (lambda r: r["files"][0].update(sha256="abc"), "needs a sha256"),
    (lambda r: r["columns"][1].update(range=[5, 1]), "range must be [low, high]"),
    (lambda r: r.update(metrics=[]), "needs at least one metric threshold"),
    (lambda r: r.update(slices=["age"]), "slice column 'age' must be a categorical column"),
    (lambda r: r.update(distribution={"strategy": "parameter_server"}), "strategy 'parameter_server' is not one of"),
])
def test_malformed_specs_are_rejected_with_the_field_named(change, message):
    raw = builtin_spec_dict("mammographic")
    change(raw)
    with pytest.raises(SpecError, match=None) as err:
        spec_from_dict(raw, where="test.yaml")
    assert message in str(err.value) and "test.yaml" in str(err.value)


def test_auc_on_a_multiclass_label_is_an_error():
    raw = builtin_spec_dict("house_votes")
    raw["label"]["values"] = ["democrat", "republican", "independent"]
    with pytest.raises(SpecError, match="needs a binary label"):
        spec_from_dict(raw)


def test_a_generative_spec_may_leave_the_label_out_and_says_what_then_needs_a_classifier():
    spec = spec_from_dict(unlabelled_vae_dict())
    assert spec.label is None and spec.num_classes == 0 and [c.name for c in spec.feature_columns] == ["image"]
    assert spec.evaluation_classifier == "fashion_mnist" and spec_from_json(spec.to_json()) == spec
    assert spec_from_json(spec.data_view().to_json()).label is None  # what SchemaFromSpec and Transform load
    [example_gen] = [c for c in create_pipeline(pipeline_name=spec.name, pipeline_root="/tmp/unused", spec=spec,
                                                data_root="/data", serving_root="/s").components
                     if c.id.endswith("ExampleGen")]
    assert '"labelled":false' in example_gen.exec_properties["custom_config"].replace(" ", "")
    # without a pushed classifier to name, only the VAE's own metric can be measured
    with pytest.raises(SpecError, match="metric 'min_class_share' is measured with a classifier of the samples"):
        spec_from_dict({**unlabelled_vae_dict(), "evaluation_classifier": ""})
    spec_from_dict({**unlabelled_vae_dict(), "evaluation_classifier": "",
                    "metrics": [{"name": "negative_elbo", "upper_bound": 300}]})
    with pytest.raises(SpecError, match="label: a classifier needs a label"):
        spec_from_dict({k: v for k, v in builtin_spec_dict("fashion_mnist").items() if k != "label"})
    flowers = {**builtin_spec_dict("flowers"), "task": "generative", "model": {"family": "vae"},
               "metrics": [{"name": "negative_elbo", "upper_bound": 300}]}
    flowers.pop("label")
    with pytest.raises(SpecError, match="format 'archive' reads the label with the data"):
        spec_from_dict(flowers)
    with pytest.raises(SpecError, match="evaluation_classifier: only a generative model's evaluation"):
        spec_from_dict({**builtin_spec_dict("fashion_mnist"), "evaluation_classifier": "mnist"})
    with pytest.raises(SpecError, match="evaluation_classifier: name '../x' must be"):
        spec_from_dict({**unlabelled_vae_dict(), "evaluation_classifier": "../x"})
    imdb = builtin_spec_dict("imdb")
    with pytest.raises(SpecError, match=r"archive_split_folders\.eval: .*'\.\./test'"):
        spec_from_dict({**imdb, "archive_split_folders": {"train": "train", "eval": "../test"}})


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(SpecError, match="built-in datasets: .*house_votes"):
        load_spec("iris")


def _exec_properties(spec, node_id):
    pipeline = create_pipeline(pipeline_name=spec.name, pipeline_root="/tmp/unused", spec=spec, data_root="/data",
                               serving_root="/tmp/unused-serving")
    [node] = [c for c in pipeline.components if c.id == node_id]
    return node.exec_properties


def test_a_new_model_or_threshold_keeps_schema_and_transform_cached():
    """TFX caches a component on its inputs and exec properties: only what describes the data
    reaches the schema and Transform, so another model family (the benchmark's baselines) or
    threshold re-runs nothing before the Trainer, while a data change still does."""
    raw = builtin_spec_dict("flowers")
    spec = spec_from_dict(raw)
    other_model = spec_from_dict({**raw, "model": {"family": "mlp", "hyperparameters": {"epochs": 1}},
                                  "metrics": [{"name": "accuracy", "lower_bound": 0.9}], "slices": []})
    other_data = spec_from_dict({**raw, "columns": [{**raw["columns"][0], "shape": [64, 64, 3]}, raw["columns"][1]]})
    for node in ("SchemaFromSpec", "Transform"):
        assert _exec_properties(spec, node) == _exec_properties(other_model, node), node
        assert _exec_properties(spec, node) != _exec_properties(other_data, node), node
    assert spec_from_json(spec.data_view().to_json()).columns == spec.columns  # still a valid spec
    assert _exec_properties(spec, "Trainer") != _exec_properties(other_model, "Trainer")


def test_published_splits_in_any_order_give_one_example_gen_cache_key():
    """TFX's ExampleGen cache key holds the input splits in order; a spec file that lists
    eval before train (yaml.safe_dump sorts keys) must still reuse the cached examples."""
    raw = builtin_spec_dict("imdb")
    reordered = {**raw, **{key: dict(reversed(list(raw[key].items())))
                           for key in ("published_splits", "archive_split_folders")}}
    assert list(reordered["published_splits"]) == ["eval", "train"]
    assert (_exec_properties(spec_from_dict(raw), "ArchiveExampleGen")
            == _exec_properties(spec_from_dict(reordered), "ArchiveExampleGen"))


@pytest.mark.parametrize("dataset, reader", [("house_votes", "CsvSpecExampleGen"), ("imdb", "FilesExampleGen"),
                                             ("mnist", "FilesExampleGen")])
def test_an_inference_section_adds_a_reader_of_its_format_and_the_bulk_inferrer(tmp_path, dataset, reader):
    raw = builtin_spec_dict(dataset)
    raw["inference"] = {"folder": "new", "pattern": "*"}
    spec = load_spec(str(write_spec(tmp_path, raw)))
    assert spec.inference.folder == str(tmp_path / "new")  # relative to the spec file
    pipeline = create_pipeline(pipeline_name=spec.name, pipeline_root="/tmp/unused", spec=spec, data_root="/data",
                               serving_root="/tmp/unused-serving")
    nodes = {c.id: c for c in pipeline.components}
    assert type(nodes["InferenceExampleGen"]).__name__ == reader and "BulkInferrer" in nodes
    assert '"unlabelled"' in nodes["InferenceExampleGen"].exec_properties["output_config"]


def test_inference_on_files_needs_one_content_column():
    raw = builtin_spec_dict("imdb")
    raw["inference"] = {"folder": "/new"}
    raw["columns"][0]["name"] = "source_file"
    with pytest.raises(SpecError, match="not named 'source_file'"):
        spec_from_dict(raw)
