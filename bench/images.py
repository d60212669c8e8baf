"""Image datasets through the whole pipeline: test accuracy, wall time per component, model size.

For each dataset, one run of the spec's model (ingest to push, full data), then in the same
output folder the baseline: an MLP (the course's Keras MLP) on the same ExampleGen and
Transform outputs (cached, so only Trainer and Evaluator run again). Accuracy is the
Evaluator's on the published test set. Prints a Markdown table and writes it and the raw
numbers to bench/results/.

  python -m bench.images --data-dir ../shared/datasets [--datasets mnist fashion_mnist]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import yaml
from tfx import v1 as tfx

from pipelines.dataset_spec import SPECS_DIR, load_spec
from pipelines.evaluation_summary import summarize
from pipelines.local_runner import LocalRun, build
from pipelines.outcome import latest_outcome, open_store

RESULTS = Path(__file__).parent / "results"
BASELINE = {"family": "mlp", "hyperparameters": {"hidden_units": [256], "dropout": 0.2, "epochs": 5, "batch_size": 128}}


def component_seconds(metadata_path: str, since_ms: int) -> dict[str, float]:
    """Wall time of each component execution that started after ``since_ms``, from ML Metadata."""
    store = open_store(metadata_path)
    seconds = {}
    for context in store.get_contexts_by_type("node"):
        node = context.name.split(".", 1)[1]
        for e in store.get_executions_by_context(context.id):
            if e.create_time_since_epoch >= since_ms:
                seconds[node] = round((e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000, 1)
    return seconds


def directory_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def newest_uri(metadata_path: str, type_name: str) -> str:
    return max(open_store(metadata_path).get_artifacts_by_type(type_name), key=lambda a: a.id).uri


def baseline_spec(dataset: str, folder: Path) -> str:
    """The dataset's spec with the baseline model instead (same name, so the same pipeline
    home: ExampleGen's output is reused)."""
    raw = yaml.safe_load((SPECS_DIR / f"{dataset}.yaml").read_text())
    raw["model"] = BASELINE
    path = folder / f"{dataset}-baseline.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def measure(run: LocalRun, label: str) -> dict:
    since = int(time.time() * 1000)
    start = time.monotonic()
    tfx.orchestration.LocalDagRunner().run(build(run))
    wall = time.monotonic() - start
    spec = load_spec(run.dataset)
    summary = summarize(newest_uri(run.metadata_path, "ModelEvaluation"), spec, bool(latest_outcome(run.metadata_path).blessed))
    [overall] = [c for c in summary.checks if c.metric == "accuracy" and c.slice == "overall"]
    return {"dataset": spec.name, "model": label, "test_accuracy": round(overall.value, 4),
            "blessed": summary.blessed, "wall_seconds": round(wall, 1),
            "component_seconds": component_seconds(run.metadata_path, since),
            "model_bytes": directory_bytes(os.path.join(newest_uri(run.metadata_path, "Model"), "Format-Serving")),
            "model_family": spec.model.family, "hyperparameters": {**spec.model.hyperparameters, **run.hyperparameters}}


def render(rows: list[dict], cores: int) -> str:
    lines = [f"Full published splits (test set = eval), {cores} CPU cores, no GPU; one run each. The baseline "
             "(the course's Keras MLP) runs the same pipeline with its spec variant, in the same folder, "
             "so the Evaluator compares it with the spec model's blessed one.", "",
             "| dataset | model | test accuracy | blessed | whole run | ExampleGen | StatisticsGen | Transform | "
             "Trainer | Evaluator | model size |", "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        c = r["component_seconds"]
        example_gen = next((v for k, v in c.items() if k.endswith("ExampleGen")), "cached")
        lines.append(f"| {r['dataset']} | {r['model']} | {r['test_accuracy']:.4f} | {'yes' if r['blessed'] else 'no'} | "
                     f"{r['wall_seconds'] / 60:.1f} min | {example_gen} s | {c.get('StatisticsGen', 'cached')} s | "
                     f"{c.get('Transform', 'cached')} s | {c.get('Trainer', '-')} s | {c.get('Evaluator', '-')} s | "
                     f"{r['model_bytes'] / 1e6:.1f} MB |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"), help="local mirror of the datasets")
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"])
    parser.add_argument("--max-examples", type=int, default=None, help="a slice per split (a quick check, not a result)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        for dataset in args.datasets:
            run = LocalRun(dataset=dataset, data_dir=args.data_dir, output_dir=tmp, max_examples=args.max_examples)
            rows.append(measure(run, "spec model"))
            run = LocalRun(dataset=baseline_spec(dataset, Path(tmp)), data_dir=args.data_dir, output_dir=tmp,
                           max_examples=args.max_examples)
            rows.append(measure(run, "MLP baseline"))

    table = render(rows, os.cpu_count())
    print(table)
    if args.max_examples is None:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "images.md").write_text(f"# Image datasets\n\n`python -m bench.images`\n\n{table}\n")
        (RESULTS / "images.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
