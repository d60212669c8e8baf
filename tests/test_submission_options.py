"""Submission as kfp and Vertex users expect, checked offline: run names, labels, waiting,
time zones for schedules, --version, JSON listings. The Vertex AI client builds its job with
anonymous credentials; nothing leaves the machine."""
import json

import pytest
from google.auth.credentials import AnonymousCredentials

from infra.cloud_config import EXAMPLE, load_config
from infra.cloud_schedules import check_cron, kfp_cron, with_time_zone
from infra.submit import SubmitError, parse_labels, vertex_pipeline_job, wait_for
from pipelines.kubeflow_v2_runner import compile_pipeline
from tfxp_cli.main import build_parser, main
from tfxp_contract.dataset_spec import load_spec


def test_run_name_and_labels_reach_the_vertex_job(tmp_path):
    config = load_config(EXAMPLE)
    compiled = compile_pipeline(load_spec("house_votes"), config, str(tmp_path / "house-votes.json"))
    job = vertex_pipeline_job(config, compiled, "house-votes", run_name="votes-nightly-42",
                              labels=parse_labels(["team=ml,trigger=schedule", "dataset=house_votes"]),
                              credentials=AnonymousCredentials())
    assert job.job_id == "votes-nightly-42"
    assert dict(job._gca_resource.labels) == {"team": "ml", "trigger": "schedule", "dataset": "house_votes"}


@pytest.mark.parametrize("pairs, message", [(["Team=ml"], "label 'Team=ml'"), (["team"], "give key=value"),
                                            (["team=ML!"], "label 'team=ML!'")])
def test_bad_labels_are_one_line(pairs, message):
    with pytest.raises(SubmitError, match=message):
        parse_labels(pairs)


def test_bad_run_name_is_one_line(tmp_path):
    with pytest.raises(SubmitError, match="run name 'Nightly_Run'"):
        vertex_pipeline_job(load_config(EXAMPLE), "unused.json", "x", run_name="Nightly_Run",
                            credentials=AnonymousCredentials())


def test_waiting_logs_each_state_and_returns_the_last():
    states = iter(["PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING", "PIPELINE_STATE_RUNNING",
                   "PIPELINE_STATE_FAILED"])
    seen = []
    final = wait_for(lambda: next(states), seen.append, poll_seconds=0, sleep=lambda _: None)
    assert final == "PIPELINE_STATE_FAILED"
    assert [line.split(" ", 1)[1] for line in seen] == ["PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING",
                                                        "PIPELINE_STATE_FAILED"]


def test_schedules_take_a_time_zone_as_vertex_does():
    assert with_time_zone("0 3 * * *", "Europe/Berlin") == "TZ=Europe/Berlin 0 3 * * *"
    assert check_cron("TZ=America/New_York 30 6 * * 1-5") == "TZ=America/New_York 30 6 * * 1-5"
    assert with_time_zone("0 3 * * *", None) == "0 3 * * *"
    with pytest.raises(SubmitError, match="time zone 'Mars/Olympus' is not an IANA time zone"):
        with_time_zone("0 3 * * *", "Mars/Olympus")
    with pytest.raises(SubmitError, match="names a time zone already"):
        with_time_zone("TZ=Europe/Berlin 0 3 * * *", "Europe/Paris")
    with pytest.raises(SubmitError, match="Kubeflow Pipelines' recurring runs take cron in UTC"):
        kfp_cron("TZ=Europe/Berlin 0 3 * * *")
    assert kfp_cron("0 3 * * *") == "0 0 3 * * *"


def test_cli_options_parse_and_delete_names_what_it_takes():
    args = build_parser().parse_args(["submit", "mnist", "--cloud-config", "c.yaml", "--wait", "--experiment", "nightly",
                                      "--run-name", "mnist-1", "--labels", "a=b"])
    assert (args.wait, args.experiment, args.run_name, args.labels) == (True, "nightly", "mnist-1", ["a=b"])
    args = build_parser().parse_args(["cloud-schedule", "delete", "projects/p/locations/l/schedules/7",
                                      "--cloud-config", "c.yaml"])
    assert args.schedule_id == "projects/p/locations/l/schedules/7"
    args = build_parser().parse_args(["cloud-schedule", "create", "mnist", "--cron", "0 3 * * *", "--time-zone",
                                      "Europe/Berlin", "--cloud-config", "c.yaml"])
    assert args.time_zone == "Europe/Berlin"


