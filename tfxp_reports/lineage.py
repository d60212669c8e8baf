"""Where the served model came from, read from ML Metadata in one walk.

PushedModel <- Pusher <- Model (Trainer: hyperparameters, strategy, transform graph,
transformed examples) <- Transform <- Examples (ExampleGen: span, record counts from
StatisticsGen); and the Evaluator run whose blessing let it through.
"""
from __future__ import annotations

import json
import os
from typing import Optional

from ml_metadata.proto import metadata_store_pb2

from tfxp_contract.errors import ExplainedError
from tfxp_contract.names import REPORT_DIR, STATISTICS_FILE, SUMMARY_FILE
from tfxp_reports.metadata_store import artifacts_of, open_store, store_exists


class LineageError(ExplainedError, LookupError):
    """Nothing pushed yet, or a link is missing in ML Metadata."""


def producer_of(store, artifact_id: int):
    for event in store.get_events_by_artifact_ids([artifact_id]):
        if event.type == metadata_store_pb2.Event.OUTPUT:
            [execution] = store.get_executions_by_id([event.execution_id])
            return execution
    raise LineageError(f"no execution produced artifact {artifact_id}")


def _artifacts(store, execution_id: int, kind) -> dict[str, list]:
    """An execution's input or output artifacts (``kind``: Event.INPUT / OUTPUT) by key."""
    found: dict[str, list] = {}
    for event in store.get_events_by_execution_ids([execution_id]):
        if event.type == kind:
            key = event.path.steps[0].key if event.path.steps else ""
            found.setdefault(key, []).extend(store.get_artifacts_by_id([event.artifact_id]))
    return found


def inputs_of(store, execution_id: int) -> dict[str, list]:
    return _artifacts(store, execution_id, metadata_store_pb2.Event.INPUT)


def outputs_of(store, execution_id: int) -> dict[str, list]:
    return _artifacts(store, execution_id, metadata_store_pb2.Event.OUTPUT)


def _consumers(store, artifact_id: int) -> list:
    ids = [e.execution_id for e in store.get_events_by_artifact_ids([artifact_id]) if e.type == metadata_store_pb2.Event.INPUT]
    return store.get_executions_by_id(ids) if ids else []


def _node(store, execution) -> str:
    types = store.get_execution_types_by_id([execution.type_id])
    return types[0].name if types else str(execution.type_id)


def execution_property(execution, name: str) -> str:
    value = execution.custom_properties.get(name) or execution.properties.get(name)
    return value.string_value if value is not None else ""


def recorded_data(execution) -> dict:
    """What an ExampleGen run recorded about its input: the data version and each file's
    sha256 (``pipelines.pipeline.create_pipeline``'s ``data_files``); {} if nothing."""
    text = execution_property(execution, "custom_config")
    try:
        value = json.loads(text)["custom_config"]["value"] if text else {}
    except (ValueError, KeyError, TypeError):
        return {}
    return {"version": value.get("data_version"), "files": value.get("data_files", {})} \
        if value.get("data_version") else {}


def last_recorded_data(metadata_path: str, pipeline: Optional[str] = None) -> dict:
    """The data version the newest ExampleGen run (of ``pipeline``) recorded ({} if none)."""
    if not store_exists(metadata_path):
        return {}
    store = open_store(metadata_path)
    runs = [e for t in store.get_execution_types() if t.name.endswith("ExampleGen")
            for e in store.get_executions_by_type(t.name)]
    if pipeline is not None:
        context = store.get_context_by_type_and_name("pipeline", pipeline)
        mine = {e.id for e in store.get_executions_by_context(context.id)} if context else set()
        runs = [e for e in runs if e.id in mine]
    for execution in sorted(runs, key=lambda e: e.id, reverse=True):
        found = recorded_data(execution)
        if found:
            return found
    return {}


def describe_data_version(version: str, previous: dict) -> str:
    """'data version X' and whether it is new since the last run."""
    if not previous:
        return f"data version {version} (the first run recorded here)"
    if previous.get("version") == version:
        return f"data version {version} (as in the last run)"
    return f"data version {version} (new: the last run read {previous.get('version')})"


