"""Submitting compiled pipelines: Vertex AI Pipelines (google-cloud-aiplatform) or an
open-source Kubeflow Pipelines v2 backend (kfp client).

Every call to a cloud API goes through ``cloud_call``, which turns the clients' many
failure types (no credentials, unknown region, refused request, unreachable host) into
one ``SubmitError`` line that says what to do.
"""
from __future__ import annotations

import contextlib
import re
import time
from typing import Callable, Iterator, Optional

from infra.cloud_config import CloudConfig
from tfxp_contract.errors import ExplainedError

NO_CREDENTIALS = ("no Google Cloud credentials found: run `gcloud auth application-default login`, "
                  "or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file")


class SubmitError(ExplainedError, RuntimeError):
    """A submission or schedule call failed; the message says why and what to do."""


@contextlib.contextmanager
def cloud_call(what: str) -> Iterator[None]:
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    try:
        yield
    except auth_exceptions.DefaultCredentialsError:
        raise SubmitError(f"{what}: {NO_CREDENTIALS}") from None
    except auth_exceptions.GoogleAuthError as err:
        raise SubmitError(f"{what}: credentials rejected: {err}") from None
    except (api_exceptions.Unauthenticated, api_exceptions.PermissionDenied) as err:
        raise SubmitError(f"{what}: not allowed: {err.message} (check the project, and the account's roles)") from None
    except api_exceptions.GoogleAPICallError as err:
        raise SubmitError(f"{what}: the service refused the request: {err.message}") from None
    except api_exceptions.RetryError as err:
        raise SubmitError(f"{what}: the service could not be reached ({err.cause})") from None
    except ValueError as err:  # aiplatform validates regions, names and templates locally
        raise SubmitError(f"{what}: {err}") from None


# Vertex AI label keys and values, and run (job) ids: lower case letters, digits, '_' and '-'.
_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED", "ERROR")


def parse_labels(pairs: list[str]) -> dict[str, str]:
    """``key=value`` pairs (each may hold several, comma-separated) as Vertex AI labels."""
    labels = {}
    for pair in (p for given in pairs for p in given.split(",") if p):
        key, sep, value = pair.partition("=")
        if not sep or not _LABEL.match(key) or not _LABEL_VALUE.match(value):
            raise SubmitError(f"label {pair!r}: give key=value with a lower-case key (letters, digits, '_', '-', "
                              "starting with a letter) and a value of the same characters, 63 at most each")
        labels[key] = value
    return labels


def check_run_name(name: Optional[str]) -> Optional[str]:
    if name is not None and not _RUN_NAME.match(name):
        raise SubmitError(f"run name {name!r}: lower-case letters, digits and '-', starting with a letter or digit "
                          "(128 at most), as Vertex AI and KFP accept")
    return name


def check_credentials(config: CloudConfig) -> None:
    """Fails at once, before a pipeline is compiled, when this machine has no Google Cloud
    credentials (the Vertex AI clients would only find out after)."""
    import google.auth

    with cloud_call(f"Vertex AI (project {config.project}, region {config.region})"):
        google.auth.default()


def vertex_pipeline_job(config: CloudConfig, template_path: str, pipeline_name: str,
                        parameter_values: Optional[dict] = None, enable_caching: Optional[bool] = None,
                        credentials=None, run_name: Optional[str] = None, labels: Optional[dict] = None):
    """The Vertex AI PipelineJob for a compiled spec; building it validates the spec offline.
    ``enable_caching`` None keeps each task's compiled setting (the baseline task is never
    cached); True or False would apply to every task."""
    from google.cloud import aiplatform

    with cloud_call(f"Vertex AI pipeline job from {template_path}"):
        return aiplatform.PipelineJob(
            # The pipeline root is the compiled spec's own (runtimeConfig.gcsOutputDirectory).
            display_name=pipeline_name, template_path=template_path, parameter_values=parameter_values or {},
            enable_caching=enable_caching, project=config.project, location=config.region, credentials=credentials,
            job_id=check_run_name(run_name), labels=labels or None)


def compact_spec(spec: dict) -> dict:
    """A PipelineSpec shortened to its name, schema and tasks, for printing a request."""
    return {"pipelineInfo": spec.get("pipelineInfo", {}), "schemaVersion": spec.get("schemaVersion"),
            "tasks": sorted(spec.get("root", {}).get("dag", {}).get("tasks", {})),
            "note": "shortened: `tfxp compile` writes the whole spec"}


