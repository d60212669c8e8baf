"""Local multi-worker training: N worker processes on this machine, a real cluster on 127.0.0.1.

Each worker runs ``python -m trainers.worker JOB.json`` with its own TF_CONFIG, the way a
cluster scheduler (Vertex AI, Kubernetes) would start it; the launcher waits for all of
them. If one dies, the others are stopped (they would wait forever in a collective) and the
error names the worker, its exit status and the end of its log.

Ports are chosen free but cannot be held until TF binds them (its gRPC server refuses to
share a port), so a worker that finds its port taken meanwhile ("Could not start gRPC
server") makes the launcher start the whole cluster again on new ports, up to
``PORT_ATTEMPTS`` times.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import os
import shutil  # local: the launcher's own folder on this machine
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path  # local: the launcher's own folder on this machine
from typing import Callable, Iterator, Optional

from absl import logging

from tfxp_contract.errors import ExplainedError
from trainers.training_job import TrainingJob

WORKERS_FILE = "workers.json"  # index -> pid, for operators (and tests) to find the processes
PORT_ATTEMPTS = 3
PORT_TAKEN = ("Could not start gRPC server", "Address already in use")  # in a worker's log


class WorkerFailed(ExplainedError, RuntimeError):
    """A local training worker exited with an error or was killed."""

    def __init__(self, message: str, port_taken: bool = False):
        super().__init__(message)
        self.port_taken = port_taken


@dataclass
class Worker:
    """One training process of a cluster: ``label`` names its place (``worker 0``)."""
    label: str
    process: subprocess.Popen
    log_path: Path

    @property
    def name(self) -> str:
        return f"{self.label} (pid {self.process.pid})"


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


def stop_workers(workers: list[Worker], grace_seconds: float = 10.0) -> None:
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


def _die_with_parent() -> None:
    """In the worker, before it runs: the kernel sends it SIGTERM when the launcher dies, even
    by SIGKILL (Linux's parent-death signal), so no worker outlives its run."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the launcher's own handlers still stop the workers


PR_SET_PDEATHSIG = 1


def start_worker(command: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:  # local: in the launcher's folder
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM to the launcher ends the run like Ctrl-C does: the workers are stopped first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_local_workers(job: TrainingJob, num_workers: int, work_dir: str, poll_seconds: float = 0.5,
                      worker_command: Optional[list[str]] = None,
                      choose_ports: Callable[[int], list[int]] = free_ports) -> None:
    """Runs ``job`` on ``num_workers`` local processes; returns when all have finished.
    ``work_dir``: a local folder for the job, the logs and the pids (``trainers.run_fn``);
    ``worker_command`` replaces ``python -m trainers.worker JOB.json`` (tests)."""
    work = Path(work_dir)  # local: see the docstring
    work.mkdir(parents=True, exist_ok=True)
    # Non-chief workers' throw-away copies go here, removed even if a worker is killed.
    scratch = work / "scratch"
    job = dataclasses.replace(job, scratch_dir=str(scratch))
    job_file = work / "job.json"
    job_file.write_text(job.to_json())
    command = worker_command or [sys.executable, "-m", "trainers.worker", str(job_file)]
    with _stop_on_sigterm():
        try:
            for attempt in range(1, PORT_ATTEMPTS + 1):
                try:
                    _run_cluster(command, choose_ports(num_workers), work, poll_seconds)
                    return
                except WorkerFailed as err:
                    if not err.port_taken or attempt == PORT_ATTEMPTS:
                        raise
                    logging.warning("%s; starting the workers again on new ports (attempt %d of %d)",
                                    str(err).splitlines()[0], attempt + 1, PORT_ATTEMPTS)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)  # local: in the launcher's folder


def _run_cluster(command: list[str], ports: list[int], work: Path, poll_seconds: float) -> None:
    workers = []
    try:
        for index, config in enumerate(tf_configs(ports)):
            env = {**os.environ, "TF_CONFIG": json.dumps(config)}
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            log_path = work / f"worker-{index}.log"
            workers.append(Worker(f"worker {index}", start_worker(command, env, log_path), log_path))
        (work / WORKERS_FILE).write_text(json.dumps({i: w.process.pid for i, w in enumerate(workers)}))
        logging.info("started %d local workers on ports %s; logs in %s", len(ports), ports, work)
        _wait(workers, len(ports), poll_seconds)
    except BaseException:  # a failed worker, Ctrl-C, SIGTERM: none of the workers outlives the run
        stop_workers(workers)
        raise


def first_failure(workers: list[Worker]) -> Optional[Worker]:
    """The worker that failed first, if one has: a killed one is the cause, the survivors'
    errors its consequence."""
    failed = [(i, w) for i, w in enumerate(workers) if w.process.poll() not in (None, 0)]
    return min(failed, key=lambda iw: (iw[1].process.returncode >= 0, iw[0]))[1] if failed else None


def _wait(workers: list[Worker], num_workers: int, poll_seconds: float) -> None:
    while True:
        first = first_failure(workers)
        if first is not None:
            stop_workers(workers)
            tail = log_tail(first.log_path)
            raise WorkerFailed(
                f"local multi-worker training failed: {first.name} {describe_exit(first.process.returncode)}; "
                f"the other workers were stopped. Log: {first.log_path}\n{tail}",
                port_taken=any(marker in tail for marker in PORT_TAKEN))
        if all(w.process.returncode == 0 for w in workers):
            logging.info("all %d local workers finished", num_workers)
            return
        time.sleep(poll_seconds)
