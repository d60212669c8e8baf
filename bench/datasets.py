"""Image and text datasets through the whole pipeline: accuracy, wall time per component, model size.

For each dataset, one run of the spec's model (ingest to push, full data), then in the same
output folder its baseline (see BASELINES): the spec with the baseline's model, so the
Evaluator compares the baseline with the spec model's blessed one. Accuracy is the Evaluator's on
the eval split: the published test set, or the spec's hash holdout. Each row records when it
was measured and the machine's load; results/datasets.json keeps every dataset's latest rows,
and results/datasets.md is rendered from it.

  python -m bench.datasets --data-dir ../shared/datasets --datasets mnist fashion_mnist flowers imdb
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

import yaml
from ml_metadata.proto import metadata_store_pb2

from pipelines.local_run import LocalRun
from tfxp_contract.dataset_spec import SPECS_DIR, load_spec
from tfxp_reports.evaluation_summary import summarize
from tfxp_reports.metadata_store import open_store
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

RESULTS = Path(__file__).parent / "results"
# Per data family: (label, model, changes to columns by type). The course's models: its Keras
# MLP on pixels; its IMDB LSTM (20,000 words, a review's first 80, 128 units; 3 epochs
# here, the course trained longer for 81%).
BASELINES = {
    "image": ("MLP (course)", {"family": "mlp", "hyperparameters": {
        "hidden_units": [256], "dropout": 0.2, "epochs": 5, "batch_size": 128}}, {}),
    "text": ("LSTM (course)", {"family": "text_lstm", "hyperparameters": {
        "embedding_dim": 128, "units": 128, "dropout": 0.2, "epochs": 3, "batch_size": 32}},
        {"text": {"vocabulary_size": 20000, "sequence_length": 80, "ngrams": 1, "weighting": "none"}}),
}
# Per dataset, more models of another family than the spec's, each measured like the baseline.
# MNIST's MLP family at the size of Keras' MLP example (two layers of 512, dropout 0.2, 20
# epochs; Adam with a cosine decay here, RMSprop there).
MNIST_MLP = "MLP 2x512, 20 epochs"
# Fashion-MNIST's two-block CNN (MNIST's) trained on mirror images and shifts, served with
# test-time flips: it underfit, below the same network without augmentation; the spec's model
# has a third block and drops the shifts.
FASHION_AUGMENTED = "CNN, flips and shifts, 20 epochs, test-time flip"
VARIANTS = {
    "mnist": [(MNIST_MLP, {"family": "mlp", "hyperparameters": {
        "hidden_units": [512, 512], "dropout": 0.2, "epochs": 20, "batch_size": 128, "lr_schedule": "cosine"}}, {})],
    "fashion_mnist": [(FASHION_AUGMENTED, {"family": "cnn", "hyperparameters": {
        "filters": [32, 64], "dense_units": 128, "dropout": 0.3, "flip": True, "translate": 0.1,
        "test_time_flip": True, "learning_rate": 0.001, "lr_schedule": "cosine", "batch_size": 128, "epochs": 20}},
        {})],
}
# The accuracy each row should reach (bench/results/datasets.md says whether it did).
GOALS = {("mnist", "spec model"): 0.995, ("mnist", MNIST_MLP): 0.983, ("fashion_mnist", "spec model"): 0.94,
         ("flowers", "spec model"): 0.82, ("imdb", "spec model"): 0.915}
MODELS = ("spec", "baseline", "variants")


def component_seconds(metadata_path: str, since_ms: int) -> dict[str, float | str]:
    """Wall time of each component execution that started after ``since_ms``, from ML
    Metadata; "cached" for those TFX reused from an earlier run."""
    store = open_store(metadata_path)
    seconds = {}
    for context in store.get_contexts_by_type("node"):
        node = context.name.split(".", 1)[1]
        for e in store.get_executions_by_context(context.id):
            if e.create_time_since_epoch >= since_ms:
                seconds[node] = ("cached" if e.last_known_state == metadata_store_pb2.Execution.CACHED else
                                 round((e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000, 1))
    return seconds


def component_list(seconds: dict[str, float | str]) -> str:
    """``component_seconds`` as one line for a report: "Evaluator 9.2, Trainer 7.8, ..."."""
    return ", ".join(f"{node} {value}" for node, value in sorted(seconds.items()))


def directory_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def baseline_spec(dataset: str, folder: Path) -> tuple[str, str]:
    """The dataset's spec with its family's baseline model (same name, so the same pipeline
    home and metadata). Returns (label, path)."""
    label, model, column_changes = BASELINES[load_spec(dataset).data_family]
    return label, other_model_spec(dataset, folder, label, model, column_changes)


def other_model_spec(dataset: str, folder: Path, label: str, model: dict, column_changes: dict) -> str:
    """The path of the dataset's spec with ``model`` and ``column_changes`` (by column type)."""
    raw = yaml.safe_load((SPECS_DIR / f"{dataset}.yaml").read_text())
    raw["model"] = model
    for column in raw["columns"]:
        column.update(column_changes.get(column["type"], {}))
    path = folder / f"{dataset}-{''.join(c if c.isalnum() else '-' for c in label.lower())}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def goal_text(row: dict) -> str:
    goal = GOALS.get((row["dataset"], row["model"]))
    if goal is None:
        return ""
    return f"≥ {goal:.1%}: {'met' if row['test_accuracy'] >= goal else 'not met'}"


