"""Run bodies for the scheduler's tests: importable, since each run is a spawned process."""
import os
import signal
import subprocess
import time


def hang(pid_file: str) -> str:
    """A run that never ends, with a process of its own (as Beam's workers are)."""
    child = subprocess.Popen(["sleep", "600"])
    with open(pid_file, "w") as f:
        f.write(str(child.pid))
    while True:
        time.sleep(1)


def answer(pid_file: str) -> str:
    return "answered"


def die() -> str:
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"


def fail() -> str:
    raise ValueError("bad input")
