"""10-fold cross-validation of the tabular datasets' models, beside a logistic-regression baseline.

Runs the pipeline's own transform, model builder and fit loop (trainers.standalone) on
each fold, and on the same folds a scikit-learn logistic regression over one-hot
categoricals and mean-imputed, standardised numerics. Prints a Markdown table and writes
it (and the per-fold numbers as JSON) to bench/results/.

  python -m bench.tabular_cv --data-dir ../shared/datasets [--datasets house_votes mammographic]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import logging  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
logging.getLogger().setLevel(logging.ERROR)  # Beam and TFT warn on every fold

import numpy as np  # noqa: E402
from sklearn.compose import make_column_transformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from components.delimited_rows import read_rows  # noqa: E402
from tfxp_contract.dataset_spec import DatasetSpec, load_spec  # noqa: E402
from tfxp_contract.fetch import fetch_dataset  # noqa: E402
from trainers.standalone import train_and_evaluate  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def logistic_baseline(spec: DatasetSpec, train_rows, test_rows) -> dict:
    numeric = [c.name for c in spec.feature_columns if c.type == "numeric"]
    categorical = [c.name for c in spec.feature_columns if c.type == "categorical"]
    parts = []
    if numeric:
        parts.append((make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric))
    if categorical:
        parts.append((OneHotEncoder(handle_unknown="ignore"), categorical))
    model = make_pipeline(make_column_transformer(*parts), LogisticRegression(max_iter=2000))

    def table(rows):
        return ({n: [np.nan if r[n] is None else r[n] for r in rows] for n in numeric}
                | {n: [r[n] or "" for r in rows] for n in categorical})

    import pandas as pd
    y_train = [spec.label.values.index(r[spec.label.column]) for r in train_rows]
    y_test = np.array([spec.label.values.index(r[spec.label.column]) for r in test_rows])
    model.fit(pd.DataFrame(table(train_rows)), y_train)
    probabilities = model.predict_proba(pd.DataFrame(table(test_rows)))
    result = {"accuracy": float(np.mean(probabilities.argmax(axis=1) == y_test))}
    if spec.num_classes == 2:
        result["auc"] = float(roc_auc_score(y_test, probabilities[:, 1]))
    return result


def cross_validate(spec: DatasetSpec, rows: list, folds: int, seed: int) -> dict:
    labels = [r[spec.label.column] for r in rows]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    runs = {"model": [], "baseline": []}
    for fold, (train_idx, test_idx) in enumerate(splitter.split(np.zeros(len(rows)), labels)):
        train_rows, test_rows = [rows[i] for i in train_idx], [rows[i] for i in test_idx]
        methods = {"model": lambda train, test, seed: train_and_evaluate(spec, train, test, seed=seed),
                   "baseline": lambda train, test, seed: logistic_baseline(spec, train, test)}
        for name, evaluate in methods.items():
            start = time.perf_counter()
            result = evaluate(train_rows, test_rows, fold)
            result.pop("model", None)
            result["seconds"] = time.perf_counter() - start
            runs[name].append(result)
        print(f"  {spec.name} fold {fold + 1}/{folds}: model acc {runs['model'][-1]['accuracy']:.3f}, "
              f"baseline acc {runs['baseline'][-1]['accuracy']:.3f}", flush=True)
    return runs


def summarize(name: str, method: str, runs: list[dict]) -> str:
    def stat(key):
        values = [r[key] for r in runs if key in r]
        return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if values else "n/a"
    total = sum(r["seconds"] for r in runs)
    return f"| {name} | {method} | {len(runs)} | {stat('accuracy')} | {stat('auc')} | {total:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"))
    parser.add_argument("--datasets", nargs="+", default=["house_votes", "mammographic"])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    lines = ["| dataset | method | folds | accuracy (mean ± std) | AUC (mean ± std) | total seconds |",
             "|---|---|---|---|---|---|"]
    report = {}
    for name in args.datasets:
        spec = load_spec(name)
        folder = fetch_dataset(spec, args.data_dir)
        rows = [row for source in spec.files for row in read_rows(spec, str(folder / source.name))]
        print(f"{name}: {len(rows)} rows, {args.folds}-fold CV", flush=True)
        runs = cross_validate(spec, rows, args.folds, args.seed)
        report[name] = runs
        lines.append(summarize(name, f"pipeline model ({spec.model.family})", runs["model"]))
        lines.append(summarize(name, "logistic regression baseline", runs["baseline"]))
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (RESULTS / "tabular_cv.md").write_text(
        f"Measured {stamp} on {os.cpu_count()} cores by `python -m bench.tabular_cv` "
        f"({args.folds}-fold stratified CV, seed {args.seed}, all rows).\n\n{table}\n")
    (RESULTS / "tabular_cv.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
