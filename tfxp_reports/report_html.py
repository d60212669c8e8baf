"""A run's report as HTML, rendered from the Jinja2 templates in ``tfxp_reports/templates``:
the static file every run writes (inline styles, plots as embedded PNGs, no scripts, nothing
fetched from the network, so it opens anywhere, offline) and the run page of ``tfxp ui``,
which includes the same body."""
from __future__ import annotations

import base64
import io
import os
from functools import lru_cache

import jinja2

from tfxp_reports.run_report import (
    CHECK_HEADER,
    NUMERIC_COLUMNS,
    PER_CLASS_HEADER,
    check_rows,
    per_class_rows,
    tuning_rows,
    visible,
)

CODE_DATA = ("templates",)  # part of the report step's code (its cache key: pipelines.code_version)
TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")  # local: the package's own files
SECTIONS = ("Outcome", "Evaluation", "Per-class metrics", "Baseline comparison", "Confusion matrix",
            "ROC and precision-recall", "Calibration", "Training curves", "Hyperparameters", "Dataset statistics",
            "Anomalies", "Pushed model")
# task: generative (components.evaluation.generative_evaluator)
GENERATIVE_SECTIONS = ("Outcome", "Evaluation", "Samples", "Class coverage", "Latent space", "Training curves",
                       "Hyperparameters", "Dataset statistics", "Anomalies", "Pushed model")
# task: regression
REGRESSION_SECTIONS = ("Outcome", "Evaluation", "Predicted and actual", "Training curves", "Hyperparameters",
                       "Dataset statistics", "Anomalies", "Pushed model")
HISTOGRAM_FEATURES = 12  # features drawn train vs eval (the table lists them all)


@lru_cache(maxsize=None)
def environment(*folders: str) -> jinja2.Environment:
    """Templates from ``folders`` (the UI's), then the report's own. Every value is escaped;
    text from data goes through ``visible`` too (no hidden or direction-changing characters)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([*folders, TEMPLATES]), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["visible"] = lambda value: visible(str(value))
    env.filters["num"] = lambda value, digits=4: "-" if value is None else f"{value:.{digits}f}"
    env.filters["anchor"] = lambda name: name.lower().replace(" ", "-")
    return env


def _png(figure) -> str:
    """A matplotlib figure as a data: URI (closed afterwards)."""
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"


def _figure(width: float = 5.0, height: float = 3.6, columns: int = 1, rows: int = 1, grid: bool = False):
    """A figure and its axes: one Axes for 1 x 1 unless ``grid``, else a 2-D array of them;
    drawn off-screen."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(rows, columns, figsize=(width, height), squeeze=columns == 1 and rows == 1 and not grid)


def baseline_chart(report: dict):
    overall = [c for c in report["evaluation"]["checks"] if c["slice"] == "overall" and c["value"] is not None]
    if not overall or all(c["baseline"] is None for c in overall):
        return None
    fig, ax = _figure(5, 3)
    names = [c["metric"] for c in overall]
    positions = range(len(names))
    ax.bar([p - 0.2 for p in positions], [c["baseline"] or 0 for c in overall], 0.4, label="last blessed model")
    ax.bar([p + 0.2 for p in positions], [c["value"] for c in overall], 0.4, label="this model")
    ax.set_xticks(list(positions), names)
    ax.set_ylim(min(0.5, *(c["value"] for c in overall)) - 0.05, 1.0)
    ax.legend(loc="lower right")
    return _png(fig)


def confusion_chart(report: dict):
    matrix = report["plots"].get("confusion_matrix")
    if not matrix:
        return None
    classes = report["classes"]
    fig, ax = _figure(1.2 + 0.45 * len(classes), 1.0 + 0.45 * len(classes))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if value > peak / 2 else "black")
    return _png(fig)


