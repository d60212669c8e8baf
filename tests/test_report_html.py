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
