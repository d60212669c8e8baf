"""Compiled Kubeflow v2 / Vertex AI specs, the container image, and submission errors.

Specs are checked with the kfp-pipeline-spec protobuf and by loading them into the real
aiplatform.PipelineJob (anonymous credentials: nothing leaves the machine).
"""
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from infra.cloud_config import EXAMPLE, load_config
from infra.submit import SubmitError, submit_kfp, vertex_pipeline_job
from pipelines.kubeflow_v2_runner import cloud_pipeline_name, compile_pipeline
from tfxp_contract.dataset_spec import builtin_spec_names, load_spec

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "europe-west4-docker.pkg.dev/acme/ml/tfxp:2.0"


@pytest.fixture(scope="module")
def config():
    return dataclasses.replace(load_config(EXAMPLE), project="acme", region="europe-west4", image=IMAGE,
                               root="gs://acme-ml/tfxp")


@pytest.fixture(scope="module")
def compiled(config, tmp_path_factory):
    out = tmp_path_factory.mktemp("compiled")
    return {name: compile_pipeline(load_spec(name), config, str(out / f"{name}.json")) for name in builtin_spec_names()}


@pytest.mark.parametrize("name", builtin_spec_names())
def test_every_dataset_compiles_to_a_valid_pipeline_spec(name, compiled, config):
    job = json_format.Parse(Path(compiled[name]).read_text(), pipeline_spec_pb2.PipelineJob(),
                            ignore_unknown_fields=False)
    spec = job.pipeline_spec
    assert spec["pipelineInfo"]["name"] == cloud_pipeline_name(load_spec(name))
    executors = spec["deploymentSpec"]["executors"]
    containers = [e["container"] for e in executors.values() if "container" in e]
    assert containers and {c["image"] for c in containers} == {IMAGE}
    assert set(spec["root"]["inputDefinitions"]["parameters"]) == {"data_root", "train_args"}
    assert job.runtime_config.gcs_output_directory == f"gs://acme-ml/tfxp/pipelines/{name}"
    assert job.runtime_config.parameter_values["data_root"].string_value == f"gs://acme-ml/tfxp/data/{name}"
    # Beam steps run on Dataflow with the project image; the Trainer is a Vertex AI custom job.
    example_gen = next(c for k, c in executors.items() if "ExampleGen" in k)["container"]
    assert "--runner=DataflowRunner" in example_gen["args"]
    assert f"--sdk_container_image={IMAGE}" in example_gen["args"]
    assert "--temp_location=gs://acme-ml/tfxp/dataflow/tmp" in example_gen["args"]
    trainer = executors["Trainer_executor"]["container"]["args"]
    assert "tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor" in trainer

    # The real Vertex AI client accepts it, with per-run parameters.
    vertex = vertex_pipeline_job(config, compiled[name], cloud_pipeline_name(load_spec(name)),
                                 {"data_root": "gs://elsewhere/raw", "train_args": '{"num_steps": 100}'},
                                 credentials=AnonymousCredentials())
    runtime = vertex._gca_resource.runtime_config
    assert runtime.parameter_values["data_root"] == "gs://elsewhere/raw"
    assert runtime.gcs_output_directory == f"gs://acme-ml/tfxp/pipelines/{name}"


@pytest.mark.parametrize("name", builtin_spec_names())
def test_the_baseline_is_the_served_model_never_cached_and_no_task_is_a_resolver(name, compiled):
    """No resolver (Kubeflow Pipelines' backend has none; on Vertex AI its query would search
    the project's shared metadata store): the served model is the baseline, read afresh."""
    spec = json.loads(Path(compiled[name]).read_text())["pipelineSpec"]
    assert not [label for label, e in spec["deploymentSpec"]["executors"].items() if "container" not in e]
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["ServedBaseline"]["cachingOptions"] == {}
    assert tasks["Evaluator"]["inputs"]["artifacts"]["baseline_model"]["taskOutputArtifact"] == \
        {"producerTask": "ServedBaseline", "outputArtifactKey": "baseline_model"}
    served = tasks["ServedBaseline"]["inputs"]["parameters"]["serving_root"]["runtimeValue"]["constant"]
    assert served == f"gs://acme-ml/tfxp/serving/{name}"


