"""Compiles a dataset's pipeline for Kubeflow Pipelines v2 and Vertex AI Pipelines.

The same factory as the local runner, with GCS locations, Dataflow and the project image
from a cloud config (infra/cloud.example.yaml). Two targets, one pipeline (schema 2.1.0):
  vertex  a PipelineJob JSON for Vertex AI Pipelines (the default); with the config's
          ``training:`` the Trainer runs as a Vertex AI custom job (infra.vertex_training),
          with its ``tuning:`` a spec's Tuner runs trials in parallel as one
          (components.tuning.vertex_tuner)
  kfp     a bare PipelineSpec YAML for open-source Kubeflow Pipelines v2, whose backend runs
          container tasks only (no resolver, no custom job): the Trainer trains in its step
Neither has a resolver: the Evaluator's baseline is the model served now
(components.evaluation.served_baseline).

Runtime parameters, changeable per run without recompiling:
  data_root    where ExampleGen reads the raw files (default: <root>/data/<dataset>)
  train_args   the Trainer's TrainArgs as JSON, e.g. '{"num_steps": 500}': at least that many
               steps, in whole epochs (default '{}': the spec's epochs). KFP v2 passes only
               whole parameters, not fields inside a proto, hence JSON.

This file is also a pipeline file for TFX's CLI (settings from the environment at run time):
  export TFXP_DATASET=house_votes TFXP_CLOUD_CONFIG=cloud.yaml
  tfx pipeline create --engine vertex --pipeline_path pipelines/kubeflow_v2_runner.py
  tfx run create --engine vertex --pipeline_name house_votes --project P --region R
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import yaml
from tfx import v1 as tfx

from components.evaluation.served_baseline import BASELINE_TASK
from infra.cloud_config import DATA_ROOT_PARAMETER, TRAIN_ARGS_PARAMETER, CloudConfig, CloudConfigError, load_config
from infra.dataflow import beam_args
from infra.vertex_training import distribution_for, trainer_custom_config, tuner_custom_config
from pipelines.code_version import code_versions
from pipelines.pipeline import create_pipeline
from tfxp_contract.dataset_spec import DatasetSpec, load_spec

VERTEX, KFP = "vertex", "kfp"
TARGETS = (VERTEX, KFP)


def cloud_pipeline_name(spec: DatasetSpec) -> str:
    """KFP v2 names allow [a-z0-9-] only: house_votes -> house-votes."""
    return spec.name.replace("_", "-").lower()


def cloud_pipeline(spec: DatasetSpec, config: CloudConfig, *, target: str = VERTEX,
                   hyperparameters: Optional[dict] = None, distribution: Optional[dict] = None,
                   num_shards: Optional[int] = None) -> tfx.dsl.Pipeline:
    """The dataset's pipeline with every location on GCS and Beam on Dataflow. The cloud
    config's ``training:`` (a Vertex AI custom job) is for Vertex AI only: Kubeflow Pipelines'
    backend runs no custom jobs, and there the Trainer trains in its own step."""
    if target not in TARGETS:
        raise CloudConfigError(f"target {target!r}: choose one of {', '.join(TARGETS)}")
    if target == KFP and config.training is not None:
        raise CloudConfigError(
            "the cloud config's training: section runs the Trainer as a Vertex AI custom job, which Kubeflow "
            "Pipelines cannot run; for --target kfp remove it: the Trainer then trains in its own step (several "
            "processes there with the spec's distribution: {strategy: multi_worker, local_workers: N})")
    if target == KFP and config.tuning is not None and spec.tuning is not None:
        raise CloudConfigError(
            "the cloud config's tuning: section runs the Tuner as a Vertex AI custom job, which Kubeflow Pipelines "
            "cannot run; for --target kfp remove it: the Tuner then runs its trials in sequence in its own step")
    data_root = tfx.dsl.experimental.RuntimeParameter(name=DATA_ROOT_PARAMETER, ptype=str,
                                                      default=config.data_root(spec.name))
    train_args = tfx.dsl.experimental.RuntimeParameter(name=TRAIN_ARGS_PARAMETER, ptype=str, default="{}")
    if config.training is not None:
        distribution = {**distribution_for(config.training), **(distribution or {})}
    return create_pipeline(
        pipeline_name=cloud_pipeline_name(spec),
        pipeline_root=config.pipeline_root(spec.name),
        spec=spec,
        data_root=data_root,
        serving_root=config.serving_root(spec.name),
        beam_pipeline_args=beam_args(config),
        num_shards=num_shards,
        hyperparameters=hyperparameters,
        distribution=distribution,
        vertex_training=trainer_custom_config(config) if config.training is not None else None,
        vertex_tuning=tuner_custom_config(config) if config.tuning is not None and spec.tuning is not None else None,
        train_args=train_args,
        code_versions=code_versions(),
        classifier_serving_root=config.serving_root(spec.evaluation_classifier) if spec.evaluation_classifier else "",
        model_registry=registry_settings(config, spec) if config.model_registry is not None else None)


def registry_settings(config: CloudConfig, spec: DatasetSpec) -> dict:
    registry = config.model_registry
    return {"project": config.project, "region": config.region,
            "display_name": registry.display_name or cloud_pipeline_name(spec),
            "serving_image": registry.serving_image, "labels_json": json.dumps(registry.labels, sort_keys=True)}


def runner(config: CloudConfig) -> tfx.orchestration.experimental.KubeflowV2DagRunner:
    # Schema 2.1.0: the only one Kubeflow Pipelines' API server accepts; Vertex AI takes it too.
    return tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.image,
                                                                        use_pipeline_spec_2_1=True))


def compile_pipeline(spec: DatasetSpec, config: CloudConfig, output_file: str, *, target: str = VERTEX,
                     **options) -> str:
    """Writes the compiled pipeline for ``target``: Vertex AI's PipelineJob JSON (parameter
    defaults in its runtime config), or Kubeflow Pipelines' bare PipelineSpec YAML (defaults
    in the root's input definitions, the root in ``defaultPipelineRoot``); returns its path."""
    job = runner(config).run(cloud_pipeline(spec, config, target=target, **options),
                             parameter_values=config.run_parameters(spec.name), write_out=False)
    uncache_baseline(job["pipelineSpec"])
    if target == KFP:
        uncache_drivers(job["pipelineSpec"])
    Path(output_file).parent.mkdir(parents=True, exist_ok=True)
    if target == KFP:
        header = (f"# {cloud_pipeline_name(spec)}: a Kubeflow Pipelines v2 PipelineSpec compiled by tfxp.\n"
                  f"# Upload it, or: tfxp submit {spec.name} --kfp-host URL --cloud-config FILE\n")
        Path(output_file).write_text(header + yaml.safe_dump(kfp_pipeline_spec(job), sort_keys=True))
    else:
        Path(output_file).write_text(json.dumps(job, indent=2, sort_keys=True))
    return output_file


