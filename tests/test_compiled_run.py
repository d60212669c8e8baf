"""The compiled-pipeline executor's own logic, without running a pipeline: task order, what a
backend refuses, file:// URIs as an object store, and the environment of a Vertex AI custom
job's replicas."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from pipelines.compiled_run import ArtifactRecord, ArtifactStore, CompiledRunError, load_compiled, step_cache_key, task_order
from pipelines.file_uris import make_trap, to_uri


def test_tasks_run_after_what_they_depend_on():
    tasks = {"c": {"dependentTasks": ["b"]}, "b": {"inputs": {"artifacts": {"x": {"taskOutputArtifact": {
        "producerTask": "a", "outputArtifactKey": "out"}}}}}, "a": {}}
    assert task_order(tasks) == ["a", "b", "c"]
    with pytest.raises(CompiledRunError, match="in a cycle"):
        task_order({"a": {"dependentTasks": ["b"]}, "b": {"dependentTasks": ["a"]}})


def _kfp_spec(executor: dict, schema: str = "2.1.0") -> dict:
    return {"schemaVersion": schema, "pipelineInfo": {"name": "p"}, "defaultPipelineRoot": "gs://b/tfxp/pipelines/p",
            "root": {"dag": {"tasks": {"t": {"componentRef": {"name": "c"}}}},
                     "inputDefinitions": {"parameters": {"data_root": {"parameterType": "STRING",
                                                                       "defaultValue": "gs://b/tfxp/data/p"}}}},
            "components": {"c": {"executorLabel": "e"}}, "deploymentSpec": {"executors": {"e": executor}}}


@pytest.mark.parametrize("executor, schema, message", [
    ({"container": {"image": "i"}}, "2.0.0", "Kubeflow Pipelines accepts schema version 2.1.0 only"),
    ({"resolver": {"outputArtifactQueries": {}}}, "2.1.0", "a resolver, which Kubeflow Pipelines' backend does not"),
    ({"container": {"image": "i", "args": ["--executor_class_path",
                                           "tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor"]}},
     "2.1.0", "a Vertex AI custom job, which only Vertex AI runs"),
])
def test_a_kfp_file_is_refused_where_kfps_backend_refuses_it(tmp_path, executor, schema, message):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(_kfp_spec(executor, schema)))
    with pytest.raises(CompiledRunError, match=message):
        load_compiled(str(path))


def test_a_kfp_file_keeps_its_defaults_in_the_spec(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(_kfp_spec({"container": {"image": "i"}})))
    compiled = load_compiled(str(path))
    assert (compiled.target, compiled.parameters, compiled.pipeline_root) == \
        ("kfp", {"data_root": "gs://b/tfxp/data/p"}, "gs://b/tfxp/pipelines/p")


def _executor_input(parameters: dict, model_uri: str) -> dict:
    return {"inputs": {"parameterValues": parameters,
                       "artifacts": {"model": {"artifacts": [{"name": "", "uri": model_uri, "metadata": {}}]}}},
            "outputs": {"outputFile": "file:///elsewhere/executor_output.json"}}


def test_the_step_cache_key_covers_parameters_input_artifacts_and_the_container_and_nothing_else():
    component, container = {"executorLabel": "e"}, {"image": "i", "command": ["python"], "args": ["-m", "x"]}
    key = step_cache_key(component, container, _executor_input({"a": "1"}, "file:///r/m/1"))
    assert key == step_cache_key(component, dict(container, lifecycle={"preCacheCheck": {}}),
                                 _executor_input({"a": "1"}, "file:///r/m/1"))  # nor where outputs go
    assert len({key, step_cache_key(component, container, _executor_input({"a": "2"}, "file:///r/m/1")),
                step_cache_key(component, container, _executor_input({"a": "1"}, "file:///r/m/2")),
                step_cache_key(component, dict(container, image="j"), _executor_input({"a": "1"}, "file:///r/m/1")),
                step_cache_key({"executorLabel": "f"}, container, _executor_input({"a": "1"}, "file:///r/m/1"))}) == 5


def test_a_cache_hit_is_the_newest_matching_execution_of_the_same_pipeline(tmp_path):
    store = ArtifactStore(tmp_path / "store.json")
    for run, uri in (("r1", "file:///old"), ("r2", "file:///new")):
        for key in ("examples", "stats"):
            store.add(ArtifactRecord("", "tfx.Examples", f"{uri}/{key}", {}, "p", run, "T", key, cache_key="k"))
    store.add(ArtifactRecord("", "tfx.Examples", "file:///other", {}, "q", "r3", "T", "examples", cache_key="k2"))
    hit = ArtifactStore(tmp_path / "store.json").cached("p", "k")  # as the next run reads it
    assert {k: [r.uri for r in v] for k, v in hit.items()} == \
        {"examples": ["file:///new/examples"], "stats": ["file:///new/stats"]}
    assert store.cached("p", "k2") is None and store.cached("q", "k") is None


FILE_URIS = """
import json, os, sys
from pipelines import file_uris
file_uris.register()
import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from tfx.dsl.io import fileio
out = sys.argv[1] + "/out"
with beam.Pipeline() as p:
    p | beam.Create(["a", "b"]) | beam.io.WriteToText(out + "/part", num_shards=1)
