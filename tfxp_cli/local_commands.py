"""tfxp's local commands: datasets, fetch, run, schedule, report, lineage."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Optional

from infra.dataflow import AUTO, AUTO_WORKERS, AUTO_WORKERS_FROM_MIB
from tfxp_cli.arguments import NOT_BLESSED_EXIT, add_dataset, add_output_dir, add_output_format, json_text
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
    print(json.dumps({"dataset": args.dataset, "folder": str(folder)}) if args.output == "json" else folder)
    return 0


def local_run(args):
    load_spec(args.dataset)  # an unknown name or a wrong spec fails in a second, before TFX is imported (12 s)
    from pipelines.local_run import LocalRun
    return LocalRun(dataset=args.dataset, data_dir=args.data_dir, output_dir=args.output_dir,
                    num_shards=args.shards, hyperparameters=_parse_hyperparameters(args.set),
                    distribution=distribution_overrides(args), beam_workers=args.beam_workers,
                    max_examples=args.max_examples, enable_cache=not args.no_cache, spans=args.spans,
                    metadata=args.metadata)


@dataclass
class RunResult:
    """What a local run decided, for people (``text``) and for machines (``asdict``)."""
    seconds: float
    outcome: dict  # tfxp_reports.outcome.Outcome's fields: blessed, pushed, destination, version, failures
    summary: Optional[dict]  # the run's report summary (summary.json), if the Evaluator ran
    report: str  # its HTML report, or ""

    def text(self) -> str:
        from tfxp_reports.outcome import Outcome
        done = f"finished in {self.seconds:.0f} s: {Outcome(**self.outcome).summary()}"
        if self.summary is None:
            return done
        return f"{done}\n\n{terminal_summary(self.summary)}\nreport: {self.report}"


def run_pipeline_once(run, verbosity: str, lock_as: Optional[str]) -> RunResult:
    """Builds (fetching and verifying the data) and runs the pipeline. ``verbosity``: quiet |
    normal | verbose. ``lock_as``: hold the output folder's run lock as this command line
    (None: the caller holds it)."""
    from tfxp_cli.progress import ComponentProgress
    from tfxp_reports.lineage import describe_data_version, last_recorded_data
    from tfxp_reports.outcome import latest_outcome

    def note(line: str) -> None:
        if verbosity != "quiet":
            print(line, file=sys.stderr, flush=True)

    with run_lock(run.home, lock_as) if lock_as else contextlib.nullcontext():
        data = None if run.spans else fetch_data(load_spec(run.dataset), run.data_dir)
        if data is not None:
            note(describe_data_version(data.version, last_recorded_data(run.metadata_path, run.name)))
        from pipelines.local_runner import build, run_locally  # TFX: seconds to import, once the data is there

        pipeline = build(run, data)
        note(f"pipeline {pipeline.pipeline_info.pipeline_name}: {len(pipeline.components)} components, "
             f"outputs in {run.home}")
        start = time.monotonic()
        with ComponentProgress(verbosity) as progress:
            run_locally(pipeline, observer=progress)
    summary, report = newest_report(run)
    return RunResult(seconds=time.monotonic() - start, outcome=asdict(latest_outcome(run.metadata_path, run.name)),
                     summary=summary, report=report)


def run_pipeline_text(run, verbosity: str, lock_as: Optional[str]) -> str:
    """``run_pipeline_once`` as the text a schedule logs (a function of its own: it runs in a child)."""
    return run_pipeline_once(run, verbosity, lock_as).text()


def newest_report(run) -> tuple[Optional[dict], str]:
    """(summary, HTML path) of the newest evaluation's report; (None, "") before there is one."""
    from tfxp_reports.metadata_store import artifacts_of, open_store
    evaluations = artifacts_of(open_store(run.metadata_path), "ModelEvaluation", run.name)
    if not evaluations:
        return None, ""
    folder = os.path.join(max(evaluations, key=lambda a: a.id).uri, REPORT_DIR)
    if not os.path.exists(os.path.join(folder, SUMMARY_FILE)):
        return None, ""
    with open(os.path.join(folder, SUMMARY_FILE)) as f:
        return json.load(f), os.path.join(folder, REPORT_FILE)


def verbosity(args) -> str:
    return "verbose" if args.verbose else "quiet" if args.quiet else "normal"


def cmd_run(args) -> int:
    result = run_pipeline_once(local_run(args), verbosity(args), args.command_line)
    print(json_text(asdict(result)) if args.output == "json" else result.text())
    if args.fail_if_not_blessed and not result.outcome["blessed"]:
        print(f"error: the model was not blessed (exit {NOT_BLESSED_EXIT}, --fail-if-not-blessed)", file=sys.stderr)
        return NOT_BLESSED_EXIT
    return 0


