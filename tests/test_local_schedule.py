"""The local scheduler: a real pipeline run twice on a cron, with a new span in between."""
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from ml_metadata.proto import metadata_store_pb2

from tests.pipeline_checks import COMPLETE, executions_by_node, serving_versions
from tests.scheduled_targets import answer, die, fail, hang
from tfxp_cli.errors import explain
from tfxp_cli.local_schedule import RunFailed, ScheduleError, check_local_cron, run_in_child, run_on_schedule
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.fetch import DataSourceError, newest_span
from tfxp_reports.metadata_store import open_store
from tfxp_reports.outcome import latest_outcome


@pytest.mark.parametrize("cron", ["0 3 * * *", "*/5 * * * * */10"])
def test_valid_crons(cron):
    assert check_local_cron(cron) == cron


@pytest.mark.parametrize("cron", ["0 3 * *", "61 * * * *", "every day"])
def test_invalid_crons_are_a_clear_error(cron):
    with pytest.raises(ScheduleError, match="is not a cron expression"):
        check_local_cron(cron)


def _scrambled(lines: list[str], seed: int = 0) -> list[str]:
    """Same parties, random votes: a span a model cannot learn from."""
    rng = random.Random(seed)
    return [",".join([line.split(",")[0]] + [rng.choice("yn?") for _ in range(16)]) for line in lines]


@pytest.mark.e2e
def test_scheduled_retraining_reads_the_new_span_and_does_not_push_a_worse_model(tmp_path, data_dir):
    rows = (data_dir / "house_votes" / "house-votes-84.data").read_text().splitlines()
    spans = tmp_path / "landing" / "house_votes"
    (spans / "span-1").mkdir(parents=True)
    (spans / "span-1" / "house-votes-84.data").write_text("\n".join(rows) + "\n")
    (spans / "span-1" / "_SUCCESS").touch()
    out = tmp_path / "out"
    log = open(tmp_path / "schedule.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tfxp_cli.main", "schedule", "house_votes", "--spans", "--data-dir",
         str(tmp_path / "landing"), "--output-dir", str(out), "--cron", "* * * * * */5", "--max-runs", "2"],
        stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        # Span 2 lands while run 1 is under way, after its ExampleGen has read span 1.
        deadline = time.monotonic() + 600
        while "CsvSpecExampleGen done" not in (tmp_path / "schedule.log").read_text():
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "schedule.log").read_text()[-3000:]
            time.sleep(0.5)
        (spans / "span-2").mkdir()
        (spans / "span-2" / "house-votes-84.data").write_text("\n".join(_scrambled(rows)) + "\n")
        (spans / "span-2" / "_SUCCESS").touch()
        # Span 3 is still being copied (half its rows, no _SUCCESS): run 2 must not read it.
        (spans / "span-3").mkdir()
        (spans / "span-3" / "house-votes-84.data").write_text("\n".join(rows[:200]) + "\n")
        assert process.wait(timeout=900) == 0, (tmp_path / "schedule.log").read_text()[-3000:]
    finally:
        process.kill()
    text = (tmp_path / "schedule.log").read_text()
    assert "run 1: finished" in text and "model BLESSED and pushed" in text
    assert "run 2: finished" in text and "model NOT BLESSED" in text
    assert f"{spans / 'span-3'}: no _SUCCESS file yet" in text

    metadata = str(out / "house_votes" / "metadata.sqlite")
    store = open_store(metadata)
    raw = {a.id: a.custom_properties["span"].int_value for a in store.get_artifacts_by_type("Examples")
           if "/CsvSpecExampleGen/" in a.uri}
    assert sorted(raw.values()) == [1, 2]
    executions = executions_by_node(metadata, "house_votes")
    assert [e.last_known_state for e in executions["Trainer"]] == [COMPLETE, COMPLETE]
    # Run 2's Transform (whose output the Trainer fit) read span 2's examples.
    inputs = {e.artifact_id for e in store.get_events_by_execution_ids([executions["Transform"][-1].id])
              if e.type == metadata_store_pb2.Event.INPUT}
    assert [raw[i] for i in inputs if i in raw] == [2]
    assert not latest_outcome(metadata).blessed
    assert len(serving_versions(str(out / "house_votes" / "serving"))) == 1  # only run 1's model is served


