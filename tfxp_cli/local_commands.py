"""tfxp's local commands: datasets, fetch, run, schedule, report, lineage."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

from tfxp_cli.arguments import add_dataset
from tfxp_cli.errors import explain
from tfxp_cli.local_schedule import check_local_cron, run_in_child, run_on_schedule
from tfxp_cli.run_lock import run_lock
from tfxp_contract.dataset_spec import STRATEGIES, builtin_spec_names, load_spec
from tfxp_contract.fetch import DATA_DIR_ENV, fetch_data, fetch_dataset
from tfxp_contract.names import REPORT_DIR, REPORT_FILE, SUMMARY_FILE
from tfxp_contract.run_folders import RunFolders
from tfxp_reports.run_report import terminal_summary


def _parse_hyperparameters(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --set expects KEY=VALUE, got {pair!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def distribution_overrides(args) -> dict:
    """The strategy options given on the command line (the rest come from the spec)."""
    overrides = {"strategy": args.strategy, "local_workers": args.workers, "tpu": args.tpu}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.bfloat16:
        overrides["mixed_precision"] = True
    if args.workers and "strategy" not in overrides:
        overrides["strategy"] = "multi_worker"
    return overrides


def add_distribution_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("distributed training (default: the spec's distribution section)")
    group.add_argument("--strategy", choices=STRATEGIES, default=None,
                       help="none: one device; mirrored: all local GPUs; multi_worker: MultiWorkerMirroredStrategy "
                            "from TF_CONFIG (or --workers local processes); tpu: TPUStrategy")
    group.add_argument("--workers", type=int, default=None, metavar="N",
                       help="multi_worker on this machine: launch N local worker processes (implies "
                            "--strategy multi_worker)")
    group.add_argument("--tpu", default=None, metavar="NAME",
                       help="with --strategy tpu: a TPU name, 'local' on a TPU VM (default: from the environment)")
    group.add_argument("--bfloat16", action="store_true", help="mixed precision: bfloat16 compute, float32 variables, even where the CPU "
                            "would emulate it (a spec's mixed_precision: auto uses it only where the hardware "
                            "computes it)")


def cmd_datasets(args) -> int:
    specs = [load_spec(name) for name in builtin_spec_names()]
    if args.output == "json":
        print(json.dumps([{"name": s.name, "format": s.format, "data_family": s.data_family,
                           "features": len(s.feature_columns), "classes": list(s.label.names) if s.label else [],
                           "model_family": s.model.family, "description": s.description} for s in specs], indent=1))
        return 0
    for spec in specs:
        print(f"{spec.name:16} {spec.format:7} {len(spec.feature_columns):3} features  {spec.description}")
    return 0


def cmd_fetch(args) -> int:
    folder = fetch_dataset(load_spec(args.dataset), args.data_dir)
    print(folder)
    return 0


def local_run(args):
    from pipelines.local_runner import LocalRun
    return LocalRun(dataset=args.dataset, data_dir=args.data_dir, output_dir=args.output_dir,
                    num_shards=args.shards, hyperparameters=_parse_hyperparameters(args.set),
                    distribution=distribution_overrides(args), beam_workers=args.beam_workers,
                    max_examples=args.max_examples, enable_cache=not args.no_cache, spans=args.spans,
                    metadata=args.metadata)


def run_pipeline_once(run, verbose: bool, lock: bool = True) -> str:
    """Builds (fetching and verifying the data) and runs the pipeline; returns the outcome.
    ``lock``: hold the output folder's run lock (False: the caller holds it)."""
    from pipelines.local_runner import build, run_locally
    from tfxp_cli.progress import ComponentProgress
    from tfxp_reports.lineage import describe_data_version, last_recorded_data
    from tfxp_reports.outcome import latest_outcome

    with run_lock(run.home) if lock else contextlib.nullcontext():
        data = None if run.spans else fetch_data(load_spec(run.dataset), run.data_dir)
        if data is not None:
            print(describe_data_version(data.version, last_recorded_data(run.metadata_path, run.name)),
                  file=sys.stderr)
        pipeline = build(run, data)
        print(f"pipeline {pipeline.pipeline_info.pipeline_name}: {len(pipeline.components)} components, "
              f"outputs in {run.home}", file=sys.stderr)
        start = time.monotonic()
        with ComponentProgress(total=len(pipeline.components), verbose=verbose):
            run_locally(pipeline)
    done = f"finished in {time.monotonic() - start:.0f} s: {latest_outcome(run.metadata_path, run.name).summary()}"
    return done + newest_report_table(run)


