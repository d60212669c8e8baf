"""Time to accuracy: the whole pipeline (raw published files -> pushed model) against the public
reference script of the same task (``bench.reference_scripts``: Keras' mnist_convnet and
text_classification_from_scratch examples, on in-memory arrays), in one run.

For each task, the reference script and then ``tfxp run <task>`` run as fresh processes in
fresh folders. A row: test accuracy on the published test set (the pipeline's is its
Evaluator's on the eval split, which is that test set), process wall time from start to exit
(the reference's includes reading the files into arrays; the pipeline's, every component
from ExampleGen to the push), peak resident memory of the process and its children, the
machine's load. The ratio is the pipeline's wall time ÷ the reference's: below 1, the pipeline
got its accuracy sooner than the script got its own.

  python -m bench.time_to_accuracy --data-dir ../shared/datasets             # ~20-35 min on 2 cores
  python -m bench.time_to_accuracy --data-dir ../shared/datasets --tasks imdb
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.datasets import component_list, component_seconds
from bench.overhead import timed_process
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.run_folders import RunFolders
from tfxp_reports.evaluation_summary import summarize
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

RESULTS = Path(__file__).parent / "results"
# The goals: the pipeline's accuracy, and at most this ratio to the reference's time.
GOALS = {"mnist": (0.995, 0.8), "imdb": (0.915, 1.0)}


def run_reference(task: str, data_dir: str, folder: Path, max_examples: int | None, epochs: int | None) -> dict:
    command = [sys.executable, "-m", "bench.reference_scripts", task, "--data-dir", data_dir]
    command += ["--max-examples", str(max_examples)] if max_examples else []
    command += ["--epochs", str(epochs)] if epochs else []
    log = folder / f"{task}-reference.log"
    row = timed_process(command, log)
    result = json.loads(log.read_text().strip().splitlines()[-1])
    return {**row, "accuracy": round(result["accuracy"], 4), "epochs": result["epochs"]}


def run_pipeline(task: str, data_dir: str, folder: Path, max_examples: int | None, epochs: int | None) -> dict:
    spec = load_spec(task)
    output = folder / f"{task}-pipeline"
    command = [sys.executable, "-m", "tfxp_cli.main", "run", task, "--data-dir", data_dir, "--output-dir", str(output)]
    command += ["--max-examples", str(max_examples)] if max_examples else []
    command += ["--set", f"epochs={epochs}"] if epochs else []
    since = int(time.time() * 1000)
    row = timed_process(command, output.with_suffix(".log"))
    metadata = RunFolders(str(output), spec.name).metadata_path
    outcome = latest_outcome(metadata)
    summary = summarize(newest_artifact_uri(metadata, "ModelEvaluation"), spec, bool(outcome.blessed))
    [overall] = [c for c in summary.checks if c.metric == "accuracy" and c.slice == "overall"]
    return {**row, "accuracy": round(overall.value, 4), "epochs": epochs or spec.model.hyperparameters.get("epochs"),
            "pushed": bool(outcome.pushed), "components": component_seconds(metadata, since)}


def measure(task: str, data_dir: str, work: Path, max_examples: int | None, epochs: int | None) -> dict:
    print(f"{task}: reference script ...", file=sys.stderr, flush=True)
    reference = run_reference(task, data_dir, work, max_examples, epochs)
    print(f"{task}: reference {reference['accuracy']:.4f} in {reference['wall_s']} s; the pipeline ...",
          file=sys.stderr, flush=True)
    pipeline = run_pipeline(task, data_dir, work, max_examples, epochs)
    print(f"{task}: pipeline {pipeline['accuracy']:.4f} in {pipeline['wall_s']} s", file=sys.stderr, flush=True)
    accuracy_goal, ratio_goal = GOALS[task]
    ratio = round(pipeline["wall_s"] / reference["wall_s"], 2)
    return {"task": task, "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
            "reference": reference, "pipeline": pipeline, "ratio": ratio,
            "goal": {"accuracy": accuracy_goal, "ratio": ratio_goal,
                     "met": pipeline["accuracy"] >= accuracy_goal and ratio <= ratio_goal}}


def markdown(result: dict) -> str:
    slice_note = (f" A slice of {result['max_examples']} examples per split: not a result." if result["max_examples"]
                  else "")
    lines = [f"One run each, the reference first, side by side in one benchmark run per task.{slice_note} "
             "Ratio: the pipeline's wall time ÷ the reference script's (below 1: the pipeline is faster).", "",
             "| task | run | test accuracy | epochs | wall (s) | Trainer (s) | peak memory (MiB) | load | ratio | goal | measured |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---|---|"]
    names = {"mnist": "Keras mnist_convnet", "imdb": "Keras text_classification_from_scratch"}
    for row in result["rows"]:
        ref, ours, goal = row["reference"], row["pipeline"], row["goal"]
        lines.append(f"| {row['task']} | {names[row['task']]} | {ref['accuracy']:.4f} | {ref['epochs']} | {ref['wall_s']:.1f} | "
                     f"| {ref['peak_mib']} | {min(ref['load']):.1f}-{max(ref['load']):.1f} | 1 | | "
                     f"{row['measured']}, {row['cpus']} cores |")
        trainer = ours["components"].get("Trainer")
        lines.append(f"| {row['task']} | `tfxp run {row['task']}` | {ours['accuracy']:.4f} | {ours['epochs']} | "
                     f"{ours['wall_s']:.1f} | {trainer if isinstance(trainer, float) else ''} | {ours['peak_mib']} | "
                     f"{min(ours['load']):.1f}-{max(ours['load']):.1f} | **{row['ratio']:.2f}×** | "
                     f"≥ {goal['accuracy']:.1%} in ≤ {goal['ratio']:.1f}×: {'met' if goal['met'] else 'not met'} | "
                     f"{row['measured']} |")
    lines += ["", "Pipeline components (s):", ""]
    for row in result["rows"]:
        lines.append(f"- {row['task']}: {component_list(row['pipeline']['components'])}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"),
                        help="local mirror of the published files (default: $TFXP_DATA_DIR)")
    parser.add_argument("--tasks", nargs="+", choices=sorted(GOALS), default=["mnist", "imdb"])
    parser.add_argument("--max-examples", type=int, default=None,
                        help="a slice of each split for both sides (a smoke test, not a result)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs for both sides instead of their own")
    parser.add_argument("--results", default=str(RESULTS), help="folder for time_to_accuracy.json and .md")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("--data-dir (or TFXP_DATA_DIR) is needed: the benchmark reads a local mirror")
    with tempfile.TemporaryDirectory(prefix="tfxp-time-to-accuracy-") as work:
        rows = [measure(task, args.data_dir, Path(work), args.max_examples, args.epochs) for task in args.tasks]
    result = {"max_examples": args.max_examples, "rows": rows}
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "time_to_accuracy.json"
    previous = json.loads(path.read_text()) if path.exists() else None
    if previous and previous.get("max_examples") == args.max_examples:  # keep the tasks not run now
        ran = set(args.tasks)
        result["rows"] = [r for r in previous["rows"] if r["task"] not in ran] + rows
    path.write_text(json.dumps(result, indent=1))
    (out / "time_to_accuracy.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
