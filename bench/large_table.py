"""A large table through the whole pipeline, beside a plain script doing the same work.

Writes the generated CSV of ``bench.spec_init`` (``--rows``, default 1,000,000; 21 columns: 14
numeric with scattered empty cells, 6 categorical, a yes/no label), drafts its spec with
`tfxp spec init` (as a user would), then, one after the other in one run, times and measures
the peak memory of:

(a) a plain script (``--plain``): ``pandas.read_csv``, a 4:1 split of the rows by content, z-scores
    of the numeric columns learned on the training rows (an empty cell: the mean, and a missing
    indicator), one-hot categoricals, the drafted model's layers (the dense family: hidden
    units, dropout, L2, Adam at the drafted rate and batch size) trained one epoch, accuracy on
    the held-out rows;
(b) ``tfxp run`` of the drafted spec with ``--set epochs=1``: ExampleGen to the push, with
    statistics, schema, validation, tf.Transform, TFMA and the serving check.

Goal: (b) in ≤ 2.0× (a)'s time with a peak of ≤ 2 GB (the process and its children).

  python -m bench.large_table [--rows 1000000] [--beam-workers N]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.datasets import component_list, component_seconds
from bench.overhead import RESULTS, timed_process
from bench.spec_init import write_table
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.run_folders import RunFolders
from tfxp_reports.evaluation_summary import summarize
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

LABEL = "churn"
GOALS = {"ratio": 2.0, "peak_mib": 2048}


def plain_script(table: str, spec_path: str) -> None:
    """(a): what a user writes without the pipeline. Prints its accuracy as JSON."""
    import numpy as np
    import pandas as pd
    import tf_keras as keras

    spec = yaml.safe_load(Path(spec_path).read_text())
    hyperparameters = spec["model"]["hyperparameters"]
    frame = pd.read_csv(table, keep_default_na=False, dtype=str)
    train = np.asarray(pd.util.hash_pandas_object(frame, index=False) % 5 != 0)  # 4:1, by row content
    numeric = [c["name"] for c in spec["columns"] if c["type"] == "numeric"]
    categorical = [c["name"] for c in spec["columns"] if c["type"] == "categorical" and c["name"] != LABEL]
    parts = []
    for name in numeric:
        values = pd.to_numeric(frame[name].replace("", np.nan), errors="coerce").to_numpy(dtype="float32")
        missing = np.isnan(values)
        mean, deviation = np.nanmean(values[train]), np.nanstd(values[train]) or 1.0
        parts += [np.where(missing, 0.0, (values - mean) / deviation), missing.astype("float32")]
    features = np.column_stack(parts + [pd.get_dummies(frame[categorical]).to_numpy(dtype="float32")])
    labels = (frame[LABEL] == "yes").to_numpy(dtype="int64")

    inputs = keras.Input(shape=(features.shape[1],))
    x = inputs
    for units in hyperparameters.get("hidden_units", [16]):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-3))(x)
        x = keras.layers.Dropout(hyperparameters.get("dropout", 0.2))(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(hyperparameters.get("learning_rate", 0.01)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(features[train], labels[train], batch_size=hyperparameters.get("batch_size", 32), epochs=1, verbose=2)
    _, accuracy = model.evaluate(features[~train], labels[~train], batch_size=4096, verbose=0)
    print(json.dumps({"accuracy": accuracy, "train_rows": int(train.sum()), "eval_rows": int((~train).sum())}))


def measure(rows: int, work: Path, beam_workers: int) -> dict:
    table = work / "table.csv"
    write_table(table, rows)
    spec_path = work / "table.yaml"
    timed_process([sys.executable, "-m", "tfxp_cli", "spec", "init", str(table), "--label", LABEL, "--out",
                   str(spec_path), "--force"], work / "spec_init.log")
    plain = timed_process([sys.executable, "-m", "bench.large_table", "--plain", str(table), str(spec_path)],
                          work / "plain.log")
    plain["accuracy"] = round(json.loads((work / "plain.log").read_text().strip().splitlines()[-1])["accuracy"], 4)
    output = work / "pipeline"
    since = int(time.time() * 1000)
    command = [sys.executable, "-m", "tfxp_cli", "run", str(spec_path), "--output-dir", str(output), "--set", "epochs=1"]
    command += ["--beam-workers", str(beam_workers)] if beam_workers else []
    ours = timed_process(command, work / "pipeline.log")
    spec = load_spec(str(spec_path))
    metadata = RunFolders(str(output), spec.name).metadata_path
    summary = summarize(newest_artifact_uri(metadata, "ModelEvaluation"), spec, bool(latest_outcome(metadata).blessed))
    [overall] = [c for c in summary.checks if c.metric == "accuracy" and c.slice == "overall"]
    ours["accuracy"] = round(overall.value, 4)
    ours["components"] = component_seconds(metadata, since)
    return {"rows": rows, "columns": 21, "file_mib": round(table.stat().st_size / 2**20, 1),
            "beam_workers": beam_workers, "plain_script": plain, "pipeline": ours,
            "ratio": round(ours["wall_s"] / plain["wall_s"], 2), "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def markdown(result: dict) -> str:
    plain, ours = result["plain_script"], result["pipeline"]
    met = result["ratio"] <= GOALS["ratio"] and ours["peak_mib"] <= GOALS["peak_mib"]
    return "\n".join([
        "# A large table through the whole pipeline",
        "",
        "`python -m bench.large_table`",
        "",
        f"Measured {result['measured']}: a generated CSV of {result['rows']:,} rows × {result['columns']} columns "
        f"({result['file_mib']} MiB), its spec drafted by `tfxp spec init`, one epoch; the plain script and the "
        f"pipeline one after the other in one run (Beam workers: {result['beam_workers'] or 'in-process'}). "
        f"Goal: the pipeline in ≤ {GOALS['ratio']}× the script's time, peak ≤ {GOALS['peak_mib']} MiB: "
        f"{'met' if met else 'not met'}.",
        "",
        "| what | accuracy | wall (s) | peak memory (MiB) | load | ratio |",
        "|---|---:|---:|---:|---|---:|",
        f"| plain script (pandas, z-scores, one-hot, the drafted Keras model, 1 epoch) | {plain['accuracy']:.4f} | "
        f"{plain['wall_s']} | {plain['peak_mib']} | {plain['load'][0]}-{plain['load'][1]} | 1 |",
        f"| `tfxp run` (ExampleGen to the push, `--set epochs=1`) | {ours['accuracy']:.4f} | {ours['wall_s']} | "
        f"{ours['peak_mib']} | {ours['load'][0]}-{ours['load'][1]} | **{result['ratio']}×** |",
        "",
        f"Pipeline components (s): {component_list(ours['components'])}",
        "",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--beam-workers", type=int, default=0, help="passed to tfxp run (default: its own)")
    parser.add_argument("--results", default=str(RESULTS), help="folder for large_table.json and large_table.md")
    parser.add_argument("--plain", nargs=2, metavar=("CSV", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain:
        plain_script(*args.plain)
        return
    with tempfile.TemporaryDirectory(prefix="tfxp-large-table-") as work:
        result = measure(args.rows, Path(work), args.beam_workers)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    (results / "large_table.json").write_text(json.dumps(result, indent=1))
    (results / "large_table.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
