"""What the end-to-end tests check after a real local run, read from ML Metadata and disk."""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2

from components.ingest.csv_example_gen import to_example
from components.ingest.workers.delimited_rows import read_rows
from tfxp_contract.dataset_spec import DatasetSpec
from tfxp_reports.metadata_store import open_store

COMPLETE = metadata_store_pb2.Execution.COMPLETE
CACHED = metadata_store_pb2.Execution.CACHED


def executions_by_node(metadata_path: str, pipeline_name: str) -> dict[str, list]:
    """Node id -> its executions, oldest first (TFX files each under a 'node' context)."""
    store = open_store(metadata_path)
    found = defaultdict(list)
    for context in store.get_contexts_by_type("node"):
        node = context.name.removeprefix(f"{pipeline_name}.")
        found[node] = sorted(store.get_executions_by_context(context.id), key=lambda e: e.id)
    return dict(found)


def serving_versions(serving_root: str) -> list[str]:
    return sorted(v for v in os.listdir(serving_root) if v.isdigit()) if os.path.isdir(serving_root) else []


def tree_snapshot(root: str) -> dict[str, int]:
    """Every file under root with its size: equal snapshots mean nothing was written."""
    return {str(p.relative_to(root)): p.stat().st_size for p in Path(root).rglob("*") if p.is_file()} \
        if os.path.isdir(root) else {}


def classify_raw_rows(model_dir: str, spec: DatasetSpec, data_file: str) -> tuple[float, dict]:
    """Accuracy of the served model on the published rows, sent as raw tf.Examples without label."""
    rows = list(read_rows(spec, data_file))
    labels = np.array([spec.label.values.index(r.pop(spec.label.column)) for r in rows])
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    outputs = serve(examples=tf.constant([to_example(r).SerializeToString() for r in rows]))
    predicted = outputs["probabilities"].numpy().argmax(axis=1)
    return float(np.mean(predicted == labels)), outputs


def overall_metrics(evaluation_uri: str) -> dict[tuple[str, str], float]:
    """(model name, metric name) -> value on the whole eval split, for candidate and baseline."""
    import tensorflow_model_analysis as tfma
    values = {}
    for per_slice in tfma.load_metrics(evaluation_uri):
        if per_slice.slice_key.single_slice_keys:
            continue
        for entry in per_slice.metric_keys_and_values:
            if not entry.key.is_diff:
                values[(entry.key.model_name, entry.key.name)] = entry.value.double_value.value
    return values


def run_pipeline(run) -> None:
    """One real local run (LocalDagRunner) of a LocalRun's pipeline."""
    from pipelines.local_runner import build, run_locally
    run_locally(build(run))
