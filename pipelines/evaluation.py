"""TFMA configuration from a dataset spec: absolute thresholds and a no-regression check on
the whole eval split, metrics per slice of the spec's slice columns, and the plots the report
draws (confusion matrix, from which it reads per-class precision, recall and F1; ROC,
precision-recall and calibration for binary labels). No TFMA confidence intervals: the
report computes them from TFMA's counts (``tfxp_reports.evaluation_summary``)."""
from __future__ import annotations

import json
from typing import Optional

import tensorflow_model_analysis as tfma

from tfxp_contract.dataset_spec import BINARY_ONLY_METRICS, REGRESSION_METRICS, DatasetSpec
from tfxp_contract.names import LABEL_KEY, PREDICTIONS, PROBABILITIES, SERVING_SIGNATURE, TRANSFORM_SIGNATURE

POSITIVE_CLASS_ID = 1  # binary metrics (AUC) score the spec's second label value
# A spec metric's TFMA metric: (class, the module that defines it; "" = TFMA's own).
TFMA_METRICS = {"accuracy": ("MulticlassAccuracy", "pipelines.accuracy_metric"), "auc": ("AUC", ""),
                **dict.fromkeys(REGRESSION_METRICS, ("RegressionMetric", "pipelines.regression_metrics"))}


CALIBRATION_BUCKETS = 10


def metric_threshold(lower_bound: Optional[float], change_tolerance: float,
                     upper_bound: Optional[float] = None) -> tfma.MetricThreshold:
    """A lower bound (higher is better), or an upper bound (lower is better: errors)."""
    higher_is_better = upper_bound is None
    value = ({"lower_bound": {"value": lower_bound}} if higher_is_better else {"upper_bound": {"value": upper_bound}})
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(**value),
        # Compared with the model served now; TFMA skips this on the first run, when there is
        # no baseline yet. The epsilon lets an equally good model through.
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER if higher_is_better else tfma.MetricDirection.LOWER_IS_BETTER,
            absolute={"value": (-1 if higher_is_better else 1) * (change_tolerance + 1e-10)}))


def _metric_config(name: str, threshold: tfma.MetricThreshold) -> tfma.MetricConfig:
    # Thresholds gate the overall slice only (a plain `threshold` would apply to every
    # slice, and a ten-row slice would decide the blessing); slices are reported.
    class_name, module = TFMA_METRICS[name]
    return tfma.MetricConfig(class_name=class_name, module=module, config=json.dumps({"name": name}),
                             per_slice_thresholds=[tfma.PerSliceMetricThreshold(
                                 slicing_specs=[tfma.SlicingSpec()], threshold=threshold)])


def eval_config(spec: DatasetSpec) -> tfma.EvalConfig:
    if spec.is_regression:
        return regression_eval_config(spec)
    multiclass = [tfma.MetricConfig(class_name="ExampleCount"),
                  tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot")]
    # MeanLabel: a slice whose labels are all one class has no AUC (the report shows n/a).
    binary = ([tfma.MetricConfig(class_name="ConfusionMatrixPlot"), tfma.MetricConfig(class_name="MeanLabel"),
               tfma.MetricConfig(class_name="CalibrationPlot",
                                 config=json.dumps({"name": "calibration_plot", "num_buckets": CALIBRATION_BUCKETS}))]
              if spec.num_classes == 2 else [])
    for metric in spec.metrics:
        config = _metric_config(metric.name, metric_threshold(metric.lower_bound, spec.change_tolerance))
        (binary if metric.name in BINARY_ONLY_METRICS else multiclass).append(config)
    metrics_specs = [tfma.MetricsSpec(metrics=multiclass)]
    if binary:
        metrics_specs.append(tfma.MetricsSpec(
            metrics=binary, binarize=tfma.BinarizationOptions(class_ids={"values": [POSITIVE_CLASS_ID]})))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(
            signature_name=SERVING_SIGNATURE,
            prediction_key=PROBABILITIES,
            label_key=LABEL_KEY,
            # The label is the transformed one: TFMA runs this signature on raw eval examples.
            preprocessing_function_names=[TRANSFORM_SIGNATURE])],
        slicing_specs=[tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[column]) for column in spec.slices],
        metrics_specs=metrics_specs)


def regression_eval_config(spec: DatasetSpec) -> tfma.EvalConfig:
    """A regression's: every metric of ``pipelines.regression_metrics`` reported, the spec's
    thresholded (errors with upper bounds, R² with a lower one)."""
    thresholds = {m.name: metric_threshold(m.lower_bound, spec.change_tolerance, m.upper_bound) for m in spec.metrics}
    metrics = [tfma.MetricConfig(class_name="ExampleCount")]
    for name in REGRESSION_METRICS:
        config = tfma.MetricConfig(class_name="RegressionMetric", module="pipelines.regression_metrics",
                                   config=json.dumps({"name": name}))
        if name in thresholds:
            config.per_slice_thresholds.append(tfma.PerSliceMetricThreshold(
                slicing_specs=[tfma.SlicingSpec()], threshold=thresholds[name]))
        metrics.append(config)
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name=SERVING_SIGNATURE, prediction_key=PREDICTIONS, label_key=LABEL_KEY,
                                    preprocessing_function_names=[TRANSFORM_SIGNATURE])],
        slicing_specs=[tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[column]) for column in spec.slices],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)])
