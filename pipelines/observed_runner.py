"""TFX's LocalDagRunner, telling an observer when each component starts and how it ended.

The end is the execution's state as ML Metadata recorded it (COMPLETE, CACHED, FAILED),
read back by the execution id TFX's launcher returns, not parsed from TFX's log text (whose
wording changes between releases). The loop is LocalDagRunner's own (tfx 1.16,
``local_dag_runner.run_with_ir``): components in topological order, one launcher each;
partial runs (``run_options``) go to TFX's loop unchanged, without progress."""
from __future__ import annotations

import datetime
import time
from typing import Callable, Optional, Protocol

from absl import logging
from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.compiler import constants
from tfx.orchestration import metadata
from tfx.orchestration.local import runner_utils
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.portable import launcher, runtime_parameter_utils
from tfx.proto.orchestration import pipeline_pb2
from tfx.utils import telemetry_utils


class NodeObserver(Protocol):
    def started(self, node_id: str, index: int, total: int) -> None:
        """Component ``index`` (from 1) of ``total`` begins."""

    def finished(self, node_id: str, state: str, seconds: float) -> None:
        """It ended: COMPLETE, CACHED, FAILED (ML Metadata's execution states) or SKIPPED (its
        driver decided not to run it, or it is a system node with no execution of its own)."""


class _Silent:
    def started(self, node_id: str, index: int, total: int) -> None:
        pass

    def finished(self, node_id: str, state: str, seconds: float) -> None:
        pass


def execution_state(connection_config, execution_id: Optional[int]) -> str:
    """The recorded state of an execution: COMPLETE, CACHED, FAILED, RUNNING, ..., or SKIPPED."""
    if execution_id is None:
        return "SKIPPED"
    with metadata.Metadata(connection_config) as handle:
        [execution] = handle.store.get_executions_by_id([execution_id]) or [None]
    if execution is None:
        return "SKIPPED"
    return metadata_store_pb2.Execution.State.Name(execution.last_known_state)


def execution_outputs(connection_config, execution_id: int) -> dict[str, list[str]]:
    """An execution's output artifacts as ML Metadata recorded them: output key -> URIs (for a
    cached execution, the earlier outputs it reuses)."""
    with metadata.Metadata(connection_config) as handle:
        events = [e for e in handle.store.get_events_by_execution_ids([execution_id])
                  if e.type == metadata_store_pb2.Event.OUTPUT]
        uris = {a.id: a.uri for a in handle.store.get_artifacts_by_id([e.artifact_id for e in events])}
    outputs: dict[str, list[str]] = {}
    for event in events:
        outputs.setdefault(event.path.steps[0].key, []).append(uris[event.artifact_id])
    return outputs


OutputsHook = Callable[[str, dict], None]  # (node id, execution_outputs) of each node that completed or was cached


class ObservedLocalDagRunner(LocalDagRunner):
    """``on_outputs``: told each node's outputs as soon as it has them (a hook that fails is
    logged; the run goes on)."""

    def __init__(self, observer: Optional[NodeObserver] = None, on_outputs: Optional[OutputsHook] = None):
        super().__init__()
        self.observer = observer or _Silent()
        self.on_outputs = on_outputs

    def run_with_ir(self, pipeline: pipeline_pb2.Pipeline,
                    run_options: Optional[pipeline_pb2.RunOptions] = None) -> None:
        if run_options:
            return super().run_with_ir(pipeline, run_options)
        runtime_parameter_utils.substitute_runtime_parameter(
            pipeline, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: datetime.datetime.now().isoformat()})
        deployment_config = runner_utils.extract_local_deployment_config(pipeline)
        connection_config = getattr(
            deployment_config.metadata_connection_config,
            deployment_config.metadata_connection_config.WhichOneof("connection_config"))
        nodes = [n.pipeline_node for n in pipeline.nodes
                 if not n.pipeline_node.execution_options.HasField("skip")]
        with telemetry_utils.scoped_labels({telemetry_utils.LABEL_TFX_RUNNER: "local"}):
            for index, node in enumerate(nodes, start=1):
                node_id = node.node_info.id
                component_launcher = launcher.Launcher(
                    pipeline_node=node, mlmd_connection=metadata.Metadata(connection_config),
                    pipeline_info=pipeline.pipeline_info, pipeline_runtime_spec=pipeline.runtime_spec,
                    executor_spec=runner_utils.extract_executor_spec(deployment_config, node_id),
                    custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment_config, node_id))
                self.observer.started(node_id, index, len(nodes))
                start = time.monotonic()
                try:
                    info = component_launcher.launch()
                except BaseException:
                    self.observer.finished(node_id, "FAILED", time.monotonic() - start)
                    raise
                execution_id = getattr(info, "execution_id", None)
                state = execution_state(connection_config, execution_id)
                self.observer.finished(node_id, state, time.monotonic() - start)
                if self.on_outputs is not None and state in ("COMPLETE", "CACHED"):
                    try:
                        self.on_outputs(node_id, execution_outputs(connection_config, execution_id))
                    except Exception:  # pylint: disable=broad-except  # it only gets work started sooner
                        logging.warning("after %s: the outputs hook failed", node_id, exc_info=True)
        return None
