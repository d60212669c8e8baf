"""Stops the pipeline when ExampleValidator found anomalies, before anything is trained.

ExampleValidator only records anomalies; TFX lets Transform and Trainer run regardless.
Transform depends on this gate, so a failing gate ends the run and nothing is pushed.
"""

import os
from typing import List

from tensorflow_data_validation.utils.anomalies_util import load_anomalies_binary
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils
from tfx.types.standard_artifacts import ExampleAnomalies

ANOMALIES_FILE = "SchemaDiff.pb"


class DataAnomalyError(RuntimeError):
    """The data does not match the schema; the message lists each anomaly."""


def describe_anomalies(anomalies: ExampleAnomalies) -> List[str]:
    problems = []
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(artifact_utils.get_split_uri([anomalies], split), ANOMALIES_FILE)
        found = load_anomalies_binary(path)
        for feature, info in sorted(found.anomaly_info.items()):
            problems.append(f"split {split!r}, feature {feature!r}: {info.short_description}"
                            f" ({'; '.join(r.description for r in info.reason)})")
        if found.HasField("dataset_anomaly_info"):
            problems.append(f"split {split!r}: {found.dataset_anomaly_info.short_description}")
    return problems


@component
def AnomalyGate(anomalies: InputArtifact[ExampleAnomalies]) -> None:
    """Raises DataAnomalyError naming every anomaly; passes silently on clean data."""
    problems = describe_anomalies(anomalies)
    if problems:
        raise DataAnomalyError("ExampleValidator found anomalies; stopping before training:\n  "
                               + "\n  ".join(problems))
