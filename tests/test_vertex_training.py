"""Cloud config and the Trainer's Vertex AI custom job: worker pools and strategy per setting."""
import dataclasses
import json

import pytest
import yaml
from google.cloud import aiplatform_v1
from tfx.extensions.google_cloud_ai_platform import training_clients

from infra.cloud_config import EXAMPLE, CloudConfigError, MachinePool, TrainingCluster, config_from_dict, load_config
from infra.vertex_training import custom_job_spec, distribution_for, override_cluster, trainer_custom_config, worker_pool_specs
from pipelines.pipeline import create_pipeline
from tfxp_cli.main import main
from tfxp_contract.dataset_spec import distribution_from_dict, load_spec

IMAGE = "us-central1-docker.pkg.dev/p/tfxp/tfxp:1"
CPU = MachinePool(machine_type="n1-standard-4")
T4 = MachinePool(machine_type="n1-standard-8", accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1)

SETTINGS = {
    "one-cpu-replica": (TrainingCluster(chief=CPU), [("n1-standard-4", 1, "")], {"strategy": "none"}),
    "one-replica-4-gpus": (TrainingCluster(chief=dataclasses.replace(T4, accelerator_count=4)),
                           [("n1-standard-8", 1, "NVIDIA_TESLA_T4")], {"strategy": "mirrored"}),
    "chief-and-3-gpu-workers": (TrainingCluster(chief=T4, workers=dataclasses.replace(T4, replica_count=3)),
                                [("n1-standard-8", 1, "NVIDIA_TESLA_T4"), ("n1-standard-8", 3, "NVIDIA_TESLA_T4")],
                                {"strategy": "multi_worker"}),
    "tpu-vm": (TrainingCluster(tpu=MachinePool(machine_type="cloud-tpu", accelerator_type="TPU_V3", accelerator_count=8)),
               [("cloud-tpu", 1, "TPU_V3")], {"strategy": "tpu", "tpu": "local"}),
}


def config(**changes):
    return dataclasses.replace(load_config(EXAMPLE), image=IMAGE, **changes)


@pytest.mark.parametrize("name", SETTINGS)
def test_worker_pools_and_strategy_for_every_setting(name):
    cluster, pools, distribution = SETTINGS[name]
    specs = worker_pool_specs(cluster, IMAGE)
    assert [(p["machine_spec"]["machine_type"], p["replica_count"], p["machine_spec"].get("accelerator_type", ""))
            for p in specs] == pools
    assert all(p["container_spec"]["image_uri"] == IMAGE for p in specs)
    assert distribution_for(cluster) == distribution
    distribution_from_dict(distribution)  # a valid run setting
    aiplatform_v1.CustomJobSpec(custom_job_spec(config(training=cluster, tpu_image=IMAGE)))  # the client's type


def test_tfx_vertex_client_assembles_a_valid_custom_job():
    """TFX's own Vertex job client (only its network client left out) turns our training
    args into the CustomJob it would submit; the Vertex AI type accepts the result."""
    class OfflineVertexJobClient(training_clients.VertexJobClient):
        def create_client(self):
            pass  # the API client needs credentials; building the job does not

    custom = trainer_custom_config(config())
    job_args = dict(custom["ai_platform_training_args"])
    assert job_args.pop("project") == "my-project"
    job = OfflineVertexJobClient("us-central1").create_training_job(
        {}, {}, {"custom_config": json.dumps({})}, "tfx.components.trainer.executor.GenericExecutor",
        job_args, None, None)
    parsed = aiplatform_v1.CustomJob(job)
    assert [p.replica_count for p in parsed.job_spec.worker_pool_specs] == [1, 2]
    assert "tfx.scripts.run_executor" in " ".join(parsed.job_spec.worker_pool_specs[0].container_spec.command)


