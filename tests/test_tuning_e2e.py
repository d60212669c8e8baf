"""A spec's `tuning:` section: TFX's Tuner runs the search before the Trainer, the Trainer
trains with the best values, the report lists the trials; and the tuned pipeline compiles for
Vertex AI."""
import dataclasses
import glob
import json
import os

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipelines.local_runner import LocalRun
from tests.helpers import builtin_spec_dict, write_spec
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


def test_the_tuner_picks_the_combination_a_direct_comparison_prefers_and_the_trainer_uses_it(tmp_path, data_dir):
    from trainers.training_job import TrainingJob
    from trainers.tuning import fit_and_score

    spec_path = _tuned_spec(tmp_path)
    run = LocalRun(dataset=spec_path, data_dir=str(data_dir), output_dir=str(tmp_path / "out"))
    run_pipeline(run)
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


def test_the_tuned_pipeline_compiles_for_vertex_ai(tmp_path):
    from infra.cloud_config import EXAMPLE, load_config
    from pipelines.kubeflow_v2_runner import compile_pipeline
    config = dataclasses.replace(load_config(EXAMPLE), project="acme", region="europe-west4",
                                 image="europe-west4-docker.pkg.dev/acme/ml/tfxp:2.0", root="gs://acme-ml/tfxp")
    path = compile_pipeline(load_spec(_tuned_spec(tmp_path)), config, str(tmp_path / "tuned.json"))
    job = json_format.Parse(open(path).read(), pipeline_spec_pb2.PipelineJob(), ignore_unknown_fields=False)
    tasks = job.pipeline_spec["root"]["dag"]["tasks"]
    assert "Tuner" in tasks and "Tuner" in tasks["Trainer"]["dependentTasks"]
    executor = job.pipeline_spec["deploymentSpec"]["executors"]["Tuner_executor"]["container"]["args"]
    assert "components.tuning.timed_tuner.TimedTunerExecutor" in executor
