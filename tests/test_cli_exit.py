"""How ``tfxp`` ends (tfxp_cli.main.run skips Python's finalization): the command's exit
status and its last output survive, for a success, a usage error and an explained error."""
import subprocess
import sys

import pytest


def tfxp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfxp_cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, status, stream, text", [
    (["--version"], 0, "stdout", "TFX 1.16.0"),
    (["--no-such-option"], 2, "stderr", "usage: tfxp"),
    (["run", "no_such_dataset"], 1, "stderr", "error: unknown dataset 'no_such_dataset'"),
])
def test_exit_status_and_last_output_survive(args, status, stream, text):
    done = tfxp(*args)
    assert done.returncode == status, done.stderr[-2000:]
    assert text in getattr(done, stream)