def cmd_schedule(args) -> int:
    check_local_cron(args.cron)
    run = local_run(args)
    timeout = args.run_timeout * 60 if args.run_timeout > 0 else None
    with run_lock(run.home, args.command_line):  # held between runs too: no `tfxp run` slips in on this folder
        failures = run_on_schedule(
            args.cron, lambda n: run_in_child(run_pipeline_text, (run, verbosity(args), None), timeout), args.max_runs,
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
        listed = []
        for run_id, folder in reports:
            path = os.path.join(folder, SUMMARY_FILE)
            listed.append({"run": run_id, "verdict": json.load(open(path))["verdict"] if os.path.exists(path) else None})
        if args.output == "json":
            print(json_text(listed))
        for row in listed if args.output == "table" else []:
            print(f"{row['run']}\t{row['verdict'] or '(no report)'}")
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
    print(json_text(report) if args.output == "json" else terminal_summary(report))
    html_path = os.path.join(folder, REPORT_FILE)
    print(f"report: {html_path}", file=sys.stderr)
    if args.open:
        import webbrowser
        webbrowser.open(f"file://{html_path}")
    return 0


def cmd_lineage(args) -> int:
    from tfxp_reports.lineage import describe, pushed_model_lineage
    lineage = pushed_model_lineage(*store_of(args))
    print(json_text(lineage) if args.output == "json" else describe(lineage))
    return 0


METADATA_HELP = ("ML Metadata store: mysql://user[:password]@host[:port]/database (MySQL or MariaDB, shared by "
                 "people or a scheduler); default: SQLite at <output-dir>/<dataset>/metadata.sqlite")


def _beam_workers(text: str) -> int | str:
    if text == AUTO:
        return text
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of worker processes (0: in this process) or auto")
    return int(text)


def add_run_options(p: argparse.ArgumentParser, data_dir: dict) -> None:
    add_dataset(p, default="house_votes")
    p.add_argument("--data-dir", **data_dir)
    add_output_dir(p, "pipeline root, metadata and serving models go under DIR/<dataset>")
    p.add_argument("--metadata", default=None, metavar="URI", help=METADATA_HELP)
    p.add_argument("--shards", type=int, default=None, metavar="N", help="TFRecord shards per split (default: the spec's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model hyperparameter, e.g. --set epochs=5 (repeatable)")
    p.add_argument("--beam-workers", type=_beam_workers, default=AUTO, metavar="N|auto",
                   help=f"Beam's DirectRunner in N worker processes (0: in this process). Default auto: "
                        f"{AUTO_WORKERS} workers (one per core if fewer) when the raw input is "
                        f"{AUTO_WORKERS_FROM_MIB} MiB or more and not a --max-examples slice, else in this process "
                        "(the threshold measured in bench/results/beam_workers.md)")
    p.add_argument("--max-examples", type=int, default=None, metavar="N",
                   help="use only the first N examples of each published split, or of each file of a table (a quick slice)")
    p.add_argument("--spans", action="store_true",
                   help="the data dir holds <dataset>/span-N/ folders of new data; read the newest one holding a "
                        "_SUCCESS file (no checksums)")
    p.add_argument("--no-cache", action="store_true", help="re-run every component instead of reusing cached results")
    add_distribution_options(p)


def add_local_commands(commands) -> None:
    p = commands.add_parser("datasets", help="list the built-in dataset specs")
    add_output_format(p)
    p.set_defaults(func=cmd_datasets)

    data_dir = {"default": os.environ.get(DATA_DIR_ENV) or None, "metavar": "DIR",
                "help": f"local mirror of the published files, e.g. ../shared/datasets (default: ${DATA_DIR_ENV}, "
                        "else download from the canonical URLs into the cache)"}

    p = commands.add_parser("fetch", help="download (or find in --data-dir) and verify a dataset's files")
    add_dataset(p)
    p.add_argument("--data-dir", **data_dir)
    add_output_format(p)
    p.set_defaults(func=cmd_fetch)

    p = commands.add_parser(
        "run", help="run a dataset's pipeline locally (LocalDagRunner)",
        description="ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform -> Trainer "
                    "-> Evaluator -> Pusher on this machine. A model is pushed to <output-dir>/<dataset>/serving "
                    "only if the Evaluator blesses it.")
    add_run_options(p, data_dir)
    add_output_format(p)
    p.add_argument("--fail-if-not-blessed", action="store_true",
                   help=f"exit {NOT_BLESSED_EXIT} when the Evaluator does not bless the model (for CI pipelines; the "
                        "run itself still counts as done)")
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
    add_output_dir(p)
    p.add_argument("--metadata", default=None, metavar="URI", help=METADATA_HELP)
    add_output_format(p)
    p.add_argument("--list", action="store_true", help="list the evaluated runs with their verdicts")
    p.add_argument("--open", action="store_true", help="open the HTML report in a browser")
    p.set_defaults(func=cmd_report)

    p = commands.add_parser("lineage", help="where the served model came from, from ML Metadata",
                            description="For the model pushed last: its data (ExampleGen run, span, record counts), "
                                        "transform graph, Trainer run with hyperparameters, and the evaluation that "
                                        "blessed it.")
    add_dataset(p)
    add_output_dir(p)
    p.add_argument("--metadata", default=None, metavar="URI", help=METADATA_HELP)
    add_output_format(p)
    p.set_defaults(func=cmd_lineage)
