"""The one pipeline factory: every dataset, every runner (local, Kubeflow, Vertex AI).

``create_pipeline`` is pure: all it needs arrives as arguments, it reads no globals or
environment and touches no disk, so runners stay a few lines each.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

# TFX's classes from their own modules, not through ``tfx.v1``: that one also imports the
# Google Cloud extensions (aiplatform and BigQuery clients, ~3 s), which a local run never uses.
from tfx.components import BulkInferrer, ExampleValidator, StatisticsGen, Trainer, Transform
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import bulk_inferrer_pb2, example_gen_pb2, pusher_pb2, trainer_pb2, tuner_pb2

import transforms
from components.evaluation.evaluation_report import EvaluationReport
from components.evaluation.generative_evaluator import GenerativeEvaluator
from components.evaluation.served_baseline import BASELINE_TASK, Evaluator, ServedBaseline
from components.ingest.formats import example_gen_for, inference_example_gen_for
from components.serving.atomic_pusher import AtomicPusher
from components.serving.model_registry import VertexModelRegistry
from components.tuning.timed_tuner import TimedTuner
from components.validation.anomaly_gate import AnomalyGate
from components.validation.schema_from_spec import SchemaFromSpec
from pipelines.evaluation import eval_config
from tfxp_contract.dataset_spec import DatasetSpec, SpecError, distribution_from_dict
from tfxp_contract.fetch import SPAN_FOLDER, data_version
from tfxp_contract.hyperparameters import check_hyperparameters
from tfxp_contract.names import SCORES_SIGNATURE

RUN_FN = "trainers.run_fn.run_fn"
TUNER_FN = "trainers.tuning.tuner_fn"


def split_configs(spec: DatasetSpec, spans: bool = False
                  ) -> tuple[example_gen_pb2.Input, Optional[example_gen_pb2.Output]]:
    """The publisher's split if the spec names one, else a hash split of all files. With
    ``spans``, files are read from the newest ``span-N/`` folder (TFX resolves ``{SPAN}``)."""
    def where(pattern: str) -> str:
        return f"{SPAN_FOLDER}/{pattern}" if spans else pattern

    if spec.published_splits:  # always train, eval: the order is part of TFX's cache key
        return example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name=name, pattern=where(spec.published_splits[name]))
            for name in ("train", "eval")]), None
    train, eval_ = spec.train_eval_buckets
    return (example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="single_split",
                                                                      pattern=where(spec.input_pattern))]),
            example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
                example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=train),
                example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=eval_)])))


def inference_components(spec: DatasetSpec, trainer: Any, evaluator: Any, code_version: str) -> list:
    """The spec's ``inference`` files as examples (label optional) and their predictions."""
    examples = inference_example_gen_for(spec.data_view(), spec.inference.folder, spec.inference.pattern,
                                         {"code_version": code_version}).with_id("InferenceExampleGen")
    inferrer = BulkInferrer(
        examples=examples.outputs["examples"], model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        data_spec=bulk_inferrer_pb2.DataSpec(), model_spec=bulk_inferrer_pb2.ModelSpec(model_signature_name=[SCORES_SIGNATURE]))
    return [examples, inferrer]


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    spec: DatasetSpec,
    data_root: str,
    serving_root: str,
    metadata_connection_config: Optional[Any] = None,
    beam_pipeline_args: Sequence[str] = (),
    num_shards: Optional[int] = None,
    hyperparameters: Optional[dict] = None,
    distribution: Optional[dict] = None,
    vertex_training: Optional[dict] = None,
    vertex_tuning: Optional[dict] = None,
    train_args: Optional[Any] = None,
    spans: bool = False,
    span: Optional[int] = None,
    max_examples: Optional[int] = None,
    enable_cache: bool = True,
    data_files: Optional[dict] = None,
    model_registry: Optional[dict] = None,
    code_versions: Optional[dict] = None,
    classifier_serving_root: str = "",
    served_now: str = "",
) -> Pipeline:
    """``max_examples`` caps each published split (a slice, for tests and quick looks);
    ``spans``: the data root holds ``span-N/`` folders and each run reads the newest (``span``:
    that one; the local runner picks the newest complete one);
    ``distribution`` overrides the spec's training strategy settings for this run;
    ``vertex_training`` (``infra.vertex_training.trainer_custom_config``) runs the Trainer
    as a Vertex AI custom job instead of inside its pipeline step; ``vertex_tuning``
    (``infra.vertex_training.tuner_custom_config``) runs a spec's Tuner as one, its replicas
    running trials in parallel. ``train_args`` (TrainArgs,
    or a RuntimeParameter holding its JSON): ``num_steps`` > 0 trains for at least that many
    steps in whole epochs; by default the spec's epochs. ``data_files`` (file name -> sha256, as
    fetched) is recorded with the ExampleGen run, with the data version it makes: lineage
    shows it, and changed bytes re-run ExampleGen even where a file's size and time did not
    change. ``model_registry`` (project, region, display_name, serving_image, labels_json) also
    registers each pushed model in the Vertex AI Model Registry. ``code_versions`` (component
    id -> fingerprint, ``pipelines.code_version``) joins those components' cache keys, so an
    edit of the code they run re-runs them. ``classifier_serving_root``: where the pipeline of
    the spec's ``evaluation_classifier`` pushes (a generative model's evaluation uses its newest
    version). ``served_now``: the newest version under ``serving_root`` when the run starts
    (locally; the baseline's cache key, ``components.evaluation.served_baseline``)."""
    code = dict(code_versions or {})
    if not spec.model.family:
        raise SpecError(f"{spec.name}: a data view of a spec has no model to train")
    check_hyperparameters(spec.model.family, {**spec.model.hyperparameters, **(hyperparameters or {})},
                          f"{spec.name}: hyperparameters for this run", SpecError)
    spec_json = spec.to_json()
    data_json = spec.data_view().to_json()
    # Checked now, not when the Trainer starts: a bad strategy setting fails before any work.
    distribution_from_dict({**dataclasses.asdict(spec.distribution), **(distribution or {})},
                           f"{spec.name}: distribution for this run")

    # Raw published files -> sharded, gzipped tf.Examples, in train and eval splits.
    recorded = {"data_version": data_version(data_files), "data_files": dict(data_files)} if data_files else {}
    if code.get("ExampleGen"):
        recorded["code_version"] = code["ExampleGen"]
    example_gen = example_gen_for(spec, data_root, num_shards or spec.num_shards, *split_configs(spec, spans),
                                  max_examples, recorded, span)

    # Statistics over both splits: inputs to the schema, the validator and the reports.
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])

    # Inferred schema, tightened with the spec's domains so that validation can fail.
    schema_gen = SchemaFromSpec(statistics=statistics_gen.outputs["statistics"], spec_json=data_json,
                                code_version=code.get("SchemaFromSpec", ""))

    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])

    # ExampleValidator only records anomalies; this gate fails the run on any.
    anomaly_gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"],
                               code_version=code.get("AnomalyGate", ""))

    # Normalisations and vocabularies learned over the full training split; the graph
    # is embedded in the exported model.
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=f"{transforms.module_name(spec)}.preprocessing_fn",
        # No TFDV statistics of Transform's input and output: StatisticsGen has described the
        # raw data already, nothing of ours reads them, and they cost a pass over every split.
        disable_statistics=True,
        custom_config={"spec": data_json, "code_version": code.get("Transform", "")})
    transform.add_upstream_node(anomaly_gate)

    # The spec's hyperparameter search: one model per trial on the transformed examples; the
    # Trainer trains with the best values.
    tuner = None
    if spec.tuning is not None:
        fixed = sorted(set(spec.tuning.search) & set(hyperparameters or {}))
        if fixed:
            raise SpecError(f"{spec.name}: {', '.join(fixed)} set for this run but searched by the spec's tuning; "
                            "drop the --set or the search")
        tuner_class, parallel = TimedTuner, {}
        if vertex_tuning:  # imported only here, as the Vertex Trainer below
            from tfx.extensions.google_cloud_ai_platform.tuner.executor import TUNING_ARGS_KEY

            from components.tuning.vertex_tuner import VertexTuner as tuner_class
            # as many trials at once as the custom job has replicas
            pools = vertex_tuning[TUNING_ARGS_KEY]["job_spec"]["worker_pool_specs"]
            parallel = {"tune_args": tuner_pb2.TuneArgs(num_parallel_trials=sum(int(p["replica_count"]) for p in pools))}
        tuner = tuner_class(
            tuner_fn=TUNER_FN, examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"], schema=schema_gen.outputs["schema"],
            train_args=trainer_pb2.TrainArgs(), eval_args=trainer_pb2.EvalArgs(), **parallel,
            custom_config={"spec": spec_json, "hyperparameters": dict(hyperparameters or {}),
                           "code_version": code.get("Tuner", ""), **(vertex_tuning or {})}).with_id("Tuner")

    # The same run_fn either way; on Vertex, every replica of the custom job runs it.
    trainer_class = Trainer
    if vertex_training:  # imported only here: the Google Cloud extensions are slow to import
        from tfx.extensions.google_cloud_ai_platform.trainer.component import Trainer as trainer_class
    trainer = trainer_class(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=train_args if train_args is not None else trainer_pb2.TrainArgs(),
        eval_args=trainer_pb2.EvalArgs(),
        custom_config={"spec": spec_json, "hyperparameters": dict(hyperparameters or {}),
                       "distribution": dict(distribution or {}), "code_version": code.get("Trainer", ""),
                       **(vertex_training or {})},
        **({"hyperparameters": tuner.outputs["best_hyperparameters"]} if tuner else {}))

    # The baseline for the no-regression check: the model served now (the last blessed one),
    # read from the serving root: no metadata query, so it runs on every orchestrator.
    baseline = ServedBaseline(serving_root=serving_root, served_now=served_now,
                              code_version=code.get("ServedBaseline", "")).with_id(BASELINE_TASK)

    # Absolute thresholds from the spec, and "no worse than the last blessed model": TFMA for a
    # classifier; for a generative model, sample quality measured beside the last blessed one.
    if spec.task == "generative":
        evaluator = GenerativeEvaluator(
            examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
            baseline_model=baseline.outputs["baseline_model"], spec_json=spec_json,
            classifier_serving_root=classifier_serving_root,
            code_version=code.get("GenerativeEvaluator", "")).with_id("Evaluator")
    else:
        evaluator = Evaluator(
            examples=example_gen.outputs["examples"],
            model=trainer.outputs["model"],
            baseline_model=baseline.outputs["baseline_model"],
            eval_config=eval_config(spec))

    # Only a blessed model reaches the serving root, as a new, complete version directory.
    pusher = AtomicPusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_root)),
        # Before a push: the candidate answers raw eval examples in a fresh process (they also
        # become its TF Serving warm-up requests).
        examples=example_gen.outputs["examples"],
        custom_config={"code_version": code.get("Pusher", ""), "label": spec.label_column or "",
                       "num_classes": spec.num_classes, "task": spec.task})

    # Every run's outcome, legible: report.html and summary.json beside the Evaluator's output.
    report = EvaluationReport(
        statistics=statistics_gen.outputs["statistics"], anomalies=example_validator.outputs["anomalies"],
        model_run=trainer.outputs["model_run"], evaluation=evaluator.outputs["evaluation"],
        blessing=evaluator.outputs["blessing"], pushed_model=pusher.outputs["pushed_model"], spec_json=spec_json,
        code_version=code.get("EvaluationReport", ""),
        **({"tuner_results": tuner.outputs["tuner_results"]} if tuner else {}),
        # a regression's predicted-vs-actual plots ask the model about the eval examples
        **({"model": trainer.outputs["model"], "examples": example_gen.outputs["examples"]} if spec.is_regression else {}))

    components = [example_gen, statistics_gen, schema_gen, example_validator, anomaly_gate,
                  transform, *([tuner] if tuner else []), trainer, baseline, evaluator, pusher, report]
    if model_registry:
        # Cloud runs: the pushed version also becomes a version in the Vertex AI Model Registry.
        components.append(VertexModelRegistry(pushed_model=pusher.outputs["pushed_model"], **model_registry))
    if spec.inference:
        # New, unlabelled rows scored by this run's model when it is blessed (TFX's BulkInferrer).
        components += inference_components(spec, trainer, evaluator, code.get("ExampleGen", ""))

    return Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args))
