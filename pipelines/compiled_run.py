"""Executing a compiled Kubeflow v2 / Vertex AI PipelineSpec on this machine, task by task,
the way the cloud runs it, so a wrong module path, a parameter that never reaches its
executor or a resolver query that matches nothing shows here, not after a paid cloud run.

For each task of the compiled DAG, in dependency order:
- a container task runs the executor's own command and arguments from
  ``deploymentSpec.executors`` (``python -m tfx.orchestration.kubeflow.v2.container.
  kubeflow_v2_run_executor --executor_class_path ... --json_serialized_invocation_args {{$}}``)
  in a subprocess of this environment instead of a container. ``{{$}}`` becomes an
  ExecutorInput (kfp-pipeline-spec's ``pipeline_spec.proto``: ``inputs.artifacts`` with each
  upstream artifact's name, type, URI and metadata; ``inputs.parameters``, the schema 2.0.0
  form TFX's compiler emits, which ``kubeflow_v2_entrypoint_utils.parse_execution_properties``
  reads when no inputs spec is given; ``outputs.artifacts`` with URIs under the pipeline
  root; ``outputs.outputFile``), as the KFP v2 launcher builds it. A
  ``lifecycle.preCacheCheck`` command (ExampleGen's driver,
  ``tfx/orchestration/kubeflow/v2/file_based_example_gen/driver.py``) runs first, and the
  parameters it writes to the output file are handed to the executor, as the service does.
  After the executor, its ExecutorOutput (``outputFile``: each output artifact's URI and
  metadata, e.g. a blessing's ``blessed`` and ``current_model_id``) is recorded.
- a resolver task evaluates its ``outputArtifactQueries`` filters (``schema_title=...``,
  ``state=LIVE``, ``name=...``, ``uri=...`` with a ``*`` wildcard, ``metadata.KEY.number_value=
  ...``, ``metadata.KEY.string_value=...``, joined by AND, ``{{$.inputs.artifacts['x'].metadata['k']}}`` placeholders filled from
  its inputs) against the artifacts recorded in the local store, newest first, as Vertex
  evaluates them against its metadata store.
- an importer task records its ``artifactUri`` as an artifact.

Beam arguments that name Dataflow are replaced by the DirectRunner, in one process. Every
``gs://`` location under the cloud config's root (the pipeline root, served models, the data
root's default) is mapped to a local folder: TensorFlow's GCS file system cannot be pointed at
a local emulator here, so the pipeline root is always local.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

from infra.dataflow import direct_runner_args
from tfxp_contract.errors import ExplainedError

# Dataflow's arguments, dropped for a local run; the DirectRunner's take their place.
CLOUD_BEAM_FLAGS = ("--runner=", "--project=", "--region=", "--temp_location=", "--machine_type=",
                    "--max_num_workers=", "--disk_size_gb=", "--experiments=", "--sdk_container_image=",
                    "--service_account_email=", "--direct_running_mode=", "--direct_num_workers=")
LOCAL_BEAM_ARGS = direct_runner_args(None)
_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.artifacts\['(\w+)'\]\.metadata\['(\w+)'\]\}\}")
_TERM = re.compile(r'^\s*(schema_title|name|state|uri|metadata\.(\w+)\.(number_value|string_value))\s*=\s*(.+?)\s*$')


class CompiledRunError(ExplainedError, RuntimeError):
    """A compiled pipeline could not be executed; the message names the task."""


@dataclass
class ArtifactRecord:
    name: str
    schema_title: str
    uri: str
    metadata: dict = field(default_factory=dict)
    state: str = "LIVE"
    pipeline: str = ""
    run: str = ""
    task: str = ""
    key: str = ""
    created: float = 0.0


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

    def query(self, text: str) -> list[ArtifactRecord]:
        """The newest artifact matching a Vertex-style filter (empty if none)."""
        terms = [_parse_term(t) for t in re.split(r"\s+AND\s+", text.strip())]
        found = [r for r in self.records if all(_matches(r, term) for term in terms)]
        return [max(found, key=lambda r: r.created)] if found else []


def _parse_term(text: str) -> tuple:
    match = _TERM.match(text)
    if not match:
        raise ValueError(f"filter term {text!r} is not one this local run can evaluate")
    what, key, kind, value = match.groups()
    value = value.strip('"') if value.startswith('"') else value
    if kind == "number_value":
        value = float(value)
    return ("metadata", key, value) if key else (what, None, value)


def _matches(record: ArtifactRecord, term: tuple) -> bool:
    what, key, value = term
    if what == "metadata":
        found = record.metadata.get(key)
        return found == value if not isinstance(value, float) else isinstance(found, (int, float)) and found == value
    if what == "uri":  # string fields take a * wildcard, as in Vertex's filters
        return fnmatch.fnmatchcase(record.uri, value)
    return getattr(record, what) == value


def _title(artifact_type: dict) -> str:
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    match = re.search(r"^title:\s*(\S+)", artifact_type.get("instanceSchema", ""), re.M)
    return match.group(1) if match else "tfx.Artifact"


def _kubeflow_value(value) -> dict:
    """A parameter as schema 2.0.0's Value message (intValue, doubleValue or stringValue)."""
    if isinstance(value, bool) or isinstance(value, str):
        return {"stringValue": str(value)}
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return {"intValue": str(int(value))}
    return {"doubleValue": value}


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
    pipeline_root: str
    outputs: dict  # task -> output key -> [ArtifactRecord]
    seconds: dict  # task -> seconds

    def artifact(self, task: str, key: str) -> Optional[ArtifactRecord]:
        found = self.outputs.get(task, {}).get(key, [])
        return found[0] if found else None


