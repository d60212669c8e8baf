"""Executing a compiled pipeline on this machine, task by task, the way Vertex AI Pipelines or
Kubeflow Pipelines would run it, and stricter wherever the two differ from a local run.

A compiled file is a Vertex AI PipelineJob (JSON: ``pipelineSpec`` and ``runtimeConfig``) or
a bare PipelineSpec for Kubeflow Pipelines (YAML: parameter defaults in the root's
``inputDefinitions``, the root in ``defaultPipelineRoot``). Each container task runs its own
command and arguments from ``deploymentSpec.executors`` in a subprocess of this environment,
through ``python -m pipelines.task_process``, with an ExecutorInput built as the backends build
it (kfp's local-execution helpers make the output artifact lists and fill ``{{$}}``):
``inputs.parameterValues`` and ``inputs.artifacts`` (each upstream artifact's name, type, URI
and metadata), output artifacts at the backend's URIs, and the ExecutorOutput file, read back
afterwards for each output's URI and metadata (a blessing's ``blessed``).

What makes it strict:
- **Artifact URIs are never local paths.** The cloud config's ``gs://`` root becomes a
  ``file://`` URI of ``--root``: TensorFlow, TFX's ``fileio`` and Beam open it, Python's
  ``open``, ``os.path``, ``shutil`` and ``pathlib`` cannot (``pipelines.file_uris``); every
  task runs in a folder where ``file:`` is a plain file, so such a call fails as it would on
  gs://. Output folders are not created in advance (object stores have none).
- **Locations as the backend lays them out**: Vertex AI
  ``<pipeline root>/<project number>/<job>/<task>_<id>/<key>`` with the ExecutorOutput beside
  the outputs; Kubeflow Pipelines ``<pipeline root>/<run>/<task>/<salt>/<key>`` with the
  ExecutorOutput in the container's local disk, as KFP's launcher reads it.
- **What a backend does not run, refused as it refuses it**: Kubeflow Pipelines accepts only
  schema 2.1.0 and has no resolver or custom-job executors, and ignores a container's
  ``lifecycle.preCacheCheck`` (ExampleGen's driver), so it is not run for a KFP file. On
  Vertex AI the driver runs first and the parameters it writes reach the executor.
- **The step cache as the backends keep it**: a task compiled with ``enableCache`` whose key
  (its component and container, its parameter values after ExampleGen's driver, its input
  artifacts) matches an earlier execution of the same pipeline under ``--root`` is not run: its
  outputs are that execution's artifacts, as on Vertex AI and KFP. A task that reads what no key
  covers must be compiled uncached (the served baseline; ExampleGen for KFP, which skips the
  driver that puts the input's fingerprint into the key). ``cache=False`` is a run submitted
  with caching off.
- **A Vertex AI custom job** (the Trainer with the cloud config's ``training:``, a spec's
  Tuner with its ``tuning:``) runs its worker pools as local processes with the ``CLUSTER_SPEC``/``TF_CONFIG`` Vertex AI gives
  them (``pipelines.local_custom_job``).

Beam arguments that name Dataflow are replaced by the DirectRunner in one process.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import yaml

from infra.dataflow import direct_runner_args
from pipelines import file_uris
from tfxp_contract.errors import ExplainedError

VERTEX, KFP = "vertex", "kfp"
KFP_SCHEMA_VERSION = "2.1.0"  # Kubeflow Pipelines' API server refuses any other
# Vertex AI's task root holds the project's number; here a stand-in.
PROJECT_NUMBER = "000000000000"
# Dataflow's arguments, dropped for a local run; the DirectRunner's take their place.
CLOUD_BEAM_FLAGS = ("--runner=", "--project=", "--region=", "--temp_location=", "--machine_type=",
                    "--max_num_workers=", "--disk_size_gb=", "--experiments=", "--sdk_container_image=",
                    "--service_account_email=", "--direct_running_mode=", "--direct_num_workers=")
LOCAL_BEAM_ARGS = direct_runner_args(None)
# Executors that start a Vertex AI custom job: TFX's extensions, and our parallel Tuner.
CUSTOM_JOB_EXECUTORS = ("tfx.extensions.google_cloud_ai_platform", "components.tuning.vertex_tuner.VertexTunerExecutor")


def starts_custom_job(args: list[str]) -> bool:
    return any(a.startswith(CUSTOM_JOB_EXECUTORS) for a in args)


class CompiledRunError(ExplainedError, RuntimeError):
    """A compiled pipeline could not be executed; the message names the task."""


@dataclass
class ArtifactRecord:
    name: str
    schema_title: str
    uri: str
    metadata: dict = field(default_factory=dict)
    pipeline: str = ""
    run: str = ""
    task: str = ""
    key: str = ""
    created: float = 0.0
    cache_key: str = ""  # the producing execution's step-cache key ("" when it was not cacheable)


class ArtifactStore:
    """The artifacts every execution recorded, in one JSON file that several pipelines share."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.records = [ArtifactRecord(**r) for r in json.loads(self.path.read_text())] if self.path.exists() else []

    def add(self, record: ArtifactRecord) -> ArtifactRecord:
        record.name = record.name or f"artifacts/{len(self.records) + 1}"
        record.created = time.time()
        self.records.append(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(r) for r in self.records], indent=1))
        os.replace(tmp, self.path)
        return record

    def cached(self, pipeline: str, cache_key: str) -> Optional[dict]:
        """The outputs (key -> [record]) of the newest execution in ``pipeline`` with ``cache_key``."""
        found = [r for r in self.records if r.pipeline == pipeline and r.cache_key == cache_key]
        if not found:
            return None
        newest = found[-1]  # records are kept in the order they were made
        outputs: dict = {}
        for record in found:
            if record.run == newest.run and record.task == newest.task:
                outputs.setdefault(record.key, []).append(record)
        return outputs


