"""Helpers the tests share: built-in specs as editable dicts, spec files in a temp folder, free
ports, and ``tfxp`` commands run in the test process."""
from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from tfxp_contract.dataset_spec import SPECS_DIR

REPO = Path(__file__).resolve().parents[1]


def builtin_spec_dict(name: str) -> dict:
    return yaml.safe_load((SPECS_DIR / f"{name}.yaml").read_text())


def unlabelled_vae_dict() -> dict:
    """fashion_mnist_vae as a user with images only would write it: no label column, no labels
    files, the published images files as the splits."""
    raw = builtin_spec_dict("fashion_mnist_vae")
    raw.pop("label")
    raw["name"] = "clothes_vae"
    raw["columns"] = [c for c in raw["columns"] if c["name"] != "label"]
    raw["files"] = [f for f in raw["files"] if "images" in f["name"]]
    raw["published_splits"] = {"train": "train-images-idx3-ubyte.gz", "eval": "t10k-images-idx3-ubyte.gz"}
    return raw


def write_spec(tmp_path: Path, raw: dict, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def private_temp(tmp_path: Path, monkeypatch) -> Path:
    """A temporary folder of the test's own, for this process (``tempfile``) and the processes
    it starts (TMPDIR): what the test's code leaves there is not mixed with what tests running
    beside it put in the shared one."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def free_port() -> int:
    """A port on 127.0.0.1 free right now, for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(port: int, process, timeout: float, what: str) -> None:
    """Returns once ``process`` accepts connections on ``port``; fails naming ``what``."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.2)


def tfxp_here(*args, cwd=None) -> subprocess.CompletedProcess:
    """``tfxp ARGS`` through the CLI's ``main`` in this process, reported as a finished
    ``tfxp`` process would be (return code, stdout, stderr): TensorFlow and TFX are imported
    once per test process, not once per call (8-10 s here). The working folder and the
    environment (``main`` sets the Trainer's verbosity) are restored afterwards. What only a
    process of its own shows (exit codes of ``tfxp`` itself, a kill): tests/test_cli_exit.py,
    tests/test_faults_e2e.py."""
    from tfxp_cli.main import main

    environ, here, argv = dict(os.environ), os.getcwd(), sys.argv
    sys.argv = ["tfxp", *map(str, args)]  # as the process's own: libraries read it (absl's flags)
    out, err = io.StringIO(), io.StringIO()
    # Log records reach stderr as in a process of its own (a library's logged traceback too):
    # the handlers that print them were made with the stderr of their time.
    handlers = _log_printers()
    streams = [h.stream for h in handlers]
    try:
        if cwd is not None:
            os.chdir(cwd)
        for handler in handlers:
            handler.setStream(err)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as stop:  # argparse's usage errors; a command's message (as Python exits)
                code = stop.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            print(code, file=err)
            code = 1
    finally:
        for handler, stream in zip(handlers, streams):
            handler.setStream(stream)
        for handler in _log_printers():  # made during the call (Beam's basicConfig): the test's stderr
            if handler.stream is err:
                handler.setStream(sys.stderr)
        os.chdir(here)
        sys.argv = argv
        os.environ.clear()
        os.environ.update(environ)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _log_printers() -> list[logging.StreamHandler]:
    """absl's handler and the root logger's stream handlers (not pytest's own, nor files)."""
    from absl import logging as absl_logging

    found = [absl_logging.get_absl_handler().python_handler, *logging.getLogger().handlers]
    return [h for i, h in enumerate(found) if isinstance(h, logging.StreamHandler) and h not in found[:i]
            and not isinstance(h, logging.FileHandler) and not type(h).__module__.startswith("_pytest")]
