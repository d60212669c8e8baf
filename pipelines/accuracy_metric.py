"""Accuracy for TFMA, read from the multi-class confusion matrix the evaluation computes anyway.

TFMA's way to the same number is a Keras metric (``SparseCategoricalAccuracy``) run beside the
confusion matrix: a second pass over every example's label and prediction, each time through
TFMA's per-example conversion and a TensorFlow metric in the Beam worker. This one is derived
from the matrix's counts (TFMA runs a computation several metrics share once), so accuracy
costs no per-example work of its own. Same value: the share of examples whose most probable
class is the label (weighted, when the evaluation weights examples).

The evaluation names it by module and class (``pipelines.evaluation``).
"""
from __future__ import annotations

from typing import Optional

from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.metrics.multi_class_confusion_matrix_metrics import multi_class_confusion_matrices
from tensorflow_model_analysis.proto import config_pb2

ARGMAX_THRESHOLD = 0.0  # the matrix at threshold 0: every example's predicted class is its argmax


def _accuracy(name: str = "accuracy", eval_config: Optional[config_pb2.EvalConfig] = None, model_name: str = "",
              output_name: str = "", example_weighted: bool = False) -> metric_types.MetricComputations:
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                 example_weighted=example_weighted)
    # The same computation (same thresholds and keys) as MultiClassConfusionMatrixPlot's, so
    # TFMA runs it once for both.
    computations = multi_class_confusion_matrices(thresholds=[ARGMAX_THRESHOLD], eval_config=eval_config,
                                                  model_name=model_name, output_name=output_name,
                                                  example_weighted=example_weighted)
    matrices_key = computations[-1].keys[-1]

    def result(metrics):
        cells = metrics[matrices_key].get(ARGMAX_THRESHOLD, {})
        total = sum(cells.values())
        correct = sum(count for cell, count in cells.items() if cell.actual_class_id == cell.predicted_class_id)
        return {key: correct / total if total else float("nan")}

    computations.append(metric_types.DerivedMetricComputation(keys=[key], result=result))
    return computations


class MulticlassAccuracy(metric_types.Metric):
    """The share of examples whose most probable class is the label."""

    def __init__(self, name: str = "accuracy"):
        super().__init__(metric_util.merge_per_key_computations(_accuracy), name=name)


metric_types.register_metric(MulticlassAccuracy)