def run_compiled(path: str, root: str, *, parameters: Optional[dict] = None, store: Optional[str] = None,
                 log: Callable[[str], None] = print, python: str = sys.executable) -> CompiledRun:
    """Executes the compiled pipeline ``path`` with ``root`` standing in for the cloud config's
    gs:// root; ``parameters`` override its runtime parameters; ``store``: the artifact store
    file (default ``<root>/compiled_metadata.json``, shared by every pipeline under ``root``)."""
    try:
        job = json.loads(Path(path).read_text())
        spec = job["pipelineSpec"]
        tasks = spec["root"]["dag"]["tasks"]
    except (OSError, ValueError, KeyError) as err:
        raise CompiledRunError(f"{path}: not a compiled pipeline job ({type(err).__name__}: {err})") from None
    name = spec["pipelineInfo"]["name"]
    runtime = job.get("runtimeConfig", {})
    cloud_root = runtime.get("gcsOutputDirectory", "").rsplit("/pipelines/", 1)[0]
    root = str(Path(root).absolute())

    def local(text: str) -> str:
        return text.replace(cloud_root, root) if cloud_root.startswith("gs://") else text

    values = {k: local(v.get("stringValue", "")) for k, v in runtime.get("parameters", {}).items()}
    declared = set(values) | set(spec["root"].get("inputDefinitions", {}).get("parameters", {}))
    unknown = set(parameters or {}) - declared
    if unknown:
        raise CompiledRunError(f"{path}: no runtime parameter(s) {sorted(unknown)}; it has {sorted(declared)}")
    values.update(parameters or {})
    pipeline_root = local(runtime.get("gcsOutputDirectory", f"{root}/pipelines/{name}"))
    artifacts = ArtifactStore(store or Path(root) / "compiled_metadata.json")
    run = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    outputs: dict = {}
    seconds: dict = {}
    order = task_order(tasks)
    said_beam = False
    for number, task_name in enumerate(order, 1):
        task = tasks[task_name]
        component = spec["components"][task["componentRef"]["name"]]
        executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
        inputs = {key: outputs.get(a["taskOutputArtifact"]["producerTask"], {}).get(
                      a["taskOutputArtifact"]["outputArtifactKey"], [])
                  for key, a in task.get("inputs", {}).get("artifacts", {}).items() if "taskOutputArtifact" in a}
        start = time.monotonic()
        log(f"[{number}/{len(order)}] {task_name} ...")
        if "resolver" in executor:
            outputs[task_name] = _resolve(task_name, executor["resolver"], inputs, artifacts, local)
        elif "importer" in executor:
            importer = executor["importer"]
            record = ArtifactRecord(name="", schema_title=_title(importer.get("typeSchema", {})),
                                    uri=local(importer["artifactUri"]["constant"]["stringValue"]),
                                    pipeline=name, run=run, task=task_name, key="artifact")
            outputs[task_name] = {"artifact": [artifacts.add(record)]}
        elif "container" in executor:
            container = executor["container"]
            if not said_beam and any(a.startswith("--runner=DataflowRunner") for a in container.get("args", [])):
                log("  (Beam steps compiled for Dataflow run with the DirectRunner here)")
                said_beam = True
            if any(a.startswith("tfx.extensions.google_cloud_ai_platform") for a in container.get("args", [])):
                raise CompiledRunError(f"task {task_name}: compiled to run as a Vertex AI custom job (the cloud "
                                       "config's training: section), which needs Vertex AI; compile without it to "
                                       "execute here")
            task_dir = f"{pipeline_root}/{run}/{task_name}"
            try:
                executor_input = _executor_input(task, component, inputs, values, task_dir, local)
            except KeyError as err:
                raise CompiledRunError(f"task {task_name}: runtime parameter {err} has no value (the compiled "
                                       "file's runtimeConfig does not set it; give it with --param)") from None
            outputs[task_name] = _run_container(task_name, container, executor_input, task_dir, python)
            for key, records in outputs[task_name].items():
                for record in records:
                    record.pipeline, record.run, record.task, record.key = name, run, task_name, key
                    artifacts.add(record)
        else:
            raise CompiledRunError(f"task {task_name}: executor {component['executorLabel']} is neither a container, "
                                   "a resolver nor an importer")
        seconds[task_name] = round(time.monotonic() - start, 1)
        log(f"[{number}/{len(order)}] {task_name} done in {seconds[task_name]} s")
    return CompiledRun(name, run, pipeline_root, outputs, seconds)


