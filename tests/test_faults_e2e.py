"""The product under faults users cause: a run SIGKILLed anywhere, code edited between runs.

Real `tfxp run` processes on house_votes; each kill is aimed by waiting for the component's
start line in the run's own progress output.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.serving.atomic_pusher import served_versions
from tests.helpers import REPO, builtin_spec_dict, write_spec
from tests.pipeline_checks import CACHED, COMPLETE, executions_by_node
from tfxp_contract.names import PUSH_COMPLETE_FILE, SERVED_SOURCE_FILE
from tfxp_reports.outcome import latest_outcome

pytestmark = pytest.mark.e2e


def start_run(out: Path, data_dir, log: Path, env=None, dataset: str = "house_votes") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tfxp_cli.main", "run", dataset, "--data-dir", str(data_dir),
         "--output-dir", str(out)],
        # Not started in the repository: `python -m` puts the working folder first on sys.path,
        # ahead of PYTHONPATH's edited copy.
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=log.parent)


def kill_when(process: subprocess.Popen, log: Path, line: str, after_seconds: float) -> None:
    """SIGKILL the run (its whole process group, Beam's workers too) once ``line`` is printed."""
    deadline = time.monotonic() + 600
    while line not in log.read_text():
        assert process.poll() is None, f"the run ended before {line!r}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    time.sleep(after_seconds)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def test_a_run_killed_in_any_component_is_completed_by_a_plain_rerun(tmp_path, data_dir):
    out = tmp_path / "out"
    # Each re-run gets past the component the previous run was killed in, to the next kill.
    for n, (component, after) in enumerate([("CsvSpecExampleGen", 2.0), ("Transform", 3.0), ("Trainer", 3.0),
                                            ("AtomicPusher", 0.0)]):
        log = tmp_path / f"killed-{n}.log"
        kill_when(start_run(out, data_dir, log), log, f"] {component} ...", after)
    log = tmp_path / "rerun.log"
    run = start_run(out, data_dir, log)
    assert run.wait(timeout=900) == 0, log.read_text()[-3000:]
    assert "model BLESSED and pushed" in log.read_text(), log.read_text()[-3000:]

    home = out / "house_votes"
    assert latest_outcome(str(home / "metadata.sqlite"), "house_votes").blessed
    serving = home / "serving"
    versions = served_versions(str(serving))
    assert versions and sorted(os.listdir(serving)) == [str(v) for v in versions]  # no .incoming-*, no partial
    for version in versions:
        folder = serving / str(version)
        assert (folder / "saved_model.pb").is_file() and (folder / SERVED_SOURCE_FILE).is_file()
        assert (folder / PUSH_COMPLETE_FILE).is_file()
        assert list((folder / "variables").glob("variables.data-*"))


def _source_copy(tmp_path: Path) -> Path:
    """The packages a test edits, copied; PYTHONPATH puts the copy before the installed ones."""
    src = tmp_path / "src"
    for package in ("transforms", "trainers", "components"):
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    return src


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_an_edited_function_reruns_exactly_the_components_that_run_it(tmp_path, data_dir):
    """Then an edit that breaks serving: the Evaluator blesses it, the serving check stops it."""
    raw = builtin_spec_dict("house_votes")
    # Accuracy alone, and any change allowed: the Evaluator blesses every retrained model, so
    # the last step shows the serving check deciding alone.
    raw["metrics"], raw["change_tolerance"] = [{"name": "accuracy", "lower_bound": 0.85}], 1.0
    spec_path = str(write_spec(tmp_path, raw, "votes.yaml"))
    src = _source_copy(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "out"
    metadata = str(out / "house_votes" / "metadata.sqlite")

    def run_and_states(name: str) -> dict:
        log = tmp_path / f"{name}.log"
        assert start_run(out, data_dir, log, env, spec_path).wait(timeout=900) == 0, log.read_text()[-3000:]
        return {node: executions[-1].last_known_state for node, executions in
                executions_by_node(metadata, "house_votes").items()}

    run_and_states("first")
    # (Unchanged code reuses every cache up to the Evaluator: test_pipeline_e2e's second run.)

    # One function body in the transform: Transform and everything after it run again.
    _edit(src / "transforms" / "tabular.py", "    outputs = {}\n    numeric_columns =",
          "    outputs = {}  # edited by the test\n    numeric_columns =")
    edited_transform = run_and_states("edited-transform")
    assert edited_transform["CsvSpecExampleGen"] == edited_transform["SchemaFromSpec"] == CACHED, edited_transform
    assert edited_transform["Transform"] == edited_transform["Trainer"] == COMPLETE, edited_transform
    served = served_versions(str(out / "house_votes" / "serving"))

    # One function body in a model builder, and the served signature now returning
    # probabilities times two (still the right class for the Evaluator's accuracy, but no
    # client can read it as probabilities): only the Trainer and what reads its model run.
    _edit(src / "trainers" / "models.py", "    inputs, x = tabular_inputs(layout, embedding_dim)\n",
          "    hidden_units = tuple(hidden_units)  # edited by the test\n"
          "    inputs, x = tabular_inputs(layout, embedding_dim)\n")
    _edit(src / "trainers" / "export.py", "        probabilities = model(_model_inputs(model, transformed))\n",
          "        probabilities = model(_model_inputs(model, transformed)) * 2.0  # broken by the test\n")
    broken = run_and_states("broken-serving")
    assert broken["Transform"] == CACHED, broken
    assert broken["Trainer"] == broken["Evaluator"] == broken["AtomicPusher"] == COMPLETE, broken
    log = (tmp_path / "broken-serving.log").read_text()
    assert "model BLESSED but not pushed: the serving check failed: probabilities of an example sum to 2.0000, " \
           "not 1" in log, log[-3000:]
    assert served_versions(str(out / "house_votes" / "serving")) == served  # the previous model stays

    # One line in a reader that Beam's workers run: ExampleGen and everything after it run.
    _edit(src / "components" / "ingest" / "workers" / "csv_reading.py", "import apache_beam as beam\n",
          "import apache_beam as beam  # edited by the test\n")
    edited_reader = run_and_states("edited-reader")
    assert edited_reader["CsvSpecExampleGen"] == edited_reader["Transform"] == edited_reader["Trainer"] == COMPLETE, \
        edited_reader
    assert served_versions(str(out / "house_votes" / "serving")) == served  # still broken: nothing pushed