@pytest.mark.parametrize("name", builtin_spec_names())
def test_every_dataset_compiles_for_kubeflow_pipelines_as_kfps_client_loads_it(name, config, tmp_path):
    """A bare PipelineSpec YAML, read by kfp's own package loader (what ``Client.
    create_run_from_pipeline_package`` calls): schema 2.1.0, defaults in the spec, container
    tasks only (KFP's backend has no resolver or custom-job executor), the Trainer in its step."""
    from kfp.client.client import _extract_pipeline_yaml

    from pipelines.kubeflow_v2_runner import KFP

    kfp_config = dataclasses.replace(config, training=None)
    path = compile_pipeline(load_spec(name), kfp_config, str(tmp_path / f"{name}.yaml"), target=KFP)
    spec = json_format.MessageToDict(_extract_pipeline_yaml(path).pipeline_spec)
    assert spec["schemaVersion"] == "2.1.0"
    assert spec["defaultPipelineRoot"] == f"gs://acme-ml/tfxp/pipelines/{name}"
    assert spec["root"]["inputDefinitions"]["parameters"]["data_root"]["defaultValue"] == \
        f"gs://acme-ml/tfxp/data/{name}"
    executors = spec["deploymentSpec"]["executors"]
    assert all(set(e) == {"container"} for e in executors.values())
    assert not any("google_cloud_ai_platform" in a for e in executors.values() for a in e["container"].get("args", []))
    # KFP skips ExampleGen's driver (which puts the input's fingerprint into the cache key on
    # Vertex AI): a cached ExampleGen would reuse old examples for new files, so it is never cached.
    tasks = spec["root"]["dag"]["tasks"]
    with_driver = [t for t, task in tasks.items() if "preCacheCheck" in executors[
        spec["components"][task["componentRef"]["name"]]["executorLabel"]]["container"].get("lifecycle", {})]
    assert with_driver and all(tasks[t].get("cachingOptions", {}).get("enableCache") is not True for t in with_driver)
    assert tasks["Transform"]["cachingOptions"]["enableCache"] is True


def test_kubeflow_pipelines_refuses_the_vertex_training_section(config, tmp_path):
    from infra.cloud_config import CloudConfigError
    from pipelines.kubeflow_v2_runner import KFP

    with pytest.raises(CloudConfigError, match="Kubeflow Pipelines cannot run; for --target kfp remove it"):
        compile_pipeline(load_spec("house_votes"), config, str(tmp_path / "x.yaml"), target=KFP)


def test_unknown_parameter_and_region_are_clear_errors(compiled, config):
    with pytest.raises(SubmitError, match="parameter nope is not found"):
        vertex_pipeline_job(config, compiled["mnist"], "mnist", {"nope": "1"}, credentials=AnonymousCredentials())
    with pytest.raises(SubmitError, match="Unsupported region for Vertex AI"):
        vertex_pipeline_job(dataclasses.replace(config, region="europe-mars1"), compiled["mnist"], "mnist",
                            credentials=AnonymousCredentials())


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tfxp_cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)


def _without_credentials(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG")}
    return {**env, "HOME": str(tmp_path), "GCE_METADATA_HOST": "127.0.0.1:9", "GCE_METADATA_IP": "127.0.0.1:9"}


@pytest.mark.slow
def test_submission_without_credentials_says_what_to_do(tmp_path):
    result = _cli("submit", "house_votes", "--cloud-config", EXAMPLE, env=_without_credentials(tmp_path))
    assert result.returncode == 1
    assert "no Google Cloud credentials found: run `gcloud auth application-default login`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["create", "house_votes", "--cron", "0 3 * *"], "is not a five-field cron expression"),
    (["list"], "no Google Cloud credentials found"),
    (["delete", "projects/p/locations/us-central1/schedules/1"], "no Google Cloud credentials found"),
    (["list", "--kfp-host", "http://127.0.0.1:9"], "the host could not be reached"),
])
def test_cloud_schedule_commands_fail_clearly_offline(tmp_path, args, message):
    result = _cli("cloud-schedule", *args, "--cloud-config", EXAMPLE, env=_without_credentials(tmp_path))
    assert result.returncode == 1 and message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_kfp_submission_to_an_unreachable_host_is_a_clear_error(compiled):
    with pytest.raises(SubmitError, match="the host could not be reached"):
        submit_kfp("http://127.0.0.1:9", compiled["house_votes"], "house-votes")


