"""The Tuner as a Vertex AI custom job whose replicas run trials in parallel.

TFX's Vertex Tuner extension (``tfx.extensions.google_cloud_ai_platform.Tuner``) does this with
KerasTuner's distributed mode; this component keeps its design and its job client, and differs
where a run would otherwise go wrong or say less:
- every replica runs ``ParallelTrialsExecutor``: the primary replica (pool 0) also starts the
  *chief oracle* in a child process, which hands out trials over gRPC at the primary's
  address from ``CLUSTER_SPEC`` and, once every replica has been told to stop, writes TFX's
  ``best_hyperparameters`` and ``tuner_results.json`` and our ``trials.json`` (every trial's
  values, score and seconds; ``components.tuning.timed_tuner``);
- the primary replica waits for its chief oracle and fails if it failed (TFX's leaves it to
  the interpreter's exit, so a failed oracle ends in a successful job without results);
- each replica searches in a working folder of its own (TFX's uses ``/tmp`` for all, which
  replicas sharing a machine would clear under one another);
- the custom job's pools come from the cloud config (``infra.vertex_training.
  tuner_custom_config``), checked against the component's ``num_parallel_trials``.
The time budget and the trial count live in the chief's oracle (``trainers.tuning``).
"""
from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import tempfile

from absl import logging
from tfx.components.tuner import executor as tuner_executor
from tfx.dsl.components.base import base_executor, executor_spec
from tfx.extensions.google_cloud_ai_platform import constants as vertex
from tfx.extensions.google_cloud_ai_platform import runner
from tfx.extensions.google_cloud_ai_platform.trainer.executor import JOB_ID_KEY
from tfx.extensions.google_cloud_ai_platform.tuner.executor import TUNING_ARGS_KEY
from tfx.types import standard_component_specs
from tfx.utils import json_utils, name_utils

from components.tuning.timed_tuner import TimedTuner, write_results

PRIMARY_POOL = "workerpool0"


class ParallelTrialsExecutor(base_executor.BaseExecutor):
    """One replica of the Tuner's custom job: trials from the chief oracle until it says stop."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        cluster = json.loads(os.environ.get("CLUSTER_SPEC") or "{}")
        if not cluster:
            raise RuntimeError("the Tuner's custom job replica found no CLUSTER_SPEC (Vertex AI sets it on every replica)")
        task = cluster["task"]
        pools = cluster["cluster"]
        # Vertex AI names the pools workerpool0..3; a job of one replica may call it "chief".
        primary = (pools.get(PRIMARY_POOL) or pools["chief"])[0]
        host, port = primary.rsplit(":", 1)
        is_primary = task["type"] in (PRIMARY_POOL, "chief")
        oracle = None
        if is_primary:
            # A child process: KerasTuner configures the chief through environment variables.
            oracle = multiprocessing.get_context("fork").Process(
                target=_run_chief_oracle, args=(input_dict, output_dict, exec_properties, port), name="chief-oracle")
            oracle.start()
            logging.info("chief oracle started: pid %d, port %s", oracle.pid, port)
        os.environ.update(KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port,
                          KERASTUNER_TUNER_ID=f"tuner-{task['type']}-{task['index']}")
        try:
            with tempfile.TemporaryDirectory(prefix="tfxp-tuner-") as work:  # the trials' checkpoints
                tuner_executor.search(input_dict, exec_properties, work, print_tuning_summary=False)
        finally:
            if oracle is not None:
                oracle.join()
        if oracle is not None and oracle.exitcode != 0:
            raise RuntimeError(f"the Tuner's chief oracle exited with code {oracle.exitcode}; no hyperparameters chosen")


def _run_chief_oracle(input_dict, output_dict, exec_properties, port: str) -> None:
    """The chief: serves trials until every replica has stopped, then writes the results."""
    os.environ.update(KERASTUNER_ORACLE_IP="0.0.0.0", KERASTUNER_ORACLE_PORT=port, KERASTUNER_TUNER_ID="chief")
    with tempfile.TemporaryDirectory(prefix="tfxp-oracle-") as work:
        tuner = tuner_executor.search(input_dict, exec_properties, work, print_tuning_summary=False)
        write_results(tuner, output_dict)


class VertexTunerExecutor(base_executor.BaseExecutor):
    """Starts the custom job (TFX's Vertex job client) and waits for it."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        config = json_utils.loads(exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
        if TUNING_ARGS_KEY not in config:
            raise ValueError(f"the Vertex Tuner's custom_config has no {TUNING_ARGS_KEY!r} (the cloud config's tuning:)")
        job_args = json.loads(json.dumps(config[TUNING_ARGS_KEY]))  # a copy: TFX's runner takes 'project' out
        tune_args = tuner_executor.get_tune_args(exec_properties)
        replicas = sum(int(p.get("replica_count", 1)) for p in job_args["job_spec"]["worker_pool_specs"])
        if tune_args is None or tune_args.num_parallel_trials != replicas:
            raise ValueError(f"the Tuner's custom job has {replicas} replicas but num_parallel_trials is "
                             f"{tune_args.num_parallel_trials if tune_args else 'unset'}: compile them from one config")
        job_id = config.get(JOB_ID_KEY) or f"tfxp_tuner_{datetime.datetime.now():%Y%m%d%H%M%S}"
        runner.start_cloud_training(input_dict, output_dict, exec_properties,
                                    name_utils.get_full_name(ParallelTrialsExecutor), job_args, job_id, None,
                                    True, config.get(vertex.VERTEX_REGION_KEY))


class VertexTuner(TimedTuner):
    """TFX's Tuner whose trials run as a Vertex AI custom job, ``num_parallel_trials`` at once."""
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(VertexTunerExecutor)
