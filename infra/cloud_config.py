"""Cloud settings for Kubeflow / Vertex AI runs, from one YAML file (see cloud.example.yaml).

Where the project's pipelines run, which image their steps use, where artifacts live on
GCS, the Trainer's Vertex AI worker pools and Dataflow's resources. Nothing here is read
from the environment; every command takes ``--cloud-config FILE``.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated, Optional

import yaml
from pydantic import Field
from pydantic.dataclasses import dataclass

from tfxp_contract.errors import ExplainedError
from tfxp_contract.strict import STRICT, load_yaml, parse

REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
EXAMPLE = Path(__file__).parent / "cloud.example.yaml"
# The compiled pipelines' runtime parameters: where the raw data is, and the Trainer's train_args.
DATA_ROOT_PARAMETER = "data_root"
TRAIN_ARGS_PARAMETER = "train_args"


class CloudConfigError(ExplainedError, ValueError):
    """A cloud config is incomplete or malformed; the message names the file and the field."""


@dataclass(frozen=True, config=STRICT)
class MachinePool:
    """One Vertex AI worker pool: a machine type with optional accelerators."""
    machine_type: str = "n1-standard-4"
    replica_count: Annotated[int, Field(ge=1, le=1000)] = 1
    accelerator_type: str = ""  # e.g. NVIDIA_TESLA_T4, TPU_V3; "" = none
    accelerator_count: Annotated[int, Field(ge=0, le=64)] = 0
    tpu_topology: str = ""  # TPU VM slices such as v5e "2x2"


@dataclass(frozen=True, config=STRICT)
class TrainingCluster:
    """The Trainer as a Vertex AI custom job: a chief (and workers), or one TPU VM."""
    chief: MachinePool = MachinePool()
    workers: Optional[MachinePool] = None  # multi-worker: these replicas join the chief
    tpu: Optional[MachinePool] = None  # instead of chief/workers: a TPU VM pool
    # Vertex AI TensorBoard instance the job's logs stream to (experiment tracking), e.g.
    # projects/PROJECT/locations/REGION/tensorboards/ID; needs service_account. "" = none.
    tensorboard: str = ""

    @property
    def is_tpu(self) -> bool:
        return self.tpu is not None


@dataclass(frozen=True, config=STRICT)
class TuningJob:
    """A spec's Tuner as a Vertex AI custom job: ``parallel_trials`` replicas of one machine
    type, each training one trial at a time, the chief's oracle handing them out."""
    parallel_trials: Annotated[int, Field(ge=1, le=100)] = 2
    machine_type: str = "n1-standard-4"
    accelerator_type: str = ""
    accelerator_count: Annotated[int, Field(ge=0, le=64)] = 0


@dataclass(frozen=True, config=STRICT)
class Dataflow:
    machine_type: str = "n1-standard-4"
    max_workers: Annotated[int, Field(ge=1, le=1000)] = 4
    disk_size_gb: Annotated[int, Field(ge=10, le=65536)] = 50
    temp_location: str = ""  # default: <root>/dataflow/tmp


@dataclass(frozen=True, config=STRICT)
class ModelRegistry:
    """Register every pushed model in the Vertex AI Model Registry (a version per push)."""
    # The prediction container Vertex AI serves the SavedModel with (a TF 2 CPU image by default).
    serving_image: str = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
    display_name: str = ""  # default: the pipeline's name
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, config=STRICT)
class CloudConfig:
    project: str = ""
    region: str = ""
    image: str = ""  # the project's container image (infra/Dockerfile), pushed to a registry
    tpu_image: str = ""  # for a training.tpu pool: the image of infra/Dockerfile.tpu (TPU VM TensorFlow, libtpu)
    root: str = ""  # gs://bucket/prefix: pipeline roots, staged data and served models below it
    service_account: str = ""
    training: Optional[TrainingCluster] = None  # None: train inside the pipeline's Trainer step
    tuning: Optional[TuningJob] = None  # None: a spec's Tuner runs its trials in its own step, in sequence
    dataflow: Dataflow = Dataflow()
    beam_runner: str = "DataflowRunner"  # or DirectRunner inside the step's container
    model_registry: Optional[ModelRegistry] = None  # None: served models stay on GCS only

    def pipeline_root(self, pipeline_name: str) -> str:
        return f"{self.root}/pipelines/{pipeline_name}"

    def data_root(self, dataset: str) -> str:
        return f"{self.root}/data/{dataset}"

    def run_parameters(self, dataset: str) -> dict[str, str]:
        """The compiled pipeline's runtime parameters and the values a run gets unless it names others."""
        return {DATA_ROOT_PARAMETER: self.data_root(dataset), TRAIN_ARGS_PARAMETER: "{}"}

    def serving_root(self, pipeline_name: str) -> str:
        return f"{self.root}/serving/{pipeline_name}"


