"""The Fréchet distance on known Gaussians, class coverage, and the checks a generative
model's blessing is made of."""
import numpy as np
import pytest

from components.evaluation.generative_metrics import check, class_shares, frechet_distance, gaussian_frechet, verdict


def test_frechet_of_known_gaussians():
    d = 4
    assert gaussian_frechet(np.zeros(d), np.eye(d), np.zeros(d), np.eye(d)) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([1.0, 2.0, 0.0, -2.0])
    assert gaussian_frechet(np.zeros(d), np.eye(d), shift, np.eye(d)) == pytest.approx(9.0)  # |m|^2
    # N(0, a^2 I) vs N(0, b^2 I): d (a - b)^2
    assert gaussian_frechet(np.zeros(d), 4 * np.eye(d), np.zeros(d), 9 * np.eye(d)) == pytest.approx(d * 1.0)
    # diagonal covariances: sum of (sqrt(s1) - sqrt(s2))^2
    s1, s2 = np.array([1.0, 4.0, 9.0, 16.0]), np.array([4.0, 4.0, 1.0, 0.25])
    expected = float(np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2))
    assert gaussian_frechet(np.zeros(d), np.diag(s1), np.zeros(d), np.diag(s2)) == pytest.approx(expected)


def test_frechet_of_samples_approaches_the_gaussian_value():
    rng = np.random.default_rng(0)
    real = rng.normal(0.0, 1.0, (20_000, 3))
    fake = rng.normal(0.5, 2.0, (20_000, 3))
    # mean term 3 * 0.25, covariance term 3 * (1 - 2)^2
    assert frechet_distance(real, fake) == pytest.approx(3 * 0.25 + 3 * 1.0, rel=0.05)
    assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(real, fake[:, :2])


def test_class_shares_show_a_collapsed_generator():
    assert class_shares([0, 1, 1, 3], 4).tolist() == [0.25, 0.5, 0.0, 0.25]
    collapsed = class_shares(np.full(1000, 7), 10)
    assert collapsed[7] == 1.0 and collapsed.min() == 0.0


def test_checks_use_the_bound_and_the_last_blessed_model_in_each_direction():
    ok = check("negative_elbo", 250.0, True, 266.0, None, 0.05)
    assert ok.passed and ok.change_bound is None
    high = check("negative_elbo", 270.0, True, 266.0, None, 0.05)
    assert not high.passed and high.failure == "negative_elbo = 270.0000, above the bound 266.0000"
    worse = check("frechet_distance", 60.0, True, 100.0, 50.0, 0.1)  # allowed up to 55
    assert not worse.passed and worse.change_bound == pytest.approx(55.0) and "last blessed model's 50.0000" in worse.failure
    assert check("frechet_distance", 54.0, True, 100.0, 50.0, 0.1).passed
    share = check("min_class_share", 0.01, False, 0.05, 0.08, 0.0)
    assert not share.passed and "below the bound 0.0500" in share.failure and "allowed >= 0.0800" in share.failure
    assert not check("frechet_distance", float("nan"), True, 100.0, None, 0.0).passed
    assert verdict([ok], has_baseline=False) == \
        "BLESSED: negative_elbo 250.0000 <= 266.0000 (first model: no baseline to compare with)"
    assert verdict([ok, share], has_baseline=True).startswith("NOT BLESSED: min_class_share = 0.0100, below")
