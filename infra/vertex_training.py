"""The Trainer (and a spec's Tuner) as a Vertex AI custom job: worker pool specs and the
strategy that fits them.

TFX's Vertex Trainer extension (``tfx.extensions.google_cloud_ai_platform.Trainer``) starts
a CustomJob whose replicas each run our ``run_fn``; Vertex sets TF_CONFIG on each (pool 0
is the 'chief', pool 1 the 'worker's), so ``trainers.strategies`` finds its role there.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from tfx.extensions.google_cloud_ai_platform import constants as vertex
from tfx.extensions.google_cloud_ai_platform.trainer.executor import TRAINING_ARGS_KEY
from tfx.extensions.google_cloud_ai_platform.tuner.executor import TUNING_ARGS_KEY

from infra.cloud_config import CloudConfig, CloudConfigError, MachinePool, TrainingCluster, check_tpu_image


def _pool(pool: MachinePool, image: str, replicas: Optional[int] = None) -> dict:
    machine = {"machine_type": pool.machine_type}
    if pool.accelerator_type:
        machine.update(accelerator_type=pool.accelerator_type, accelerator_count=pool.accelerator_count)
    if pool.tpu_topology:
        machine["tpu_topology"] = pool.tpu_topology
    # TFX replaces the container command with its executor entry point; the image must
    # hold this project (infra/Dockerfile).
    return {"machine_spec": machine, "replica_count": replicas or pool.replica_count,
            "container_spec": {"image_uri": image}}


def worker_pool_specs(cluster: TrainingCluster, image: str, tpu_image: str = "") -> list[dict]:
    """Pool 0: the chief (or the TPU VM, in ``tpu_image``); pool 1: the workers, if any."""
    if cluster.tpu is not None:
        return [_pool(cluster.tpu, tpu_image or image, replicas=1)]
    pools = [_pool(cluster.chief, image, replicas=1)]
    if cluster.workers is not None:
        pools.append(_pool(cluster.workers, image))
    return pools


def distribution_for(cluster: TrainingCluster) -> dict:
    """The strategy settings the pools call for (overrides of the spec's)."""
    if cluster.tpu is not None:
        return {"strategy": "tpu", "tpu": "local"}  # a TPU VM: the TPU is on the replica itself
    if cluster.workers is not None:
        return {"strategy": "multi_worker"}  # TF_CONFIG from Vertex; no local workers
    if cluster.chief.accelerator_count > 1:
        return {"strategy": "mirrored"}
    return {"strategy": "none"}


def _checked(spec: dict, section: str) -> dict:
    from google.cloud import aiplatform_v1

    try:
        aiplatform_v1.CustomJobSpec(spec)
    except (KeyError, ValueError, TypeError) as err:
        raise CloudConfigError(f"{section}: not a valid Vertex AI CustomJobSpec: {type(err).__name__}: {err}") from None
    return spec


def custom_job_spec(config: CloudConfig) -> dict:
    """The CustomJobSpec (as a dict) the Trainer submits; TFX fills in the command.
    Checked by the Vertex AI client's own message type (field names, accelerator names)."""
    check_tpu_image(config, "cloud config")
    spec = {"worker_pool_specs": worker_pool_specs(config.training, config.image, config.tpu_image)}
    if config.service_account:
        spec["service_account"] = config.service_account
    if config.training.tensorboard:
        # Vertex AI streams what the job writes under base_output_directory/logs to TensorBoard.
        spec["tensorboard"] = config.training.tensorboard
        spec["base_output_directory"] = {"output_uri_prefix": f"{config.root}/training_output"}
    return _checked(spec, "training")


def tuning_job_spec(config: CloudConfig) -> dict:
    """The Tuner's CustomJobSpec: pool 0 one replica (it also runs the chief oracle), pool 1
    the other ``parallel_trials - 1`` replicas (``components.tuning.vertex_tuner``)."""
    tuning = config.tuning
    pool = MachinePool(machine_type=tuning.machine_type, accelerator_type=tuning.accelerator_type,
                       accelerator_count=tuning.accelerator_count)
    pools = [_pool(pool, config.image, replicas=1)]
    if tuning.parallel_trials > 1:
        pools.append(_pool(pool, config.image, replicas=tuning.parallel_trials - 1))
    spec = {"worker_pool_specs": pools}
    if config.service_account:
        spec["service_account"] = config.service_account
    return _checked(spec, "tuning")


def override_cluster(cluster: Optional[TrainingCluster], *, workers: Optional[int] = None,
                     machine_type: Optional[str] = None, gpus: Optional[int] = None, gpu_type: Optional[str] = None,
                     tpu_type: Optional[str] = None, tpu_cores: Optional[int] = None) -> TrainingCluster:
    """The cluster with command-line changes: worker count, machine type, GPUs, or a TPU VM."""
    cluster = cluster or TrainingCluster()
    if tpu_type:
        return TrainingCluster(tpu=MachinePool(machine_type=machine_type or "cloud-tpu", accelerator_type=tpu_type,
                                               accelerator_count=tpu_cores or 8))
    def changed(pool: MachinePool) -> MachinePool:
        updates = {}
        if machine_type:
            updates["machine_type"] = machine_type
        if gpus is not None or gpu_type:
            count = gpus if gpus is not None else (pool.accelerator_count or 1)
            updates.update(accelerator_count=count,
                           accelerator_type=(gpu_type or pool.accelerator_type or "NVIDIA_TESLA_T4") if count else "")
        return dataclasses.replace(pool, **updates)
    chief = changed(cluster.chief)
    worker_pool = cluster.workers
    if workers is not None:
        worker_pool = dataclasses.replace(worker_pool or cluster.chief, replica_count=workers) if workers else None
    return TrainingCluster(chief=chief, workers=changed(worker_pool) if worker_pool else None)


def trainer_custom_config(config: CloudConfig) -> dict:
    """The custom_config keys TFX's Vertex Trainer extension reads."""
    if config.training is None:
        raise ValueError("the cloud config has no 'training' section")
    return {
        vertex.ENABLE_VERTEX_KEY: True,
        vertex.VERTEX_REGION_KEY: config.region,
        TRAINING_ARGS_KEY: {"project": config.project, "job_spec": custom_job_spec(config)},
    }


def tuner_custom_config(config: CloudConfig) -> dict:
    """The custom_config keys the Vertex Tuner (``components.tuning.vertex_tuner``) reads."""
    if config.tuning is None:
        raise ValueError("the cloud config has no 'tuning' section")
    return {
        vertex.ENABLE_VERTEX_KEY: True,
        vertex.VERTEX_REGION_KEY: config.region,
        TUNING_ARGS_KEY: {"project": config.project, "job_spec": tuning_job_spec(config)},
    }
