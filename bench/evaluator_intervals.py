"""What TFMA's own confidence intervals cost: TFMA on a run's model and eval split with the
project's evaluation config, with and without its jackknife intervals, alternating in one
process, ``--repeats`` times each (after one untimed warm-up of each). The measured cost is
why the report's 95% intervals are computed from TFMA's counts instead
(``tfxp_reports.evaluation_summary.analytic_interval``).

  python -m bench.evaluator_intervals --output-dir outputs --dataset house_votes
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _inputs(output_dir: str, dataset: str) -> tuple[str, str]:
    """(serving model dir, eval examples pattern) of the dataset's newest run."""
    from tfxp_contract.dataset_spec import load_spec
    from tfxp_contract.run_folders import RunFolders
    from tfxp_reports.metadata_store import artifacts_of, open_store
    folders = RunFolders(output_dir, load_spec(dataset).name)
    store = open_store(folders.metadata_path)
    model = max(artifacts_of(store, "Model", folders.pipeline_name), key=lambda a: a.id)
    examples = max((a for a in artifacts_of(store, "Examples", folders.pipeline_name) if "ExampleGen" in a.uri),
                   key=lambda a: a.id)
    return os.path.join(model.uri, "Format-Serving"), os.path.join(examples.uri, "Split-eval", "*")


def evaluate_seconds(model_dir: str, examples: str, config) -> float:
    import tensorflow_model_analysis as tfma
    shared = tfma.default_eval_shared_model(eval_saved_model_path=model_dir, eval_config=config)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        tfma.run_model_analysis(eval_shared_model=shared, eval_config=config, data_location=examples,
                                file_format="tfrecords", output_path=out)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--output-dir", required=True, help="where `tfxp run` put the dataset's runs")
    parser.add_argument("--dataset", default="house_votes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from pipelines.evaluation import eval_config
    from tfxp_contract.dataset_spec import load_spec
    spec = load_spec(args.dataset)
    import tensorflow_model_analysis as tfma
    without = eval_config(spec)
    with_intervals = eval_config(spec)
    with_intervals.options.CopyFrom(tfma.Options(
        compute_confidence_intervals={"value": True},
        confidence_intervals=tfma.ConfidenceIntervalOptions(method=tfma.ConfidenceIntervalOptions.JACKKNIFE)))
    # The candidate alone, as on a first run: no baseline, so no change thresholds either.
    for config in (with_intervals, without):
        for metrics_spec in config.metrics_specs:
            for metric in metrics_spec.metrics:
                metric.ClearField("per_slice_thresholds")
    model_dir, examples = _inputs(args.output_dir, args.dataset)
    seconds: dict[str, list[float]] = {"with": [], "without": []}
    evaluate_seconds(model_dir, examples, with_intervals)
    evaluate_seconds(model_dir, examples, without)
    for _ in range(args.repeats):
        seconds["with"].append(evaluate_seconds(model_dir, examples, with_intervals))
        seconds["without"].append(evaluate_seconds(model_dir, examples, without))
        print(f"with intervals {seconds['with'][-1]:.1f} s, without {seconds['without'][-1]:.1f} s", flush=True)
    result = {"dataset": args.dataset, "repeats": args.repeats, "load_average": os.getloadavg(),
              "seconds_with": seconds["with"], "seconds_without": seconds["without"],
              "ratio": statistics.median(seconds["with"]) / statistics.median(seconds["without"])}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "evaluator_intervals.json").write_text(json.dumps(result, indent=1))
    (RESULTS / "evaluator_intervals.md").write_text(
        "# TFMA with and without its jackknife confidence intervals\n\n"
        f"`python -m bench.evaluator_intervals` on {args.dataset}'s model and eval split, alternating, "
        f"{args.repeats} timed runs each after a warm-up; load average at the end "
        f"{', '.join(f'{x:.2f}' for x in result['load_average'])}.\n\n"
        "| | median seconds | runs |\n|---|---:|---|\n"
        f"| with jackknife intervals | {statistics.median(seconds['with']):.2f} | "
        f"{', '.join(f'{s:.2f}' for s in seconds['with'])} |\n"
        f"| without | {statistics.median(seconds['without']):.2f} | "
        f"{', '.join(f'{s:.2f}' for s in seconds['without'])} |\n\n"
        f"Ratio with ÷ without: **{result['ratio']:.2f}**.\n")
    print(f"ratio {result['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