def measure(run: LocalRun, label: str) -> dict:
    since = int(time.time() * 1000)
    load_before = os.getloadavg()[0]
    from pipelines.local_runner import build, run_locally  # TensorFlow and TFX: not for --help
    start = time.monotonic()
    run_locally(build(run))
    wall = time.monotonic() - start
    spec = load_spec(run.dataset)
    summary = summarize(newest_artifact_uri(run.metadata_path, "ModelEvaluation"), spec, bool(latest_outcome(run.metadata_path).blessed))
    [overall] = [c for c in summary.checks if c.metric == "accuracy" and c.slice == "overall"]
    return {"dataset": spec.name, "model": label, "test_accuracy": round(overall.value, 4),
            "measured_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(since / 1000)),
            "conditions": f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end",
            "blessed": summary.blessed, "wall_seconds": round(wall, 1),
            "component_seconds": component_seconds(run.metadata_path, since),
            "model_bytes": directory_bytes(os.path.join(newest_artifact_uri(run.metadata_path, "Model"), "Format-Serving")),
            "model_family": spec.model.family, "hyperparameters": {**spec.model.hyperparameters, **run.hyperparameters}}


def render(rows: list[dict], cores: int) -> str:
    lines = [f"Eval split: the published test set (MNIST, Fashion-MNIST, IMDB) or the spec's 20% hash "
             f"holdout (flowers). {cores} CPU cores, no GPU; one run each. A dataset's baseline and other "
             "models run in the same output folder after its spec model, so the Evaluator compares them "
             "with the model blessed before them. Goal: the accuracy the row should reach.", "",
             "| dataset | model | accuracy | goal | blessed | whole run | ExampleGen | StatisticsGen | Transform | "
             "Trainer | Evaluator | model size | measured (UTC) |",
             "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        c = r["component_seconds"]
        c = {**c, "ExampleGen": next((v for k, v in c.items() if k.endswith("ExampleGen")), "cached")}

        def seconds(name: str, c: dict = c) -> str:
            return f"{c[name]} s" if isinstance(c.get(name), float) else "cached"
        lines.append(f"| {r['dataset']} | {r['model']} | {r['test_accuracy']:.4f} | {goal_text(r)} | "
                     f"{'yes' if r['blessed'] else 'no'} | "
                     f"{r['wall_seconds'] / 60:.1f} min | {seconds('ExampleGen')} | "
                     f"{seconds('StatisticsGen')} | {seconds('Transform')} | {seconds('Trainer')} | "
                     f"{seconds('Evaluator')} | {r['model_bytes'] / 1e6:.1f} MB | {r['measured_utc']} |")
    notes = [f"- {r['dataset']}, {r['model']}: {r['conditions']}" for r in rows if r.get("conditions")]
    return "\n".join(lines + ["", "Machine state during each run:", ""] + notes)


def merged(previous: list[dict], new: list[dict]) -> list[dict]:
    """Every (dataset, model)'s latest row: a new one takes the place of the one it replaces."""
    latest = {(r["dataset"], r["model"]): r for r in new}
    kept = [latest.pop((r["dataset"], r["model"]), r) for r in previous]
    rows = kept + [r for r in new if (r["dataset"], r["model"]) in latest]
    order = list(dict.fromkeys(r["dataset"] for r in rows))
    return sorted(rows, key=lambda r: order.index(r["dataset"]))  # a dataset's rows together


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"), help="local mirror of the datasets")
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist", "flowers", "imdb"])
    parser.add_argument("--max-examples", type=int, default=None, help="a slice per split (a quick check, not a result)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS),
                        help="which rows to measure: the spec's model, the family's baseline after it, the "
                             "dataset's other models (VARIANTS); default all. A row measured without the spec "
                             "model before it is compared with whatever model its output folder has blessed.")
    parser.add_argument("--output-dir", default=None,
                        help="where the runs' outputs stay (models, evaluations, metadata) for a closer look; "
                             "default a temporary folder, deleted at the end")
    args = parser.parse_args()
    for dataset in args.datasets:
        if load_spec(dataset).data_family not in BASELINES:
            parser.error(f"{dataset}: no baseline for {load_spec(dataset).data_family} data here; "
                         "tabular datasets are measured by python -m bench.tabular_cv")

    rows = []
    with contextlib.ExitStack() as stack:
        tmp = args.output_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-datasets-"))
        for dataset in args.datasets:
            specs = [("spec model", dataset)] if "spec" in args.models else []
            if "baseline" in args.models:
                specs.append(baseline_spec(dataset, Path(tmp)))
            if "variants" in args.models:
                specs += [(label, other_model_spec(dataset, Path(tmp), label, model, changes))
                          for label, model, changes in VARIANTS.get(dataset, [])]
            for label, spec in specs:
                print(f"[{dataset}] {label}: whole pipeline ...", flush=True)
                run = LocalRun(dataset=spec, data_dir=args.data_dir, output_dir=tmp, max_examples=args.max_examples)
                rows.append(measure(run, label))
                print(f"[{dataset}] {label}: accuracy {rows[-1]['test_accuracy']:.4f}", flush=True)
                if args.max_examples is None:  # saved per row: a later failure loses nothing measured
                    save(rows[-1:])
    print(render(rows, os.cpu_count()))


def save(rows: list[dict]) -> None:
    RESULTS.mkdir(exist_ok=True)
    raw = RESULTS / "datasets.json"
    rows = merged(json.loads(raw.read_text()) if raw.exists() else [], rows)
    raw.write_text(json.dumps(rows, indent=1))
    (RESULTS / "datasets.md").write_text(
        f"# Datasets through the whole pipeline\n\n`python -m bench.datasets`\n\n{render(rows, os.cpu_count())}\n")

if __name__ == "__main__":
    main()