def newest_report_table(run) -> str:
    from tfxp_reports.metadata_store import artifacts_of, open_store
    evaluations = artifacts_of(open_store(run.metadata_path), "ModelEvaluation", run.name)
    if not evaluations:
        return ""
    folder = os.path.join(max(evaluations, key=lambda a: a.id).uri, REPORT_DIR)
    if not os.path.exists(os.path.join(folder, SUMMARY_FILE)):
        return ""
    with open(os.path.join(folder, SUMMARY_FILE)) as f:
        table = terminal_summary(json.load(f))
    return f"\n\n{table}\nreport: {os.path.join(folder, REPORT_FILE)}"


def cmd_run(args) -> int:
    print(run_pipeline_once(local_run(args), args.verbose))
    return 0


def cmd_schedule(args) -> int:
    check_local_cron(args.cron)
    run = local_run(args)
    timeout = args.run_timeout * 60 if args.run_timeout > 0 else None
    with run_lock(run.home):  # held between runs too: no `tfxp run` slips in on this folder
        failures = run_on_schedule(
            args.cron, lambda n: run_in_child(run_pipeline_once, (run, args.verbose, False), timeout), args.max_runs,
            log=lambda line: print(line, flush=True), describe_error=explain)
    return 1 if failures else 0


def store_of(args) -> tuple[str, str]:
    """(ML Metadata, pipeline name) of a dataset's runs, found without building a pipeline."""
    from tfxp_reports.metadata_store import check_store, store_exists
    name = load_spec(args.dataset).name
    folders = RunFolders(args.output_dir, name)
    metadata = args.metadata or folders.metadata_path
    if not store_exists(metadata):
        raise SystemExit(f"error: no runs of {args.dataset} under {folders.home} (see --output-dir, --metadata)")
    check_store(metadata, args.dataset)
    return metadata, name


def _reports(args) -> list[tuple[str, str]]:
    """(run id, report folder) of every evaluated run, oldest first."""
    from tfxp_reports.metadata_store import artifacts_of, open_store
    metadata, name = store_of(args)
    evaluations = sorted(artifacts_of(open_store(metadata), "ModelEvaluation", name), key=lambda a: a.id)
    return [(os.path.basename(a.uri.rstrip("/")), os.path.join(a.uri, REPORT_DIR)) for a in evaluations]


def cmd_report(args) -> int:
    reports = _reports(args)
    if args.list:
        for run_id, folder in reports:
            path = os.path.join(folder, SUMMARY_FILE)
            verdict = json.load(open(path))["verdict"] if os.path.exists(path) else "(no report)"
            print(f"{run_id}\t{verdict}")
        return 0
    chosen = [r for r in reports if args.run in (None, r[0])]
    if not chosen:
        known = ", ".join(r for r, _ in reports) or "none"
        raise SystemExit(f"error: no evaluated run {args.run!r} of {args.dataset}; runs: {known}")
    run_id, folder = chosen[-1]
    path = os.path.join(folder, SUMMARY_FILE)
    if not os.path.exists(path):
        from tfxp_cli.run_lock import running
        holder = running(RunFolders(args.output_dir, load_spec(args.dataset).name).home)
        if holder is not None:
            raise SystemExit(f"error: run {run_id}'s report is still being written: a run is in progress on this "
                             f"output folder (pid {holder.get('pid', '?')}, started {holder.get('started', '?')}); "
                             "try again when it ends")
        raise SystemExit(f"error: run {run_id} has no report (it ran before reports existed, or its report step failed)")
    report = json.load(open(path))
    print(json.dumps(report, indent=1) if args.json else terminal_summary(report))
    html_path = os.path.join(folder, REPORT_FILE)
    print(f"report: {html_path}", file=sys.stderr)
    if args.open:
        import webbrowser
        webbrowser.open(f"file://{html_path}")
    return 0


def cmd_lineage(args) -> int:
    from tfxp_reports.lineage import describe, pushed_model_lineage
    lineage = pushed_model_lineage(*store_of(args))
    print(json.dumps(lineage, indent=1) if args.json else describe(lineage))
    return 0


METADATA_HELP = ("ML Metadata store: mysql://user[:password]@host[:port]/database (MySQL or MariaDB, shared by "
                 "people or a scheduler); default: SQLite at <output-dir>/<dataset>/metadata.sqlite")


