"""One run at a time per dataset output folder.

Two runs writing one folder (pipeline root, SQLite metadata, served models) would mix their
outcomes; `tfxp run` and `tfxp schedule` hold an exclusive lock on ``<folder>/.tfxp-run.lock``
for the whole run. The kernel releases it when the process ends, however it ends, so a killed
run never leaves a stale lock; the file keeps who held it last.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Iterator, Optional

from tfxp_contract.errors import ExplainedError

LOCK_FILE = ".tfxp-run.lock"


class RunLockedError(ExplainedError, RuntimeError):
    """Another run holds the output folder; the message names it."""


def running(folder: Path) -> Optional[dict]:
    """Who holds the folder's run lock now (pid, started, command), or None when no run does."""
    path = folder / LOCK_FILE
    if not path.exists():
        return None
    with open(path, "r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None  # nobody holds it exclusively
        except BlockingIOError:
            try:
                return json.loads(handle.read() or "{}")
            except ValueError:
                return {}


@contextlib.contextmanager
def run_lock(folder: Path, command: str) -> Iterator[None]:
    """Holds ``folder``'s lock; ``command`` (the command line) is recorded for whoever finds it held."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                holder = json.loads(handle.read() or "{}")
            except ValueError:
                holder = {}
            raise RunLockedError(
                f"another run is using {folder}: pid {holder.get('pid', '?')}, started {holder.get('started', '?')} "
                f"({holder.get('command', '?')}); wait for it to end, or give another --output-dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                                 "command": command[:300]}))
        handle.flush()
        yield
