"""A run's report as one static HTML file: inline styles, plots as embedded PNGs, no
scripts, nothing fetched from the network, so it opens anywhere, offline."""
from __future__ import annotations

import base64
import html
import io
from typing import Optional

from tfxp_reports.run_report import CHECK_HEADER, check_rows, visible

SECTIONS = ("Outcome", "Evaluation", "Baseline comparison", "Confusion matrix", "ROC and precision-recall",
            "Training curves", "Dataset statistics", "Anomalies", "Pushed model")
# task: generative (components.evaluation.generative_evaluator)
GENERATIVE_SECTIONS = ("Outcome", "Evaluation", "Samples", "Class coverage", "Latent space", "Training curves",
                       "Dataset statistics", "Anomalies", "Pushed model")
# task: regression
REGRESSION_SECTIONS = ("Outcome", "Evaluation", "Predicted and actual", "Training curves", "Dataset statistics",
                       "Anomalies", "Pushed model")

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { font-size: 1.1em; padding: .6em .9em; border-radius: 4px; }
.blessed { background: #e6f4ea; border: 1px solid #34a853; } .not-blessed { background: #fce8e6; border: 1px solid #d93025; }
.pass { color: #188038; } .fail { color: #d93025; font-weight: bold; } .muted { color: #777; }
img { max-width: 100%; }
"""


def _png(figure) -> str:
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _figure(width: float = 5.0, height: float = 3.6, columns: int = 1):
    """A figure and its axes (one, or a row of ``columns``), drawn off-screen."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(1, columns, figsize=(width, height), squeeze=columns == 1)


def _escape(value) -> str:
    return html.escape(visible(str(value)))


def _table(header: list[str], rows: list[list[str]], classes: Optional[list[str]] = None) -> str:
    head = "".join(f"<th>{_escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(f"<td>{_escape(str(c))}</td>" for c in row)
        css = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _baseline_chart(report: dict) -> str:
    overall = [c for c in report["evaluation"]["checks"] if c["slice"] == "overall" and c["value"] is not None]
    if not overall or all(c["baseline"] is None for c in overall):
        return '<p class="muted">No baseline: this is the first model evaluated (nothing blessed before it).</p>'
    fig, ax = _figure(5, 3)
    names = [c["metric"] for c in overall]
    positions = range(len(names))
    ax.bar([p - 0.2 for p in positions], [c["baseline"] or 0 for c in overall], 0.4, label="last blessed model")
    ax.bar([p + 0.2 for p in positions], [c["value"] for c in overall], 0.4, label="this model")
    ax.set_xticks(list(positions), names)
    ax.set_ylim(min(0.5, *(c["value"] for c in overall)) - 0.05, 1.0)
    ax.legend(loc="lower right")
    return _png(fig)


def _confusion(report: dict) -> str:
    matrix = report["plots"].get("confusion_matrix")
    if not matrix:
        return '<p class="muted">No confusion matrix was computed.</p>'
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
    table = _table(["true \\ predicted"] + classes, [[classes[i]] + [f"{v:.0f}" for v in row]
                                                     for i, row in enumerate(matrix)])
    return _png(fig) + table


def _regression(report: dict) -> str:
    points = report["plots"].get("regression")
    if not points or not points["actual"]:
        return '<p class="muted">No eval examples were scored for the plots.</p>'
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


def _curves(report: dict) -> str:
    roc, pr = report["plots"].get("roc"), report["plots"].get("precision_recall")
    if not roc or not pr:
        return '<p class="muted">ROC and precision-recall curves are drawn for binary labels only.</p>'
    fig, [[left, right]] = _figure(9, 3.6, columns=2)
    left.plot([p[0] for p in roc], [p[1] for p in roc])
    left.plot([0, 1], [0, 1], linestyle=":", color="grey")
    left.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    right.plot([p[0] for p in pr], [p[1] for p in pr])
    right.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
    return _png(fig)


def _training(report: dict) -> str:
    training = report["training"]
    if not training:
        return '<p class="muted">No training summary was recorded for this model.</p>'
    history = training["history"]
    names = [k for k in history if not k.startswith("val_")]
    fig, [axes] = _figure(4.5 * len(names), 3.2, columns=len(names))
    for ax, name in zip(axes, names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set(title=name, xlabel="epoch")
        ax.legend()
    facts = (f"strategy {training['strategy']}, {training['replicas']} replica(s) on {training['workers']} worker(s), "
             f"global batch {training['global_batch_size']}, {training['epochs']} epochs of "
             f"{training['steps_per_epoch']} steps, {training['examples_per_second']} examples/s")
    return _png(fig) + f"<p>{_escape(facts)}</p>"


def _statistics(report: dict) -> str:
    parts = []
    for split, stats in report["statistics"].items():
        rows = [[f["name"], f["type"], f"{100 * f['missing']:.1f}% ({f.get('missing_count', '-')})", f["profile"]]
                for f in stats["features"]]
        parts.append(f"<h3>{_escape(split)}: {stats['examples']} examples</h3>"
                     + _table(["feature", "type", "missing", "profile"], rows))
    return "".join(parts) or '<p class="muted">No statistics found.</p>'


def _embedded(png_base64: str, alt: str) -> str:
    return f'<img alt="{_escape(alt)}" style="image-rendering: pixelated; width: 32em" ' \
           f'src="data:image/png;base64,{png_base64}">'


def _samples(views: dict) -> str:
    parts = [f"<p>{views['samples']} samples were generated; the first 64:</p>",
             _embedded(views["images"]["samples"], "generated samples")]
    if "reconstructions" in views["images"]:
        parts += ["<h3>Reconstructions</h3><p>Top: held-out images, one per class; bottom: the decoder's image "
                  "of each one's latent mean.</p>", _embedded(views["images"]["reconstructions"], "reconstructions")]
    return "".join(parts)


def _coverage(views: dict) -> str:
    classes, shares, base = views["class_names"], views["class_shares"], views["baseline_class_shares"]
    if not shares:
        return f'<p class="muted">Not measured: {_escape(views["unmeasured"])}.</p>'
    fig, ax = _figure(1.5 + 0.55 * len(classes), 3.2)
    positions = range(len(classes))
    if base:
        ax.bar([p - 0.2 for p in positions], base, 0.4, label="last blessed model", color="#bbb")
    ax.bar([p + (0.2 if base else 0) for p in positions], shares, 0.4 if base else 0.8, label="this model")
    c = views["classifier"]
    real = c.get("held_out_class_shares")
    if real:
        ax.plot(list(positions), real, "k_", markersize=18, label="held-out images")
    ax.set_xticks(list(positions), classes, rotation=45, ha="right")
    ax.set(ylabel="share of samples")
    ax.legend()
    about = [f"Classifier: {_escape(c['source'])}"]
    width = f" ({c['feature_width']} features)" if c.get("feature_width") else ""
    if c.get("instead_of_pushed"):
        about.append(f"(used because {_escape(c['instead_of_pushed'])})")
    if c.get("training_images"):
        about.append(f"{c['training_images']} training images, {c['epochs']} epochs")
    if c.get("held_out_accuracy") is not None:
        about.append(f"held-out accuracy {c['held_out_accuracy']:.4f}")
    return (f"<p>Each sample's class, as a classifier sees it; a class near 0% is a mode the generator lost "
            f"(the black marks: the classifier's shares of the real held-out images). {', '.join(about)}; "
            f"the Fréchet distance uses the layer its class probabilities are read from{width}.</p>" + _png(fig))


def _latent(report: dict, views: dict) -> str:
    latent = views.get("latent")
    if not latent:
        return '<p class="muted">A latent space is drawn for a VAE (a GAN has no encoder).</p>'
    fig, ax = _figure(6, 5)
    points, labels = latent["points"], latent["labels"]
    scatter = ax.scatter([p[0] for p in points], [p[1] for p in points], c=labels, cmap="tab10" if labels else None,
                         s=4)
    if labels:  # the spec's label, whatever classifier measured the samples
        ax.legend(scatter.legend_elements()[0], report["classes"], fontsize=7, loc="best", markerscale=0.8)
    ax.set(title=f"held-out images' latent means ({latent['projection']})")
    return _png(fig)


def render_html(report: dict) -> str:
    blessed = report["blessed"]
    pushed = report["pushed"]
    rows = check_rows(report)
    css = ["fail" if r[-1] == "FAIL" else "pass" if r[-1] == "pass" else "" for r in rows]
    counts = report["evaluation"]["example_counts"]
    generative = report["plots"].get("generative")
    regression = "regression" in report["plots"]
    sections = {
        "Outcome": f'<p class="verdict {"blessed" if blessed else "not-blessed"}">{_escape(report["verdict"])}</p>',
        "Evaluation": ("<p>Thresholds gate the overall eval split; slices are reported. The change is this "
                       "model's value minus the last blessed model's, on the same examples"
                       + (", both measured in this run" if generative else "") + ".</p>"
                       + _table(CHECK_HEADER, rows, css)
                       + _table(["slice", "examples"], [[k, f"{v:.0f}"] for k, v in counts.items()])),
        "Baseline comparison": "" if generative or regression else _baseline_chart(report),
        "Confusion matrix": "" if generative or regression else _confusion(report),
        "ROC and precision-recall": "" if generative or regression else _curves(report),
        "Predicted and actual": _regression(report) if regression else "",
        "Samples": _samples(generative) if generative else "",
        "Class coverage": _coverage(generative) if generative else "",
        "Latent space": _latent(report, generative) if generative else "",
        "Training curves": _training(report),
        "Dataset statistics": _statistics(report),
        "Anomalies": ("<ul>" + "".join(f"<li>{_escape(a)}</li>" for a in report["anomalies"]) + "</ul>")
        if report["anomalies"] else "<p>None: the data matched the schema.</p>",
        "Pushed model": ((f"<p>Version <b>{_escape(str(pushed['version']))}</b> at "
                          f"<code>{_escape(pushed['destination'])}</code></p>") if pushed.get("pushed")
                         else "<p>Nothing was pushed by this run.</p>") + (
            f"<p>Serving check: {_escape(pushed['serving_check'])}</p>" if pushed.get("serving_check") else ""),
    }
    body = "".join(f'<section id="{name.lower().replace(" ", "-")}"><h2>{_escape(name)}</h2>{sections[name]}'
                   f"</section>" for name in (GENERATIVE_SECTIONS if generative else REGRESSION_SECTIONS if regression
                                              else SECTIONS))
    title = f"{report['dataset']} - run {report['run']}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{_escape(title)}</h1>"
            f"<p class=\"muted\">{_escape(report['description'])}</p>{body}"
            f"<p class=\"muted\">Evaluator output: <code>{_escape(report['evaluation_uri'])}</code></p>"
            "</body></html>")
