"""TFMA configuration from a dataset spec: absolute thresholds and a no-regression check on
the whole eval split, metrics per slice of the spec's slice columns, and the plots the
report draws (confusion matrix; ROC and precision-recall for binary labels)."""
from __future__ import annotations

import json

import tensorflow_model_analysis as tfma

from tfxp_contract.dataset_spec import BINARY_ONLY_METRICS, DatasetSpec
from tfxp_contract.names import LABEL_KEY, PROBABILITIES, SERVING_SIGNATURE, TRANSFORM_SIGNATURE

POSITIVE_CLASS_ID = 1  # binary metrics (AUC) score the spec's second label value
# A spec metric's TFMA metric: (class, the module that defines it; "" = TFMA's own).
TFMA_METRICS = {"accuracy": ("MulticlassAccuracy", "pipelines.accuracy_metric"), "auc": ("AUC", "")}


def metric_threshold(lower_bound: float, change_tolerance: float) -> tfma.MetricThreshold:
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": lower_bound}),
        # Compared with the last blessed model; TFMA skips this on the first run, when
        # there is no baseline yet. The epsilon lets an equally good model through.
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -change_tolerance - 1e-10}))


def _metric_config(name: str, threshold: tfma.MetricThreshold) -> tfma.MetricConfig:
    # Thresholds gate the overall slice only (a plain `threshold` would apply to every
    # slice, and a ten-row slice would decide the blessing); slices are reported.
    class_name, module = TFMA_METRICS[name]
    return tfma.MetricConfig(class_name=class_name, module=module, config=json.dumps({"name": name}),
                             per_slice_thresholds=[tfma.PerSliceMetricThreshold(
                                 slicing_specs=[tfma.SlicingSpec()], threshold=threshold)])


def eval_config(spec: DatasetSpec) -> tfma.EvalConfig:
    multiclass = [tfma.MetricConfig(class_name="ExampleCount"),
                  tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot")]
    # MeanLabel: a slice whose labels are all one class has no AUC (the report shows n/a).
    binary = ([tfma.MetricConfig(class_name="ConfusionMatrixPlot"), tfma.MetricConfig(class_name="MeanLabel")]
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
