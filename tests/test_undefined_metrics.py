"""A slice whose labels are all one class has no AUC: the summary and the table say n/a, not 0.

TFMA computes the metrics here from real predictions and labels (analyze_raw_data, no model),
with the Evaluator's own configuration for house_votes."""
import pandas as pd
import pytest
import tensorflow_model_analysis as tfma

from pipelines.evaluation import eval_config
from tfxp_contract.dataset_spec import load_spec
from tfxp_reports.evaluation_summary import summarize
from tfxp_reports.run_report import check_rows


def test_one_class_slice_auc_is_undefined_not_zero(tmp_path):
    spec = load_spec("house_votes")
    config = eval_config(spec)
    del config.model_specs[:]
    config.model_specs.add(label_key="label", prediction_key="prediction")
    for metrics_spec in config.metrics_specs:  # one model: no baseline to compare with
        for metric in metrics_spec.metrics:
            for per_slice in metric.per_slice_thresholds:
                per_slice.threshold.ClearField("change_threshold")
    rows = []
    for i in range(40):  # slice y: both classes; slice n: every label 0
        label = i % 2
        rows.append({"label": label, "prediction": [0.3, 0.7] if label else [0.6, 0.4],
                     "physician_fee_freeze": "y"})
        rows.append({"label": 0, "prediction": [0.8, 0.2] if i % 3 else [0.4, 0.6], "physician_fee_freeze": "n"})
    tfma.analyze_raw_data(pd.DataFrame(rows), config, str(tmp_path / "eval"))

    summary = summarize(str(tmp_path / "eval"), spec, blessed=True)
    auc = {c.slice: c for c in summary.checks if c.metric == "auc"}
    assert auc["physician_fee_freeze=y"].value == 1.0 and not auc["physician_fee_freeze=y"].undefined
    assert auc["physician_fee_freeze=n"].value is None
    assert "same label" in auc["physician_fee_freeze=n"].undefined
    accuracy = {c.slice: c.value for c in summary.checks if c.metric == "accuracy"}
    assert abs(accuracy["physician_fee_freeze=n"] - 26 / 40) < 1e-6  # defined on one class: a number
    intervals = {(c.metric, c.slice): c.interval for c in summary.checks}
    low, high = intervals[("accuracy", "physician_fee_freeze=n")]  # Wilson's, from the slice's 40 examples
    assert low < 26 / 40 < high and high - low == pytest.approx(0.29, abs=0.01)
    assert intervals[("auc", "physician_fee_freeze=n")] is None  # no AUC, no interval
    table = {(row[0], row[1]): row[3] for row in check_rows({"evaluation": summary.to_dict()})}
    assert table[("auc", "physician_fee_freeze=n")] == "n/a" and table[("auc", "physician_fee_freeze=y")] == "1.0000"