def _resolve(task_name: str, resolver: dict, inputs: dict, artifacts: ArtifactStore,
             local: Callable[[str], str]) -> dict:
    resolved = {}
    for key, query in resolver.get("outputArtifactQueries", {}).items():
        text = local(query.get("filter", ""))
        missing = False

        def fill(match: re.Match) -> str:
            nonlocal missing
            found = inputs.get(match.group(1)) or []
            if not found or match.group(2) not in found[0].metadata:
                missing = True  # the input resolved to nothing: so does this query
                return ""
            return str(found[0].metadata[match.group(2)])

        text = _PLACEHOLDER.sub(fill, text)
        try:
            resolved[key] = [] if missing else artifacts.query(text)
        except ValueError as err:
            raise CompiledRunError(f"task {task_name}: {err}") from None
    return resolved


def _executor_input(task: dict, component: dict, inputs: dict, values: dict, task_dir: str,
                    local: Callable[[str], str]) -> dict:
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
            parameters[key] = {"stringValue": values[given["componentInputParameter"]]}
        else:
            constant = given.get("runtimeValue", {}).get("constantValue", {})
            parameters[key] = {k: local(v) if isinstance(v, str) else v for k, v in constant.items()}
    outputs = {key: {"artifacts": [{"name": "", "type": d["artifactType"], "uri": f"{task_dir}/{key}", "metadata": {}}]}
               for key, d in component.get("outputDefinitions", {}).get("artifacts", {}).items()}
    return {"inputs": {"artifacts": artifacts, "parameters": parameters},
            "outputs": {"artifacts": outputs, "outputFile": f"{task_dir}/executor_output.json"}}


def _command(spec: dict, executor_input: dict, python: str) -> list[str]:
    command = [python if part == "python" else part for part in spec["command"]]
    args = [json.dumps(executor_input) if a == "{{$}}" else a for a in spec.get("args", [])
            if not a.startswith(CLOUD_BEAM_FLAGS)]
    return command + args + LOCAL_BEAM_ARGS


def _run_container(task_name: str, container: dict, executor_input: dict, task_dir: str, python: str) -> dict:
    Path(task_dir).mkdir(parents=True, exist_ok=True)
    for given in executor_input["outputs"]["artifacts"].values():  # the launcher prepares each output's folder
        Path(given["artifacts"][0]["uri"]).mkdir(parents=True, exist_ok=True)
    output_file = Path(executor_input["outputs"]["outputFile"])
    driver = container.get("lifecycle", {}).get("preCacheCheck")
    if driver:
        _call(task_name, "driver", _command(driver, executor_input, python), task_dir)
        written = json.loads(output_file.read_text())
        for key, value in written.get("parameterValues", {}).items():  # as the service updates the task
            executor_input["inputs"]["parameters"][key] = _kubeflow_value(value)
        output_file.unlink()
    _call(task_name, "executor", _command(container, executor_input, python), task_dir)
    produced = json.loads(output_file.read_text()).get("artifacts", {}) if output_file.exists() else {}
    result = {}
    for key, given in executor_input["outputs"]["artifacts"].items():
        [declared] = given["artifacts"]
        written = (produced.get(key, {}).get("artifacts") or [{}])[0]
        result[key] = [ArtifactRecord(name="", schema_title=_title(declared["type"]),
                                      uri=written.get("uri", declared["uri"]), metadata=written.get("metadata", {}))]
    return result


def _call(task_name: str, role: str, command: list[str], task_dir: str) -> None:
    log_path = Path(task_dir) / f"{role}.log"
    with open(log_path, "wb") as log_file:
        done = subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")})
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-6:]
        where = next((command[i + 1] for i, a in enumerate(command[:-1]) if a == "--executor_class_path"), command[2])
        raise CompiledRunError(f"task {task_name}: the {role} ({where}) exited with status {done.returncode}; "
                               f"log: {log_path}\n" + "\n".join(tail))
