"""Submitting compiled pipelines: Vertex AI Pipelines (google-cloud-aiplatform) or an
open-source Kubeflow Pipelines v2 backend (kfp client).

Every call to a cloud API goes through ``cloud_call``, which turns the clients' many
failure types (no credentials, unknown region, refused request, unreachable host) into
one ``SubmitError`` line that says what to do.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

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


def vertex_pipeline_job(config: CloudConfig, template_path: str, pipeline_name: str,
                        parameter_values: Optional[dict] = None, enable_caching: bool = True, credentials=None):
    """The Vertex AI PipelineJob for a compiled spec; building it validates the spec offline."""
    from google.cloud import aiplatform

    with cloud_call(f"Vertex AI pipeline job from {template_path}"):
        return aiplatform.PipelineJob(
            # The pipeline root is the compiled spec's own (runtimeConfig.gcsOutputDirectory).
            display_name=pipeline_name, template_path=template_path, parameter_values=parameter_values or {},
            enable_caching=enable_caching, project=config.project, location=config.region, credentials=credentials)


def submit_vertex(job, config: CloudConfig) -> str:
    """Starts the run; returns its resource name (projects/.../pipelineJobs/...)."""
    with cloud_call(f"submitting to Vertex AI Pipelines (project {config.project}, region {config.region})"):
        job.submit(service_account=config.service_account or None)
        return job.resource_name


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


def submit_kfp(host: str, package_path: str, pipeline_name: str, parameter_values: Optional[dict] = None,
               experiment: str = "tfxp", enable_caching: bool = True) -> str:
    """Starts a run on a KFP v2 backend; returns the run id."""
    client = kfp_client(host)
    with kfp_call(f"submitting {package_path} to Kubeflow Pipelines at {host}"):
        result = client.create_run_from_pipeline_package(
            package_path, arguments=parameter_values or {}, run_name=pipeline_name, experiment_name=experiment,
            enable_caching=enable_caching)
        return result.run_id