def add_run_options(p: argparse.ArgumentParser, data_dir: dict) -> None:
    add_dataset(p, default="house_votes")
    p.add_argument("--data-dir", **data_dir)
    p.add_argument("--output-dir", default="outputs", metavar="DIR",
                   help="pipeline root, metadata and serving models go under DIR/<dataset> (default: outputs)")
    p.add_argument("--metadata", default=None, metavar="URI", help=METADATA_HELP)
    p.add_argument("--shards", type=int, default=None, metavar="N", help="TFRecord shards per split (default: the spec's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model hyperparameter, e.g. --set epochs=5 (repeatable)")
    p.add_argument("--beam-workers", type=int, default=0, metavar="N",
                   help="run Beam's DirectRunner with N worker processes (default: 0, one in-memory worker)")
    p.add_argument("--max-examples", type=int, default=None, metavar="N",
                   help="use only the first N examples of each published split, or of each file of a table (a quick slice)")
    p.add_argument("--spans", action="store_true",
                   help="the data dir holds <dataset>/span-N/ folders of new data; read the newest one holding a "
                        "_SUCCESS file (no checksums)")
    p.add_argument("--no-cache", action="store_true", help="re-run every component instead of reusing cached results")
    p.add_argument("--verbose", action="store_true", help="show TFX's own INFO logs")
    add_distribution_options(p)


def add_local_commands(commands) -> None:
    p = commands.add_parser("datasets", help="list the built-in dataset specs")
    p.add_argument("--output", choices=("table", "json"), default="table", help="table (default) or json")
    p.set_defaults(func=cmd_datasets)

    data_dir = {"default": os.environ.get(DATA_DIR_ENV) or None, "metavar": "DIR",
                "help": f"local mirror of the published files, e.g. ../shared/datasets (default: ${DATA_DIR_ENV}, "
                        "else download from the canonical URLs into the cache)"}

    p = commands.add_parser("fetch", help="download (or find in --data-dir) and verify a dataset's files")
    add_dataset(p)
    p.add_argument("--data-dir", **data_dir)
    p.set_defaults(func=cmd_fetch)

    p = commands.add_parser(
        "run", help="run a dataset's pipeline locally (LocalDagRunner)",
        description="ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform -> Trainer "
                    "-> Evaluator -> Pusher on this machine. A model is pushed to <output-dir>/<dataset>/serving "
                    "only if the Evaluator blesses it.")
    add_run_options(p, data_dir)
    p.set_defaults(func=cmd_run)

    p = commands.add_parser(
        "schedule", help="run a dataset's pipeline locally on a cron schedule (retraining)",
        description="Runs the local pipeline at every fire time of --cron until stopped (Ctrl-C) or --max-runs. "
                    "With --spans, each run reads the newest <data-dir>/<dataset>/span-N/ folder; the Evaluator "
                    "compares with the last blessed model, so a retrained model is pushed only if no worse. Each run is a "
                    "fresh process; a span is read once its writer has put a _SUCCESS file in it.")
    p.add_argument("--cron", required=True, help="'0 3 * * *' = daily at 03:00 UTC; a sixth field gives seconds")
    p.add_argument("--max-runs", type=int, default=None, metavar="N", help="stop after N runs (default: never)")
    p.add_argument("--run-timeout", type=float, default=360, metavar="MINUTES",
                   help="stop a run still going after this long (it counts as failed; the schedule goes on); "
                        "0: no limit (default: 360)")
    add_run_options(p, data_dir)
    p.set_defaults(func=cmd_schedule)

    p = commands.add_parser("report", help="show a run's evaluation report (table, JSON or the HTML page)",
                            description="Every run writes report.html and summary.json next to its Evaluator output. "
                                        "This prints the newest (or RUN's) as a table and names the HTML file.")
    add_dataset(p)
    p.add_argument("run", nargs="?", default=None, help="a run id from --list (default: the newest)")
    p.add_argument("--output-dir", default="outputs", metavar="DIR", help="as given to `tfxp run` (default: outputs)")
    p.add_argument("--metadata", default=None, metavar="URI", help=METADATA_HELP)
    p.add_argument("--json", action="store_true", help="print the machine-readable summary instead of the table")
    p.add_argument("--list", action="store_true", help="list the evaluated runs with their verdicts")
    p.add_argument("--open", action="store_true", help="open the HTML report in a browser")
    p.set_defaults(func=cmd_report)

    p = commands.add_parser("lineage", help="where the served model came from, from ML Metadata",
                            description="For the model pushed last: its data (ExampleGen run, span, record counts), "
                                        "transform graph, Trainer run with hyperparameters, and the evaluation that "
                                        "blessed it.")
    add_dataset(p)
    p.add_argument("--output-dir", default="outputs", metavar="DIR", help="as given to `tfxp run` (default: outputs)")
    p.add_argument("--metadata", default=None, metavar="URI", help=METADATA_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_lineage)
