"""A spec's `tuning:` section: TFX's Tuner runs the search before the Trainer, the Trainer
trains with the best values, the report lists the trials; the same search as a Vertex AI
custom job of two replicas running trials in parallel (local processes, a real gRPC chief
oracle) chooses the same; and the tuned pipeline compiles for Vertex AI with that job."""
import dataclasses
import glob
import json
import os

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipelines.local_run import LocalRun
from tests.helpers import builtin_spec_dict, private_temp, write_spec
from tests.pipeline_checks import COMPLETE, executions_by_node, run_pipeline
from tfxp_contract.dataset_spec import SpecError, load_spec
from tfxp_reports.metadata_store import open_store
from tfxp_reports.outcome import newest_artifact_uri

pytestmark = pytest.mark.e2e

SEARCH = {"learning_rate": [0.001, 0.03], "hidden_units": [[4], [32]]}


def _tuned_spec(tmp_path) -> str:
    raw = builtin_spec_dict("house_votes")
    raw["name"], raw["mirror_folder"] = "votes_tuned", "house_votes"
    # val_loss: a continuous objective, so no two trials tie and the best is one combination
    raw["tuning"] = {"search": SEARCH, "objective": "val_loss", "max_trials": 4, "epochs": 5}
    return str(write_spec(tmp_path, raw, "votes_tuned.yaml"))


def _cloud_config(**tuning):
    from infra.cloud_config import EXAMPLE, TuningJob, load_config
    return dataclasses.replace(load_config(EXAMPLE), project="acme", region="europe-west4",
                               image="europe-west4-docker.pkg.dev/acme/ml/tfxp:2.0", root="gs://acme-ml/tfxp",
                               **({"tuning": TuningJob(**tuning)} if tuning else {}))


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory, data_dir):
    """The tuned spec run once locally; tests below only read it."""
    folder = tmp_path_factory.mktemp("tuned")
    spec_path = _tuned_spec(folder)
    run = LocalRun(dataset=spec_path, data_dir=str(data_dir), output_dir=str(folder / "out"))
    run_pipeline(run)
    return run, spec_path


def test_the_tuner_picks_the_combination_a_direct_comparison_prefers_and_the_trainer_uses_it(tuned_run):
    from trainers.training_job import TrainingJob
    from trainers.tuning import fit_and_score

    run, spec_path = tuned_run
    executions = executions_by_node(run.metadata_path, "votes_tuned")
    assert executions["Tuner"][-1].last_known_state == COMPLETE

    results = newest_artifact_uri(run.metadata_path, "TunerResults")
    trials = json.load(open(os.path.join(results, "trials.json")))
    assert (trials["objective"], trials["direction"]) == ("val_loss", "min")
    assert len(trials["trials"]) == 4 and {t["status"] for t in trials["trials"]} == {"COMPLETED"}
    tried = sorted(json.dumps(t["values"], sort_keys=True) for t in trials["trials"])
    assert tried == sorted(json.dumps({"hidden_units": json.dumps(h), "learning_rate": r}, sort_keys=True)
                           for h in SEARCH["hidden_units"] for r in SEARCH["learning_rate"])
    [chosen] = [t for t in trials["trials"] if t["chosen"]]
    assert chosen["score"] == min(t["score"] for t in trials["trials"])
    assert all(t["seconds"] > 0 for t in trials["trials"])

    # The same four trainings here, outside TFX, on the Transform's outputs: the same winner.
    transform = newest_artifact_uri(run.metadata_path, "TransformGraph")
    transformed = max((a for a in open_store(run.metadata_path).get_artifacts_by_type("Examples")
                       if "/Transform/transformed_examples/" in a.uri), key=lambda a: a.id).uri
    job = TrainingJob(spec_json=load_spec(spec_path).to_json(),
                      train_files=glob.glob(os.path.join(transformed, "Split-train", "*")),
                      eval_files=glob.glob(os.path.join(transformed, "Split-eval", "*")),
                      transform_output=transform, serving_model_dir="", model_run_dir="")
    assert job.train_files and job.eval_files, transformed
    direct = {(json.dumps(h), r): fit_and_score(job, {"hidden_units": h, "learning_rate": r}, "val_loss", 5)
              for h in SEARCH["hidden_units"] for r in SEARCH["learning_rate"]}
    best = min(direct, key=direct.get)
    assert (chosen["values"]["hidden_units"], chosen["values"]["learning_rate"]) == best, (direct, trials)

    # The Trainer trained with the chosen values; the report lists every trial.
    model_run = newest_artifact_uri(run.metadata_path, "ModelRun")
    used = json.load(open(os.path.join(model_run, "training_summary.json")))["hyperparameters"]
    assert (json.dumps(used["hidden_units"]), used["learning_rate"]) == best
    evaluation = newest_artifact_uri(run.metadata_path, "ModelEvaluation")
    report = json.load(open(os.path.join(evaluation, "report", "summary.json")))
    assert report["tuning"]["trials"] == trials["trials"]
    page = open(os.path.join(evaluation, "report", "report.html")).read()
    assert '<section id="tuning">' in page and page.count("<td>chosen</td>") == 1