def test_pipeline_runs_the_trainer_as_a_vertex_job_when_asked(tmp_path):
    spec = load_spec("house_votes")
    cfg = config()
    pipeline = create_pipeline(pipeline_name=spec.name, pipeline_root="gs://b/root", spec=spec, data_root="gs://b/data",
                               serving_root="gs://b/serving", distribution=distribution_for(cfg.training),
                               vertex_training=trainer_custom_config(cfg))
    [trainer] = [c for c in pipeline.components if c.id == "Trainer"]
    assert "google_cloud_ai_platform" in trainer.executor_spec.executor_class.__module__
    custom = json.loads(trainer.exec_properties["custom_config"])
    assert custom["ai_platform_enable_vertex"] is True and custom["ai_platform_vertex_region"] == "us-central1"
    assert custom["distribution"] == {"strategy": "multi_worker"}
    assert custom["ai_platform_training_args"]["job_spec"]["worker_pool_specs"][1]["replica_count"] == 2


@pytest.mark.parametrize("changes, message", [
    ({"region": "mars"}, "region 'mars' is not a Google Cloud region"),
    ({"root": "/local/dir"}, "must be a gs://bucket/prefix location"),
    ({"project": ""}, "'project' is required"),
    ({"training": {"chief": {"machine_type": "n1", "accelerator_count": 2}}}, "needs both accelerator_type and"),
    ({"training": {"workers": {"replica_count": 2}, "tpu": {"accelerator_type": "TPU_V3", "accelerator_count": 8}}},
     "both a TPU pool and workers"),
    ({"training": {"chief": {"gpus": 1}}}, "unknown field(s) ['gpus']"),
    ({"tuning": {"parallel_trials": 0}}, "tuning.parallel_trials"),
    ({"tuning": {"accelerator_type": "NVIDIA_TESLA_T4"}}, "tuning needs both accelerator_type and accelerator_count"),
])
def test_bad_cloud_configs_name_the_field(changes, message):
    raw = {**yaml.safe_load(EXAMPLE.read_text()), **changes}
    with pytest.raises(CloudConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        config_from_dict(raw, "cloud.yaml")


def test_cli_shows_the_job_spec_with_overrides(capsys, tmp_path):
    assert main(["job-spec", "mnist", "--cloud-config", str(EXAMPLE), "--workers", "0", "--gpus", "2"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["distribution"]["strategy"] == "mirrored"
    [pool] = shown["trainer_custom_config"]["ai_platform_training_args"]["job_spec"]["worker_pool_specs"]
    assert pool["machine_spec"]["accelerator_count"] == 2

    assert main(["job-spec", "mnist", "--cloud-config", str(EXAMPLE), "--tpu-type", "TPU_V2"]) == 1
    assert "a training.tpu pool needs tpu_image: an image built from infra/Dockerfile.tpu" in capsys.readouterr().err
    with_tpu_image = tmp_path / "cloud.yaml"
    with_tpu_image.write_text(yaml.safe_dump({**yaml.safe_load(EXAMPLE.read_text()), "tpu_image": IMAGE + "-tpu"}))
    assert main(["job-spec", "mnist", "--cloud-config", str(with_tpu_image), "--tpu-type", "TPU_V2"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["distribution"]["strategy"] == "tpu"
    [pool] = shown["trainer_custom_config"]["ai_platform_training_args"]["job_spec"]["worker_pool_specs"]
    assert pool["container_spec"]["image_uri"] == IMAGE + "-tpu"

    assert main(["job-spec", "mnist", "--cloud-config", str(EXAMPLE), "--gpu-type", "NVIDIA_NOPE"]) == 1
    assert "not a valid Vertex AI CustomJobSpec" in capsys.readouterr().err


def test_override_cluster_adds_and_removes_workers():
    cluster = override_cluster(TrainingCluster(chief=T4), workers=4)
    assert cluster.workers.replica_count == 4 and cluster.workers.accelerator_type == "NVIDIA_TESLA_T4"
    assert override_cluster(cluster, workers=0).workers is None


def test_vertex_tensorboard_reaches_the_custom_job_spec():
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["service_account"] = "trainer@my-project.iam.gserviceaccount.com"
    raw["training"]["tensorboard"] = "projects/my-project/locations/us-central1/tensorboards/42"
    spec = custom_job_spec(config_from_dict(raw, "cloud.yaml"))
    assert spec["tensorboard"] == raw["training"]["tensorboard"]
    assert spec["base_output_directory"] == {"output_uri_prefix": "gs://my-bucket/tfxp/training_output"}
    raw["service_account"] = ""
    with pytest.raises(CloudConfigError, match="training.tensorboard needs service_account"):
        config_from_dict(raw, "cloud.yaml")
