"""Writes every run's evaluation report next to the Evaluator's output: ``report.html``
(static, offline) and ``summary.json`` (the same facts for automation), in
``<evaluation>/report/``. It runs whether or not the model was blessed."""

import json
import os

from tfx.dsl.component.experimental.annotations import InputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.types.standard_artifacts import (
    ExampleAnomalies,
    Examples,
    ExampleStatistics,
    Model,
    ModelBlessing,
    ModelEvaluation,
    ModelRun,
    PushedModel,
    TunerResults,
)
from tfx.utils import path_utils

from components.validation.anomaly_gate import anomaly_lines
from tfxp_contract.dataset_spec import spec_from_json
from tfxp_contract.names import REPORT_DIR, REPORT_FILE, SERVING_CHECK_PROPERTY, SUMMARY_FILE
from tfxp_reports.report_html import render_html
from tfxp_reports.run_report import build_report, regression_points


def pushed_facts(pushed_model) -> dict:
    check = (pushed_model.get_string_custom_property(SERVING_CHECK_PROPERTY)
             if pushed_model.has_custom_property(SERVING_CHECK_PROPERTY) else "")
    if not pushed_model.has_custom_property("pushed") or not pushed_model.get_int_custom_property("pushed"):
        return {"pushed": False, "serving_check": check}
    return {"pushed": True, "version": pushed_model.get_string_custom_property("pushed_version"),
            "destination": pushed_model.get_string_custom_property("pushed_destination"), "serving_check": check}


@component
def EvaluationReport(statistics: InputArtifact[ExampleStatistics], anomalies: InputArtifact[ExampleAnomalies],
                     model_run: InputArtifact[ModelRun], evaluation: InputArtifact[ModelEvaluation],
                     blessing: InputArtifact[ModelBlessing], pushed_model: InputArtifact[PushedModel],
                     spec_json: Parameter[str], code_version: Parameter[str] = "",
                     model: InputArtifact[Model] = None, examples: InputArtifact[Examples] = None,
                     tuner_results: InputArtifact[TunerResults] = None) -> None:
    """report.html and summary.json beside the evaluation (``code_version``: cache key only;
    ``model`` and ``examples``: a regression's predicted-vs-actual plots; ``tuner_results``:
    the search's trials, when the spec tunes)."""
    spec = spec_from_json(spec_json)
    regression = None
    if spec.is_regression and model is not None and examples is not None:
        eval_files = fileio.glob(os.path.join(artifact_utils.get_split_uri([examples], "eval"), "*"))
        regression = regression_points(path_utils.serving_model_path(model.uri), sorted(eval_files), spec.label.column)
    report = build_report(
        spec, run_id=os.path.basename(evaluation.uri.rstrip("/")), evaluation_uri=evaluation.uri,
        blessed=blessing.get_int_custom_property("blessed") == 1, statistics_uri=statistics.uri,
        anomalies=anomaly_lines(anomalies), model_run_uri=model_run.uri, pushed=pushed_facts(pushed_model),
        regression=regression, tuning_uri=tuner_results.uri if tuner_results is not None else None)
    folder = os.path.join(evaluation.uri, REPORT_DIR)
    fileio.makedirs(folder)
    with fileio.open(os.path.join(folder, SUMMARY_FILE), "w") as f:
        f.write(json.dumps(report, indent=1))
    with fileio.open(os.path.join(folder, REPORT_FILE), "w") as f:
        f.write(render_html(report))
