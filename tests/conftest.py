import os
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local mirror of the published files (../shared/datasets beside the repo)."""
    path = Path(os.environ.get("TFXP_DATA_DIR") or REPO.parent / "shared" / "datasets")
    if not path.is_dir():
        pytest.skip(f"no dataset mirror at {path}; set TFXP_DATA_DIR")
    return path


@pytest.fixture(scope="session", autouse=True)
def _plain_argv():
    """TFX's BaseBeamExecutor parses ``sys.argv + beam_pipeline_args`` with absl flags, so
    pytest's own arguments would reach absl: ``pytest -v`` makes absl read the first Beam
    argument as the value of its ``-v`` (verbosity) flag and every Beam component fails."""
    saved = sys.argv
    sys.argv = saved[:1]
    yield
    sys.argv = saved
