"""TFX's own template pipeline (the penguin template's shape, every step enabled) on one of our
tabular datasets: the baseline ``bench.overhead`` times our pipeline against.

Stock components only: CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator ->
Transform -> Trainer -> Evaluator (accuracy threshold, change threshold against the last
blessed model, as the template sets them) -> Pusher, run by LocalDagRunner with the template's
Beam settings (none) and SQLite metadata. The model code is ``bench.template_model``, the same
network as the spec's. CsvExampleGen needs a header row, so the published file is rewritten
as a CSV with one (``write_template_csv``), before the clock starts.

  python -m bench.template_pipeline mammographic --csv-dir /tmp/t-csv --output-dir /tmp/t   # a folder write_template_csv filled
"""
from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from components.ingest.workers.delimited_rows import read_rows
from tfxp_contract.dataset_spec import DatasetSpec, load_spec
from tfxp_contract.fetch import fetch_data
from trainers.train import training_settings

MODULE = "bench.template_model"


def template_config(spec: DatasetSpec) -> dict:
    """Columns, label and hyperparameters the template's model code reads from custom_config."""
    features = spec.feature_columns
    _, batch_size, epochs, _ = training_settings(spec.model.hyperparameters, {})
    hp = {"hidden_units": [16], "dropout": 0.2, "l2": 1e-3, "learning_rate": 1e-2, **spec.model.hyperparameters,
          "batch_size": batch_size, "epochs": epochs}
    return {"numeric": [c.name for c in features if c.type == "numeric"],
            "categorical": [c.name for c in features if c.type == "categorical"],
            "label": spec.label.column, "label_values": list(spec.label.values), "hyperparameters": hp}


def write_template_csv(spec: DatasetSpec, data_dir: str, folder: Path) -> Path:
    """The spec's rows as the CSV (with a header) CsvExampleGen reads; missing numbers empty."""
    data = fetch_data(spec, data_dir, log=lambda _: None)
    folder.mkdir(parents=True, exist_ok=True)
    names = [c.name for c in spec.columns]
    path = folder / "data.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for file in spec.files:
            for row in read_rows(spec, str(data.folder / file.name)):
                writer.writerow(["" if row.get(n) is None else row[n] for n in names])
    return path


def template_pipeline(spec: DatasetSpec, csv_dir: str, home: str) -> tfx.dsl.Pipeline:
    config = template_config(spec)
    example_gen = tfx.components.CsvExampleGen(input_base=csv_dir)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = tfx.components.ExampleValidator(statistics=statistics_gen.outputs["statistics"],
                                                        schema=schema_gen.outputs["schema"])
    transform = tfx.components.Transform(examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
                                         preprocessing_fn=f"{MODULE}.preprocessing_fn", custom_config=config)
    trainer = tfx.components.Trainer(run_fn=f"{MODULE}.run_fn", examples=transform.outputs["transformed_examples"],
                                     transform_graph=transform.outputs["transform_graph"],
                                     schema=schema_gen.outputs["schema"], custom_config=config,
                                     train_args=tfx.proto.TrainArgs(), eval_args=tfx.proto.EvalArgs())
    resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing)).with_id(
            "latest_blessed_model_resolver")
    threshold = next(m.lower_bound for m in spec.metrics if m.name == "accuracy")
    eval_config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default", label_key="label_xf",
                                    preprocessing_function_names=["transform_features"])],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(
            class_name="SparseCategoricalAccuracy",
            threshold=tfma.MetricThreshold(
                value_threshold=tfma.GenericValueThreshold(lower_bound={"value": threshold}),
                change_threshold=tfma.GenericChangeThreshold(direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                                                             absolute={"value": -1e-10})))])])
    evaluator = tfx.components.Evaluator(examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
                                         baseline_model=resolver.outputs["model"], eval_config=eval_config)
    pusher = tfx.components.Pusher(model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
                                   push_destination=tfx.proto.PushDestination(
                                       filesystem=tfx.proto.PushDestination.Filesystem(
                                           base_directory=os.path.join(home, "serving"))))
    return tfx.dsl.Pipeline(
        pipeline_name=f"template_{spec.name}", pipeline_root=os.path.join(home, "pipeline_root"),
        components=[example_gen, statistics_gen, schema_gen, example_validator, transform, trainer, resolver,
                    evaluator, pusher],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(home, "metadata.sqlite")))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="a tabular built-in dataset (house_votes, mammographic) or spec path")
    parser.add_argument("--csv-dir", required=True, help="folder holding the CSV write_template_csv wrote")
    parser.add_argument("--output-dir", required=True, help="pipeline root, metadata and served models go here")
    args = parser.parse_args(argv)
    spec = load_spec(args.dataset)
    tfx.orchestration.LocalDagRunner().run(template_pipeline(spec, args.csv_dir, args.output_dir))


if __name__ == "__main__":
    main()
