"""A dataset's evaluated runs read back from ML Metadata and their artifacts, oldest first:
each with its report, the data it read and what trained it; two runs side by side.

A run here is one Evaluator execution: its ModelEvaluation artifact holds the report, and
the artifacts it consumed lead back to the Trainer, Transform and ExampleGen that made them.
"""
from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass, field
from typing import Optional

from tfxp_contract.names import REPORT_DIR, SUMMARY_FILE
from tfxp_reports.lineage import LineageError, execution_property, inputs_of, producer_of, recorded_data
from tfxp_reports.metadata_store import artifacts_of, open_store


@dataclass
class RunRecord:
    run: str  # the Evaluator's output folder name, as `tfxp report --run` takes it
    evaluation_id: int
    time: str  # when the evaluation was recorded, UTC
    report: Optional[dict]  # None: no report (its step failed, or is still writing)
    data: dict = field(default_factory=dict)  # example_gen, span, version, files
    lineage: dict = field(default_factory=dict)  # node -> {execution_id, uri}

    @property
    def verdict(self) -> str:
        return self.report["verdict"] if self.report else "(no report)"

    @property
    def blessed(self) -> Optional[bool]:
        return self.report["blessed"] if self.report else None

    @property
    def served_version(self) -> str:
        pushed = (self.report or {}).get("pushed", {})
        return str(pushed["version"]) if pushed.get("pushed") else ""

    def overall_metrics(self) -> dict[str, float]:
        """The overall slice's metric values (the thresholds' and the reported ones)."""
        checks = (self.report or {}).get("evaluation", {}).get("checks", [])
        return {c["metric"]: c["value"] for c in checks if c["slice"] == "overall" and c["value"] is not None}


def _read_json(uri: str) -> Optional[dict]:
    if "://" not in uri:  # without TensorFlow's file systems (seconds to import) where it can
        if not os.path.exists(uri):  # local: no scheme
            return None
        with open(uri) as f:  # local: no scheme
            return json.load(f)
    import tensorflow as tf
    if not tf.io.gfile.exists(uri):
        return None
    with tf.io.gfile.GFile(uri) as f:
        return json.load(f)


def _lineage(store, evaluation) -> tuple[dict, dict]:
    """(data, lineage) of one evaluation: what the Evaluator read, back to ExampleGen's run."""
    lineage: dict = {}
    try:
        evaluator = producer_of(store, evaluation.id)
    except LineageError:
        return {}, {}
    lineage["Evaluator"] = {"execution_id": evaluator.id, "uri": evaluation.uri}
    inputs = inputs_of(store, evaluator.id)
    data: dict = {}
    for key, node in (("model", "Trainer"), ("examples", "ExampleGen"), ("baseline_model", "baseline")):
        for artifact in inputs.get(key, [])[:1]:
            producer = producer_of(store, artifact.id)
            lineage[node] = {"execution_id": producer.id, "uri": artifact.uri}
            if key == "model":
                config = json.loads(execution_property(producer, "custom_config") or "{}")
                lineage[node]["distribution"] = config.get("distribution", {})
                transform = inputs_of(store, producer.id).get("transform_graph", [])
                if transform:
                    lineage["Transform"] = {"execution_id": producer_of(store, transform[0].id).id,
                                            "uri": transform[0].uri}
            if key == "examples":
                span = artifact.custom_properties.get("span")
                data = {"span": span.int_value if span else None, **recorded_data(producer)}
    return data, lineage


def _time(artifact) -> str:
    seconds = artifact.create_time_since_epoch / 1000
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def pipeline_names(metadata: str) -> list[str]:
    """The pipelines (datasets) a store holds runs of."""
    return sorted(c.name for c in open_store(metadata).get_contexts_by_type("pipeline"))


def evaluated_runs(metadata: str, pipeline: str, known: Optional[dict[int, RunRecord]] = None) -> list[RunRecord]:
    """Every evaluated run of ``pipeline``, oldest first. ``known``: records read before, by
    evaluation artifact id; a run with its report written does not change, so those are reused
    (and new ones added to it)."""
    store = open_store(metadata)
    known = {} if known is None else known
    records = []
    for evaluation in sorted(artifacts_of(store, "ModelEvaluation", pipeline), key=lambda a: a.id):
        record = known.get(evaluation.id)
        if record is None:
            data, lineage = _lineage(store, evaluation)
            record = RunRecord(run=os.path.basename(evaluation.uri.rstrip("/")), evaluation_id=evaluation.id,
                               time=_time(evaluation),
                               report=_read_json(os.path.join(evaluation.uri, REPORT_DIR, SUMMARY_FILE)),
                               data=data, lineage=lineage)
            if record.report is not None:
                known[evaluation.id] = record
        records.append(record)
    return records


def _features(record: RunRecord) -> dict[str, str]:
    """Feature name -> type, from the report's statistics of the first split."""
    statistics = (record.report or {}).get("statistics", {})
    first = next(iter(statistics.values()), {"features": []})
    return {f["name"]: f["type"] for f in first["features"]}


def compare(a: RunRecord, b: RunRecord) -> dict:
    """Two runs side by side: overall metrics, hyperparameters that differ, data versions and
    feature (schema) changes from ``a`` to ``b``."""
    ma, mb = a.overall_metrics(), b.overall_metrics()
    metrics = [{"metric": m, "a": ma.get(m), "b": mb.get(m),
                "change": mb[m] - ma[m] if m in ma and m in mb else None} for m in dict.fromkeys([*ma, *mb])]
    ha, hb = ((r.report or {}).get("hyperparameters", {}) for r in (a, b))
    hyperparameters = [{"name": k, "a": ha.get(k), "b": hb.get(k), "changed": ha.get(k) != hb.get(k)}
                       for k in sorted({*ha, *hb})]
    fa, fb = _features(a), _features(b)
    schema = ([f"added: {n} ({fb[n]})" for n in fb if n not in fa]
              + [f"removed: {n} ({fa[n]})" for n in fa if n not in fb]
              + [f"type of {n}: {fa[n]} -> {fb[n]}" for n in fa if n in fb and fa[n] != fb[n]])
    return {"runs": [a.run, b.run], "verdicts": [a.verdict, b.verdict], "metrics": metrics,
            "hyperparameters": hyperparameters,
            "data": [{"version": r.data.get("version"), "span": r.data.get("span")} for r in (a, b)],
            "schema_changes": schema}
