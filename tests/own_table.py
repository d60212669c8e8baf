"""A user's own table, made in the test from a fixed seed: a headered CSV (UTF-8 byte-order
mark, CRLF line ends) of numeric and categorical columns with `?` in scattered cells, some
columns missing only in rows that the pipeline's hash split sends to eval."""
from __future__ import annotations

import hashlib
import random
from pathlib import Path

import yaml

from components.ingest.csv_example_gen import to_example
from components.ingest.workers.delimited_rows import parse_fields
from tfxp_contract.dataset_spec import spec_from_dict

HEADER = ["customer_id", "age", "income", "tenure_months", "plan", "region", "churn"]
SCATTERED = ["age", "income", "plan"]  # `?` anywhere, about one row in twenty
EVAL_ONLY = ["tenure_months", "region"]  # `?` only in rows of the eval split


def spec_dict(data_path: str, name: str = "my_churn") -> dict:
    """The spec a user writes by hand from the README: own file, no sha256, header order."""
    return {
        "name": name,
        "format": "csv",
        "files": [{"path": data_path}],
        "header": True,
        "missing_token": "?",
        # Listed in another order than the header, and customer_id not at all: the header decides.
        "columns": [
            {"name": "churn", "type": "categorical"},
            {"name": "age", "type": "numeric", "range": [18, 99]},
            {"name": "income", "type": "numeric"},
            {"name": "tenure_months", "type": "numeric"},
            {"name": "plan", "type": "categorical", "values": ["basic", "plus", "pro"]},
            {"name": "region", "type": "categorical", "values": ["north", "south", "east", "west"]},
        ],
        "label": {"column": "churn", "values": ["no", "yes"]},
        "model": {"family": "dense", "hyperparameters": {"epochs": 20, "learning_rate": 0.01}},
        "metrics": [{"name": "accuracy", "lower_bound": 0.85}, {"name": "auc", "lower_bound": 0.85}],
        # A re-run on one changed byte may score a little lower on the same eval rows.
        "change_tolerance": 0.05,
    }


def _in_eval(spec, row: dict) -> bool:
    """Where the pipeline's 4:1 hash split sends this row (TFX's _PartitionFn: sha256 of the
    serialized tf.Example, modulo the bucket count)."""
    fields = [row[c.name] for c in spec.columns]
    record = to_example(parse_fields(spec, fields, "generated")).SerializeToString(deterministic=True)
    train, evaluation = spec.train_eval_buckets
    return int(hashlib.sha256(record).hexdigest(), 16) % (train + evaluation) >= train


def write_table(path: Path, rows: int = 700, seed: int = 0) -> dict[str, dict[str, int]]:
    """Writes the CSV; returns {split: {column: missing cells}} as the pipeline will split it."""
    spec = spec_from_dict(spec_dict(str(path)))
    rng = random.Random(seed)
    missing = {"train": dict.fromkeys(HEADER, 0), "eval": dict.fromkeys(HEADER, 0)}
    lines = [",".join(HEADER)]
    for i in range(rows):
        tenure = rng.randint(0, 72)
        plan = rng.choice(["basic", "plus", "pro"])
        income = round(rng.uniform(15_000, 120_000), 2)
        score = 1.6 * (plan == "basic") - 0.05 * tenure + 1.2 * (income < 35_000) + rng.gauss(0, 0.5)
        row = {"customer_id": f"c{i:05d}", "age": str(rng.randint(18, 90)), "income": str(income),
               "tenure_months": str(tenure), "plan": plan, "region": rng.choice(["north", "south", "east", "west"]),
               "churn": "yes" if score > 0.2 else "no"}
        if rng.random() < 0.05:
            row[rng.choice(SCATTERED)] = "?"
        if rng.random() < 0.15:  # tried in every row; kept only where the row lands in eval
            candidate = {**row, rng.choice(EVAL_ONLY): "?"}
            if _in_eval(spec, candidate):
                row = candidate
        split = "eval" if _in_eval(spec, row) else "train"
        for column in HEADER:
            missing[split][column] += row[column] == "?"
        lines.append(",".join(row[c] for c in HEADER))
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    return missing


def write_spec(path: Path, data_path: str, **changes) -> Path:
    path.write_text(yaml.safe_dump({**spec_dict(data_path), **changes}, sort_keys=False))
    return path