def roc_auc(report: dict):
    """The overall AUC TFMA computed, if the spec asks for it; else the area under TFMA's ROC points."""
    for c in report["evaluation"]["checks"]:
        if c["metric"] == "auc" and c["slice"] == "overall" and c["value"] is not None:
            return c["value"]
    roc = report["plots"].get("roc")
    if not roc:
        return None
    points = sorted([(0.0, 0.0), *map(tuple, roc), (1.0, 1.0)])
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:]))


def curves_chart(report: dict):
    roc, pr = report["plots"].get("roc"), report["plots"].get("precision_recall")
    if not roc or not pr:
        return None
    point = report["plots"].get("operating_point") or {}
    fig, [[left, right]] = _figure(9, 3.6, columns=2)
    left.plot([p[0] for p in roc], [p[1] for p in roc], label=f"AUC {roc_auc(report):.4f}")
    left.plot([0, 1], [0, 1], linestyle=":", color="grey")
    if point.get("false_positive_rate") is not None:
        left.plot([point["false_positive_rate"]], [point["true_positive_rate"]], "o", color="#d93025",
                  label=f"threshold {point['threshold']:.2f}")
    left.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    left.legend(loc="lower right")
    right.plot([p[0] for p in pr], [p[1] for p in pr])
    if point:
        right.plot([point["recall"]], [point["precision"]], "o", color="#d93025")
    right.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
    return _png(fig)


def calibration_chart(report: dict):
    buckets = report["plots"].get("calibration")
    if not buckets:
        return None
    fig, ax = _figure(4.5, 3.6)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    ax.plot([b["predicted"] for b in buckets], [b["actual"] for b in buckets], marker="o", label="this model")
    ax.set(xlabel=f"mean predicted probability of {report['classes'][1]}",
           ylabel=f"share of {report['classes'][1]}", xlim=(0, 1), ylim=(0, 1.02), title="calibration")
    ax.legend(loc="upper left")
    return _png(fig)


def regression_chart(report: dict):
    points = report["plots"].get("regression")
    if not points or not points["actual"]:
        return None
    actual, predicted = points["actual"], points["predicted"]
    residuals = [p - a for a, p in zip(actual, predicted)]
    fig, [[left, right]] = _figure(9, 3.6, columns=2)
    left.scatter(actual, predicted, s=6, alpha=0.5)
    low, high = min(actual + predicted), max(actual + predicted)
    left.plot([low, high], [low, high], linestyle=":", color="grey")
    left.set(xlabel="actual", ylabel="predicted", title=f"predicted vs actual ({len(actual)} eval examples)")
    right.hist(residuals, bins=30)
    right.set(xlabel="predicted - actual", ylabel="examples", title="residuals")
    return _png(fig)