fileio.makedirs(sys.argv[1] + "/x")
with fileio.open(sys.argv[1] + "/x/y.txt", "w") as f:
    f.write("z")
try:
    open(sys.argv[1] + "/x/y.txt")
    opened = "opened"
except OSError as err:
    opened = type(err).__name__
print(json.dumps({"beam": [m.path for m in FileSystems.match([out + "/*"])[0].metadata_list],
                  "fileio": sorted(fileio.listdir(out)), "open": opened}))
"""


@pytest.mark.slow
def test_file_uris_open_with_tfx_and_beam_but_not_with_python(tmp_path):
    """In a task's process: Beam writes and matches file:// URIs (its temporary folder removed
    after), TFX's fileio opens them, Python's open() fails in the task's folder."""
    uri = to_uri(str(tmp_path / "bucket"))
    done = subprocess.run([sys.executable, "-c", FILE_URIS, uri], capture_output=True, text=True, timeout=300,
                          cwd=make_trap(str(tmp_path / "cwd")))
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"beam": [f"{uri}/out/part-00000-of-00001"], "fileio": ["part-00000-of-00001"],
                     "open": "NotADirectoryError"}
    assert os.listdir(tmp_path / "cwd") == ["file:"]  # nothing created beside the trap


def test_custom_job_replicas_get_vertex_ai_cluster_variables():
    from pipelines.local_custom_job import replica_environments

    spec = {"worker_pool_specs": [{"replica_count": 1}, {"replica_count": 2}],
            "base_output_directory": {"output_uri_prefix": "gs://b/out"}}
    replicas = replica_environments(spec, [7001, 7002, 7003])
    assert [label for label, _ in replicas] == ["workerpool0 replica 0", "workerpool1 replica 0",
                                                "workerpool1 replica 1"]
    tf_config = json.loads(replicas[2][1]["TF_CONFIG"])
    assert tf_config["cluster"] == {"chief": ["127.0.0.1:7001"], "worker": ["127.0.0.1:7002", "127.0.0.1:7003"]}
    assert tf_config["task"] == {"type": "worker", "index": 1, "trial": ""}
    cluster_spec = json.loads(replicas[0][1]["CLUSTER_SPEC"])
    assert cluster_spec["cluster"]["workerpool1"] == ["127.0.0.1:7002", "127.0.0.1:7003"]
    assert cluster_spec["task"] == {"type": "workerpool0", "index": 0, "trial": ""}
    assert replicas[0][1]["AIP_TENSORBOARD_LOG_DIR"] == "gs://b/out/logs/"
