"""tfxp's cloud commands: compile, submit, cloud-schedule, stage, job-spec.

Each takes ``--cloud-config FILE`` (start from infra/cloud.example.yaml). Submission goes to
Vertex AI Pipelines unless ``--kfp-host`` names a Kubeflow Pipelines v2 API server.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from tfxp_cli.arguments import NOT_BLESSED_EXIT, add_dataset, add_output_format, json_text


def _config(args):
    from infra.cloud_config import load_config
    return load_config(args.cloud_config)


def _parameters(args, spec, config) -> dict:
    values = config.run_parameters(spec.name)
    for pair in args.param:
        key, sep, value = pair.partition("=")
        if not sep or key not in values:
            raise SystemExit(f"error: --param expects NAME=VALUE with NAME one of {sorted(values)}, got {pair!r}")
        values[key] = value
    return values


def _target(args) -> str:
    """Kubeflow Pipelines when a KFP host is named (or --target kfp), Vertex AI otherwise."""
    return "kfp" if getattr(args, "kfp_host", None) or getattr(args, "target", "vertex") == "kfp" else "vertex"


def compile_checked(spec, config, output_dir: str, target: str = "vertex") -> str:
    """Compiles, then loads the result as its backend's client would (offline): Vertex AI's
    PipelineJob, or kfp's package loader."""
    from google.auth.credentials import AnonymousCredentials

    from infra.submit import kfp_run_request, vertex_pipeline_job
    from pipelines.kubeflow_v2_runner import KFP, cloud_pipeline_name, compile_pipeline
    suffix = ".yaml" if target == KFP else ".json"
    path = compile_pipeline(spec, config, str(Path(output_dir) / f"{cloud_pipeline_name(spec)}{suffix}"), target=target)
    if target == KFP:
        kfp_run_request(path, cloud_pipeline_name(spec))
    else:
        vertex_pipeline_job(config, path, cloud_pipeline_name(spec), credentials=AnonymousCredentials())
    return path


def cmd_compile(args) -> int:
    from tfxp_contract.dataset_spec import builtin_spec_names, load_spec
    config = _config(args)
    names = builtin_spec_names() if args.all else args.datasets
    if not names:
        raise SystemExit("error: name one or more datasets, or --all")
    for name in names:
        print(compile_checked(load_spec(name), config, args.output_dir, _target(args)))
    return 0


def _print_request(target: str, request: dict) -> int:
    print(json.dumps({"dry_run": True, "target": target, "request": request}, indent=2, sort_keys=True))
    return 0


def cmd_submit(args) -> int:
    from google.auth.credentials import AnonymousCredentials

    from infra.submit import (
        check_credentials,
        kfp_run_request,
        kfp_state,
        parse_labels,
        submit_kfp,
        submit_vertex,
        vertex_job_request,
        vertex_pipeline_job,
        vertex_state,
        wait_for,
    )
    from tfxp_contract.dataset_spec import load_spec
    spec, config, target = load_spec(args.dataset), _config(args), _target(args)
    parameters = _parameters(args, spec, config)
    labels = parse_labels(args.labels)
    if target == "kfp" and labels:
        raise SystemExit("error: --labels are for Vertex AI; Kubeflow Pipelines runs take no labels")
    caching = False if args.no_cache else None  # None: each task's compiled setting
    if target == "vertex" and not args.dry_run:
        check_credentials(config)
    from pipelines.kubeflow_v2_runner import cloud_pipeline_name  # TFX: seconds to import

    with tempfile.TemporaryDirectory() as tmp:
        path = compile_checked(spec, config, tmp, target)
        name = cloud_pipeline_name(spec)
        if target == "kfp":
            if args.dry_run:
                return _print_request(target, {"host": args.kfp_host, **kfp_run_request(
                    path, name, parameters, args.experiment, caching, args.run_name)})
            run_id = submit_kfp(args.kfp_host, path, name, parameters, enable_caching=caching,
                                experiment=args.experiment, run_name=args.run_name)
            print(f"submitted {name} to Kubeflow Pipelines at {args.kfp_host}: run {run_id}", flush=True)
            state = kfp_state(args.kfp_host, run_id) if args.wait else None
        else:
            job = vertex_pipeline_job(config, path, name, parameters, enable_caching=caching, run_name=args.run_name,
                                      labels=labels, credentials=AnonymousCredentials() if args.dry_run else None)
            if args.dry_run:
                return _print_request(target, vertex_job_request(job, config, args.experiment))
            print(f"submitted {name} to Vertex AI Pipelines: {submit_vertex(job, config, args.experiment)}", flush=True)
            state = vertex_state(job) if args.wait else None
    if state is None:
        return 0
    final = wait_for(state, lambda line: print(line, file=sys.stderr, flush=True), poll_seconds=args.poll_seconds)
    print(f"run ended: {final}")
    return 0 if final.endswith("SUCCEEDED") else 1