def test_version_and_json_listing(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("tfxp 0.1.0 (TFX 1.16.0")
    assert main(["datasets", "--output", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in listed} >= {"house_votes", "mnist"}
    assert next(d for d in listed if d["name"] == "mnist")["data_family"] == "image"


def test_pushed_models_can_be_registered_in_the_vertex_model_registry(tmp_path):
    """With model_registry in the cloud config, the compiled pipeline has a registry step after
    the pusher with the config's settings; the Model it would upload is a valid Vertex AI Model."""
    import dataclasses

    from google.cloud import aiplatform_v1

    from components.serving.model_registry import registry_upload
    from infra.cloud_config import ModelRegistry

    config = dataclasses.replace(load_config(EXAMPLE), model_registry=ModelRegistry(labels={"team": "ml"}))
    compiled = json.loads(open(compile_pipeline(load_spec("house_votes"), config,
                                                str(tmp_path / "house-votes.json"))).read())
    task = compiled["pipelineSpec"]["root"]["dag"]["tasks"]["VertexModelRegistry"]
    assert task["inputs"]["artifacts"]["pushed_model"]["taskOutputArtifact"]["producerTask"] == "AtomicPusher"
    given = {k: v["runtimeValue"]["constant"] for k, v in task["inputs"]["parameters"].items()}
    assert given["display_name"] == "house-votes" and json.loads(given["labels_json"]) == {"team": "ml"}
    assert given["project"] == config.project and given["serving_image"].startswith("us-docker.pkg.dev/vertex-ai/")
    vertex_pipeline_job(config, str(tmp_path / "house-votes.json"), "house-votes", credentials=AnonymousCredentials())
    model = aiplatform_v1.Model(registry_upload("house-votes", "gs://b/serving/house_votes/1795", given["serving_image"],
                                                {"team": "ml"}))
    assert model.container_spec.image_uri == given["serving_image"] and model.labels["team"] == "ml"


@pytest.mark.slow
def test_dry_runs_print_the_request_they_would_send_without_credentials(tmp_path, capsys, monkeypatch):
    """Offline, without credentials: the Vertex AI run and schedule requests as the SDK builds
    them, and the KFP run request from kfp's own package loader."""
    import yaml

    monkeypatch.setenv("HOME", str(tmp_path))  # no gcloud credentials to find
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    config = {**yaml.safe_load(EXAMPLE.read_text()), "service_account": "runner@my-project.iam.gserviceaccount.com"}
    (tmp_path / "cloud.yaml").write_text(yaml.safe_dump(config))
    cloud = ["--cloud-config", str(tmp_path / "cloud.yaml")]

    assert main(["submit", "house_votes", *cloud, "--dry-run", "--labels", "team=ml", "--run-name", "votes-1",
                 "--param", "data_root=gs://elsewhere/votes"]) == 0
    printed = json.loads(capsys.readouterr().out)
    job = printed["request"]["pipelineJob"]
    assert (printed["dry_run"], printed["target"], printed["request"]["pipelineJobId"]) == (True, "vertex", "votes-1")
    assert job["runtimeConfig"]["parameterValues"]["data_root"] == "gs://elsewhere/votes"
    assert job["labels"]["team"] == "ml" and job["serviceAccount"] == config["service_account"]
    assert "ServedBaseline" in job["pipelineSpec"]["tasks"]

    assert main(["cloud-schedule", "create", "house_votes", *cloud, "--cron", "0 3 * * 1", "--time-zone",
                 "Europe/Berlin", "--dry-run"]) == 0
    schedule = json.loads(capsys.readouterr().out)["request"]["schedule"]
    assert schedule["cron"] == "TZ=Europe/Berlin 0 3 * * 1" and schedule["displayName"] == "house-votes-schedule"
    assert schedule["createPipelineJobRequest"]["pipelineJob"]["serviceAccount"] == config["service_account"]

    config.pop("training")
    (tmp_path / "cloud.yaml").write_text(yaml.safe_dump(config))
    assert main(["cloud-schedule", "create", "house_votes", *cloud, "--cron", "0 3 * * 1", "--kfp-host",
                 "http://127.0.0.1:9", "--dry-run"]) == 0
    recurring = json.loads(capsys.readouterr().out)["request"]
    assert (recurring["cron_expression"], recurring["host"]) == ("0 0 3 * * 1", "http://127.0.0.1:9")
    assert main(["submit", "house_votes", *cloud, "--kfp-host", "http://127.0.0.1:9", "--dry-run"]) == 0
    run = json.loads(capsys.readouterr().out)["request"]
    assert run["pipeline_spec"]["schemaVersion"] == "2.1.0" and run["enable_caching"] is None