@dataclass
class Compiled:
    """A compiled file's PipelineSpec, parameter defaults, pipeline root and target backend."""
    spec: dict
    parameters: dict
    pipeline_root: str
    target: str

    @property
    def name(self) -> str:
        return self.spec["pipelineInfo"]["name"]


def load_compiled(path: str) -> Compiled:
    """A Vertex AI PipelineJob (.json) or a Kubeflow Pipelines PipelineSpec (.yaml)."""
    try:
        text = Path(path).read_text()
        if path.endswith((".yaml", ".yml")):
            spec = yaml.safe_load(text)
            defaults = {k: d["defaultValue"] for k, d in
                        spec["root"].get("inputDefinitions", {}).get("parameters", {}).items() if "defaultValue" in d}
            compiled = Compiled(spec, defaults, spec.get("defaultPipelineRoot", ""), KFP)
        else:
            job = json.loads(text)
            runtime = job.get("runtimeConfig", {})
            values = runtime.get("parameterValues") or {k: v.get("stringValue", "") for k, v in
                                                        runtime.get("parameters", {}).items()}
            compiled = Compiled(job["pipelineSpec"], values, runtime.get("gcsOutputDirectory", ""), VERTEX)
        compiled.spec["root"]["dag"]["tasks"]
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as err:
        raise CompiledRunError(f"{path}: not a compiled pipeline ({type(err).__name__}: {err})") from None
    if not compiled.pipeline_root:
        raise CompiledRunError(f"{path}: no pipeline root (runtimeConfig.gcsOutputDirectory or defaultPipelineRoot)")
    check_backend(compiled, path)
    return compiled


def check_backend(compiled: Compiled, path: str) -> None:
    """What the target backend would refuse, refused here with its reason."""
    if compiled.target != KFP:
        return
    if compiled.spec.get("schemaVersion") != KFP_SCHEMA_VERSION:
        raise CompiledRunError(f"{path}: Kubeflow Pipelines accepts schema version {KFP_SCHEMA_VERSION} only; this "
                               f"file has {compiled.spec.get('schemaVersion')}")
    for label, executor in compiled.spec["deploymentSpec"]["executors"].items():
        if "resolver" in executor:
            raise CompiledRunError(f"{path}: executor {label} is a resolver, which Kubeflow Pipelines' backend does "
                                   "not implement")
        if "customJob" in executor or starts_custom_job(executor.get("container", {}).get("args", [])):
            raise CompiledRunError(f"{path}: executor {label} is a Vertex AI custom job, which only Vertex AI runs")


