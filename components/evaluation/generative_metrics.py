"""The numbers a generative model is judged by, in plain NumPy/SciPy (testable without TFX).

- Fréchet distance between two sets of feature vectors (real held-out images and generated
  samples, both through the same classifier's feature layer), each set taken as a Gaussian:
  ``|mu1 - mu2|^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2))``; 0 for identical sets, lower is better.
- Class coverage: the share of samples the classifier assigns to each class; a collapsed
  generator shows as classes near 0%. ``min_class_share`` is the smallest share.
- The checks against the spec's bounds and the last blessed model (lower- or higher-is-better
  per metric), with the reasons a blessing carries.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np

from tfxp_reports.evaluation_summary import verdict_line


def gaussian_frechet(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2)."""
    from scipy import linalg
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    root, _ = linalg.sqrtm(cov1 @ cov2, disp=False)
    if not np.isfinite(root).all():  # a near-singular product: nudge both off singularity
        eps = 1e-6 * np.eye(len(cov1))
        root = linalg.sqrtm((cov1 + eps) @ (cov2 + eps))
    trace = float(np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(np.real(root)))
    return max(0.0, mean_term + trace)


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """Between two [n, d] sets of feature vectors (n > 1 each)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1] or min(len(real), len(fake)) < 2:
        raise ValueError(f"need two [n >= 2, d] feature sets with the same d, got {real.shape} and {fake.shape}")
    return gaussian_frechet(real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))


def class_shares(class_ids: Sequence[int], num_classes: int) -> np.ndarray:
    """The share of ``class_ids`` in each class 0 .. num_classes - 1 (sums to 1)."""
    counts = np.bincount(np.asarray(class_ids, np.int64), minlength=num_classes)[:num_classes]
    return counts / max(1, counts.sum())


@dataclass
class Check:
    metric: str
    value: Optional[float]
    lower_is_better: bool
    bound: Optional[float] = None  # upper bound if lower is better, else lower bound
    baseline: Optional[float] = None  # the last blessed model, measured in the same run
    change_bound: Optional[float] = None  # the worst value the change threshold allows
    passed: bool = True
    failure: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def check(metric: str, value: Optional[float], lower_is_better: bool, bound: Optional[float],
          baseline: Optional[float], tolerance: float) -> Check:
    """The bound, and no worse than ``baseline`` by more than ``tolerance`` (a share of it)."""
    c = Check(metric, value, lower_is_better, bound, baseline)
    if value is None or not np.isfinite(value):
        c.passed, c.failure = False, f"{metric} could not be computed"
        return c
    failures = []
    if bound is not None and (value > bound if lower_is_better else value < bound):
        failures.append(f"{metric} = {value:.4f}, {'above' if lower_is_better else 'below'} the bound {bound:.4f}")
    if baseline is not None and np.isfinite(baseline):
        c.change_bound = baseline + abs(baseline) * tolerance * (1 if lower_is_better else -1)
        if value > c.change_bound if lower_is_better else value < c.change_bound:
            failures.append(f"{metric} = {value:.4f}, worse than the last blessed model's {baseline:.4f} "
                            f"(allowed {'<=' if lower_is_better else '>='} {c.change_bound:.4f})")
    c.passed, c.failure = not failures, "; ".join(failures)
    return c


def verdict(checks: Sequence[Check], has_baseline: bool) -> str:
    """'BLESSED: ...' or 'NOT BLESSED: ...', one line, as the classifier's."""
    passes = [f"{c.metric} {c.value:.4f} {'<=' if c.lower_is_better else '>='} {c.bound:.4f}"
              + (f", last blessed model {c.baseline:.4f}" if c.baseline is not None else "") for c in checks]
    return verdict_line(all(c.passed for c in checks), [c.failure for c in checks if not c.passed], passes,
                        has_baseline)
