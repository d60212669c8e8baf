"""Local training workers never outlive their launcher: SIGKILL or SIGTERM of the process
that started them, and within 10 s none of them is alive (real processes, not a fake)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The launcher: run_local_workers with workers that only sleep (a real job needs a pipeline).
LAUNCHER = """
import sys
from trainers.local_cluster import run_local_workers
from trainers.training_job import TrainingJob
job = TrainingJob(spec_json="{}", train_files=[], eval_files=[], transform_output="", serving_model_dir="",
                  model_run_dir="")
run_local_workers(job, 2, sys.argv[1], worker_command=[sys.executable, "-c", "import time; time.sleep(120)"])
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited; its parent has not reaped it
        return stat.read().split()[2] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_their_launcher(tmp_path, sig):
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(tmp_path)])
    workers_file = Path(tmp_path) / "workers.json"
    deadline = time.monotonic() + 60
    while not workers_file.exists():
        assert time.monotonic() < deadline and launcher.poll() is None, "the launcher did not start its workers"
        time.sleep(0.1)
    pids = list(json.loads(workers_file.read_text()).values())
    assert all(_alive(pid) for pid in pids)
    launcher.send_signal(sig)
    launcher.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in pids if _alive(pid)], f"workers outlived the launcher's {sig.name}"


# A worker as far as the ports go: TF's own collective start-up on its TF_CONFIG port.
BIND_AND_EXIT = "import tensorflow as tf; tf.distribute.MultiWorkerMirroredStrategy()"


@pytest.mark.slow
def test_a_port_taken_before_the_worker_binds_it_starts_the_cluster_again(tmp_path):
    from trainers.local_cluster import free_ports, run_local_workers
    from trainers.training_job import TrainingJob
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()  # another program took the port between choosing it and the worker's bind
    chosen = []

    def choose_ports(count):
        ports = [squatter.getsockname()[1]] + free_ports(count - 1) if not chosen else free_ports(count)
        chosen.append(ports)
        return ports

    job = TrainingJob(spec_json="{}", train_files=[], eval_files=[], transform_output="", serving_model_dir="",
                      model_run_dir="")
    try:
        run_local_workers(job, 2, str(tmp_path), worker_command=[sys.executable, "-c", BIND_AND_EXIT],
                          choose_ports=choose_ports)
    finally:
        squatter.close()
    assert len(chosen) == 2 and chosen[1][0] != chosen[0][0]
