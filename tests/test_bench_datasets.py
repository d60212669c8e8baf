"""The datasets benchmark's own logic: baseline specs and how results are kept."""
from bench.datasets import MNIST_MLP, VARIANTS, baseline_spec, merged, other_model_spec, render
from tfxp_contract.dataset_spec import load_spec


def test_baseline_specs_are_valid_and_change_only_the_model_and_text_reading(tmp_path):
    label, path = baseline_spec("imdb", tmp_path)
    spec, baseline = load_spec("imdb"), load_spec(path)
    assert label == "LSTM (course)" and baseline.model.family == "text_lstm"
    [review] = baseline.feature_columns
    assert (review.vocabulary_size, review.sequence_length, review.ngrams) == (20000, 80, 1)
    assert (baseline.name, baseline.files, baseline.published_splits) == (spec.name, spec.files, spec.published_splits)

    label, path = baseline_spec("flowers", tmp_path)
    assert label == "MLP (course)" and load_spec(path).model.family == "mlp"
    assert load_spec(path).data_view() == load_spec("flowers").data_view()  # same data, new model


def test_results_keep_other_datasets_and_replace_those_run_again():
    row = {"component_seconds": {"IdxExampleGen": "cached", "Trainer": 12.5}, "test_accuracy": 0.9, "blessed": True,
           "wall_seconds": 60.0, "model_bytes": 2e6, "measured_utc": "2026-11-23 12:00", "conditions": "idle"}
    old = [{**row, "dataset": "mnist", "model": "spec model"}, {**row, "dataset": "imdb", "model": "spec model"}]
    new = [{**row, "dataset": "imdb", "model": "spec model", "test_accuracy": 0.95}]
    kept = merged(old, new)
    assert [(r["dataset"], r["test_accuracy"]) for r in kept] == [("mnist", 0.9), ("imdb", 0.95)]
    table = render(kept, 2)
    assert "| mnist | spec model | 0.9000 | ≥ 99.5%: not met | yes | 1.0 min | cached |" in table
    assert "| imdb | spec model | 0.9500 | ≥ 91.5%: met |" in table and "| 12.5 s |" in table

    # another model of a dataset is a row of its own, and keeps its place when measured again
    variant = {**row, "dataset": "mnist", "model": MNIST_MLP}
    kept = merged(kept, [variant])
    assert [(r["dataset"], r["model"]) for r in kept] == [("mnist", "spec model"), ("mnist", MNIST_MLP),
                                                         ("imdb", "spec model")]
    assert [r["test_accuracy"] for r in merged(kept, [{**variant, "test_accuracy": 0.99}])] == [0.9, 0.99, 0.95]


def test_variant_specs_are_valid_and_change_only_the_model(tmp_path):
    for dataset, variants in VARIANTS.items():
        for label, model, changes in variants:
            spec = load_spec(other_model_spec(dataset, tmp_path, label, model, changes))
            assert spec.model.family == model["family"] and spec.data_view() == load_spec(dataset).data_view()
