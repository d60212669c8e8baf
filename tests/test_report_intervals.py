"""The report's 95% intervals, computed from TFMA's counts."""
import math

import pytest

from tfxp_reports.evaluation_summary import analytic_interval, hanley_mcneil_interval, wilson_interval


def test_wilson_interval_matches_the_published_formula():
    low, high = wilson_interval(0.5, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    low, high = wilson_interval(1.0, 76)  # all right: the interval still has width, and stays within [0, 1]
    assert high == pytest.approx(1.0) and 0.95 < low < 0.96


def test_hanley_mcneil_standard_error():
    low, high = hanley_mcneil_interval(0.8, 50, 50)
    q1, q2 = 0.8 / 1.2, 2 * 0.64 / 1.8
    se = math.sqrt((0.8 * 0.2 + 49 * (q1 - 0.64) + 49 * (q2 - 0.64)) / 2500)
    assert se == pytest.approx(0.0445, abs=1e-4) and high - low == pytest.approx(2 * 1.959964 * se)
    assert hanley_mcneil_interval(0.9, 0, 30) is None  # one class only: no AUC to bound


def test_which_metrics_get_an_interval():
    assert analytic_interval("accuracy", 0.9, 50, None) == wilson_interval(0.9, 50)
    assert analytic_interval("auc", 0.9, 50, 0.4) == hanley_mcneil_interval(0.9, 20, 30)
    assert analytic_interval("auc", 0.9, 50, None) is None
    assert analytic_interval("rmse", 3.0, 50, None) is None and analytic_interval("accuracy", None, 50, None) is None