def test_a_searched_hyperparameter_cannot_also_be_set_for_the_run(tmp_path, data_dir):
    from pipelines.local_runner import build
    run = LocalRun(dataset=_tuned_spec(tmp_path), data_dir=str(data_dir), output_dir=str(tmp_path / "out"),
                   hyperparameters={"learning_rate": 0.1})
    with pytest.raises(SpecError, match="learning_rate set for this run but searched by the spec's tuning"):
        build(run)


def test_parallel_trials_in_a_vertex_custom_job_choose_what_the_sequential_search_chose(tuned_run, tmp_path,
                                                                                         monkeypatch):
    """The Vertex Tuner's executor over the local run's Transform outputs, its custom job (one
    primary replica with the chief oracle, one more replica) run here as processes by the same
    stand-in for Vertex AI's job service that `tfxp run-compiled` uses."""
    from tfx.dsl.components.base.base_executor import BaseExecutor
    from tfx.extensions.google_cloud_ai_platform import runner, training_clients
    from tfx.proto import trainer_pb2, tuner_pb2
    from tfx.types import artifact_utils, standard_artifacts

    from components.tuning.vertex_tuner import VertexTunerExecutor
    from infra.vertex_training import tuner_custom_config
    from pipelines.local_custom_job import LOG_DIR_ENV, LocalCustomJobClient
    from pipelines.pipeline import TUNER_FN

    run, spec_path = tuned_run
    sequential = json.load(open(os.path.join(newest_artifact_uri(run.metadata_path, "TunerResults"), "trials.json")))

    def artifact(kind, uri, **properties):
        made = kind()
        made.uri = uri
        for name, value in properties.items():
            setattr(made, name, value)
        return made

    transformed = max((a for a in open_store(run.metadata_path).get_artifacts_by_type("Examples")
                       if "/Transform/transformed_examples/" in a.uri), key=lambda a: a.id).uri
    inputs = {"examples": [artifact(standard_artifacts.Examples, transformed,
                                    split_names=artifact_utils.encode_split_names(["train", "eval"]))],
              "transform_graph": [artifact(standard_artifacts.TransformGraph,
                                           newest_artifact_uri(run.metadata_path, "TransformGraph"))],
              "schema": [artifact(standard_artifacts.Schema, newest_artifact_uri(run.metadata_path, "Schema"))]}
    outputs = {"best_hyperparameters": [artifact(standard_artifacts.HyperParameters, str(tmp_path / "best"))],
               "tuner_results": [artifact(standard_artifacts.TunerResults, str(tmp_path / "results"))]}
    custom = {"spec": load_spec(spec_path).to_json(), "hyperparameters": {},
              **tuner_custom_config(_cloud_config(parallel_trials=2))}
    properties = {"tuner_fn": TUNER_FN, "custom_config": json.dumps(custom),
                  "train_args": json_format.MessageToJson(trainer_pb2.TrainArgs()),
                  "eval_args": json_format.MessageToJson(trainer_pb2.EvalArgs()),
                  "tune_args": json_format.MessageToJson(tuner_pb2.TuneArgs(num_parallel_trials=2))}
    logs = tmp_path / "replicas"
    temp = private_temp(tmp_path, monkeypatch)
    monkeypatch.setenv(LOG_DIR_ENV, str(logs))
    monkeypatch.setattr(training_clients, "get_job_client", lambda enable_vertex, vertex_region: LocalCustomJobClient(vertex_region))
    monkeypatch.setattr(runner, "_POLLING_INTERVAL_IN_SECONDS", 1)
    VertexTunerExecutor(BaseExecutor.Context(tmp_dir=str(tmp_path / "tmp"))).Do(inputs, outputs, properties)

    assert sorted(p.name for p in logs.iterdir()) == ["workerpool0-replica-0.log", "workerpool1-replica-0.log"]
    trial_lines = [line for p in logs.iterdir() for line in p.read_text().splitlines() if "Tuner: trial" in line]
    assert len(trial_lines) == 4, trial_lines
    parallel = json.load(open(tmp_path / "results" / "trials.json"))
    assert len(parallel["trials"]) == 4 and {t["status"] for t in parallel["trials"]} == {"COMPLETED"}

    def scores(trials):
        return {json.dumps(t["values"], sort_keys=True): round(t["score"], 4) for t in trials["trials"]}
    assert scores(parallel) == scores(sequential)
    [chosen] = [t["values"] for t in parallel["trials"] if t["chosen"]]
    assert chosen == [t["values"] for t in sequential["trials"] if t["chosen"]][0]
    best = json.load(open(tmp_path / "best" / "best_hyperparameters.txt"))
    assert best["values"] == chosen
    assert not list(temp.glob("tfxp-*"))  # the replicas' and the chief oracle's trial folders, removed


