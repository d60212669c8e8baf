"""ExampleValidator's findings as lines a person reads, from an ExampleAnomalies artifact."""
from __future__ import annotations

import os

from tfxp_contract.names import ANOMALIES_FILE


def describe_anomalies(anomalies_uri: str, split_names: list[str]) -> list[str]:
    """One line per anomaly: split, feature, what is wrong and why."""
    from tensorflow_data_validation.utils.anomalies_util import load_anomalies_binary

    problems = []
    for split in split_names:
        found = load_anomalies_binary(os.path.join(anomalies_uri, f"Split-{split}", ANOMALIES_FILE))
        for feature, info in sorted(found.anomaly_info.items()):
            problems.append(f"split {split!r}, feature {feature!r}: {info.short_description}"
                            f" ({'; '.join(r.description for r in info.reason)})")
        if found.HasField("dataset_anomaly_info"):
            problems.append(f"split {split!r}: {found.dataset_anomaly_info.short_description}")
    return problems
