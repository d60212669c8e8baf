"""TFX's Tuner, whose executor also writes every trial (its values, score, seconds and
status) to ``trials.json`` beside TFX's ``tuner_results.json``, which keeps only completed
trials' scores: the report shows what the search tried, how long each trial took and what
it chose. The search itself is TFX's (``tuner_fn`` from the spec's model code)."""
from __future__ import annotations

import json
import os

from tfx.components.tuner import executor as tuner_executor
from tfx.components.tuner.component import Tuner
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils

from tfxp_contract.names import TRIALS_FILE


def trial_rows(tuner) -> list[dict]:
    """Every trial the oracle ran, in the order it ran them, with the best one marked."""
    best = tuner.oracle.get_best_trials(1)
    best_id = best[0].trial_id if best else None
    rows = []
    for trial in sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id):
        metrics = {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}
        rows.append({"trial": trial.trial_id, "status": str(trial.status), "values": dict(trial.hyperparameters.values),
                     "score": trial.score, "seconds": metrics.get("seconds"), "chosen": trial.trial_id == best_id})
    return rows


def write_results(tuner, output_dict) -> None:
    """TFX's best_hyperparameters and tuner_results.json, and our trials.json beside them."""
    tuner_executor.write_best_hyperparameters(tuner, output_dict)
    objective = tuner.oracle.objective
    results = artifact_utils.get_single_uri(output_dict[standard_component_specs.TUNER_RESULTS_KEY])
    io_utils.write_string_file(os.path.join(results, TRIALS_FILE), json.dumps({
        "objective": objective.name, "direction": objective.direction, "trials": trial_rows(tuner)}))


class TimedTunerExecutor(tuner_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        # KerasTuner's summaries go to stdout, which is the command line's result: our own
        # trial lines (trainers.tuning) go to stderr instead.
        write_results(tuner_executor.search(input_dict, exec_properties, self._get_tmp_dir(),
                                            print_tuning_summary=False), output_dict)


class TimedTuner(Tuner):
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(TimedTunerExecutor)