class FakeClock:
    """Time that moves only when the scheduler sleeps (or a test steps it)."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def test_clock_stepped_back_does_not_run_a_fire_time_twice():
    clock = FakeClock(_at("2026-11-26 02:59:00"))
    fired = []

    def run_once(n):
        fired.append(datetime.fromtimestamp(clock(), timezone.utc).strftime("%d %H:%M"))
        if n == 1:
            clock.now -= 3600  # the clock is set back an hour during the 03:00 run
        return "ok"

    failures = run_on_schedule("0 3 * * *", run_once, max_runs=2, log=lambda line: None, clock=clock,
                               sleep=clock.sleep)
    assert failures == 0 and fired == ["26 03:00", "27 03:00"]


def test_a_run_raising_systemexit_is_a_failure_and_the_schedule_goes_on():
    clock = FakeClock(_at("2026-11-26 02:59:00"))
    lines = []

    def run_once(n):
        if n == 1:
            raise SystemExit(3)
        return "fine"

    failures = run_on_schedule("0 3 * * *", run_once, max_runs=2, log=lines.append, clock=clock, sleep=clock.sleep)
    assert failures == 1 and "run 1 failed: SystemExit: 3" in lines and "run 2: fine" in lines


def test_ctrl_c_during_a_run_ends_the_schedule():
    clock = FakeClock(_at("2026-11-26 02:59:00"))
    lines = []

    def run_once(n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_on_schedule("0 3 * * *", run_once, max_runs=3, log=lines.append, clock=clock, sleep=clock.sleep)
    assert lines[-1] == "schedule stopped during run 1"


def test_a_hung_run_is_stopped_at_its_timeout_with_its_processes_and_the_next_fire_happens(tmp_path):
    clock = FakeClock(_at("2026-11-26 02:59:00"))
    lines = []
    pid_file = tmp_path / "grandchild.pid"

    def run_once(n):
        return run_in_child(hang if n == 1 else answer, (str(pid_file),), timeout_seconds=3, grace_seconds=2)

    started = time.monotonic()
    failures = run_on_schedule("0 3 * * *", run_once, max_runs=2, log=lines.append, clock=clock, sleep=clock.sleep,
                               describe_error=explain)
    assert failures == 1 and time.monotonic() - started < 60
    assert "run 1 failed: stopped after 3 s (the run timeout); its processes were ended" in lines, lines
    assert "run 2: answered" in lines, lines
    grandchild = int(pid_file.read_text())
    assert not _alive(grandchild), "a process the hung run started outlived it"


def test_a_run_whose_process_dies_is_a_failure_naming_the_signal():
    with pytest.raises(RunFailed, match="killed by SIGKILL"):
        run_in_child(die, ())
    with pytest.raises(RunFailed, match="ValueError: bad input"):
        run_in_child(fail, ())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has ended; only its parent's wait is missing.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def test_span_without_success_marker_is_not_read(tmp_path):
    spec = load_spec("house_votes")
    folder = tmp_path / spec.mirror_folder
    for n in (1, 2, 3):
        (folder / f"span-{n}").mkdir(parents=True)
    (folder / "span-1" / "_SUCCESS").touch()
    (folder / "span-2" / "_SUCCESS").touch()
    messages = []
    assert newest_span(spec, tmp_path, messages.append) == (folder, 2)
    assert messages == [f"{folder / 'span-3'}: no _SUCCESS file yet (still being written?); skipped until it has one"]
    (folder / "span-3" / "_SUCCESS").touch()
    assert newest_span(spec, tmp_path, messages.append) == (folder, 3)
    for n in (1, 2, 3):
        (folder / f"span-{n}" / "_SUCCESS").unlink()
    with pytest.raises(DataSourceError, match="no span-N/ folder is complete yet"):
        newest_span(spec, tmp_path, messages.append)
