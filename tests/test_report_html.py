"""The report page from a report's facts alone: plots with a single panel render too."""
from tfxp_reports.report_html import histograms_chart, render_html, training_chart


def _report(**facts) -> dict:
    report = {"dataset": "d", "run": "1", "description": "", "classes": ["a", "b"], "verdict": "BLESSED: ok",
              "blessed": True, "task": "classification", "plots": {}, "statistics": {}, "anomalies": [],
              "training": None, "pushed": {"pushed": False}, "evaluation_uri": "/e",
              "evaluation": {"checks": [], "example_counts": {}, "blessed": True, "verdict": "", "has_baseline": False}}
    return {**report, **facts}


def test_one_feature_and_one_training_metric_draw_single_panels():
    """An image dataset has one feature with a histogram at most; a history may hold one metric."""
    one = {"name": "x", "type": "numeric", "missing": 0.0, "profile": "", "histogram":
           {"kind": "numeric", "buckets": [[0.0, 1.0, 3.0], [1.0, 2.0, 5.0]]}}
    report = _report(statistics={"train": {"examples": 8, "features": [one]}, "eval": {"examples": 8, "features": [one]}},
                     training={"history": {"loss": [1.0, 0.5]}})
    assert histograms_chart(report).startswith("data:image/png;base64,")
    assert training_chart(report).startswith("data:image/png;base64,")
    page = render_html(report)
    assert '<section id="dataset-statistics">' in page and page.count('src="data:image/png;base64,') == 2


def test_a_generative_report_renders_its_samples_coverage_and_latent_sections():
    import base64
    import io

    import numpy as np
    from PIL import Image
    png = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(png, format="PNG")
    views = {"images": {"samples": base64.b64encode(png.getvalue()).decode()}, "class_names": ["a", "b"],
             "class_shares": [0.4, 0.6], "baseline_class_shares": None, "latent": None, "unmeasured": "",
             "classifier": {"source": "the pushed classifier", "held_out_accuracy": 0.9}, "samples": 100}
    report = _report(plots={"generative": views}, task="generative", training={"history": {"loss": [2.0, 1.0]}},
                     hyperparameters={"latent_dim": 2})
    page = render_html(report)
    for section in ("samples", "class-coverage", "latent-space", "hyperparameters"):
        assert f'<section id="{section}">' in page, section
    assert "held-out accuracy 0.9000" in page and "A latent space is drawn for a VAE" in page
