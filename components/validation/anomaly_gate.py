"""Stops the pipeline when ExampleValidator found anomalies, before anything is trained.

ExampleValidator only records anomalies; TFX lets Transform and Trainer run regardless.
Transform depends on this gate, so a failing gate ends the run and nothing is pushed.
"""

from tfx.dsl.component.experimental.annotations import InputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils
from tfx.types.standard_artifacts import ExampleAnomalies

from tfxp_contract.errors import ExplainedError
from tfxp_reports.anomalies import describe_anomalies


class DataAnomalyError(ExplainedError, RuntimeError):
    """The data does not match the schema; the message lists each anomaly."""


def anomaly_lines(anomalies: ExampleAnomalies) -> list[str]:
    return describe_anomalies(anomalies.uri, artifact_utils.decode_split_names(anomalies.split_names))


@component
def AnomalyGate(anomalies: InputArtifact[ExampleAnomalies], code_version: Parameter[str] = "") -> None:
    """Raises DataAnomalyError naming every anomaly; passes silently on clean data.
    ``code_version``: a fingerprint of this code, for the cache key only."""
    problems = anomaly_lines(anomalies)
    if problems:
        raise DataAnomalyError("ExampleValidator found anomalies; stopping before training:\n  "
                               + "\n  ".join(problems))