def cmd_cloud_schedule(args) -> int:
    from google.auth.credentials import AnonymousCredentials

    from infra import cloud_schedules
    from infra.submit import check_credentials, vertex_pipeline_job
    from tfxp_contract.dataset_spec import load_spec
    config, target = _config(args), _target(args)
    cron = cloud_schedules.with_time_zone(args.cron, args.time_zone) if args.action == "create" else None
    if target == "vertex" and not getattr(args, "dry_run", False):
        check_credentials(config)  # in a second, before the clients are imported or a pipeline compiled
    if args.action == "create":
        spec = load_spec(args.dataset)
        parameters = _parameters(args, spec, config)
        from pipelines.kubeflow_v2_runner import cloud_pipeline_name  # TFX: seconds to import

        with tempfile.TemporaryDirectory() as tmp:
            path = compile_checked(spec, config, tmp, target)
            name = cloud_pipeline_name(spec)
            if target == "kfp":
                if args.dry_run:
                    return _print_request(target, {"host": args.kfp_host, **cloud_schedules.kfp_recurring_run_request(
                        name, cron, parameters, args.max_concurrent)})
                made = cloud_schedules.create_kfp_recurring_run(args.kfp_host, path, name, cron, parameters,
                                                                args.max_concurrent)
            else:
                job = vertex_pipeline_job(config, path, name, parameters,
                                          credentials=AnonymousCredentials() if args.dry_run else None)
                if args.dry_run:
                    return _print_request(target, cloud_schedules.vertex_schedule_request(
                        job, config, cron, f"{name}-schedule", args.max_concurrent))
                made = cloud_schedules.create_vertex_schedule(job, config, cron, f"{name}-schedule", args.max_concurrent)
        print(f"schedule created: {made} ({cron})")
    elif args.action == "list":
        found = (cloud_schedules.list_kfp_recurring_runs(args.kfp_host) if target == "kfp"
                 else cloud_schedules.list_vertex_schedules(config))
        if args.output == "json":
            print(json_text([dataclasses.asdict(s) for s in found]))
        else:
            for s in found:
                print(f"{s.id}\t{s.name}\t{s.cron}\t{s.state}")
            if not found:
                print("no schedules", file=sys.stderr)
    else:
        if target == "kfp":
            cloud_schedules.delete_kfp_recurring_run(args.kfp_host, args.schedule_id)
        else:
            cloud_schedules.delete_vertex_schedule(config, args.schedule_id)
        print(f"schedule deleted: {args.schedule_id}")
    return 0


