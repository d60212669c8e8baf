"""Training throughput with 1 and 2 local workers (MultiWorkerMirroredStrategy), same data, one run.

Runs the MNIST pipeline once on a slice to get Transform's output, then trains the same
CNN on it with the local multi-worker launcher, once per worker count, each worker a
separate process with its own TF_CONFIG. Both use the same per-replica batch (data-parallel
scaling: the global batch grows with the workers). Throughput is measured over the epochs
after the first (which includes graph tracing). Prints a Markdown table with the machine's
core count and writes it and the raw summaries to bench/results/.

  python -m bench.multi_worker --data-dir ../shared/datasets
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from pipelines.local_run import LocalRun
from tfxp_contract.dataset_spec import load_spec
from tfxp_reports.outcome import newest_artifact_uri

RESULTS = Path(__file__).parent / "results"
MODEL = {"filters": [16, 32], "dense_units": 64, "batch_size": 64}


def transformed_inputs(data_dir: str, work: Path, examples: int) -> LocalRun:
    run = LocalRun(dataset="mnist", data_dir=data_dir, output_dir=str(work / "pipeline"), max_examples=examples,
                   hyperparameters={**MODEL, "epochs": 1})
    from pipelines.local_runner import build, run_locally  # TensorFlow and TFX: not for --help
    run_locally(build(run))
    return run


def train(run: LocalRun, workers: int, epochs: int, work: Path) -> dict:
    from trainers.local_cluster import run_local_workers
    from trainers.training_job import SUMMARY_FILE, TrainingJob
    transformed = newest_artifact_uri(run.metadata_path, "Examples")  # Transform's output is the newest Examples
    job = TrainingJob(
        spec_json=load_spec(run.dataset).to_json(), train_files=[f"{transformed}/Split-train/*"],
        eval_files=[f"{transformed}/Split-eval/*"], transform_output=newest_artifact_uri(run.metadata_path, "TransformGraph"),
        serving_model_dir=str(work / f"model-{workers}"), model_run_dir=str(work / f"run-{workers}"),
        hyperparameters={**MODEL, "epochs": epochs}, distribution={"strategy": "multi_worker", "local_workers": workers})
    start = time.monotonic()
    run_local_workers(job, workers, str(work / f"run-{workers}" / "workers"))
    summary = json.loads((work / f"run-{workers}" / SUMMARY_FILE).read_text())
    summary["wall_seconds"] = round(time.monotonic() - start, 1)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"), help="local mirror of the datasets")
    parser.add_argument("--examples", type=int, default=12000, help="MNIST training images used (default 12000)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per measurement (the first is not counted)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-multi-worker-") as tmp:
        work = Path(tmp)
        run = transformed_inputs(args.data_dir, work, args.examples)
        results = {workers: train(run, workers, args.epochs, work) for workers in (1, 2)}

    cores = os.cpu_count()
    lines = [f"MNIST slice: {results[1]['training_examples']} training images, CNN {MODEL['filters']}, "
             f"per-replica batch {MODEL['batch_size']}, {args.epochs} epochs; {cores} CPU cores, no GPU.", "",
             "| local workers | global batch | steps/epoch | examples/s (epochs 2+) | speed-up | final val accuracy | wall time |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for workers, s in results.items():
        lines.append(f"| {workers} | {s['global_batch_size']} | {s['steps_per_epoch']} | {s['examples_per_second']:.0f} | "
                     f"{s['examples_per_second'] / results[1]['examples_per_second']:.2f}x | "
                     f"{s['history']['val_accuracy'][-1]:.4f} | {s['wall_seconds']:.0f} s |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "multi_worker.md").write_text(f"# Local multi-worker throughput\n\n`python -m bench.multi_worker`\n\n{table}\n")
    (RESULTS / "multi_worker.json").write_text(json.dumps({"cores": cores, "results": results}, indent=1))


if __name__ == "__main__":
    main()
