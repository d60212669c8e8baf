"""One run's outcome gathered from its artifacts: data statistics and anomalies, training
curves, the evaluation (per metric and slice, against thresholds and the baseline), plots,
and what was pushed. ``report_html`` draws it; the CLI prints it as a table or JSON."""
from __future__ import annotations

import json
import os
import unicodedata
from typing import Optional

from tfxp_contract.dataset_spec import DatasetSpec
from tfxp_contract.names import STATISTICS_FILE, TRAINING_SUMMARY_FILE, TRIALS_FILE
from tfxp_reports.evaluation_summary import OVERALL, read_generative, summarize

HISTOGRAM_VALUES = 12  # a categorical feature's most frequent values drawn


def _histogram(feature) -> Optional[dict]:
    """What TFDV counted of a feature's values: numeric (its standard histogram's buckets) or
    categorical (its most frequent values); None for bytes (images)."""
    if feature.HasField("num_stats"):
        for histogram in feature.num_stats.histograms:
            if histogram.type == histogram.STANDARD and histogram.buckets:
                return {"kind": "numeric", "buckets": [[b.low_value, b.high_value, b.sample_count]
                                                       for b in histogram.buckets]}
        return None
    if feature.HasField("string_stats") and feature.string_stats.top_values:
        return {"kind": "categorical", "values": [[v.value, v.frequency]
                                                  for v in feature.string_stats.top_values[:HISTOGRAM_VALUES]]}
    return None


def statistics_summary(statistics_uri: str) -> dict:
    """Per split: example count and, per feature, type, missing share, a short profile and
    the histogram TFDV computed."""
    import tensorflow as tf
    import tensorflow_data_validation as tfdv

    splits = {}
    for entry in sorted(tf.io.gfile.listdir(statistics_uri)):
        path = os.path.join(statistics_uri, entry.rstrip("/"), STATISTICS_FILE)
        if not entry.startswith("Split-") or not tf.io.gfile.exists(path):
            continue
        [stats] = tfdv.load_stats_binary(path).datasets
        features = []
        for feature in stats.features:
            common = feature.num_stats.common_stats if feature.HasField("num_stats") else \
                feature.string_stats.common_stats if feature.HasField("string_stats") else \
                feature.bytes_stats.common_stats
            missing = common.num_missing / stats.num_examples if stats.num_examples else 0.0
            if feature.HasField("num_stats"):
                n = feature.num_stats
                profile = f"mean {n.mean:.3g}, std {n.std_dev:.3g}, min {n.min:.3g}, max {n.max:.3g}"
            elif feature.HasField("string_stats"):
                s = feature.string_stats
                top = ", ".join(f"{v.value[:30] + '...' if len(v.value) > 30 else v.value} ({v.frequency:.0f})"
                                for v in s.top_values[:3])
                profile = f"{s.unique} unique; top: {top}"
            else:
                profile = f"bytes, average {feature.bytes_stats.avg_num_bytes:.0f} B"
            features.append({"name": feature.path.step[-1] if feature.path.step else feature.name,
                             "type": ("numeric" if feature.HasField("num_stats") else
                                      "string" if feature.HasField("string_stats") else "bytes"),
                             "missing": round(missing, 4), "missing_count": int(common.num_missing),
                             "profile": profile, "histogram": _histogram(feature)})
        splits[entry.rstrip("/").removeprefix("Split-")] = {"examples": int(stats.num_examples), "features": features}
    return splits