def task_order(tasks: dict) -> list[str]:
    """Tasks in an order where each comes after everything it depends on."""
    needs = {}
    for name, task in tasks.items():
        producers = {a["taskOutputArtifact"]["producerTask"] for a in task.get("inputs", {}).get("artifacts", {}).values()
                     if "taskOutputArtifact" in a}
        needs[name] = set(task.get("dependentTasks", [])) | producers
    order, done = [], set()
    while len(order) < len(tasks):
        ready = sorted(n for n in tasks if n not in done and needs[n] <= done)
        if not ready:
            raise CompiledRunError(f"the tasks {sorted(set(tasks) - done)} depend on each other in a cycle")
        order += ready
        done |= set(ready)
    return order


@dataclass
class CompiledRun:
    pipeline: str
    run: str
    run_root: str  # every task's outputs are below it
    outputs: dict  # task -> output key -> [ArtifactRecord]
    seconds: dict  # task -> seconds
    cached: list = field(default_factory=list)  # tasks whose outputs came from the step cache

    def artifact(self, task: str, key: str) -> Optional[ArtifactRecord]:
        found = self.outputs.get(task, {}).get(key, [])
        return found[0] if found else None


@dataclass
class _Context:
    compiled: Compiled
    run: str
    run_root: str
    work: Path  # local: task logs, the tasks' working folder, KFP's container-local files
    local: Callable[[str], str]
    python: str


def run_compiled(path: str, root: str, *, parameters: Optional[dict] = None, store: Optional[str] = None,
                 log: Callable[[str], None] = print, python: str = sys.executable, cache: bool = True) -> CompiledRun:
    """Executes the compiled pipeline ``path`` with the local folder ``root`` standing in for
    the cloud config's gs:// root (as a file:// URI); ``parameters`` override its runtime
    parameters; ``store``: the artifact record (default ``<root>/compiled_metadata.json``,
    shared by every pipeline under ``root``), which also holds the step cache; ``cache``
    False runs every task (as a run submitted with caching off)."""
    compiled = load_compiled(path)
    cloud_root = compiled.pipeline_root.rsplit("/pipelines/", 1)[0]
    root_uri = file_uris.to_uri(str(Path(root).absolute()))

    def local(text: str) -> str:
        return text.replace(cloud_root, root_uri) if cloud_root.startswith("gs://") else text

    tasks = compiled.spec["root"]["dag"]["tasks"]
    values = {k: local(v) if isinstance(v, str) else v for k, v in compiled.parameters.items()}
    declared = set(values) | set(compiled.spec["root"].get("inputDefinitions", {}).get("parameters", {}))
    unknown = set(parameters or {}) - declared
    if unknown:
        raise CompiledRunError(f"{path}: no runtime parameter(s) {sorted(unknown)}; it has {sorted(declared)}")
    values.update(parameters or {})
    pipeline_root = local(compiled.pipeline_root)
    now = time.strftime("%Y%m%d%H%M%S")
    if compiled.target == VERTEX:  # Vertex AI: <root>/<project number>/<job id>/...
        run = f"{compiled.name}-{now}-{uuid.uuid4().hex[:4]}"
        run_root = f"{pipeline_root}/{PROJECT_NUMBER}/{run}"
    else:  # Kubeflow Pipelines: <root>/<run id>/...
        run = str(uuid.uuid4())
        run_root = f"{pipeline_root}/{run}"
    work = Path(root).absolute() / "local" / run
    context = _Context(compiled, run, run_root, work, local, python)
    file_uris.make_trap(str(work / "cwd"))
    artifacts = ArtifactStore(store or Path(root) / "compiled_metadata.json")
    outputs: dict = {}
    seconds: dict = {}
    cached: list = []
    order = task_order(tasks)
    said_beam = False
    for number, task_name in enumerate(order, 1):
        task = tasks[task_name]
        component = compiled.spec["components"][task["componentRef"]["name"]]
        executor = compiled.spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if "container" not in executor:
            kind = next(iter(executor), "nothing")
            raise CompiledRunError(f"task {task_name}: a {kind} executor, which this local execution does not run "
                                   "(the project's pipelines compile container tasks only)")
        inputs = {key: outputs.get(a["taskOutputArtifact"]["producerTask"], {}).get(
                      a["taskOutputArtifact"]["outputArtifactKey"], [])
                  for key, a in task.get("inputs", {}).get("artifacts", {}).items() if "taskOutputArtifact" in a}
        start = time.monotonic()
        log(f"[{number}/{len(order)}] {task_name} ...")
        container = executor["container"]
        if not said_beam and any(a.startswith("--runner=DataflowRunner") for a in container.get("args", [])):
            log("  (Beam steps compiled for Dataflow run with the DirectRunner here)")
            said_beam = True
        if starts_custom_job(container.get("args", [])):
            log("  (a Vertex AI custom job: its worker pools run here as local processes, on the CPU)")
        try:
            executor_input = _executor_input(context, task_name, task, component, inputs, values)
        except KeyError as err:
            raise CompiledRunError(f"task {task_name}: runtime parameter {err} has no value (the compiled "
                                   "file sets no default; give it with --param)") from None
        _run_driver(context, task_name, container, executor_input)
        key = step_cache_key(component, container, executor_input) if (
            cache and task.get("cachingOptions", {}).get("enableCache")) else ""
        hit = artifacts.cached(compiled.name, key) if key else None
        if hit is not None:
            outputs[task_name] = hit
            cached.append(task_name)
            log(f"[{number}/{len(order)}] {task_name} cached (the outputs of run {next(iter(hit.values()))[0].run})")
            continue
        outputs[task_name] = _run_container(context, task_name, container, executor_input)
        for output_key, records in outputs[task_name].items():
            for record in records:
                record.pipeline, record.run, record.task, record.key = compiled.name, run, task_name, output_key
                record.cache_key = key
                artifacts.add(record)
        seconds[task_name] = round(time.monotonic() - start, 1)
        log(f"[{number}/{len(order)}] {task_name} done in {seconds[task_name]} s")
    return CompiledRun(compiled.name, run, run_root, outputs, seconds, cached)


