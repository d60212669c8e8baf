"""Accuracy read from TFMA's confusion matrix equals the Keras metric TFMA used to run for it.

TFMA computes both from the same rows (analyze_raw_data, no model): three classes, ties
between the top probabilities, slices, and the confusion-matrix plot beside them."""
import json

import numpy as np
import pandas as pd
import pytest
import tensorflow_model_analysis as tfma

from pipelines.evaluation import TFMA_METRICS, eval_config
from tfxp_contract.dataset_spec import KNOWN_METRICS, REGRESSION_METRICS, load_spec


def test_every_spec_metric_has_a_tfma_metric():
    assert set(TFMA_METRICS) == set(KNOWN_METRICS) | set(REGRESSION_METRICS)
    config = eval_config(load_spec("mammographic"))
    names = {json.loads(m.config)["name"]: (m.class_name, m.module)
             for spec in config.metrics_specs for m in spec.metrics if m.config and not m.class_name.endswith("Plot")}
    assert names == {"accuracy": TFMA_METRICS["accuracy"], "auc": TFMA_METRICS["auc"]}


def _metrics(output_path: str) -> dict:
    result = tfma.load_eval_result(output_path)
    return {slice_key: metrics[""][""] for slice_key, metrics in result.slicing_metrics}


@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_from_the_confusion_matrix_equals_keras(tmp_path, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(300):
        probabilities = rng.dirichlet([1, 1, 1])
        if i % 10 == 0:  # a tie for the top class: both take the first of them
            probabilities = np.array([0.4, 0.4, 0.2])[rng.permutation(3)]
        rows.append({"label": int(rng.integers(3)), "prediction": probabilities.tolist(),
                     "group": "a" if i % 3 else "b"})
    config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="label", prediction_key="prediction")],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["group"])],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
            tfma.MetricConfig(class_name=TFMA_METRICS["accuracy"][0], module=TFMA_METRICS["accuracy"][1]),
            tfma.MetricConfig(class_name="SparseCategoricalAccuracy", config=json.dumps({"name": "keras_accuracy"})),
        ])])
    tfma.analyze_raw_data(pd.DataFrame(rows), config, str(tmp_path / "eval"))

    by_slice = _metrics(str(tmp_path / "eval"))
    assert len(by_slice) == 3  # overall, group a, group b
    for slice_key, metrics in by_slice.items():
        ours, keras = metrics["accuracy"]["doubleValue"], metrics["keras_accuracy"]["doubleValue"]
        assert ours == pytest.approx(keras, abs=1e-6), slice_key
    overall = by_slice[()]["accuracy"]["doubleValue"]
    expected = np.mean([np.argmax(r["prediction"]) == r["label"] for r in rows])
    assert overall == pytest.approx(expected, abs=1e-9)
    plots = tfma.load_eval_result(str(tmp_path / "eval")).plots
    assert plots, "the confusion-matrix plot is still written"