def _record_counts(store, examples) -> dict[str, int]:
    """Examples per split, from the StatisticsGen run over these examples."""
    import tensorflow as tf
    import tensorflow_data_validation as tfdv
    for execution in _consumers(store, examples.id):
        for statistics in outputs_of(store, execution.id).get("statistics", []):
            counts = {}
            for split in json.loads(statistics.properties["split_names"].string_value):
                path = os.path.join(statistics.uri, f"Split-{split}", STATISTICS_FILE)
                if tf.io.gfile.exists(path):
                    counts[split] = int(tfdv.load_stats_binary(path).datasets[0].num_examples)
            return counts
    return {}


def pushed_model_lineage(metadata_path: str, pipeline: Optional[str] = None) -> dict:
    import tensorflow as tf

    store = open_store(metadata_path)
    pushed = [a for a in artifacts_of(store, "PushedModel", pipeline)
              if a.custom_properties.get("pushed") and a.custom_properties["pushed"].int_value == 1]
    if not pushed:
        raise LineageError(f"{metadata_path}: no model has been pushed yet")
    pushed_model = max(pushed, key=lambda a: a.id)
    pusher = producer_of(store, pushed_model.id)
    pusher_inputs = inputs_of(store, pusher.id)
    [model], [blessing] = pusher_inputs["model"], pusher_inputs["model_blessing"]

    trainer = producer_of(store, model.id)
    trainer_inputs = inputs_of(store, trainer.id)
    custom_config = json.loads(execution_property(trainer, "custom_config") or "{}")
    [transform_graph] = trainer_inputs["transform_graph"]
    transform = producer_of(store, transform_graph.id)
    [raw_examples] = inputs_of(store, transform.id)["examples"]
    example_gen = producer_of(store, raw_examples.id)

    evaluator = producer_of(store, blessing.id)
    [evaluation] = outputs_of(store, evaluator.id)["evaluation"]
    summary_path = os.path.join(evaluation.uri, REPORT_DIR, SUMMARY_FILE)
    verdict: Optional[str] = None
    if tf.io.gfile.exists(summary_path):  # artifacts may be on an object store (shared metadata)
        with tf.io.gfile.GFile(summary_path) as f:
            verdict = json.load(f)["verdict"]
    span = raw_examples.custom_properties.get("span")
    return {
        "pushed": {"artifact_id": pushed_model.id, "version": pushed_model.custom_properties["pushed_version"].string_value,
                   "destination": pushed_model.custom_properties["pushed_destination"].string_value},
        "data": {"artifact_id": raw_examples.id, "uri": raw_examples.uri, "span": span.int_value if span else None,
                 "records": _record_counts(store, raw_examples), "example_gen": _node(store, example_gen),
                 "execution_id": example_gen.id, **recorded_data(example_gen)},
        "transform": {"artifact_id": transform_graph.id, "uri": transform_graph.uri, "execution_id": transform.id},
        "training": {"model_artifact_id": model.id, "model_uri": model.uri, "execution_id": trainer.id,
                     "hyperparameters": custom_config.get("hyperparameters", {}),
                     "distribution": custom_config.get("distribution", {})},
        "evaluation": {"artifact_id": evaluation.id, "uri": evaluation.uri, "execution_id": evaluator.id,
                       "blessing_artifact_id": blessing.id, "verdict": verdict},
    }


def describe(lineage: dict) -> str:
    d, t, tr, e, p = (lineage[k] for k in ("data", "transform", "training", "evaluation", "pushed"))
    records = ", ".join(f"{split} {n}" for split, n in d["records"].items())
    return "\n".join([
        f"served model: version {p['version']} at {p['destination']}",
        f"  data:       {d['example_gen']} execution {d['execution_id']}, span {d['span']}, records: {records}",
        *([f"              data version {d['version']}: "
           + ", ".join(f"{name} sha256 {digest}" for name, digest in sorted(d["files"].items()))]
          if d.get("version") else []),
        f"              {d['uri']}",
        f"  transform:  Transform execution {t['execution_id']}: {t['uri']}",
        f"  training:   Trainer execution {tr['execution_id']}: hyperparameters {json.dumps(tr['hyperparameters'])}, "
        f"distribution {json.dumps(tr['distribution'])}",
        f"              {tr['model_uri']}",
        f"  evaluation: Evaluator execution {e['execution_id']}: {e['verdict'] or '(no report)'}",
        f"              {e['uri']}",
    ])