def config_from_dict(raw: dict, where: str = "cloud config") -> CloudConfig:
    if not isinstance(raw, dict):
        raise CloudConfigError(f"{where}: expected a mapping at the top level")
    config = parse(CloudConfig, raw, where, CloudConfigError)
    for name in ("project", "region", "image", "root"):
        if not getattr(config, name):
            raise CloudConfigError(f"{where}: '{name}' is required")
    validate(config, where)
    return config


def validate(config: CloudConfig, where: str) -> None:
    if not REGION.match(config.region):
        raise CloudConfigError(f"{where}: region {config.region!r} is not a Google Cloud region such as us-central1")
    if not config.root.startswith("gs://") or config.root.rstrip("/") == "gs:/":
        raise CloudConfigError(f"{where}: root {config.root!r} must be a gs://bucket/prefix location")
    if config.beam_runner not in ("DataflowRunner", "DirectRunner"):
        raise CloudConfigError(f"{where}: beam_runner must be DataflowRunner or DirectRunner, got {config.beam_runner!r}")
    if config.root.endswith("/"):
        raise CloudConfigError(f"{where}: root {config.root!r} must not end with '/'")
    tuning = config.tuning
    if tuning is not None and bool(tuning.accelerator_type) != (tuning.accelerator_count > 0):
        raise CloudConfigError(f"{where}: tuning needs both accelerator_type and accelerator_count")
    training = config.training
    if training is not None:
        if training.tpu is not None and training.workers is not None:
            raise CloudConfigError(f"{where}: training has both a TPU pool and workers; choose one")
        pools = [("chief", training.chief), ("workers", training.workers), ("tpu", training.tpu)]
        for name, pool in pools:
            if pool is None:
                continue
            if bool(pool.accelerator_type) != (pool.accelerator_count > 0):
                raise CloudConfigError(f"{where}: training.{name} needs both accelerator_type and accelerator_count")
        if training.chief.replica_count != 1:
            raise CloudConfigError(f"{where}: training.chief.replica_count must be 1 (one chief)")
        if training.tensorboard and not re.match(r"^projects/[^/]+/locations/[^/]+/tensorboards/[^/]+$",
                                                 training.tensorboard):
            raise CloudConfigError(f"{where}: training.tensorboard {training.tensorboard!r} must be a TensorBoard "
                                   "resource name: projects/PROJECT/locations/REGION/tensorboards/ID")
        if training.tensorboard and not config.service_account:
            raise CloudConfigError(f"{where}: training.tensorboard needs service_account (Vertex AI writes the "
                                   "logs as that account)")
        if training.tpu is not None and not training.tpu.accelerator_type.startswith("TPU"):
            raise CloudConfigError(f"{where}: training.tpu.accelerator_type must be a TPU type such as TPU_V3")
        check_tpu_image(config, where)


def check_tpu_image(config: CloudConfig, where: str) -> None:
    if config.training is not None and config.training.tpu is not None and not config.tpu_image:
        raise CloudConfigError(f"{where}: a training.tpu pool needs tpu_image: an image built from infra/Dockerfile.tpu "
                               "(a TPU VM runs TensorFlow built for TPU VMs and libtpu, which the image of "
                               "infra/Dockerfile does not have)")


def load_config(path: str | Path) -> CloudConfig:
    path = Path(path)
    try:
        raw = load_yaml(path.read_text())
    except FileNotFoundError:
        raise CloudConfigError(f"{path}: cloud config not found (start from {EXAMPLE})") from None
    except yaml.YAMLError as err:
        raise CloudConfigError(f"{path}: not valid YAML: {err}") from None
    return config_from_dict(raw, str(path))
