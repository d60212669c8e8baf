"""TFX's LocalDagRunner, telling an observer when each component starts and how it ended.

The end is the execution's state as ML Metadata recorded it (COMPLETE, CACHED, FAILED),
read back by the execution id TFX's launcher returns, not parsed from TFX's log text (whose
wording changes between releases). The loop is LocalDagRunner's own (tfx 1.16,
``local_dag_runner.run_with_ir``): components in topological order, one launcher each;
partial runs (``run_options``) go to TFX's loop unchanged, without progress."""
from __future__ import annotations

import datetime
import time
from typing import Optional, Protocol

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


class ObservedLocalDagRunner(LocalDagRunner):
    def __init__(self, observer: Optional[NodeObserver] = None):
        super().__init__()
        self.observer = observer or _Silent()

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
                self.observer.finished(node_id, execution_state(connection_config, execution_id),
                                       time.monotonic() - start)
        return None