def cmd_run_compiled(args) -> int:
    from pipelines.compiled_run import run_compiled

    parameters = {}
    for pair in args.param:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --param expects NAME=VALUE, got {pair!r}")
        parameters[key] = value
    done = run_compiled(args.file, args.root, parameters=parameters, store=args.store, cache=not args.no_cache,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    blessing, pushed = done.artifact("Evaluator", "blessing"), None
    for outputs in done.outputs.values():
        pushed = pushed or next((r for rs in outputs.values() for r in rs if r.schema_title == "tfx.PushedModel"), None)
    verdict = ("no evaluation" if blessing is None else
               "BLESSED" if blessing.metadata.get("blessed") == 1 else "NOT BLESSED")
    was_pushed = pushed is not None and pushed.metadata.get("pushed") == 1
    if args.output == "json":
        print(json_text({"pipeline": done.pipeline, "run": done.run, "task_seconds": done.seconds,
                         "cached_tasks": done.cached,
                         "blessed": None if blessing is None else blessing.metadata.get("blessed") == 1,
                         "pushed": was_pushed, "version": pushed.metadata.get("pushed_version") if was_pushed else None,
                         "destination": pushed.metadata.get("pushed_destination") if was_pushed else None,
                         "artifacts": done.run_root}))
    else:
        where = (f"; pushed as version {pushed.metadata.get('pushed_version')} to "
                 f"{pushed.metadata.get('pushed_destination')}" if was_pushed else "; nothing pushed")
        reused = f" ({len(done.cached)} more cached)" if done.cached else ""
        print(f"{done.pipeline} run {done.run}: {len(done.seconds)} tasks in {sum(done.seconds.values()):.0f} s{reused}, "
              f"model {verdict}{where}; artifacts under {done.run_root}")
    if args.fail_if_not_blessed and verdict != "BLESSED":
        print(f"error: the model was not blessed (exit {NOT_BLESSED_EXIT}, --fail-if-not-blessed)", file=sys.stderr)
        return NOT_BLESSED_EXIT
    return 0


def cmd_stage(args) -> int:
    from google.cloud import storage

    from infra.gcs_staging import stage_files, verify_staged
    from tfxp_contract.dataset_spec import load_spec
    from tfxp_contract.fetch import fetch_dataset
    spec = load_spec(args.dataset)
    if not args.to and not args.cloud_config:
        raise SystemExit("error: give the destination with --to gs://bucket/prefix, or --cloud-config")
    destination = args.to or _config(args).data_root(spec.name)
    folder = fetch_dataset(spec, args.data_dir)  # local copy, checksums verified
    client = storage.Client(project=args.project) if args.project else storage.Client()
    staged = stage_files([folder / f.name for f in spec.files], destination, client,
                         progress=lambda line: print(line, file=sys.stderr))
    verify_staged(spec, destination, client)
    uploaded = sum(1 for s in staged if s.action == "uploaded")
    print(f"{destination}: {uploaded} uploaded, {len(staged) - uploaded} already there; contents verified")
    return 0


def cmd_job_spec(args) -> int:
    from infra.vertex_training import distribution_for, override_cluster, trainer_custom_config
    from tfxp_contract.dataset_spec import distribution_from_dict, load_spec

    spec, config = load_spec(args.dataset), _config(args)
    cluster = override_cluster(config.training, workers=args.workers, machine_type=args.machine_type, gpus=args.gpus,
                               gpu_type=args.gpu_type, tpu_type=args.tpu_type, tpu_cores=args.tpu_cores)
    config = dataclasses.replace(config, training=cluster)
    distribution = distribution_from_dict({**dataclasses.asdict(spec.distribution), **distribution_for(cluster)})
    print(json_text({"dataset": spec.name, "distribution": dataclasses.asdict(distribution),
                     "trainer_custom_config": trainer_custom_config(config)}))
    return 0


def _cloud_options(p: argparse.ArgumentParser, kfp: bool = True, params: bool = False) -> None:
    p.add_argument("--cloud-config", required=True, metavar="FILE",
                   help="cloud settings YAML: project, region, image, gs:// root, training, dataflow "
                        "(start from infra/cloud.example.yaml)")
    if kfp:
        p.add_argument("--kfp-host", default=None, metavar="URL",
                       help="a Kubeflow Pipelines v2 API server (e.g. http://localhost:8080) instead of Vertex AI")
    if params:
        p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a runtime parameter: data_root=gs://..., train_args='{\"num_steps\": 500}' (repeatable)")


def add_cloud_commands(commands) -> None:
    p = commands.add_parser("compile", help="compile pipelines to Kubeflow v2 / Vertex AI PipelineSpec JSON",
                            description="Compiles with KubeflowV2DagRunner and checks each file by loading it into "
                                        "the Vertex AI client (offline; nothing is submitted).")
    p.add_argument("datasets", nargs="*", help="built-in dataset names or spec .yaml paths")
    p.add_argument("--all", action="store_true", help="every built-in dataset")
    p.add_argument("--output-dir", default="compiled", metavar="DIR", help="where the files go (default: compiled)")
    p.add_argument("--target", choices=("vertex", "kfp"), default="vertex",
                   help="vertex: a Vertex AI PipelineJob .json (default); kfp: a PipelineSpec .yaml for open-source "
                        "Kubeflow Pipelines v2 (no custom-job Trainer: drop the config's training: section)")
    _cloud_options(p, kfp=False)
    p.set_defaults(func=cmd_compile)

    p = commands.add_parser("submit", help="compile and start a run on Vertex AI Pipelines or Kubeflow Pipelines",
                            description="Compiles the dataset's pipeline, checks it with the Vertex AI client and "
                                        "starts a run; with --wait, follows it until it ends (exit 1 unless it "
                                        "succeeded).")
    add_dataset(p)
    p.add_argument("--no-cache", action="store_true", help="disable the orchestrator's step cache for this run")
    p.add_argument("--wait", action="store_true", help="follow the run until it ends; exit 1 unless it succeeded")
    p.add_argument("--poll-seconds", type=float, default=30.0, metavar="S", help="with --wait: how often to look "
                                                                                 "(default 30)")
    p.add_argument("--experiment", default=None, metavar="NAME",
                   help="Vertex AI Experiments / KFP experiment the run belongs to (KFP default: tfxp)")
    p.add_argument("--run-name", default=None, metavar="NAME",
                   help="the run's id (Vertex AI) or name (KFP): lower-case letters, digits and '-'")
    p.add_argument("--labels", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                   help="Vertex AI labels on the run, e.g. --labels team=ml,trigger=manual (repeatable)")
    p.add_argument("--dry-run", action="store_true",
                   help="build the request offline and print it as JSON (parameters, labels, service account; the "
                        "pipeline spec shortened to its tasks); nothing is sent")
    _cloud_options(p, params=True)
    p.set_defaults(func=cmd_submit)

    p = commands.add_parser("cloud-schedule", help="create, list or delete scheduled retraining in the cloud",
                            description="Vertex AI PipelineJobSchedules, or KFP recurring runs with --kfp-host.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("create", help="schedule a dataset's pipeline",
                           description="Cron in UTC unless a time zone is given (Vertex AI only; KFP recurring "
                                       "runs are UTC).")
    add_dataset(q)
    q.add_argument("--cron", required=True,
                   help="five-field cron, e.g. '0 3 * * 1' (Mondays 03:00), or 'TZ=Europe/Berlin 0 3 * * 1'")
    q.add_argument("--time-zone", default=None, metavar="ZONE",
                   help="IANA time zone the cron is in, e.g. Europe/Berlin (default: UTC)")
    q.add_argument("--max-concurrent", type=int, default=1, metavar="N", help="runs at once at most (default 1)")
    q.add_argument("--dry-run", action="store_true",
                   help="build the schedule request offline and print it as JSON (cron with its TZ= prefix, parameters, "
                        "service account); nothing is sent")
    _cloud_options(q, params=True)
    q = actions.add_parser("list", help="list the schedules")
    add_output_format(q)
    _cloud_options(q)
    q = actions.add_parser("delete", help="delete a schedule")
    q.add_argument("schedule_id", metavar="SCHEDULE_ID",
                   help="the schedule's resource name (Vertex AI) or recurring run id (KFP), as `list` shows")
    _cloud_options(q)
    p.set_defaults(func=cmd_cloud_schedule)

    p = commands.add_parser(
        "run-compiled", help="execute a compiled pipeline here, task by task, as Vertex AI or KFP would",
        description="Walks the compiled DAG in dependency order and runs each task's own container command "
                    "(TFX's Kubeflow v2 executor entry point) in a subprocess of this environment with the "
                    "ExecutorInput the backend would build, its outputs laid out as the backend lays them out. The "
                    "cloud config's gs:// root becomes a file:// URI of --root, which Python's own file functions "
                    "cannot open (as they cannot open gs://); a Trainer compiled as a Vertex AI custom job runs its "
                    "worker pools as local processes; Beam steps compiled for Dataflow run with the DirectRunner. "
                    "Tasks compiled cacheable reuse an earlier run's outputs under --root when their cache key "
                    "matches, as the backends' step cache does. "
                    "A KFP file (.yaml) is refused where KFP's backend refuses it. Proves the compiled file, not the "
                    "image, IAM or quotas.")
    p.add_argument("file", help="a compiled pipeline: Vertex AI .json or Kubeflow Pipelines .yaml (tfxp compile)")
    p.add_argument("--root", required=True, metavar="DIR",
                   help="local folder standing in for the cloud config's gs:// root (pipeline roots, staged data "
                        "under data/<dataset>, served models)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a runtime parameter: data_root=DIR, train_args='{\"num_steps\": 5}' (repeatable)")
    p.add_argument("--store", default=None, metavar="FILE",
                   help="the artifact store and step cache (default: <root>/compiled_metadata.json)")
    p.add_argument("--no-cache", action="store_true",
                   help="run every task, as a run submitted with caching off (tfxp submit --no-cache)")
    add_output_format(p)
    p.add_argument("--fail-if-not-blessed", action="store_true",
                   help=f"exit {NOT_BLESSED_EXIT} when the Evaluator does not bless the model")
    p.set_defaults(func=cmd_run_compiled)

    p = commands.add_parser("stage", help="upload a dataset's raw files to GCS (resumable, checksummed, skips "
                                          "files already there)")
    add_dataset(p)
    p.add_argument("--data-dir", default=None, metavar="DIR", help="local mirror (default: download to the cache)")
    p.add_argument("--to", default=None, metavar="GS_URL", help="destination (default: the config's <root>/data/<dataset>)")
    p.add_argument("--project", default=None, help="project for the storage client (default: the environment's)")
    p.add_argument("--cloud-config", default=None, metavar="FILE", help="cloud settings YAML (for the default destination)")
    p.set_defaults(func=cmd_stage)

    p = commands.add_parser(
        "job-spec", help="show the Vertex AI custom job the Trainer would start for a dataset",
        description="Prints the strategy and the Trainer's Vertex AI settings (worker pool specs, checked by "
                    "the Vertex AI client) from --cloud-config, with the changes given here. Nothing is submitted.")
    add_dataset(p)
    _cloud_options(p, kfp=False)
    p.add_argument("--workers", type=int, default=None, metavar="N", help="worker replicas besides the chief (0: none)")
    p.add_argument("--machine-type", default=None, help="machine type of the chief and workers, e.g. n1-standard-8")
    p.add_argument("--gpus", type=int, default=None, metavar="N", help="GPUs per replica (0: none)")
    p.add_argument("--gpu-type", default=None, help="accelerator type, e.g. NVIDIA_TESLA_T4 (default: the config's)")
    p.add_argument("--tpu-type", default=None, help="train on one TPU VM instead, e.g. TPU_V3")
    p.add_argument("--tpu-cores", type=int, default=None, metavar="N", help="TPU cores (default 8)")
    add_output_format(p, json_only=True)
    p.set_defaults(func=cmd_job_spec)
