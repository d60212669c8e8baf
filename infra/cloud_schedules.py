"""Scheduled retraining in the cloud: Vertex AI PipelineJobSchedules and KFP recurring runs.

Cron expressions are the standard five fields (minute hour day month weekday). Vertex
takes them as they are; KFP's recurring runs want a leading seconds field, added here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from croniter import croniter

from infra.cloud_config import CloudConfig
from infra.submit import SubmitError, cloud_call, kfp_call, kfp_client


@dataclass
class Schedule:
    id: str
    name: str
    cron: str
    state: str


def check_cron(cron: str) -> str:
    """A valid five-field cron expression, optionally led by ``TZ=Area/City`` (as Vertex AI
    takes it; UTC otherwise), or a SubmitError saying why not."""
    zone, fields = _split_zone(cron)
    if zone:
        check_time_zone(zone)
    if len(fields.split()) != 5 or not croniter.is_valid(fields):
        raise SubmitError(f"cron {cron!r} is not a five-field cron expression such as '0 3 * * 1' "
                          "(minute hour day-of-month month day-of-week), optionally led by TZ=Europe/Berlin")
    return cron


def _split_zone(cron: str) -> tuple[str, str]:
    cron = cron.strip()
    if cron.startswith(("TZ=", "CRON_TZ=")):
        zone, _, fields = cron.partition(" ")
        return zone.split("=", 1)[1], fields
    return "", cron


def check_time_zone(zone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SubmitError(f"time zone {zone!r} is not an IANA time zone such as Europe/Berlin or America/New_York") \
            from None
    return zone


def with_time_zone(cron: str, zone: Optional[str]) -> str:
    """``cron`` in ``zone`` (Vertex AI's ``TZ=...`` prefix); unchanged without one."""
    if not zone:
        return check_cron(cron)
    if _split_zone(cron)[0]:
        raise SubmitError(f"cron {cron!r} names a time zone already; drop --time-zone or the TZ= prefix")
    return check_cron(f"TZ={check_time_zone(zone)} {cron}")


def kfp_cron(cron: str) -> str:
    zone, fields = _split_zone(check_cron(cron))
    if zone:
        raise SubmitError(f"Kubeflow Pipelines' recurring runs take cron in UTC: give {fields!r} in UTC "
                          f"instead of time zone {zone}")
    return f"0 {fields}"


def vertex_schedule(job, config: CloudConfig, display_name: str):
    """The PipelineJobSchedule for ``job``, not created yet (built offline)."""
    from google.cloud import aiplatform

    with cloud_call(f"a Vertex AI schedule (project {config.project}, region {config.region})"):
        return aiplatform.PipelineJobSchedule(pipeline_job=job, display_name=display_name, project=config.project,
                                              location=config.region, credentials=job.credentials)


def create_vertex_schedule(job, config: CloudConfig, cron: str, display_name: str, max_concurrent_runs: int = 1) -> str:
    """``display_name``: the schedule's (a job has none of its own before it is created)."""
    check_cron(cron)
    schedule = vertex_schedule(job, config, display_name)
    with cloud_call(f"creating a Vertex AI schedule (project {config.project}, region {config.region})"):
        schedule.create(cron=cron, max_concurrent_run_count=max_concurrent_runs,
                        service_account=config.service_account or None)
        return schedule.resource_name


def vertex_schedule_request(job, config: CloudConfig, cron: str, display_name: str,
                            max_concurrent_runs: int = 1) -> dict:
    """What ``create_vertex_schedule`` would send: the Schedule as ``create`` completes it."""
    from google.protobuf import json_format

    from infra.submit import compact_spec

    check_cron(cron)
    schedule = vertex_schedule(job, config, display_name)._gca_resource
    schedule.cron = cron
    schedule.max_concurrent_run_count = max_concurrent_runs
    if config.service_account:
        schedule.create_pipeline_job_request.pipeline_job.service_account = config.service_account
    request = json_format.MessageToDict(type(schedule).pb(schedule))
    pipeline_job = request["createPipelineJobRequest"]["pipelineJob"]
    pipeline_job["pipelineSpec"] = compact_spec(pipeline_job.get("pipelineSpec", {}))
    return {"parent": f"projects/{config.project}/locations/{config.region}", "schedule": request}


def kfp_recurring_run_request(name: str, cron: str, parameter_values: dict, max_concurrent_runs: int = 1,
                              experiment: str = "tfxp") -> dict:
    """What ``create_kfp_recurring_run`` would send."""
    return {"display_name": name, "experiment": experiment, "cron_expression": kfp_cron(cron),
            "max_concurrency": max_concurrent_runs, "no_catchup": True, "parameters": parameter_values}


def list_vertex_schedules(config: CloudConfig, credentials=None) -> list[Schedule]:
    from google.cloud import aiplatform

    with cloud_call(f"listing Vertex AI schedules (project {config.project}, region {config.region})"):
        return [Schedule(s.resource_name, s.display_name, s.cron, s.state.name)
                for s in aiplatform.PipelineJobSchedule.list(project=config.project, location=config.region,
                                                              credentials=credentials)]


def delete_vertex_schedule(config: CloudConfig, schedule_id: str, credentials=None) -> None:
    from google.cloud import aiplatform

    with cloud_call(f"deleting Vertex AI schedule {schedule_id}"):
        aiplatform.PipelineJobSchedule.get(schedule_id, project=config.project, location=config.region,
                                           credentials=credentials).delete()


def create_kfp_recurring_run(host: str, package_path: str, name: str, cron: str, parameter_values: dict,
                             max_concurrent_runs: int = 1, experiment: str = "tfxp") -> str:
    cron = kfp_cron(cron)
    client = kfp_client(host)
    with kfp_call(f"creating a recurring run on Kubeflow Pipelines at {host}"):
        experiment_id = client.create_experiment(experiment).experiment_id
        run = client.create_recurring_run(experiment_id=experiment_id, job_name=name, cron_expression=cron,
                                          pipeline_package_path=package_path, params=parameter_values,
                                          max_concurrency=max_concurrent_runs, no_catchup=True)
        return run.recurring_run_id


def list_kfp_recurring_runs(host: str) -> list[Schedule]:
    client = kfp_client(host)
    with kfp_call(f"listing recurring runs on Kubeflow Pipelines at {host}"):
        runs = client.list_recurring_runs(page_size=200).recurring_runs or []
        return [Schedule(r.recurring_run_id, r.display_name, r.trigger.cron_schedule.cron if r.trigger else "",
                         str(r.status)) for r in runs]


def delete_kfp_recurring_run(host: str, run_id: str) -> None:
    client = kfp_client(host)
    with kfp_call(f"deleting recurring run {run_id} on Kubeflow Pipelines at {host}"):
        client.delete_recurring_run(run_id)
