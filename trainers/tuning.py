"""The spec's hyperparameter search: TFX's Tuner runs ``tuner_fn``, whose tuner trains one
model per trial with KerasTuner's oracles choosing the candidate values.

KerasTuner's own ``Tuner`` accepts Keras 3 models only (Keras 3 is installed beside the
project's Keras 2, ``tf_keras``), so trials run through its model-agnostic ``BaseTuner``: each
trial builds, fits and scores the spec's model with ``fit_and_score``, the same inputs and
builder the Trainer uses, and no model is kept. Candidate values that are not numbers,
strings or booleans (``hidden_units: [16, 16]``) are KerasTuner choices of their JSON text.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Optional

import keras_tuner
import tf_keras as keras

from tfxp_contract.dataset_spec import Tuning, tuning_objective
from tfxp_contract.names import VERBOSITY_ENV
from trainers import train
from trainers.training_job import TrainingJob, make_inputs, new_model, tuned_values

SECONDS_METRIC = "seconds"  # each trial's wall time, kept with its score


def _choice_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else json.dumps(value)


def search_space(tuning: Tuning) -> keras_tuner.HyperParameters:
    space = keras_tuner.HyperParameters()
    for name, values in tuning.search.items():
        space.Choice(name, [_choice_value(v) for v in values], ordered=False)
    return space


def fit_and_score(job: TrainingJob, values: dict, objective: str, epochs: Optional[int] = None) -> float:
    """Trains the job's model with ``values`` over the spec's and the run's hyperparameters in
    this process, and returns ``objective`` (a Keras validation metric) after the last epoch."""
    model_args, batch_size, default_epochs, validation_freq = train.training_settings(
        job.spec.model.hyperparameters, {**job.hyperparameters, **values})
    epochs = epochs or default_epochs
    keras.utils.set_random_seed(job.seed)
    inputs = make_inputs(job, batch_size)
    if model_args.get("lr_schedule", "constant") != "constant":
        model_args["decay_steps"] = epochs * inputs.steps_per_epoch
    model = new_model(job, inputs.layout, model_args)
    history = train.fit(model, inputs.train, inputs.eval, epochs=epochs, steps_per_epoch=inputs.steps_per_epoch,
                        verbose=0, validation_freq=validation_freq).history
    return float(history[objective][-1])


class _Deadline:
    """An oracle that starts no trial once its deadline has passed (the running ones finish).
    The oracle keeps it, not the tuner: with parallel trials (``components.tuning.vertex_tuner``)
    only the chief's oracle hands out trials, and every tuner asks it until it says stop."""
    deadline: Optional[float] = None  # time.monotonic() value

    def create_trial(self, tuner_id):
        if self.deadline is not None and time.monotonic() > self.deadline and tuner_id not in self.ongoing_trials:
            self.max_trials = min(self.max_trials, len(self.trials))  # KerasTuner starts none past max_trials
        return super().create_trial(tuner_id)


class GridOracle(_Deadline, keras_tuner.oracles.GridSearchOracle):
    pass


class RandomOracle(_Deadline, keras_tuner.oracles.RandomSearchOracle):
    pass


class SpecTuner(keras_tuner.engine.base_tuner.BaseTuner):
    """Trials of the spec's model, in sequence (or on several machines, each asking the chief's
    oracle for its next trial); once ``time_budget_minutes`` is spent no new trial starts."""

    def __init__(self, job: TrainingJob, directory: str, show_trials: bool = True):
        spec = job.spec
        self.show_trials = show_trials  # a line per trial on stderr
        self.job, self.tuning = job, spec.tuning
        self.objective_name, direction = tuning_objective(spec)
        objective = keras_tuner.Objective(self.objective_name, direction)
        space = search_space(self.tuning)
        combinations = 1
        for values in self.tuning.search.values():
            combinations *= len(values)
        max_trials = min(self.tuning.max_trials or combinations, combinations)
        oracle_class = GridOracle if self.tuning.algorithm == "grid" else RandomOracle
        oracle = oracle_class(objective=objective, max_trials=max_trials, hyperparameters=space,
                              allow_new_entries=False, tune_new_entries=False, seed=self.tuning.seed,
                              # a failed trial is a fault of the code or data, not of its values
                              max_consecutive_failed_trials=1)
        if self.tuning.time_budget_minutes:
            oracle.deadline = time.monotonic() + 60 * self.tuning.time_budget_minutes
        super().__init__(oracle=oracle, directory=directory, project_name="search", overwrite=True)

    def run_trial(self, trial, *args, **kwargs):
        start = time.monotonic()
        values = tuned_values(trial.hyperparameters.values)
        score = fit_and_score(self.job, values, self.objective_name, self.tuning.epochs)
        seconds = time.monotonic() - start
        if self.show_trials:
            shown = ", ".join(f"{k} {json.dumps(v)}" for k, v in values.items())
            print(f"  Tuner: trial {int(trial.trial_id) + 1}/{self.oracle.max_trials}: {shown}: "
                  f"{self.objective_name} {score:.4f} ({seconds:.1f} s)", file=sys.stderr, flush=True)
        return {self.objective_name: score, SECONDS_METRIC: seconds}

    def save_model(self, trial_id, model, step=0):  # trials keep no model
        pass


def tuner_fn(fn_args):
    """TFX Tuner's entry point (``tuner_fn``): the spec's search over its transformed examples."""
    from tfx.components.tuner.component import TunerFnResult
    show = os.environ.get(VERBOSITY_ENV, "normal") != "quiet"
    return TunerFnResult(tuner=SpecTuner(TrainingJob.from_fn_args(fn_args), fn_args.working_dir, show),
                         fit_kwargs={"verbose": 0})  # KerasTuner's own display is off