def _task_root(context: _Context, task_name: str) -> tuple[str, str]:
    """(the task's output root, its ExecutorOutput file) as the backend lays them out."""
    if context.compiled.target == VERTEX:
        root = f"{context.run_root}/{task_name}_{random.randrange(10 ** 18, 10 ** 19)}"
        return root, f"{root}/executor_output.json"
    root = f"{context.run_root}/{task_name}/{uuid.uuid4().hex[:8]}"
    # KFP's launcher gives the container a local path (the bucket's mount point) and reads it there.
    return root, str(context.work / "containers" / task_name / "output_metadata.json")


def _executor_input(context: _Context, task_name: str, task: dict, component: dict, inputs: dict,
                    values: dict) -> dict:
    from google.protobuf import json_format
    from kfp.local import executor_input_utils
    from kfp.pipeline_spec import pipeline_spec_pb2

    definitions = component.get("inputDefinitions", {})
    artifacts = {}
    for key, records in inputs.items():
        artifact_type = definitions.get("artifacts", {}).get(key, {}).get("artifactType", {})
        artifacts[key] = {"artifacts": [{"name": r.name, "type": artifact_type, "uri": r.uri, "metadata": r.metadata}
                                        for r in records]}
    parameters = {}
    for key, given in task.get("inputs", {}).get("parameters", {}).items():
        if "componentInputParameter" in given:
            if given["componentInputParameter"] not in values:
                raise KeyError(given["componentInputParameter"])
            parameters[key] = values[given["componentInputParameter"]]
        else:
            constant = given.get("runtimeValue", {}).get("constant")
            parameters[key] = context.local(constant) if isinstance(constant, str) else constant
    task_root, output_file = _task_root(context, task_name)
    outputs = pipeline_spec_pb2.ExecutorInput.Outputs(output_file=output_file)
    for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
        artifact_type = json_format.ParseDict(definition["artifactType"], pipeline_spec_pb2.ArtifactTypeSchema())
        outputs.artifacts[key].CopyFrom(executor_input_utils.make_artifact_list(key, artifact_type, task_root))
    return {"inputs": {"artifacts": artifacts, "parameterValues": parameters},
            "outputs": {"artifacts": {}, **json_format.MessageToDict(outputs)}}


