"""What the latest local run decided, read back from ML Metadata: blessed? pushed where?"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tfxp_contract.errors import ExplainedError
from tfxp_contract.names import SERVING_CHECK_PROPERTY


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


def artifacts_of(store: metadata_store.MetadataStore, type_name: str, pipeline: Optional[str] = None) -> list:
    """The artifacts of a type, of one pipeline when ``pipeline`` is given: a store that
    several datasets' pipelines share (MySQL) holds them all."""
    artifacts = store.get_artifacts_by_type(type_name)
    if pipeline is None:
        return artifacts
    context = store.get_context_by_type_and_name("pipeline", pipeline)
    if context is None:
        return []
    mine = {a.id for a in store.get_artifacts_by_context(context.id)}
    return [a for a in artifacts if a.id in mine]


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


class MetadataStoreError(ExplainedError, RuntimeError):
    """ML Metadata cannot be opened where the run says it is; the message names the store."""


MYSQL = re.compile(r"^mysql://(?P<user>[^:@/]+)(?::(?P<password>[^@/]*))?@(?P<host>[^:/]+)(?::(?P<port>\d+))?"
                   r"/(?P<database>[A-Za-z0-9_]+)$")


def is_store_uri(metadata: str) -> bool:
    return metadata.startswith("mysql://")


def connection_config(metadata: str, readonly: bool = False) -> metadata_store_pb2.ConnectionConfig:
    """Where ML Metadata lives: a SQLite file (the default, one per dataset under the output
    folder) or ``mysql://user[:password]@host[:port]/database`` (MySQL or MariaDB, a store
    several people or a scheduler share)."""
    config = metadata_store_pb2.ConnectionConfig()
    if is_store_uri(metadata):
        match = MYSQL.match(metadata)
        if not match:
            raise MetadataStoreError(f"{metadata!r} is not mysql://user[:password]@host[:port]/database")
        config.mysql.host, config.mysql.database = match["host"], match["database"]
        config.mysql.port = int(match["port"] or 3306)
        config.mysql.user = match["user"]
        if match["password"]:
            config.mysql.password = match["password"]
        return config
    config.sqlite.filename_uri = metadata
    config.sqlite.connection_mode = (metadata_store_pb2.SqliteMetadataSourceConfig.READONLY if readonly else
                                     metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
    return config


def store_exists(metadata: str) -> bool:
    return is_store_uri(metadata) or os.path.exists(metadata)  # local: a SQLite file


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    """A connection to a run's ML Metadata (read-only for a SQLite file)."""
    config = connection_config(metadata_path, readonly=True)
    try:
        return metadata_store.MetadataStore(config)
    except Exception as err:  # MLMD raises its own error types, and RuntimeError, for an unreachable store
        where = re.sub(r":[^:@/]*@", ":***@", metadata_path)
        raise MetadataStoreError(f"cannot open ML Metadata at {where}: "
                                 f"{(str(err).splitlines() or [type(err).__name__])[0][:300]}") from None


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