def training_history(model_run_uri: Optional[str]) -> Optional[dict]:
    import tensorflow as tf

    path = os.path.join(model_run_uri or "", TRAINING_SUMMARY_FILE)
    if not model_run_uri or not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def tuning_trials(tuner_results_uri: str) -> Optional[dict]:
    """The search's objective and every trial (values, score, seconds, the chosen one)."""
    import tensorflow as tf
    path = os.path.join(tuner_results_uri, TRIALS_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def tuning_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the search's trials: one column per searched hyperparameter."""
    tuning = report.get("tuning") or {}
    trials = tuning.get("trials", [])
    names = list(dict.fromkeys(name for t in trials for name in t["values"]))
    header = ["trial", *names, tuning.get("objective", "score"), "seconds", "status"]
    rows = [[t["trial"], *(json.dumps(t["values"].get(n)) if not isinstance(t["values"].get(n), str)
                           else t["values"][n] for n in names),
             _number(t["score"]), "-" if t["seconds"] is None else f"{t['seconds']:.1f}",
             "chosen" if t["chosen"] else t["status"].lower()] for t in trials]
    return header, rows


def per_class(matrix: list[list[float]], classes: list[str]) -> list[dict]:
    """Precision, recall, F1 and support of each class, from TFMA's confusion matrix (rows:
    true class, columns: predicted)."""
    rows = []
    for i, name in enumerate(classes):
        support = sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        hits = matrix[i][i]
        precision = hits / predicted if predicted else None
        recall = hits / support if support else None
        f1 = (2 * precision * recall / (precision + recall)
              if precision is not None and recall is not None and precision + recall else None)
        rows.append({"class": name, "precision": precision, "recall": recall, "f1": f1, "support": support})
    return rows


def evaluation_plots(evaluation_uri: str, num_classes: int) -> dict:
    """Overall slice, candidate model: a confusion matrix (rows: true class) and, for a
    binary label, ROC and precision-recall points across thresholds, and calibration: per
    bucket of predicted probability, the mean prediction, the share of positives and the count."""
    import tensorflow_model_analysis as tfma

    from tfxp_reports.evaluation_summary import CANDIDATE_NAMES, slice_name

    plots = {}
    for per_slice in tfma.load_plots(evaluation_uri):
        if slice_name(per_slice.slice_key) != OVERALL:
            continue
        for entry in per_slice.plot_keys_and_values:
            if entry.key.model_name not in CANDIDATE_NAMES:
                continue
            value = entry.value
            if value.HasField("multi_class_confusion_matrix_at_thresholds"):
                matrix = [[0.0] * num_classes for _ in range(num_classes)]
                for cell in value.multi_class_confusion_matrix_at_thresholds.matrices[0].entries:
                    if 0 <= cell.actual_class_id < num_classes and 0 <= cell.predicted_class_id < num_classes:
                        matrix[cell.actual_class_id][cell.predicted_class_id] = cell.num_weighted_examples
                plots["confusion_matrix"] = matrix
            elif value.HasField("confusion_matrix_at_thresholds"):
                roc, pr = [], []
                matrices = value.confusion_matrix_at_thresholds.matrices
                if matrices:  # the model's decision: the class of highest probability, 0.5 for two classes
                    m = min(matrices, key=lambda m: abs(m.threshold - 0.5))
                    positives, negatives = m.true_positives + m.false_negatives, m.false_positives + m.true_negatives
                    plots["operating_point"] = {
                        "threshold": m.threshold, "precision": m.precision, "recall": m.recall,
                        "false_positive_rate": m.false_positives / negatives if negatives else None,
                        "true_positive_rate": m.true_positives / positives if positives else None}
                for m in matrices:
                    positives, negatives = m.true_positives + m.false_negatives, m.false_positives + m.true_negatives
                    if positives and negatives:
                        roc.append((m.false_positives / negatives, m.true_positives / positives))
                    if m.true_positives + m.false_positives:
                        pr.append((m.recall, m.precision))
                plots["roc"], plots["precision_recall"] = sorted(set(roc)), sorted(set(pr))
            if value.HasField("calibration_histogram_buckets"):  # beside the matrices, in the same plot
                plots["calibration"] = [
                    {"predicted": b.total_weighted_refined_prediction.value / b.num_weighted_examples.value,
                     "actual": b.total_weighted_label.value / b.num_weighted_examples.value,
                     "examples": b.num_weighted_examples.value}
                    for b in value.calibration_histogram_buckets.buckets if b.num_weighted_examples.value > 0]
    return plots


def generative_views(evaluation_uri: str) -> dict:
    """A generative model's pictures: its PNG grids (base64), class coverage (this model's and
    the last blessed one's), latent points of a VAE, and the classifier that measured them."""
    import base64

    import tensorflow as tf
    result = read_generative(evaluation_uri)
    images = {}
    for name, file in result["images"].items():
        with tf.io.gfile.GFile(f"{evaluation_uri.rstrip('/')}/{file}", "rb") as f:
            images[name] = base64.b64encode(f.read()).decode()
    return {"images": images, "class_names": result["class_names"], "class_shares": result["metrics"].get("class_shares"),
            "baseline_class_shares": (result["baseline"] or {}).get("class_shares"), "latent": result.get("latent"),
            "classifier": result["classifier"], "unmeasured": result.get("unmeasured", ""), "samples": result["samples"]}


REGRESSION_POINTS = 1000  # eval examples the predicted-vs-actual plot shows


def regression_points(model_dir: str, eval_files: list[str], label: str, limit: int = REGRESSION_POINTS) -> dict:
    """A regression's first ``limit`` eval examples: actual labels and the model's predictions
    (the served signature on the raw examples, label removed), for the report's plots."""
    import tensorflow as tf

    from tfxp_contract.names import PREDICTIONS, SERVING_SIGNATURE
    serve = tf.saved_model.load(model_dir).signatures[SERVING_SIGNATURE]
    actual, requests = [], []
    for record in tf.data.TFRecordDataset(eval_files, compression_type="GZIP").take(limit):
        example = tf.train.Example.FromString(record.numpy())
        actual.append(float(example.features.feature[label].float_list.value[0]))
        del example.features.feature[label]
        requests.append(example.SerializeToString())
    predicted = serve(examples=tf.constant(requests))[PREDICTIONS].numpy().tolist() if requests else []
    return {"actual": actual, "predicted": [float(p) for p in predicted]}


def build_report(spec: DatasetSpec, *, run_id: str, evaluation_uri: str, blessed: bool,
                 statistics_uri: Optional[str] = None, anomalies: Optional[list[str]] = None,
                 model_run_uri: Optional[str] = None, pushed: Optional[dict] = None,
                 regression: Optional[dict] = None, tuning_uri: Optional[str] = None) -> dict:
    """``regression``: ``regression_points`` of a regression's model, for its plots;
    ``tuning_uri``: the Tuner's results, when the spec tunes."""
    import datetime
    evaluation = summarize(evaluation_uri, spec, blessed)
    plots = ({"generative": generative_views(evaluation_uri)} if spec.task == "generative"
             else {"regression": regression} if spec.is_regression
             else evaluation_plots(evaluation_uri, spec.num_classes))
    classes = list(spec.label.names) if spec.label else []
    training = training_history(model_run_uri)
    pushed = pushed or {"pushed": False}
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    served = f"served as version {pushed['version']}" if pushed.get("pushed") else "not served"
    return {
        "dataset": spec.name, "description": spec.description, "run": run_id, "date": date,
        "title": f"{spec.name}, {date}: {'BLESSED' if blessed else 'NOT BLESSED'}, {served}",
        "classes": classes, "verdict": evaluation.verdict, "blessed": blessed,
        "evaluation": evaluation.to_dict(),
        "task": spec.task,
        "plots": plots,
        "per_class": per_class(plots["confusion_matrix"], classes) if plots.get("confusion_matrix") else [],
        "statistics": statistics_summary(statistics_uri) if statistics_uri else {},
        "anomalies": anomalies or [],
        "training": training,
        "hyperparameters": (training or {}).get("hyperparameters", {}),
        "tuning": tuning_trials(tuning_uri) if tuning_uri else None,
        "pushed": pushed,
        "evaluation_uri": evaluation_uri,
    }


def _number(value: Optional[float], signed: bool = False, missing: str = "-") -> str:
    if value is None:
        return missing
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _interval(c: dict) -> str:
    interval = c.get("interval")
    return f"{interval[0]:.4f}-{interval[1]:.4f}" if interval else "-"


def check_rows(report: dict) -> list[list[str]]:
    """The evaluation as table rows: metric, slice, examples, value, 95% interval, bound,
    baseline, change, result."""
    rows = []
    for c in report["evaluation"]["checks"]:
        lower = c.get("lower_is_better")
        bound = (f"<= {c['upper_bound']:.4f}" if c.get("upper_bound") is not None else
                 f">= {c['lower_bound']:.4f}" if c["lower_bound"] is not None else "-")
        if c["change_bound"] is not None:
            bound += f"; change {'<=' if lower else '>='} {c['change_bound'] + 0.0:+.4f}"  # no -0.0000
        result = {True: "pass", False: "FAIL", None: "(reported)"}[c["passed"]]
        undefined = "n/a" if c.get("undefined") else "-"  # no number at all, not zero
        examples = c.get("examples")
        rows.append([c["metric"], c["slice"], "-" if examples is None else f"{examples:.0f}",
                     _number(c["value"], missing=undefined), _interval(c), bound,
                     _number(c["baseline"], missing=undefined if c["baseline"] is None else "-"),
                     _number(c["change"], signed=True), result])
    return rows


CHECK_HEADER = ["metric", "slice", "examples", "value", "95% interval", "threshold", "baseline", "change", "result"]
NUMERIC_COLUMNS = {"examples", "value", "95% interval", "baseline", "change"}


def visible(text: str) -> str:
    """Text from data with its invisible and direction-changing characters (bidi controls such
    as U+202E, zero-width and other format or control characters) written as escapes (\\u202e),
    so a value cannot reverse, hide or reorder what a reader of the report sees."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in INVISIBLE and c not in "\n\t" else c
                   for c in text)


INVISIBLE = ("Cf", "Cc", "Co", "Cs", "Zl", "Zp")


def per_class_rows(report: dict) -> list[list[str]]:
    return [[row["class"], _number(row["precision"]), _number(row["recall"]), _number(row["f1"]),
             f"{row['support']:.0f}"] for row in report.get("per_class", [])]


PER_CLASS_HEADER = ["class", "precision", "recall", "F1", "examples"]


def _aligned(rows: list[list[str]], right: list[bool]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(row, widths, right)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def terminal_summary(report: dict) -> str:
    lines = [report.get("title") or f"{report['dataset']} run {report['run']}", f"run {report['run']}",
             report["verdict"], ""]
    lines += _aligned([CHECK_HEADER] + check_rows(report), [name in NUMERIC_COLUMNS for name in CHECK_HEADER])
    if report.get("per_class"):
        lines += ["", *_aligned([PER_CLASS_HEADER] + per_class_rows(report), [False, True, True, True, True])]
    if report.get("tuning"):
        header, rows = tuning_rows(report)
        lines += ["", f"tuning: {len(rows)} trials, ranked by {report['tuning']['objective']} "
                      f"({report['tuning']['direction']})",
                  *_aligned([header] + rows, [False] * (len(header) - 3) + [True, True, False])]
    pushed = report["pushed"]
    lines += ["", f"pushed: version {pushed['version']} at {pushed['destination']}" if pushed.get("pushed")
              else "pushed: nothing"]
    if pushed.get("serving_check"):
        lines.append(f"serving check: {pushed['serving_check']}")
    return visible("\n".join(lines))
