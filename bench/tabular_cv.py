"""10-fold cross-validation of the tabular datasets' models, beside three scikit-learn baselines.

Runs the pipeline's own transform, model builder and fit loop (trainers.standalone) on each
fold, and on the same folds logistic regression, gradient boosting and an RBF SVM over
one-hot categoricals and mean-imputed, standardised numerics. The goal for each dataset is to
match or beat the best baseline (per metric): the verdict line compares the pipeline model with
it fold by fold (paired differences; "matches" = the mean difference is within two standard
errors of zero, "beats" / "is below" = beyond them).
Prints a Markdown table and writes it (and the per-fold numbers as JSON) to bench/results/.

  python -m bench.tabular_cv --data-dir ../shared/datasets [--datasets house_votes mammographic]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from tfxp_contract.dataset_spec import DatasetSpec, load_spec
from tfxp_contract.fetch import fetch_dataset

RESULTS = Path(__file__).parent / "results"
BASELINES = {
    "logistic regression": lambda seed: LogisticRegression(max_iter=2000),
    "gradient boosting": lambda seed: GradientBoostingClassifier(random_state=seed),
    "RBF SVM": lambda seed: SVC(kernel="rbf", probability=True, random_state=seed),
}


def sklearn_baseline(spec: DatasetSpec, classifier, train_rows, test_rows) -> dict:
    import pandas as pd

    numeric = [c.name for c in spec.feature_columns if c.type == "numeric"]
    categorical = [c.name for c in spec.feature_columns if c.type == "categorical"]
    parts = []
    if numeric:
        parts.append((make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric))
    if categorical:
        parts.append((OneHotEncoder(handle_unknown="ignore"), categorical))
    model = make_pipeline(make_column_transformer(*parts), classifier)

    def table(rows):
        return ({n: [np.nan if r[n] is None else r[n] for r in rows] for n in numeric}
                | {n: [r[n] or "" for r in rows] for n in categorical})

    y_train = [spec.label.values.index(r[spec.label.column]) for r in train_rows]
    y_test = np.array([spec.label.values.index(r[spec.label.column]) for r in test_rows])
    model.fit(pd.DataFrame(table(train_rows)), y_train)
    probabilities = model.predict_proba(pd.DataFrame(table(test_rows)))
    result = {"accuracy": float(np.mean(probabilities.argmax(axis=1) == y_test))}
    if spec.num_classes == 2:
        result["auc"] = float(roc_auc_score(y_test, probabilities[:, 1]))
    return result


def cross_validate(spec: DatasetSpec, rows: list, folds: int, seed: int) -> dict[str, list[dict]]:
    from trainers.standalone import train_and_evaluate

    labels = [r[spec.label.column] for r in rows]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    methods = {"model": lambda train, test, fold: train_and_evaluate(spec, train, test, seed=fold)}
    for name, make in BASELINES.items():
        methods[name] = lambda train, test, fold, make=make: sklearn_baseline(spec, make(fold), train, test)
    runs: dict[str, list[dict]] = {name: [] for name in methods}
    for fold, (train_idx, test_idx) in enumerate(splitter.split(np.zeros(len(rows)), labels)):
        train_rows, test_rows = [rows[i] for i in train_idx], [rows[i] for i in test_idx]
        for name, evaluate in methods.items():
            start = time.perf_counter()
            result = evaluate(train_rows, test_rows, fold)
            result.pop("model", None)
            result["seconds"] = time.perf_counter() - start
            runs[name].append(result)
        scores = ", ".join(f"{name} {runs[name][-1]['accuracy']:.3f}" for name in methods)
        print(f"  {spec.name} fold {fold + 1}/{folds}: accuracy {scores}", flush=True)
    return runs


def summarize(name: str, method: str, runs: list[dict]) -> str:
    def stat(key):
        values = [r[key] for r in runs if key in r]
        return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if values else "n/a"
    total = sum(r["seconds"] for r in runs)
    return f"| {name} | {method} | {len(runs)} | {stat('accuracy')} | {stat('auc')} | {total:.1f} |"


def against_best_baseline(name: str, runs: dict[str, list[dict]]) -> str:
    """The pipeline model beside the best baseline for each metric (by its mean), paired by fold."""
    parts = []
    for metric in ("accuracy", "auc"):
        if metric not in runs["model"][0]:
            continue
        best = max(BASELINES, key=lambda b: np.mean([r[metric] for r in runs[b]]))
        difference = np.array([m[metric] - b[metric] for m, b in zip(runs["model"], runs[best])])
        error = difference.std(ddof=1) / np.sqrt(len(difference))
        # Two standard errors: a difference smaller than that is not told apart from fold-to-fold noise.
        verdict = ("beats" if difference.mean() > 2 * error else "matches" if difference.mean() >= -2 * error
                   else "is below")
        parts.append(f"{metric}: {difference.mean():+.4f} ± {error:.4f} against {best}, the best baseline "
                     f"(model {verdict} it)")
    return f"- {name}, pipeline model minus the best baseline, paired by fold (± one standard error): " + \
        "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"))
    parser.add_argument("--datasets", nargs="+", default=["house_votes", "mammographic"])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is first imported
    warnings.filterwarnings("ignore")
    logging.getLogger().setLevel(logging.ERROR)  # Beam and TFT warn on every fold
    from components.ingest.workers.delimited_rows import read_rows

    load_before = os.getloadavg()[0]
    lines = ["| dataset | method | folds | accuracy (mean ± std) | AUC (mean ± std) | total seconds |",
             "|---|---|---|---|---|---|"]
    verdicts = []
    report = {}
    for name in args.datasets:
        spec = load_spec(name)
        folder = fetch_dataset(spec, args.data_dir)
        rows = [row for source in spec.files for row in read_rows(spec, str(folder / source.name))]
        print(f"{name}: {len(rows)} rows, {args.folds}-fold CV", flush=True)
        runs = cross_validate(spec, rows, args.folds, args.seed)
        report[name] = runs
        lines.append(summarize(name, f"pipeline model ({spec.model.family})", runs["model"]))
        lines.extend(summarize(name, f"{baseline} (baseline)", runs[baseline]) for baseline in BASELINES)
        verdicts.append(against_best_baseline(name, runs))
    table = "\n".join(lines + [""] + verdicts)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (RESULTS / "tabular_cv.md").write_text(
        f"Measured {stamp} on {os.cpu_count()} cores by `python -m bench.tabular_cv` "
        f"({args.folds}-fold stratified CV, seed {args.seed}, all rows; the same folds for every method; "
        f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end).\n\n{table}\n")
    (RESULTS / "tabular_cv.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
