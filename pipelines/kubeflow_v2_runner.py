"""Compiles a dataset's pipeline for Kubeflow Pipelines v2 and Vertex AI Pipelines.

The same factory as the local runner, with GCS locations, Dataflow and the project image
from a cloud config (infra/cloud.example.yaml). The result is a PipelineSpec JSON that
``tfxp submit`` (Vertex AI or a KFP backend) and the Vertex/KFP consoles accept.

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

from tfx import v1 as tfx

from infra.cloud_config import CloudConfig, load_config
from infra.dataflow import beam_args
from infra.vertex_training import distribution_for, trainer_custom_config
from pipelines.code_version import code_versions
from pipelines.pipeline import create_pipeline
from tfxp_contract.dataset_spec import DatasetSpec, load_spec

DATA_ROOT_PARAMETER = "data_root"
TRAIN_ARGS_PARAMETER = "train_args"


def cloud_pipeline_name(spec: DatasetSpec) -> str:
    """KFP v2 names allow [a-z0-9-] only: house_votes -> house-votes."""
    return spec.name.replace("_", "-").lower()


def cloud_pipeline(spec: DatasetSpec, config: CloudConfig, *, hyperparameters: Optional[dict] = None,
                   distribution: Optional[dict] = None, num_shards: Optional[int] = None) -> tfx.dsl.Pipeline:
    """The dataset's pipeline with every location on GCS and Beam on Dataflow."""
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
        train_args=train_args,
        code_versions=code_versions(),
        classifier_serving_root=config.serving_root(spec.evaluation_classifier) if spec.evaluation_classifier else "",
        model_registry=registry_settings(config, spec) if config.model_registry is not None else None)


def registry_settings(config: CloudConfig, spec: DatasetSpec) -> dict:
    registry = config.model_registry
    return {"project": config.project, "region": config.region,
            "display_name": registry.display_name or cloud_pipeline_name(spec),
            "serving_image": registry.serving_image, "labels_json": json.dumps(registry.labels, sort_keys=True)}


def runner(config: CloudConfig, output_file: str) -> tfx.orchestration.experimental.KubeflowV2DagRunner:
    return tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.image),
        output_dir=str(Path(output_file).parent), output_filename=Path(output_file).name)


def default_parameters(spec: DatasetSpec, config: CloudConfig) -> dict[str, str]:
    return {DATA_ROOT_PARAMETER: config.data_root(spec.name), TRAIN_ARGS_PARAMETER: "{}"}


def compile_pipeline(spec: DatasetSpec, config: CloudConfig, output_file: str, **options) -> str:
    """Writes the PipelineSpec JSON for ``spec`` (parameter defaults in its runtime config);
    returns its path."""
    Path(output_file).parent.mkdir(parents=True, exist_ok=True)
    if Path(output_file).exists():
        Path(output_file).unlink()  # the runner refuses to overwrite
    runner(config, output_file).run(cloud_pipeline(spec, config, **options),
                                    parameter_values=default_parameters(spec, config), write_out=True)
    scope_blessing_query(output_file, config.pipeline_root(spec.name))
    return output_file


def scope_blessing_query(compiled_file: str, pipeline_root: str) -> None:
    """The baseline must be this pipeline's last blessed model. TFX compiles the resolver's
    query as ``schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed...``, which
    Vertex evaluates against the region's metadata store that every pipeline of the project
    shares: mnist's Evaluator could be handed house_votes' model. Every artifact of a run lives
    under its pipeline root, so the query also asks for a URI below it (Vertex's filters take
    ``uri`` with a ``*`` wildcard)."""
    job = json.loads(Path(compiled_file).read_text())
    for executor in job["pipelineSpec"]["deploymentSpec"]["executors"].values():
        for query in executor.get("resolver", {}).get("outputArtifactQueries", {}).values():
            if 'schema_title="tfx.ModelBlessing"' in query.get("filter", "") and " AND uri=" not in query["filter"]:
                query["filter"] += f' AND uri="{pipeline_root}/*"'
    Path(compiled_file).write_text(json.dumps(job, indent=2, sort_keys=True))


if __name__ == "__main__":
    _spec = load_spec(os.environ.get("TFXP_DATASET", "house_votes"))
    _config = load_config(os.environ["TFXP_CLOUD_CONFIG"])
    # Under `tfx pipeline create --engine vertex`, TFX's patcher replaces the output location.
    runner(_config, f"{cloud_pipeline_name(_spec)}.json").run(
        cloud_pipeline(_spec, _config), parameter_values=default_parameters(_spec, _config))
