"""Local multi-worker training: N worker processes on this machine, a real cluster on 127.0.0.1.

Each worker runs ``python -m trainers.worker JOB.json`` with its own TF_CONFIG, the way a
cluster scheduler (Vertex AI, Kubernetes) would start it; the launcher waits for all of
them. If one dies, the others are stopped (they would wait forever in a collective) and the
error names the worker, its exit status and the end of its log.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from absl import logging

from tfxp_contract.errors import ExplainedError
from trainers.training_job import TrainingJob

WORKERS_FILE = "workers.json"  # index -> pid, for operators (and tests) to find the processes


class WorkerFailed(ExplainedError, RuntimeError):
    """A local training worker exited with an error or was killed."""


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen
    log_path: Path

    @property
    def name(self) -> str:
        return f"worker {self.index} (pid {self.process.pid})"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_configs(ports: list[int]) -> list[dict]:
    """One TF_CONFIG per worker; worker 0 is the chief (TF's convention without a 'chief' task)."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(len(ports))]


def describe_exit(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _stop(workers: list[_Worker], grace_seconds: float = 10.0) -> None:
    for w in workers:
        if w.process.poll() is None:
            w.process.terminate()
    deadline = time.monotonic() + grace_seconds
    for w in workers:
        try:
            w.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.process.kill()
            w.process.wait()


def run_local_workers(job: TrainingJob, num_workers: int, work_dir: str, poll_seconds: float = 0.5) -> None:
    """Runs ``job`` on ``num_workers`` local processes; returns when all have finished."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    # Non-chief workers' throw-away copies go here, removed even if a worker is killed.
    scratch = work / "scratch"
    job = dataclasses.replace(job, scratch_dir=str(scratch))
    job_file = work / "job.json"
    job_file.write_text(job.to_json())
    workers = []
    for index, config in enumerate(tf_configs(free_ports(num_workers))):
        env = {**os.environ, "TF_CONFIG": json.dumps(config)}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        log_path = work / f"worker-{index}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "trainers.worker", str(job_file)],
                                       env=env, stdout=log, stderr=subprocess.STDOUT)
        workers.append(_Worker(index, process, log_path))
    (work / WORKERS_FILE).write_text(json.dumps({w.index: w.process.pid for w in workers}))
    logging.info("started %d local workers; logs in %s", num_workers, work)
    try:
        while True:
            failed = [w for w in workers if w.process.poll() not in (None, 0)]
            if failed:
                # A killed worker is the cause; the survivors' errors are its consequence.
                first = min(failed, key=lambda w: (w.process.returncode >= 0, w.index))
                _stop(workers)
                raise WorkerFailed(
                    f"local multi-worker training failed: {first.name} {describe_exit(first.process.returncode)}; "
                    f"the other workers were stopped. Log: {first.log_path}\n{log_tail(first.log_path)}")
            if all(w.process.returncode == 0 for w in workers):
                logging.info("all %d local workers finished", num_workers)
                return
            time.sleep(poll_seconds)
    except BaseException:
        _stop(workers)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
