"""Faults a user meets, each ending in one line that names the file or store and the fix, with
nothing served or stored lost: damaged SavedModels, a half-copied version, damaged or empty
ML Metadata, a report asked for while its run is still writing it, a full disk, and text from
data that would reorder what a report's reader sees."""
import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.serving.atomic_pusher import served_versions
from tests.helpers import tfxp_here
from tests.pipeline_checks import tree_snapshot
from tfxp_contract.names import PUSH_COMPLETE_FILE


def _tfxp_process(*args):
    """``tfxp`` in a process of its own (where this test process holds a lock it checks)."""
    return subprocess.run([sys.executable, "-m", "tfxp_cli", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


def _one_line(done, *fragments):
    err = done.stderr.strip()
    assert done.returncode != 0, done.stdout[-1000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = err.splitlines()[-1]
    assert last.startswith("error: ") and all(f in last for f in fragments), err[-2000:]
    return last


@pytest.fixture(scope="module")
def served(tmp_path_factory, data_dir):
    """One house_votes run: a served version and a metadata store to damage copies of."""
    out = tmp_path_factory.mktemp("served") / "out"
    done = tfxp_here("run", "house_votes", "--data-dir", data_dir, "--output-dir", out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _copy(out: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(out, copy, symlinks=True)
    return copy


@pytest.mark.e2e
@pytest.mark.parametrize("damage", ["cut-pb", "random-pb", "empty-pb", "no-variables", "cut-variables"])
def test_a_damaged_saved_model_is_one_line_naming_it(served, tmp_path, damage):
    serving = served / "house_votes" / "serving"
    model = tmp_path / "model"
    shutil.copytree(serving / str(served_versions(str(serving))[-1]), model)
    pb, variables = model / "saved_model.pb", model / "variables"
    if damage == "cut-pb":
        pb.write_bytes(pb.read_bytes()[: len(pb.read_bytes()) // 3])
    elif damage == "random-pb":
        pb.write_bytes(os.urandom(4096))
    elif damage == "empty-pb":
        pb.write_bytes(b"")
    elif damage == "no-variables":
        shutil.rmtree(variables)
    else:
        [data] = list(variables.glob("variables.data-*"))
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    rows = tmp_path / "rows.csv"
    rows.write_text("republican,n,y,n,y,y,y,n,n,n,y,?,y,y,y,n,y\n")
    done = tfxp_here("predict", "house_votes", rows, "--model", model)
    _one_line(done, str(model), "the model does not load", "push it again")


@pytest.mark.e2e
def test_a_half_copied_newer_version_is_not_served(served, tmp_path):
    out = _copy(served, tmp_path)
    serving = out / "house_votes" / "serving"
    [complete] = served_versions(str(serving))
    newer = serving / str(complete + 100)
    shutil.copytree(serving / str(complete), newer)
    (newer / PUSH_COMPLETE_FILE).unlink()  # a push still copying, or a copy by hand
    (newer / "saved_model.pb").write_bytes(b"half")
    assert served_versions(str(serving)) == [complete]
    rows = tmp_path / "rows.csv"
    rows.write_text("republican,n,y,n,y,y,y,n,n,n,y,?,y,y,y,n,y\n")
    done = tfxp_here("predict", "house_votes", rows, "--output-dir", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "republican" in done.stdout


@pytest.mark.e2e
@pytest.mark.parametrize("damage, problem", [("random", "is not an SQLite database"), ("empty", "is empty (0 bytes)")])
def test_damaged_metadata_is_named_with_the_fix_and_rebuild_keeps_the_served_model(served, tmp_path, data_dir,
                                                                                   damage, problem):
    out = _copy(served, tmp_path)
    metadata = out / "house_votes" / "metadata.sqlite"
    metadata.write_bytes(os.urandom(8192) if damage == "random" else b"")
    serving = out / "house_votes" / "serving"
    before = tree_snapshot(str(serving))
    for command in (["report", "house_votes"], ["run", "house_votes", "--data-dir", data_dir]):
        _one_line(tfxp_here(*command, "--output-dir", out), str(metadata), problem, "tfxp metadata rebuild house_votes")
    check = tfxp_here("metadata", "check", "house_votes", "--output-dir", out)
    assert check.returncode == 1 and problem in check.stderr
    rebuilt = tfxp_here("metadata", "rebuild", "house_votes", "--output-dir", out)
    assert rebuilt.returncode == 0 and "Served models are kept" in rebuilt.stdout, rebuilt.stderr
    assert not metadata.exists() and list(metadata.parent.glob("metadata.sqlite.damaged-*"))
    assert tree_snapshot(str(serving)) == before
    if damage == "empty":
        return  # what follows a rebuild does not depend on the damage: checked once
    again = tfxp_here("run", "house_votes", "--data-dir", data_dir, "--output-dir", out)  # a new store, the same baseline
    assert again.returncode == 0 and "finished in" in again.stdout, again.stderr[-2000:]
    assert "BLESSED" in again.stdout and "first model: no baseline" not in again.stdout  # compared with the served one
    assert tfxp_here("metadata", "check", "house_votes", "--output-dir", out).returncode == 0


@pytest.mark.e2e
def test_a_report_asked_for_while_its_run_writes_it_says_so(served):
    from tfxp_cli.run_lock import run_lock

    # (the store records absolute paths: this works on the run's own folder, and puts it back)
    [summary] = (served / "house_votes" / "pipeline_root" / "Evaluator").rglob("report/summary.json")
    kept = summary.with_name("kept.json")
    summary.rename(kept)  # the last step has not written it yet
    try:
        with run_lock(served / "house_votes", "tfxp run house_votes"):
            _one_line(_tfxp_process("report", "house_votes", "--output-dir", served), "is still being written",
                      "a run is in progress", f"pid {os.getpid()}")
        _one_line(tfxp_here("report", "house_votes", "--output-dir", served), "has no report")
    finally:
        kept.rename(summary)


@contextlib.contextmanager
def _small_disk(folder: Path, megabytes: int):
    folder.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"a small filesystem could not be mounted here (needs root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.e2e
def test_a_full_disk_is_one_line_and_the_run_completes_once_there_is_room(tmp_path, data_dir):
    with _small_disk(tmp_path / "disk", 24) as disk:
        out = disk / "out"
        first = tfxp_here("run", "house_votes", "--data-dir", data_dir, "--output-dir", out)
        assert first.returncode == 0, first.stderr[-2000:]
        serving = out / "house_votes" / "serving"
        served_before = tree_snapshot(str(serving))
        filler = disk / "filler"
        with open(filler, "wb") as f:  # everything but 200 KiB
            f.write(b"\0" * (shutil.disk_usage(disk).free - 200 * 1024))
        full = tfxp_here("run", "house_votes", "--data-dir", data_dir, "--output-dir", out, "--set", "epochs=3")
        _one_line(full, "no space left on the disk holding", "free some space, then run again")
        assert tree_snapshot(str(serving)) == served_before  # the served model is whole
        filler.unlink()
        report = tfxp_here("report", "house_votes", "--output-dir", out)
        assert report.returncode == 0, report.stderr[-2000:]  # the metadata is usable
        again = tfxp_here("run", "house_votes", "--data-dir", data_dir, "--output-dir", out, "--set", "epochs=3")
        assert again.returncode == 0 and "finished in" in again.stdout, again.stderr[-2000:]


def test_text_from_data_cannot_reorder_what_a_report_shows():
    from tfxp_reports.report_html import render_html
    from tfxp_reports.run_report import terminal_summary

    trick = "safe\u202eevil\u200b"
    report = {"dataset": "d", "run": "1", "description": trick, "classes": [trick, "b"], "verdict": f"BLESSED: {trick}",
              "blessed": True, "task": "classification", "plots": {}, "statistics": {}, "anomalies": [trick],
              "training": None, "pushed": {"pushed": False}, "evaluation_uri": "/e",
              "evaluation": {"checks": [{"metric": "accuracy", "slice": f"party={trick}", "value": 0.9, "baseline": None,
                                         "change": None, "lower_bound": None, "upper_bound": None,
                                         "change_bound": None, "passed": None, "failure": "", "undefined": "",
                                         "lower_is_better": False}],
                             "example_counts": {"overall": 10.0}, "blessed": True, "verdict": "", "has_baseline": False}}
    page, text = render_html(report), terminal_summary(report)
    assert "\u202e" not in page and "\u200b" not in page and "safe\\u202eevil\\u200b" in page
    assert "\u202e" not in text and "safe\\u202eevil" in text
