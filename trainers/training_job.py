"""One training job: what a Trainer execution needs, and the training every worker runs.

``TrainingJob`` is plain data (JSON), so the same job runs in the TFX Trainer's process, in
local worker processes the launcher starts, or on each replica of a Vertex AI custom job.
``train_and_export`` is the same code under every strategy: build and compile inside
``strategy.scope()``, batch globally, fit, and export -- the real output from the chief only.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil  # local: workers' throw-away copies in a temporary folder
import tempfile
import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Optional

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging

import transforms
from tfxp_contract.dataset_spec import DatasetSpec, Distribution, distribution_from_dict, spec_from_json
from tfxp_contract.names import TRAINING_SUMMARY_FILE, VERBOSITY_ENV
from trainers import data, export, models, strategies, train
from transforms.autograph import skip_autograph_for_libraries


@dataclass
class TrainingJob:
    spec_json: str
    train_files: list[str]
    eval_files: list[str]
    transform_output: str
    serving_model_dir: str
    model_run_dir: str
    hyperparameters: dict = field(default_factory=dict)
    distribution: dict = field(default_factory=dict)  # overrides of the spec's Distribution
    seed: int = 0
    train_steps: int = 0  # > 0: at least this many steps, in whole epochs, instead of the spec's epochs
    scratch_dir: str = ""  # where non-chief workers write their throw-away copies ("" = the system's temp)

    @property
    def spec(self) -> DatasetSpec:
        return spec_from_json(self.spec_json)

    @property
    def resolved_distribution(self) -> Distribution:
        merged = {**dataclasses.asdict(self.spec.distribution), **self.distribution}
        return distribution_from_dict(merged, f"{self.spec.name}: distribution")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "TrainingJob":
        return cls(**json.loads(text))

    @classmethod
    def from_fn_args(cls, fn_args) -> "TrainingJob":
        config = fn_args.custom_config
        return cls(spec_json=config["spec"], train_files=list(fn_args.train_files),
                   eval_files=list(fn_args.eval_files),
                   transform_output=fn_args.transform_output or fn_args.transform_graph_path,  # Tuner: the latter
                   serving_model_dir=fn_args.serving_model_dir, model_run_dir=fn_args.model_run_dir,
                   # the Tuner's best values, when the pipeline has a Tuner; then the run's own
                   hyperparameters={**tuned_values(fn_args.hyperparameters), **(config.get("hyperparameters") or {})},
                   distribution=dict(config.get("distribution") or {}), seed=int(config.get("seed", 0)),
                   train_steps=int(fn_args.train_steps or 0))


def tuned_values(config: Optional[dict]) -> dict:
    """Hyperparameters from a KerasTuner HyperParameters config (TFX's Tuner's best, or a
    trial's ``values``): choices that are not numbers, strings or booleans are JSON text."""
    values = (config or {}).get("values", config or {})
    return {name: json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value
            for name, value in values.items()}


TENSORBOARD_ENV = "AIP_TENSORBOARD_LOG_DIR"  # set by Vertex AI: what Vertex AI TensorBoard uploads
CHIEF_EXPORT_WAIT_SECONDS = 600


@contextlib.contextmanager
def _output_dir(real: str, is_chief: bool, purpose: str, scratch_dir: str = "") -> Iterator[str]:
    """The chief writes to ``real``; other workers write the same files to a local temporary
    directory that is removed afterwards (every worker must save: saving is collective)."""
    if is_chief:
        yield real
        return
    if scratch_dir:
        os.makedirs(scratch_dir, exist_ok=True)  # local: the launcher's scratch folder
    scratch = tempfile.mkdtemp(prefix=f"tfxp-{purpose}-", dir=scratch_dir or None)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # local: the temporary folder made above


def wait_for_chief_export(serving_model_dir: str, timeout: float = CHIEF_EXPORT_WAIT_SECONDS,
                          poll_seconds: float = 1.0) -> None:
    """On a worker: returns once the chief's model is in place. TFX's Trainer executor checks,
    on every replica of a Vertex AI custom job, that the serving model exists as soon as
    ``run_fn`` returns; a worker's collective save can end before the chief's files land."""
    deadline = time.monotonic() + timeout
    while not tf.io.gfile.exists(os.path.join(serving_model_dir, "saved_model.pb")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the chief wrote no model to {serving_model_dir} within {timeout:.0f} s")
        time.sleep(poll_seconds)


@dataclass
class Inputs:
    """A job's transformed train and eval batches and what the model builder needs of them."""
    train: tf.data.Dataset
    eval: tf.data.Dataset
    steps_per_epoch: int
    num_examples: int
    layout: dict  # transformed feature -> its shape, for the model builder
    transform_output: tft.TFTransformOutput


def make_inputs(job: TrainingJob, global_batch: int, num_workers: int = 1, static_shapes: bool = False) -> Inputs:
    spec = job.spec
    tf_transform_output = tft.TFTransformOutput(job.transform_output)
    feature_spec = tf_transform_output.transformed_feature_spec()
    num_examples, train_bytes = data.count_records(job.train_files)
    train_ds = data.make_dataset(job.train_files, feature_spec, global_batch, shuffle=True, seed=job.seed,
                                 repeat=True, drop_remainder=True, num_workers=num_workers,
                                 split_size=(num_examples, train_bytes))
    eval_ds = data.make_dataset(job.eval_files, feature_spec, global_batch, shuffle=False,
                                drop_remainder=static_shapes, num_workers=num_workers)
    layout = transforms.for_spec(spec).model_inputs(spec, tf_transform_output.vocabulary_size_by_name)
    return Inputs(train_ds, eval_ds, max(1, num_examples // global_batch), num_examples, layout, tf_transform_output)


def new_model(job: TrainingJob, layout: dict, model_args: dict) -> keras.Model:
    """The spec's model, compiled (inside a strategy's scope when there is one)."""
    spec = job.spec
    model = models.build_model(spec.model.family, layout, spec.num_classes, model_args)
    if spec.is_regression:  # the head learns z-scores of the label
        model.get_layer(models.OUTPUT_LAYER).set_label_scale(*data.label_moments(job.train_files))
    return model


def train_and_export(job: TrainingJob, environ: Mapping[str, str] = os.environ) -> Optional[dict]:
    """Trains under the job's strategy and exports the serving model; returns the training
    summary on the chief (also written to ``model_run_dir``), None on other workers."""
    skip_autograph_for_libraries()
    spec, dist = job.spec, job.resolved_distribution
    model_args, batch_size, epochs, validation_freq = train.training_settings(spec.model.hyperparameters,
                                                                              job.hyperparameters)
    keras.utils.set_random_seed(job.seed)

    strategy = strategies.make_strategy(dist, environ)
    role = strategies.role_from_tf_config(strategies.parse_tf_config(environ))
    global_batch = strategies.global_batch_size(batch_size, strategy)
    static_shapes = strategies.static_shapes_needed(strategy)

    inputs = make_inputs(job, global_batch, role.num_workers, static_shapes)
    train_ds, eval_ds, steps_per_epoch, num_examples = (inputs.train, inputs.eval, inputs.steps_per_epoch,
                                                        inputs.num_examples)
    if job.train_steps > 0:
        epochs = -(-job.train_steps // steps_per_epoch)
    if model_args.get("lr_schedule", "constant") != "constant":
        model_args["decay_steps"] = epochs * steps_per_epoch  # the schedule spans the whole run

    precision = strategies.set_precision(dist)
    try:
        with strategy.scope():
            model = new_model(job, inputs.layout, model_args)
        logging.info("%s: model %s, %d parameters; strategy %s, %d replica(s), global batch %d, %d steps/epoch",
                     role.name, spec.model.family, model.count_params(), dist.strategy,
                     strategy.num_replicas_in_sync, global_batch, steps_per_epoch)
        timer = train.EpochTimer()
        # tfxp's -q/-v: Keras' line per epoch (verbose), one progress line (normal), none (quiet).
        # A cluster's workers write Keras' lines to their own logs whatever the verbosity.
        verbosity = environ.get(VERBOSITY_ENV, "normal")
        in_cluster = role.num_workers > 1
        shown = {"verbose": 2 if verbosity == "verbose" or in_cluster else 0,
                 "progress": train.EpochLine(prefix="  Trainer")
                 if verbosity == "normal" and not in_cluster else None}
        backup_dir = os.path.join(job.model_run_dir, "backup")
        # On Vertex AI the chief's summaries also go where Vertex AI TensorBoard reads them.
        extra_logs = [environ[TENSORBOARD_ENV]] if role.is_chief and environ.get(TENSORBOARD_ENV) else []
        with _output_dir(job.model_run_dir, role.is_chief, "logs", job.scratch_dir) as log_dir, \
                _output_dir(job.serving_model_dir, role.is_chief, "export", job.scratch_dir) as export_dir:
            history = train.fit(model, train_ds, eval_ds, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                log_dir=log_dir, backup_dir=backup_dir,
                                timer=timer, extra_log_dirs=extra_logs,
                                validation_freq=validation_freq, **shown).history
            fine_tuning = models.FineTuning.from_hyperparameters(model_args)
            if fine_tuning.epochs:  # transfer learning's second phase: unfreeze the base's top layers
                with strategy.scope():
                    models.unfreeze(model, fine_tuning.layers, fine_tuning.learning_rate)
                more = train.fit(model, train_ds, eval_ds, epochs=epochs + fine_tuning.epochs, initial_epoch=epochs,
                                 steps_per_epoch=steps_per_epoch, log_dir=log_dir, backup_dir=backup_dir,
                                 timer=timer, extra_log_dirs=extra_logs,
                                 validation_freq=validation_freq, **shown).history
                history = {k: v + more.get(k, []) for k, v in history.items()}
            export_start = time.perf_counter()
            if spec.task == "generative":
                export.export_generative_model(model, inputs.transform_output, spec, export_dir)
            else:
                export.export_serving_model(model, inputs.transform_output, spec, export_dir)
            export_seconds = time.perf_counter() - export_start
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if not role.is_chief:
        wait_for_chief_export(job.serving_model_dir)
        return None
    if tf.io.gfile.isdir(backup_dir) and not tf.io.gfile.listdir(backup_dir):
        tf.io.gfile.rmtree(backup_dir)  # BackupAndRestore empties it once training has finished
    summary = training_summary(dist, strategy.num_replicas_in_sync, role.num_workers, global_batch,
                               steps_per_epoch, num_examples, timer.seconds, history, precision)
    summary["export_seconds"] = round(export_seconds, 3)
    summary["hyperparameters"] = {**model_args, "batch_size": batch_size, "epochs": epochs,
                                  "validation_freq": validation_freq}
    # the epochs the history's val_ metrics belong to (numbered from 1), of each phase in turn
    summary["validation_epochs"] = train.validation_epochs(validation_freq, epochs) + (
        train.validation_epochs(validation_freq, epochs + fine_tuning.epochs, epochs) if fine_tuning.epochs else [])
    tf.io.gfile.makedirs(job.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(job.model_run_dir, TRAINING_SUMMARY_FILE), "w") as f:
        f.write(json.dumps(summary, indent=2))
    return summary


def training_summary(dist: Distribution, replicas: int, workers: int, global_batch: int, steps_per_epoch: int,
                     num_examples: int, epoch_seconds: list[float], history: dict,
                     precision: str = "float32") -> dict:
    """Throughput counts the examples the steps consumed; epochs after the first exclude
    graph tracing, so they are what a longer run would see."""
    per_epoch = steps_per_epoch * global_batch
    steady = epoch_seconds[1:] or epoch_seconds
    return {
        "strategy": dist.strategy, "precision": precision, "replicas": replicas, "workers": workers, "global_batch_size": global_batch,
        "steps_per_epoch": steps_per_epoch, "training_examples": num_examples, "epochs": len(epoch_seconds),
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "examples_per_second": round(per_epoch * len(steady) / sum(steady), 1) if sum(steady) else None,
        "history": {k: [float(v) for v in values] for k, values in history.items()},
    }
