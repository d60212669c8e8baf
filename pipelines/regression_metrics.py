"""A regression's metrics for TFMA, from one pass over labels and predictions: mean squared
error, mean absolute error, root mean squared error and R² (the coefficient of determination,
1 - residual sum of squares / total sum of squares: 0 for predicting the mean, 1 for a perfect
model; TFMA's own SquaredPearsonCorrelation is the squared correlation, which a biased model
can max out).

The evaluation names each by module, class and ``name`` (``pipelines.evaluation``).
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, Optional

import apache_beam as beam
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2

NAMES = ("mse", "mae", "rmse", "r2")


class _Sums:
    __slots__ = ("n", "label", "label_squared", "squared_error", "absolute_error")

    def __init__(self):
        self.n = self.label = self.label_squared = self.squared_error = self.absolute_error = 0.0


def values(sums: _Sums) -> Dict[str, float]:
    """Each metric from the accumulated (weighted) sums; NaN without examples (R² also when
    the labels do not vary)."""
    if not sums.n:
        return dict.fromkeys(NAMES, float("nan"))
    mse = sums.squared_error / sums.n
    total = sums.label_squared - sums.label ** 2 / sums.n
    return {"mse": mse, "mae": sums.absolute_error / sums.n, "rmse": math.sqrt(mse),
            "r2": 1.0 - sums.squared_error / total if total > 0 else float("nan")}


class _Combiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, eval_config: Optional[config_pb2.EvalConfig],
                 example_weighted: bool):
        self._key, self._eval_config, self._example_weighted = key, eval_config, example_weighted

    def create_accumulator(self) -> _Sums:
        return _Sums()

    def add_input(self, sums: _Sums, element: metric_types.StandardMetricInputs) -> _Sums:
        for label, prediction, weight in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._key.model_name,
                output_name=self._key.output_name, example_weighted=self._example_weighted):
            label, prediction, weight = float(label), float(prediction), float(weight)
            sums.n += weight
            sums.label += weight * label
            sums.label_squared += weight * label * label
            sums.squared_error += weight * (label - prediction) ** 2
            sums.absolute_error += weight * abs(label - prediction)
        return sums

    def merge_accumulators(self, accumulators: Iterable[_Sums]) -> _Sums:
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for sums in accumulators:
            for field in _Sums.__slots__:
                setattr(merged, field, getattr(merged, field) + getattr(sums, field))
        return merged

    def extract_output(self, sums: _Sums) -> Dict[metric_types.MetricKey, float]:
        return {self._key: values(sums)[self._key.name]}


def _computations(name: str = "r2", eval_config: Optional[config_pb2.EvalConfig] = None, model_name: str = "",
                  output_name: str = "", example_weighted: bool = False) -> metric_types.MetricComputations:
    if name not in NAMES:
        raise ValueError(f"regression metric {name!r} is not one of {NAMES}")
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                 example_weighted=example_weighted)
    return [metric_types.MetricComputation(keys=[key], preprocessors=None,
                                           combiner=_Combiner(key, eval_config, example_weighted))]


class RegressionMetric(metric_types.Metric):
    """One of ``NAMES``, chosen by ``name``."""

    def __init__(self, name: str = "r2"):
        super().__init__(metric_util.merge_per_key_computations(_computations), name=name)


metric_types.register_metric(RegressionMetric)
