"""What the latest local run decided, read back from ML Metadata: blessed? pushed where?"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tfxp_contract.names import SERVING_CHECK_PROPERTY
from tfxp_reports.metadata_store import artifacts_of, open_store


@dataclass
class Outcome:
    blessed: Optional[bool]  # None: the Evaluator has not run (e.g. the run stopped earlier)
    pushed: Optional[bool]
    destination: str = ""
    version: str = ""
    failures: List[str] = field(default_factory=list)  # failed thresholds when not blessed
    serving_check: str = ""  # "passed: ..." or "failed: ..." (the pusher's check before a push)

    def summary(self) -> str:
        if self.blessed is None:
            return "no evaluation recorded"
        if not self.blessed:
            return "model NOT BLESSED (" + ("; ".join(self.failures) or "no threshold failed") + "); nothing pushed"
        if self.pushed:
            return f"model BLESSED and pushed as version {self.version} to {self.destination}"
        if self.serving_check.startswith("failed"):
            return f"model BLESSED but not pushed: the serving check {self.serving_check}"
        return "model BLESSED but not pushed"


def _newest(store: metadata_store.MetadataStore, type_name: str, pipeline: Optional[str] = None):
    artifacts = [a for a in artifacts_of(store, type_name, pipeline)
                 if a.state == metadata_store_pb2.Artifact.LIVE]
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def _int_property(artifact, key: str) -> Optional[int]:
    value = artifact.custom_properties.get(key)
    return None if value is None else int(value.int_value)


def newest_artifact_uri(metadata_path: str, type_name: str, pipeline: Optional[str] = None) -> str:
    """The URI of the newest artifact of a type (highest id, in any state) in a local run."""
    return max(artifacts_of(open_store(metadata_path), type_name, pipeline), key=lambda a: a.id).uri


def latest_outcome(metadata_path: str, pipeline: Optional[str] = None) -> Outcome:
    store = open_store(metadata_path)
    blessing = _newest(store, "ModelBlessing", pipeline)
    pushed = _newest(store, "PushedModel", pipeline)
    if blessing is None:
        return Outcome(blessed=None, pushed=None)
    outcome = Outcome(blessed=_int_property(blessing, "blessed") == 1, pushed=None)
    evaluation = _newest(store, "ModelEvaluation", pipeline)
    if not outcome.blessed and evaluation is not None:
        from tfxp_reports.evaluation_summary import failed_thresholds
        outcome.failures = list(failed_thresholds(evaluation.uri).values())
    if pushed is not None and pushed.id > blessing.id:
        outcome.pushed = _int_property(pushed, "pushed") == 1
        outcome.destination = pushed.custom_properties["pushed_destination"].string_value \
            if "pushed_destination" in pushed.custom_properties else ""
        outcome.version = pushed.custom_properties["pushed_version"].string_value \
            if "pushed_version" in pushed.custom_properties else ""
        outcome.serving_check = pushed.custom_properties[SERVING_CHECK_PROPERTY].string_value \
            if SERVING_CHECK_PROPERTY in pushed.custom_properties else ""
    return outcome