def vertex_job_request(job, config: CloudConfig, experiment: Optional[str] = None) -> dict:
    """What ``submit_vertex`` would send: the PipelineJob as ``job.submit`` completes it."""
    from google.protobuf import json_format

    resource = type(job._gca_resource).pb(job._gca_resource)
    request = json_format.MessageToDict(resource)
    request["pipelineSpec"] = compact_spec(request.get("pipelineSpec", {}))
    if config.service_account:
        request["serviceAccount"] = config.service_account
    return {"parent": f"projects/{config.project}/locations/{config.region}", "pipelineJob": request,
            "pipelineJobId": job.job_id, "experiment": experiment}


def submit_vertex(job, config: CloudConfig, experiment: Optional[str] = None) -> str:
    """Starts the run (in ``experiment``, Vertex AI Experiments, if given); returns its
    resource name (projects/.../pipelineJobs/...)."""
    with cloud_call(f"submitting to Vertex AI Pipelines (project {config.project}, region {config.region})"):
        job.submit(service_account=config.service_account or None, experiment=experiment)
        return job.resource_name


def wait_for(state: Callable[[], str], log: Callable[[str], None], poll_seconds: float = 30.0,
             sleep: Callable[[float], None] = time.sleep) -> str:
    """Polls ``state()`` until the run ends, logging each change; returns the final state."""
    last = None
    while True:
        current = state()
        if current != last:
            log(f"{time.strftime('%H:%M:%S')} {current}")
            last = current
        if any(current.endswith(final) for final in FINAL_STATES):
            return current
        sleep(poll_seconds)


def vertex_state(job) -> Callable[[], str]:
    def state() -> str:
        with cloud_call(f"reading the state of {job.resource_name}"):
            return job.state.name  # PipelineState.PIPELINE_STATE_RUNNING, ...
    return state


def kfp_state(host: str, run_id: str) -> Callable[[], str]:
    client = kfp_client(host)

    def state() -> str:
        with kfp_call(f"reading run {run_id} on Kubeflow Pipelines at {host}"):
            return str(client.get_run(run_id).state)
    return state


def kfp_client(host: str):
    import kfp

    with kfp_call(f"connecting to Kubeflow Pipelines at {host}"):
        return kfp.Client(host=host)


@contextlib.contextmanager
def kfp_call(what: str) -> Iterator[None]:
    """The kfp client raises urllib3/requests errors for an unreachable host and
    ApiException for a refused request."""
    try:
        yield
    except SubmitError:
        raise
    except Exception as err:  # kfp surfaces transport and API errors untyped
        name = type(err).__name__
        if name in ("MaxRetryError", "ConnectionError", "NewConnectionError", "ConnectionRefusedError"):
            raise SubmitError(f"{what}: the host could not be reached; is the KFP API server's address "
                              f"right (e.g. http://localhost:8080 after `kubectl port-forward`)?") from None
        if name == "ApiException":
            raise SubmitError(f"{what}: the server refused the request: {getattr(err, 'status', '')} "
                              f"{getattr(err, 'reason', '')}") from None
        raise


def kfp_run_request(package_path: str, pipeline_name: str, parameter_values: Optional[dict] = None,
                    experiment: Optional[str] = None, enable_caching: Optional[bool] = None,
                    run_name: Optional[str] = None) -> dict:
    """What ``submit_kfp`` would send, read from the package with kfp's own loader."""
    from google.protobuf import json_format
    from kfp.client.client import _extract_pipeline_yaml

    doc = _extract_pipeline_yaml(package_path)
    return {"display_name": check_run_name(run_name) or pipeline_name, "experiment": experiment or "tfxp",
            "pipeline_spec": compact_spec(json_format.MessageToDict(doc.pipeline_spec)),
            "runtime_config": {"parameters": parameter_values or {}},
            "enable_caching": enable_caching}


def submit_kfp(host: str, package_path: str, pipeline_name: str, parameter_values: Optional[dict] = None,
               experiment: Optional[str] = None, enable_caching: Optional[bool] = None,
               run_name: Optional[str] = None) -> str:
    """Starts a run on a KFP v2 backend (in ``experiment``, default "tfxp"); returns the run id.
    ``package_path``: the PipelineSpec YAML of ``tfxp compile --target kfp``. ``enable_caching``
    None keeps each task's compiled setting."""
    client = kfp_client(host)
    with kfp_call(f"submitting {package_path} to Kubeflow Pipelines at {host}"):
        result = client.create_run_from_pipeline_package(
            package_path, arguments=parameter_values or {}, run_name=check_run_name(run_name) or pipeline_name,
            experiment_name=experiment or "tfxp", enable_caching=enable_caching)
        return result.run_id