def test_the_tuned_pipeline_compiles_for_vertex_ai(tmp_path):
    from pipelines.kubeflow_v2_runner import compile_pipeline
    path = compile_pipeline(load_spec(_tuned_spec(tmp_path)), _cloud_config(), str(tmp_path / "tuned.json"))
    job = json_format.Parse(open(path).read(), pipeline_spec_pb2.PipelineJob(), ignore_unknown_fields=False)
    tasks = job.pipeline_spec["root"]["dag"]["tasks"]
    assert "Tuner" in tasks and "Tuner" in tasks["Trainer"]["dependentTasks"]
    executor = job.pipeline_spec["deploymentSpec"]["executors"]["Tuner_executor"]["container"]["args"]
    assert "components.tuning.timed_tuner.TimedTunerExecutor" in executor


def test_with_the_cloud_configs_tuning_the_tuner_compiles_as_a_valid_vertex_custom_job(tmp_path):
    """What Vertex AI would receive: TFX's own Vertex job client (its network client left
    out) turns the compiled Tuner's settings into the CustomJob it submits."""
    from google.cloud import aiplatform_v1
    from tfx.extensions.google_cloud_ai_platform import training_clients

    from infra.cloud_config import CloudConfigError
    from pipelines.kubeflow_v2_runner import KFP, compile_pipeline

    config = _cloud_config(parallel_trials=3, machine_type="n1-standard-8")
    path = compile_pipeline(load_spec(_tuned_spec(tmp_path)), config, str(tmp_path / "tuned.json"))
    job = json_format.Parse(open(path).read(), pipeline_spec_pb2.PipelineJob(), ignore_unknown_fields=False)
    deployment = job.pipeline_spec["deploymentSpec"]["executors"]
    assert "components.tuning.vertex_tuner.VertexTunerExecutor" in deployment["Tuner_executor"]["container"]["args"]
    tuner_task = job.pipeline_spec["root"]["dag"]["tasks"]["Tuner"]["inputs"]["parameters"]
    assert json.loads(tuner_task["tune_args"]["runtimeValue"]["constant"]) == {"num_parallel_trials": 3}
    custom = json.loads(tuner_task["custom_config"]["runtimeValue"]["constant"])

    class OfflineVertexJobClient(training_clients.VertexJobClient):
        def create_client(self):
            pass  # the API client needs credentials; building the job does not

    job_args = dict(custom["ai_platform_tuning_args"])
    assert job_args.pop("project") == "acme"
    built = OfflineVertexJobClient(custom["ai_platform_vertex_region"]).create_training_job(
        {}, {}, {"custom_config": json.dumps({})}, "components.tuning.vertex_tuner.ParallelTrialsExecutor",
        job_args, None, None)
    pools = aiplatform_v1.CustomJob(built).job_spec.worker_pool_specs
    assert [(p.replica_count, p.machine_spec.machine_type) for p in pools] == [(1, "n1-standard-8"), (2, "n1-standard-8")]
    assert all(p.container_spec.image_uri == config.image for p in pools)

    with pytest.raises(CloudConfigError, match="tuning: section runs the Tuner as a Vertex AI custom job"):
        compile_pipeline(load_spec(_tuned_spec(tmp_path)), dataclasses.replace(config, training=None),
                         str(tmp_path / "tuned.yaml"), target=KFP)
