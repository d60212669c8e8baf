"""What an Evaluator run decided and why, per metric and slice, read from TFMA's outputs.

TFX records a blessing as a marker file; TFMA keeps the numbers apart (metrics, validation
result). This puts them side by side: value, threshold, the baseline's value, the change,
and whether the check passed, plus a one-line verdict.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

from tfxp_contract.dataset_spec import DatasetSpec
from tfxp_contract.names import GENERATIVE_EVALUATION_FILE

OVERALL = "overall"
CANDIDATE_NAMES = ("", "candidate")  # TFMA's model name without / with a baseline
BASELINE_NAME = "baseline"
# Defined only when a slice holds both classes (TFMA reports 0 for them otherwise).
NEED_BOTH_CLASSES = {"auc"}


@dataclass
class MetricCheck:
    metric: str
    slice: str
    value: Optional[float]
    baseline: Optional[float] = None  # the last blessed model, on the same examples
    change: Optional[float] = None  # value - baseline
    lower_bound: Optional[float] = None  # thresholds gate the overall slice only
    change_bound: Optional[float] = None  # the change allowed (>= it; <= it when lower is better)
    passed: Optional[bool] = None  # None: no threshold on this slice
    failure: str = ""
    undefined: str = ""  # why value is None although TFMA gave a number (shown as n/a)
    upper_bound: Optional[float] = None  # lower-is-better metrics (a generative model's)
    lower_is_better: bool = False
    interval: Optional[list[float]] = None  # TFMA's 95% confidence interval [low, high] of value
    examples: Optional[float] = None  # examples in the slice
    note: str = ""  # e.g. what the metric means on this slice, or why it says little

@dataclass
class EvaluationSummary:
    blessed: bool
    verdict: str  # "BLESSED: ..." or "NOT BLESSED: ...", one line
    checks: list[MetricCheck] = field(default_factory=list)
    example_counts: dict[str, float] = field(default_factory=dict)  # slice -> examples evaluated
    has_baseline: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def slices(self) -> list[str]:
        return list(dict.fromkeys(c.slice for c in self.checks))


def slice_name(slice_key) -> str:
    """'overall', or 'column=value' (TFMA's SliceKey proto)."""
    parts = []
    for key in slice_key.single_slice_keys:
        value = key.bytes_value.decode() if key.HasField("bytes_value") else \
            (key.int64_value if key.HasField("int64_value") else key.float_value)
        parts.append(f"{key.column}={value}")
    return ", ".join(parts) or OVERALL


UNIT_INTERVAL_METRICS = {"accuracy", "auc", "precision", "recall", "auc_precision_recall", "f1"}
SMALL_SLICE = 50  # examples below which a slice's metrics are marked as indicative only


def _metric_values(evaluation_uri: str) -> tuple[dict[tuple[str, str, str, bool], float],
                                                 dict[tuple[str, str, str, bool], list[float]]]:
    """(slice, model name, metric, is_diff) -> value, and -> [low, high] where TFMA computed a
    confidence interval."""
    import tensorflow_model_analysis as tfma
    values, intervals = {}, {}
    for per_slice in tfma.load_metrics(evaluation_uri):
        where = slice_name(per_slice.slice_key)
        for entry in per_slice.metric_keys_and_values:
            key = (where, entry.key.model_name, entry.key.name, entry.key.is_diff)
            if entry.value.HasField("double_value"):
                values[key] = entry.value.double_value.value
            interval = entry.confidence_interval
            if interval.lower_bound.HasField("double_value") and interval.upper_bound.HasField("double_value"):
                low, high = interval.lower_bound.double_value.value, interval.upper_bound.double_value.value
                if math.isfinite(low) and math.isfinite(high):
                    intervals[key] = [low, high]
    return values, intervals


def failed_thresholds(evaluation_uri: str) -> dict[tuple[str, str, bool], str]:
    """(slice, metric, is_diff) -> description of each failed threshold (a generative model's
    evaluation: its failed checks)."""
    import tensorflow as tf
    import tensorflow_model_analysis as tfma
    if tf.io.gfile.exists(f"{evaluation_uri.rstrip('/')}/{GENERATIVE_EVALUATION_FILE}"):
        return {(OVERALL, c["metric"], False): c["failure"] for c in read_generative(evaluation_uri)["checks"]
                if not c["passed"]}
    found = {}
    for per_slice in tfma.load_validation_result(evaluation_uri).metric_validations_per_slice:
        where = slice_name(per_slice.slice_key)
        for failure in per_slice.failures:
            key = failure.metric_key
            value = failure.metric_value.double_value.value
            threshold = failure.metric_threshold
            if key.is_diff:
                # a tolerance of 0 is stored as -1e-10 (TFMA compares strictly): shown as +0.0000
                bound = round(threshold.change_threshold.absolute.value, 6) + 0.0
                allowed = "<=" if threshold.change_threshold.direction == tfma.MetricDirection.LOWER_IS_BETTER else ">="
                text = f"{key.name} changed by {value:+.4f} vs the last blessed model, allowed {allowed} {bound:+.4f}"
            elif threshold.value_threshold.HasField("upper_bound"):
                text = f"{key.name} = {value:.4f}, above the bound {threshold.value_threshold.upper_bound.value:.4f}"
            else:
                text = f"{key.name} = {value:.4f}, below the bound {threshold.value_threshold.lower_bound.value:.4f}"
            found[(where, key.name, key.is_diff)] = text + ("" if where == OVERALL else f" on {where}")
    return found


def read_generative(evaluation_uri: str) -> dict:
    """What ``components.evaluation.generative_evaluator`` measured and decided."""
    import tensorflow as tf
    with tf.io.gfile.GFile(f"{evaluation_uri.rstrip('/')}/{GENERATIVE_EVALUATION_FILE}") as f:
        return json.load(f)


def generative_summary(evaluation_uri: str, spec: DatasetSpec, blessed: bool) -> EvaluationSummary:
    """A generative model's checks (gated, overall) and its class coverage (reported per class)."""
    result = read_generative(evaluation_uri)
    checks = []
    for c in result["checks"]:
        lower, baseline = c["lower_is_better"], c["baseline"]
        checks.append(MetricCheck(
            metric=c["metric"], slice=OVERALL, value=c["value"], baseline=baseline,
            change=None if baseline is None or c["value"] is None else c["value"] - baseline,
            lower_bound=None if lower else c["bound"], upper_bound=c["bound"] if lower else None,
            change_bound=None if c["change_bound"] is None else c["change_bound"] - baseline,
            lower_is_better=lower, passed=c["passed"], failure=c["failure"]))
    base_shares = (result["baseline"] or {}).get("class_shares") or [None] * len(result["class_names"])
    for name, share, base in zip(result["class_names"], result["metrics"].get("class_shares", []), base_shares):
        checks.append(MetricCheck(metric="class_share", slice=f"class={name}", value=share, baseline=base,
                                  change=None if base is None else share - base))
    return EvaluationSummary(blessed=blessed, verdict=result["verdict"], checks=checks,
                             example_counts={OVERALL: float(result["held_out_images"])},
                             has_baseline=result["baseline"] is not None)


Z95 = 1.959964  # the normal quantile of a two-sided 95% interval


def wilson_interval(share: float, n: float) -> Optional[list[float]]:
    """Wilson's score interval of a proportion (accuracy, a class's recall) over ``n`` examples."""
    if not n or share is None:
        return None
    centre = (share + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * math.sqrt(share * (1 - share) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return [centre - half, centre + half]


def hanley_mcneil_interval(auc: float, positives: float, negatives: float) -> Optional[list[float]]:
    """Hanley and McNeil's (1982) standard error of an AUC, from the counts of each class."""
    if auc is None or positives < 1 or negatives < 1:
        return None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
    half = Z95 * math.sqrt(max(variance, 0.0))
    return [auc - half, auc + half]


def analytic_interval(metric: str, value: Optional[float], examples: Optional[float],
                      mean_label: Optional[float]) -> Optional[list[float]]:
    """A 95% interval from the counts TFMA computed: Wilson's for accuracy (and a class's
    recall), Hanley-McNeil's for a binary AUC; None for other metrics. (TFMA's own jackknife
    took 4.5x the Evaluator's time on house_votes: bench/results/evaluator_intervals.md.)"""
    if value is None or not examples:
        return None
    if metric == "accuracy":
        return wilson_interval(value, examples)
    if metric == "auc" and mean_label is not None:
        positives = round(mean_label * examples)
        return hanley_mcneil_interval(value, positives, examples - positives)
    return None


def summarize(evaluation_uri: str, spec: DatasetSpec, blessed: bool) -> EvaluationSummary:
    if spec.task == "generative":
        return generative_summary(evaluation_uri, spec, blessed)
    values, intervals = _metric_values(evaluation_uri)
    failures = failed_thresholds(evaluation_uri)
    has_baseline = any(model == BASELINE_NAME for _, model, _, _ in values)
    slices = list(dict.fromkeys(where for where, _, _, _ in values))
    slices.sort(key=lambda s: (s != OVERALL, s))

    def candidate(where: str, metric: str, is_diff: bool = False, found: Optional[dict] = None):
        found = values if found is None else found
        return next((found[(where, m, metric, is_diff)] for m in CANDIDATE_NAMES
                     if (where, m, metric, is_diff) in found), None)

    label_slice = f"{spec.label.column}=" if spec.label else None
    checks = []
    for where in slices:
        examples = candidate(where, "example_count")
        for threshold in spec.metrics:
            check = MetricCheck(metric=threshold.name, slice=where, value=candidate(where, threshold.name),
                                baseline=values.get((where, BASELINE_NAME, threshold.name, False)),
                                change=candidate(where, threshold.name, is_diff=True),
                                interval=candidate(where, threshold.name, found=intervals), examples=examples)
            check.undefined = undefined_reason(threshold.name, check.value, candidate(where, "mean_label"))
            if check.undefined:
                check.value = check.baseline = check.change = check.interval = None
            elif check.interval is None:
                check.interval = analytic_interval(threshold.name, check.value, examples,
                                                   candidate(where, "mean_label"))
            if check.interval and threshold.name in UNIT_INTERVAL_METRICS:
                # A normal approximation can reach past 1 (accuracy 0.99 on 76 rows).
                check.interval = [max(0.0, check.interval[0]), min(1.0, check.interval[1])]
            if label_slice and where.startswith(label_slice) and threshold.name == "accuracy":
                # Within one class, the share predicted right is that class's recall.
                check.metric, check.note = "recall", "accuracy within one class: the class's recall"
            elif where != OVERALL and examples is not None and examples < SMALL_SLICE:
                check.note = f"{examples:.0f} example{'s' if examples != 1 else ''}: indicative only"
            if where == OVERALL:
                check.lower_bound, check.upper_bound = threshold.lower_bound, threshold.upper_bound
                check.lower_is_better = threshold.upper_bound is not None
                tolerance = spec.change_tolerance or 0.0
                check.change_bound = (tolerance if check.lower_is_better else -tolerance) if has_baseline else None
                failed = [failures[k] for k in ((where, threshold.name, False), (where, threshold.name, True))
                          if k in failures]
                check.passed, check.failure = not failed, "; ".join(failed)
            checks.append(check)
    counts = {where: candidate(where, "example_count") for where in slices}
    summary = EvaluationSummary(blessed=blessed, verdict="", checks=checks,
                                example_counts={k: v for k, v in counts.items() if v is not None},
                                has_baseline=has_baseline)
    summary.verdict = verdict(summary)
    return summary


def undefined_reason(metric: str, value: Optional[float], mean_label: Optional[float]) -> str:
    """Why ``value`` is no number at all ("" when it is one): NaN, or a metric that needs both
    classes on a slice whose labels are all one class (mean label 0 or 1)."""
    if value is not None and math.isnan(value):
        return "undefined (NaN)"
    if metric in NEED_BOTH_CLASSES and mean_label is not None and min(mean_label, 1 - mean_label) < 1e-9:
        return "undefined: every example in this slice has the same label"
    return ""


def _shown(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def verdict_line(blessed: bool, failures: Sequence[str], passes: Sequence[str], has_baseline: bool) -> str:
    """Every evaluation's one line (a classifier's and a generative model's): 'BLESSED: ...'
    with each check passed, or 'NOT BLESSED: ...' with each that failed."""
    if not blessed:
        return "NOT BLESSED: " + ("; ".join(failures) or "the Evaluator did not bless the model")
    return "BLESSED: " + "; ".join(passes) + ("" if has_baseline else " (first model: no baseline to compare with)")


def verdict(summary: EvaluationSummary) -> str:
    gated = [c for c in summary.checks if c.passed is not None]
    passes = [(f"{c.metric} {_shown(c.value)} <= {c.upper_bound:.4f}" if c.lower_is_better
               else f"{c.metric} {_shown(c.value)} >= {c.lower_bound:.4f}")
              + (f", {c.change:+.4f} vs the last blessed model" if c.change is not None else "") for c in gated]
    return verdict_line(summary.blessed, [c.failure for c in gated if not c.passed], passes, summary.has_baseline)
