import os
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, free_port, wait_until_listening
from tfxp_cli.main import use_keras_2

use_keras_2()  # as the CLI does, before anything imports TensorFlow
# No test reads the host's CPU flags (trainers.strategies): a CPU without native bfloat16 unless
# the run names another file (CI runs tests/test_strategies.py once more as an AVX512-BF16 CPU).
os.environ.setdefault("TFXP_CPUINFO", str(REPO / "tests" / "data" / "cpuinfo-no-bf16"))


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


@pytest.fixture(scope="session", autouse=True)
def _beam_as_local_runs_have_it():
    """Beam with its per-DoFn fixed costs trimmed, as every local run and compiled task has it
    (infra.beam_fixed_cost), and its data streams to worker processes flushed by size only
    (infra.beam_data_plane), for tests that run Beam or TFMA directly too."""
    from infra import beam_data_plane, beam_fixed_cost
    beam_fixed_cost.apply()
    beam_data_plane.apply()
    yield


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """A real MariaDB server (Debian's mariadb-server, installed by ./dev test) on 127.0.0.1,
    with a temporary data folder, stopped afterwards. Yields mysql://root@127.0.0.1:PORT."""
    import shutil
    import subprocess

    server, install = shutil.which("mariadbd", path="/usr/sbin:/usr/bin"), shutil.which("mariadb-install-db")
    if server is None or install is None:
        pytest.skip("MariaDB is not installed (./dev test installs Debian's mariadb-server)")
    folder = tmp_path_factory.mktemp("mariadb")
    subprocess.run([install, f"--datadir={folder / 'data'}", "--user=root", "--skip-test-db",
                    "--auth-root-authentication-method=normal"], check=True, capture_output=True, timeout=300)
    port = free_port()
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen([server, "--no-defaults", f"--datadir={folder / 'data'}", "--user=root",
                                f"--port={port}", "--bind-address=127.0.0.1", f"--socket={folder / 'sock'}",
                                "--skip-grant-tables", "--skip-name-resolve"], stdout=log, stderr=subprocess.STDOUT)
    wait_until_listening(port, process, 60, f"MariaDB (log: {folder / 'server.log'})")
    yield f"mysql://root@127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=60)
    log.close()


def pytest_collection_modifyitems(items):
    """Files that run a pipeline (``e2e``) first, then the slow ones, then the quick ones: with
    ``--dist=loadfile --no-loadscope-reorder`` (./dev test) each test process takes the next file
    when it finishes one, so the quick files even out the end instead of one long file running
    alone (xdist's own order, most tests first, left the compiled-pipeline file for last). A
    file keeps its tests' order (a stable sort; its module fixtures stay shared)."""
    rank: dict[Path, int] = {}
    for item in items:
        kind = 0 if item.get_closest_marker("e2e") else 1 if item.get_closest_marker("slow") else 2
        rank[item.path] = min(rank.get(item.path, 2), kind)
    items.sort(key=lambda item: rank[item.path])