def _command(context: _Context, spec: dict, executor_input: dict, task_name: str) -> list[str]:
    from kfp.local import placeholder_utils

    command = list(spec["command"])
    if command[:2] == ["python", "-m"]:  # the container's Python, with the cloud's stand-ins (task_process)
        command = [context.python, "-m", "pipelines.task_process", *command[2:]]
    args = [a for a in spec.get("args", []) if not a.startswith(CLOUD_BEAM_FLAGS)]
    resolved = placeholder_utils.replace_placeholders(
        command + args, executor_input, pipeline_resource_name=context.run, task_resource_name=task_name,
        pipeline_root=context.compiled.pipeline_root)
    return resolved + LOCAL_BEAM_ARGS


def step_cache_key(component: dict, container: dict, executor_input: dict) -> str:
    """What Vertex AI and KFP key a task's cached execution on: its component's interface, its
    container (image, command, arguments), its parameter values and its input artifacts (each
    by identity: here its URI, unique per artifact)."""
    inputs = executor_input["inputs"]
    key = {"component": component, "container": {k: container.get(k) for k in ("image", "command", "args")},
           "parameters": inputs.get("parameterValues", {}),
           "artifacts": {k: [a["uri"] for a in v["artifacts"]] for k, v in sorted(inputs.get("artifacts", {}).items())}}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _logs(context: _Context, task_name: str) -> Path:
    logs = context.work / "logs" / task_name
    logs.mkdir(parents=True, exist_ok=True)
    return logs


def _run_driver(context: _Context, task_name: str, container: dict, executor_input: dict) -> None:
    """Vertex AI runs a container's ``lifecycle.preCacheCheck`` (ExampleGen's driver: span, version,
    the input's fingerprint) before the cache check and passes the parameters it writes on;
    Kubeflow Pipelines ignores lifecycle hooks."""
    driver = container.get("lifecycle", {}).get("preCacheCheck")
    if not driver or context.compiled.target != VERTEX:
        return
    output_file = executor_input["outputs"]["outputFile"]
    _call(context, task_name, "driver", _command(context, driver, executor_input, task_name), _logs(context, task_name))
    written = json.loads(_read(output_file))
    for key, value in written.get("parameterValues", {}).items():  # as the service updates the task
        executor_input["inputs"]["parameterValues"][key] = value
    _remove(output_file)


def _run_container(context: _Context, task_name: str, container: dict, executor_input: dict) -> dict:
    logs = _logs(context, task_name)
    output_file = executor_input["outputs"]["outputFile"]
    _call(context, task_name, "executor", _command(context, container, executor_input, task_name), logs)
    text = _read(output_file)
    produced = json.loads(text).get("artifacts", {}) if text else {}
    result = {}
    for key, given in executor_input["outputs"]["artifacts"].items():
        [declared] = given["artifacts"]
        written = (produced.get(key, {}).get("artifacts") or [{}])[0]
        result[key] = [ArtifactRecord(name="", schema_title=_title(declared["type"]),
                                      uri=written.get("uri", declared["uri"]), metadata=written.get("metadata", {}))]
    return result


def _read(uri_or_path: str) -> str:
    """A file the backend reads: the orchestrator side may open file:// URIs as paths."""
    path = Path(file_uris.to_path(uri_or_path))
    return path.read_text() if path.exists() else ""


def _remove(uri_or_path: str) -> None:
    Path(file_uris.to_path(uri_or_path)).unlink(missing_ok=True)


def _title(artifact_type: dict) -> str:
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    first = artifact_type.get("instanceSchema", "").split("\n", 1)[0]
    return first.split(":", 1)[1].strip() if first.startswith("title:") else "tfx.Artifact"


def _call(context: _Context, task_name: str, role: str, command: list[str], logs: Path) -> None:
    log_path = logs / f"{role}.log"
    with open(log_path, "wb") as log_file:
        done = subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=context.work / "cwd",
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                                   "TFXP_TASK_LOG_DIR": str(logs)})
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-6:]
        where = next((command[i + 1] for i, a in enumerate(command[:-1]) if a == "--executor_class_path"),
                     command[3] if len(command) > 3 else command[-1])
        raise CompiledRunError(f"task {task_name}: the {role} ({where}) exited with status {done.returncode}; "
                               f"log: {log_path}\n" + "\n".join(tail))