def uncache_baseline(pipeline_spec: dict) -> None:
    """The baseline task reads the serving root, which no cache key covers: never cached. (A
    run's enable_caching given at submission would override this: submit leaves it unset.)"""
    pipeline_spec["root"]["dag"]["tasks"][BASELINE_TASK]["cachingOptions"] = {}


def uncache_drivers(pipeline_spec: dict) -> None:
    """For Kubeflow Pipelines: a task whose container has a ``lifecycle.preCacheCheck`` (file-based
    ExampleGen's driver, which puts the input's span, version and fingerprint into the cache key
    on Vertex AI) is never cached, since KFP skips the hook: with it cached, new files under the
    same data root would reuse the old examples."""
    executors = pipeline_spec["deploymentSpec"]["executors"]
    for task in pipeline_spec["root"]["dag"]["tasks"].values():
        label = pipeline_spec["components"][task["componentRef"]["name"]]["executorLabel"]
        if "preCacheCheck" in executors.get(label, {}).get("container", {}).get("lifecycle", {}):
            task["cachingOptions"] = {}


def kfp_pipeline_spec(job: dict) -> dict:
    """A PipelineJob's spec with its runtime config's defaults moved into the spec itself."""
    spec, runtime = job["pipelineSpec"], job["runtimeConfig"]
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    for name, value in runtime.get("parameterValues", {}).items():
        parameters[name]["defaultValue"] = value
    spec["defaultPipelineRoot"] = runtime["gcsOutputDirectory"]
    return spec


if __name__ == "__main__":
    _spec = load_spec(os.environ.get("TFXP_DATASET", "house_votes"))
    _config = load_config(os.environ["TFXP_CLOUD_CONFIG"])
    # Under `tfx pipeline create --engine vertex`, TFX's patcher replaces the output location.
    tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=_config.image,
                                                                        use_pipeline_spec_2_1=True),
        output_filename=f"{cloud_pipeline_name(_spec)}.json").run(
        cloud_pipeline(_spec, _config), parameter_values=_config.run_parameters(_spec.name))
