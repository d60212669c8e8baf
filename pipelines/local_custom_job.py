"""Vertex AI's custom-job service on this machine: a Trainer compiled as a Vertex AI custom job
runs its worker pools as local processes.

TFX's Vertex Trainer extension builds the CustomJob itself (``VertexJobClient.
create_training_job``: the worker pool specs from the cloud config, each replica's command
``python -m tfx.scripts.run_executor ...`` with the Trainer's inputs and outputs) and hands it
to a job client that submits and polls it. ``install`` replaces that client, in one task's
process, by ``LocalCustomJobClient``: it checks the job with the Vertex AI client's own message
type, then starts every replica of every pool here with the environment Vertex AI gives one:
- ``CLUSTER_SPEC`` (pools ``workerpool0``..``workerpool3``) and ``TF_CONFIG`` (pool 0 is the
  ``chief``, 1 the ``worker``s, 2 ``ps``, 3 the ``evaluator``), addresses on 127.0.0.1;
- with a ``base_output_directory``: ``AIP_MODEL_DIR``, ``AIP_CHECKPOINT_DIR`` and
  ``AIP_TENSORBOARD_LOG_DIR`` below it (what Vertex AI TensorBoard uploads from).
Machine types and accelerators are reported and ignored: every replica runs on this CPU. The
job succeeds when every replica exits 0 and fails as soon as one fails, the others stopped:
stricter than Vertex AI, where the primary replica's exit decides.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from absl import logging
from tfx.extensions.google_cloud_ai_platform import runner, training_clients

from trainers.local_cluster import Worker, describe_exit, first_failure, free_ports, log_tail, start_worker, stop_workers

# Pool index -> TF_CONFIG task type, as Vertex AI assigns them.
TASK_TYPES = ("chief", "worker", "ps", "evaluator")
LOG_DIR_ENV = "TFXP_TASK_LOG_DIR"  # where replica logs go (run-compiled sets it per task)
POLL_SECONDS = 1.0  # TFX polls the service every 30 s; the processes here can be asked often


def replica_environments(job_spec: dict, ports: list[int]) -> list[tuple[str, dict]]:
    """(label, environment variables) for every replica, in pool order."""
    pools = job_spec["worker_pool_specs"]
    addresses, next_port = {}, iter(ports)
    for index, pool in enumerate(pools):
        addresses[index] = [f"127.0.0.1:{next(next_port)}" for _ in range(int(pool.get("replica_count", 1)))]
    cluster_spec = {f"workerpool{i}": a for i, a in addresses.items() if a}
    tf_cluster = {TASK_TYPES[i]: a for i, a in addresses.items() if a}
    base = job_spec.get("base_output_directory", {}).get("output_uri_prefix", "")
    replicas = []
    for pool_index, pool_addresses in addresses.items():
        for replica in range(len(pool_addresses)):
            env = {
                "CLUSTER_SPEC": json.dumps({"cluster": cluster_spec, "environment": "cloud", "job": job_spec,
                                            "task": {"type": f"workerpool{pool_index}", "index": replica, "trial": ""}}),
                "TF_CONFIG": json.dumps({"cluster": tf_cluster, "environment": "cloud", "job": job_spec,
                                         "task": {"type": TASK_TYPES[pool_index], "index": replica, "trial": ""}}),
            }
            if base:
                env.update(AIP_MODEL_DIR=f"{base}/model/", AIP_CHECKPOINT_DIR=f"{base}/checkpoints/",
                           AIP_TENSORBOARD_LOG_DIR=f"{base}/logs/")
            replicas.append((f"workerpool{pool_index} replica {replica}", env))
    return replicas


def local_command(command: list[str]) -> list[str]:
    """A container command ``python -m MODULE ...`` as this machine runs a task's process."""
    if command[:2] == ["python", "-m"]:
        return [sys.executable, "-m", "pipelines.task_process", *command[2:]]
    return command


class LocalCustomJobClient(training_clients.VertexJobClient):
    """TFX's Vertex AI job client with the service replaced by local processes."""

    def __init__(self, vertex_region: str):
        self._workers: list[Worker] = []
        super().__init__(vertex_region)

    def create_client(self) -> None:
        self._client = None  # nothing to connect to

    def launch_job(self, project: str, training_job: dict) -> None:
        from google.cloud import aiplatform_v1

        aiplatform_v1.CustomJob(training_job)  # what the service would refuse, refused here
        spec = training_job["job_spec"]
        for index, pool in enumerate(spec["worker_pool_specs"]):
            machine = pool.get("machine_spec", {})
            logging.info("workerpool%d: %d x %s%s: run here as processes on the CPU", index, pool.get("replica_count", 1),
                         machine.get("machine_type", "?"),
                         f" with {machine['accelerator_count']} x {machine['accelerator_type']} (ignored)"
                         if machine.get("accelerator_type") else "")
        replicas = replica_environments(spec, free_ports(sum(int(p.get("replica_count", 1))
                                                             for p in spec["worker_pool_specs"])))
        log_dir = Path(os.environ.get(LOG_DIR_ENV) or tempfile.mkdtemp(prefix="tfxp-custom-job-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        commands = [local_command(p["container_spec"]["command"] + list(p["container_spec"].get("args", [])))
                    for p in spec["worker_pool_specs"] for _ in range(int(p.get("replica_count", 1)))]
        for (label, env), command in zip(replicas, commands):
            log_path = log_dir / f"{label.replace(' ', '-')}.log"
            self._workers.append(Worker(label, start_worker(command, {**os.environ, **env}, log_path), log_path))
            logging.info("%s started: pid %d, log %s", label, self._workers[-1].process.pid, log_path)
        self._job_name = f"projects/{project}/locations/{self._region}/customJobs/local-{os.getpid()}"

    def get_job(self):
        from google.cloud import aiplatform_v1

        state = aiplatform_v1.JobState
        failed = first_failure(self._workers)
        if failed is not None:
            stop_workers(self._workers)
            message = (f"{failed.name} {describe_exit(failed.process.returncode)}; the other replicas were stopped. "
                       f"Log: {failed.log_path}\n{log_tail(failed.log_path, 8)}")
            return aiplatform_v1.CustomJob(state=state.JOB_STATE_FAILED, error={"code": 13, "message": message})
        if all(w.process.poll() == 0 for w in self._workers):
            return aiplatform_v1.CustomJob(state=state.JOB_STATE_SUCCEEDED)
        return aiplatform_v1.CustomJob(state=state.JOB_STATE_RUNNING)


def install() -> None:
    """TFX's Vertex Trainer extension, in this process, uses ``LocalCustomJobClient``."""
    def get_job_client(enable_vertex=False, vertex_region=None):
        if not enable_vertex:
            raise ValueError("only Vertex AI custom jobs run locally (the config sets ai_platform_enable_vertex)")
        return LocalCustomJobClient(vertex_region)

    training_clients.get_job_client = get_job_client
    runner._POLLING_INTERVAL_IN_SECONDS = POLL_SECONDS
