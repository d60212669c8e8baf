"""The local scheduler: a real pipeline run twice on a cron, with a new span in between."""
import random
import subprocess
import sys
import time

import pytest
from ml_metadata.proto import metadata_store_pb2

from tests.pipeline_checks import COMPLETE, executions_by_node, serving_versions
from tfxp_cli.local_schedule import ScheduleError, check_local_cron
from tfxp_reports.outcome import latest_outcome, open_store


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
        assert process.wait(timeout=900) == 0, (tmp_path / "schedule.log").read_text()[-3000:]
    finally:
        process.kill()
    text = (tmp_path / "schedule.log").read_text()
    assert "run 1: finished" in text and "model BLESSED and pushed" in text
    assert "run 2: finished" in text and "model NOT BLESSED" in text

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