def training_chart(report: dict):
    training = report["training"]
    if not training:
        return None
    history = training["history"]
    names = [k for k in history if not k.startswith("val_")]
    fig, [axes] = _figure(4.5 * len(names), 3.2, columns=len(names), grid=True)
    for ax, name in zip(axes, names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:  # after every epoch, or those a validation_freq chose
            validated = training.get("validation_epochs") or epochs
            ax.plot(validated, history[f"val_{name}"], marker="o", label="validation")
        ax.set(title=name, xlabel="epoch")
        ax.legend()
    return _png(fig)


def histograms_chart(report: dict):
    """Each feature's distribution in the train and eval splits (TFDV's histograms), as shares."""
    splits = report["statistics"]
    if len(splits) < 1:
        return None
    first = next(iter(splits.values()))
    names = [f["name"] for f in first["features"] if f.get("histogram")][:HISTOGRAM_FEATURES]
    if not names:
        return None
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    fig, axes = _figure(3.2 * columns, 2.4 * rows, columns=columns, rows=rows, grid=True)
    for index, ax in enumerate(axes.flat):
        if index >= len(names):
            ax.axis("off")
            continue
        name = names[index]
        for split, stats in splits.items():
            histogram = next((f["histogram"] for f in stats["features"] if f["name"] == name), None)
            if not histogram:
                continue
            if histogram["kind"] == "numeric":
                total = sum(b[2] for b in histogram["buckets"]) or 1
                ax.stairs([b[2] / total for b in histogram["buckets"]],
                          [histogram["buckets"][0][0]] + [b[1] for b in histogram["buckets"]], label=split)
            else:
                total = sum(v[1] for v in histogram["values"]) or 1
                ax.plot([visible(str(v[0]))[:12] for v in histogram["values"]],
                        [v[1] / total for v in histogram["values"]], marker="o", linestyle="", label=split)
                ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.set_title(visible(name)[:30], fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def coverage_chart(views: dict):
    classes, shares, base = views["class_names"], views["class_shares"], views["baseline_class_shares"]
    if not shares:
        return None
    fig, ax = _figure(1.5 + 0.55 * len(classes), 3.2)
    positions = range(len(classes))
    if base:
        ax.bar([p - 0.2 for p in positions], base, 0.4, label="last blessed model", color="#bbb")
    ax.bar([p + (0.2 if base else 0) for p in positions], shares, 0.4 if base else 0.8, label="this model")
    real = views["classifier"].get("held_out_class_shares")
    if real:
        ax.plot(list(positions), real, "k_", markersize=18, label="held-out images")
    ax.set_xticks(list(positions), classes, rotation=45, ha="right")
    ax.set(ylabel="share of samples")
    ax.legend()
    return _png(fig)


def latent_chart(report: dict, views: dict):
    latent = views.get("latent")
    if not latent:
        return None
    fig, ax = _figure(6, 5)
    points, labels = latent["points"], latent["labels"]
    scatter = ax.scatter([p[0] for p in points], [p[1] for p in points], c=labels, cmap="tab10" if labels else None,
                         s=4)
    if labels:  # the spec's label, whatever classifier measured the samples
        ax.legend(scatter.legend_elements()[0], report["classes"], fontsize=7, loc="best", markerscale=0.8)
    ax.set(title=f"held-out images' latent means ({latent['projection']})")
    return _png(fig)


def report_view(report: dict) -> dict:
    """What the templates show of a report: its facts, the table rows and the drawn plots."""
    generative = report["plots"].get("generative")
    regression = "regression" in report["plots"]
    classifier = not generative and not regression
    rows = check_rows(report)
    images = {
        "baseline": baseline_chart(report) if classifier else None,
        "confusion": confusion_chart(report) if classifier else None,
        "curves": curves_chart(report) if classifier else None,
        "calibration": calibration_chart(report) if classifier else None,
        "regression": regression_chart(report) if regression else None,
        "training": training_chart(report),
        "histograms": histograms_chart(report),
        "coverage": coverage_chart(generative) if generative else None,
        "latent": latent_chart(report, generative) if generative else None,
    }
    sections = GENERATIVE_SECTIONS if generative else REGRESSION_SECTIONS if regression else SECTIONS
    if report.get("tuning"):  # the search, after the hyperparameters it chose
        at = sections.index("Hyperparameters") + 1
        sections = (*sections[:at], "Tuning", *sections[at:])
    tuning_header, tuning_table = tuning_rows(report)
    return {
        "report": report, "generative": generative, "images": images, "sections": sections,
        "tuning_header": tuning_header, "tuning_rows": tuning_table,
        "check_header": CHECK_HEADER, "numeric": NUMERIC_COLUMNS,
        "check_rows": [{"cells": r, "css": "fail" if r[-1] == "FAIL" else "pass" if r[-1] == "pass" else "",
                        "note": c.get("note", "")} for r, c in zip(rows, report["evaluation"]["checks"])],
        "per_class_header": PER_CLASS_HEADER, "per_class_rows": per_class_rows(report),
        "auc": roc_auc(report) if classifier else None,
        "title": report.get("title") or f"{report['dataset']} - run {report['run']}",
    }


def render_html(report: dict) -> str:
    return environment().get_template("report.html").render(**report_view(report))