@pytest.mark.slow
def test_tfx_cli_vertex_engine_compiles_our_pipeline(tmp_path):
    """TFX's own CLI: `tfx pipeline create --engine vertex` with our runner file; `tfx run
    create` then gets as far as asking for credentials."""
    env = {**_without_credentials(tmp_path), "TFXP_DATASET": "house_votes", "TFXP_CLOUD_CONFIG": str(EXAMPLE),
           "VERTEX_HOME": str(tmp_path / "vertex"),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}  # TFX looks for kfp via `pip`
    tfx = shutil.which("tfx", path=os.path.dirname(sys.executable))
    create = subprocess.run([tfx, "pipeline", "create", "--engine", "vertex", "--pipeline_path",
                             str(ROOT / "pipelines" / "kubeflow_v2_runner.py")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert 'Pipeline "house-votes" created successfully.' in create.stdout, create.stderr[-2000:]
    written = json.loads((tmp_path / "vertex" / "house-votes" / "pipeline.json").read_text())
    assert written["runtimeConfig"]["parameterValues"]["data_root"].endswith("/data/house_votes")
    run = subprocess.run([tfx, "run", "create", "--engine", "vertex", "--pipeline_name", "house-votes",
                          "--project", "my-project", "--region", "us-central1"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode != 0 and "DefaultCredentialsError" in run.stderr


def _pin(package: str) -> str:
    return re.search(rf"^{re.escape(package)}==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M).group(1)


def test_dockerfile_builds_on_the_pinned_tfx_image_with_the_pinned_beam_boot_and_installs_the_project():
    """Checked statically (no Docker engine here): base image and Beam's boot binary match the
    pins, every COPY source exists, every installed package is copied, the import check names
    modules that exist."""
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    assert re.search(rf"^FROM gcr\.io/tfx-oss-public/tfx:{re.escape(_pin('tfx'))}$", dockerfile, re.M)
    # Dataflow boots workers with /opt/apache/beam/boot: the pinned SDK's, not the base image's.
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"COPY --from=apache/beam_python{python}_sdk:{_pin('apache-beam')} /opt/apache/beam /opt/apache/beam" \
        in dockerfile
    assert re.search(r"pip install .*-c constraints\.txt \.", dockerfile)
    for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), source
    packages = re.search(r"include\s*=\s*\[([^\]]*)\]", (ROOT / "pyproject.toml").read_text()).group(1)
    for package in re.findall(r'"([a-z_]+)\*?"', packages):  # every package the project installs is copied in
        assert f"COPY {package}/ {package}/" in dockerfile, package
    _imports_exist(dockerfile)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv/" in ignored and "outputs/" in ignored


def _imports_exist(dockerfile: str) -> None:
    import importlib.util

    [check] = re.findall(r'python -c "(import [^"]+)"', dockerfile)
    for module in re.findall(r"(?:import |, )([a-z_][\w.]*)(?: as \w+)?", check.split(";")[0]):
        assert importlib.util.find_spec(module) is not None, module


def test_the_tpu_image_adds_tpu_vm_tensorflow_of_the_pinned_minor_version_and_libtpu():
    recipe = (ROOT / "infra" / "Dockerfile.tpu").read_text()
    assert re.search(r"^ARG BASE\nFROM \$\{BASE\}$", recipe, re.M)  # on top of the project image
    pinned_minor = ".".join(_pin("tensorflow").split(".")[:2])
    wheel = re.search(r"^ARG TF_TPU_WHEEL=(\S+)$", recipe, re.M).group(1)
    assert wheel.startswith("https://storage.googleapis.com/cloud-tpu-tpuvm-artifacts/tensorflow/tf-")
    assert re.search(rf"/tensorflow-{re.escape(pinned_minor)}\.\d+-cp310-cp310-manylinux", wheel), wheel
    assert re.search(r"^ARG LIBTPU=https://storage\.googleapis\.com/cloud-tpu-tpuvm-artifacts/libtpu/[\d.]+/libtpu\.so$",
                     recipe, re.M)
    assert '-o /lib/libtpu.so' in recipe  # where Vertex AI's TPU VMs look for it
    assert "--no-deps" in recipe  # the pinned set stays as it is, TensorFlow aside
    _imports_exist(recipe)


def test_a_spec_with_batch_inference_compiles_with_the_bulk_inferrer(config, tmp_path):
    from tests.helpers import builtin_spec_dict
    from tfxp_contract.dataset_spec import spec_from_dict
    raw = builtin_spec_dict("house_votes")
    raw["inference"] = {"folder": "gs://acme-ml/new-votes", "pattern": "*.csv"}
    path = compile_pipeline(spec_from_dict(raw), config, str(tmp_path / "votes.json"))
    executors = json.loads(Path(path).read_text())["pipelineSpec"]["deploymentSpec"]["executors"]
    assert {"InferenceExampleGen_executor", "BulkInferrer_executor"} <= set(executors)
    vertex_pipeline_job(config, path, "house-votes", {}, credentials=AnonymousCredentials())
