"""Where ML Metadata lives and how it is opened: a SQLite file (the default, one per dataset
under the output folder) or a MySQL/MariaDB database several people or a scheduler share."""
from __future__ import annotations

import contextlib
import os
import re
from typing import Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tfxp_contract.errors import ExplainedError


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


class DamagedMetadataError(MetadataStoreError):
    """A SQLite metadata file that is empty, not SQLite, or damaged; the message says what to do."""


SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_problem(path: str) -> Optional[str]:
    """What is wrong with a SQLite metadata file (None: nothing, or no file yet)."""
    import sqlite3
    if not os.path.exists(path):  # local: a SQLite file
        return None
    with open(path, "rb") as f:  # local: as above
        head = f.read(len(SQLITE_HEADER))
    if not head:
        return "is empty (0 bytes)"
    if head != SQLITE_HEADER:
        return "is not an SQLite database (its first bytes are not SQLite's)"
    try:
        try:
            verdict, tables = _check(path, "ro")
        except sqlite3.OperationalError as err:
            if "readonly" not in str(err):
                raise
            # A writer killed mid-transaction leaves a hot journal that a read-only connection may
            # not roll back (SQLITE_READONLY_ROLLBACK). That is SQLite's normal recovery, not damage:
            # a read-write connection rolls it back (only when no live writer holds the lock).
            verdict, tables = _check(path, "rw")
    except sqlite3.DatabaseError as err:
        return f"is damaged ({err})"
    if verdict != "ok":
        return f"is damaged (SQLite's check: {verdict[:200]})"
    if tables and not {"Artifact", "Execution", "Context"} <= tables:
        return f"is an SQLite database but not ML Metadata's (tables: {', '.join(sorted(tables)[:6])})"
    return None


def _check(path: str, mode: str) -> tuple:
    """SQLite's quick_check verdict and the tables, through a connection in ``mode`` (ro, rw)."""
    import sqlite3
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30)) as connection:
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return verdict, tables


def check_store(metadata_path: str, dataset: str = "") -> None:
    """Raises DamagedMetadataError for a damaged SQLite store, naming the file and the fix
    (``dataset``: how the fix names it; by default the store's folder, <output-dir>/<dataset>/)."""
    if is_store_uri(metadata_path):
        return
    dataset = dataset or os.path.basename(os.path.dirname(os.path.abspath(metadata_path)))
    problem = sqlite_problem(metadata_path)
    if problem:
        raise DamagedMetadataError(
            f"{metadata_path}: the ML Metadata store {problem}. `tfxp metadata rebuild {dataset}` (with the same "
            "--output-dir) moves it aside and starts a new one: served models are kept; the history of runs "
            "(reports, lineage, cached components) starts over")


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    """A connection to a run's ML Metadata (read-only for a SQLite file)."""
    check_store(metadata_path)
    config = connection_config(metadata_path, readonly=True)
    try:
        return metadata_store.MetadataStore(config)
    except Exception as err:  # MLMD raises its own error types, and RuntimeError, for an unreachable store
        where = re.sub(r":[^:@/]*@", ":***@", metadata_path)
        raise MetadataStoreError(f"cannot open ML Metadata at {where}: "
                                 f"{(str(err).splitlines() or [type(err).__name__])[0][:300]}") from None


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
