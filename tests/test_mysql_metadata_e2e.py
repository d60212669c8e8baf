"""Local runs sharing ML Metadata in a real MariaDB server: baselines, reports and lineage
work on it as on SQLite, and two datasets' pipelines in one database keep to their own
artifacts (mammographic's first run has no baseline although house_votes' model is blessed)."""
import json

import pytest

from tests.helpers import tfxp_here
from tfxp_reports.outcome import latest_outcome

pytestmark = pytest.mark.e2e


def test_two_pipelines_share_one_mariadb_store(mariadb, tmp_path, data_dir):
    store = f"{mariadb}/tfxp_shared"
    common = ["--data-dir", data_dir, "--output-dir", tmp_path / "out", "--metadata", store]
    first = tfxp_here("run", "house_votes", *common)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "model BLESSED and pushed" in first.stdout
    assert not (tmp_path / "out" / "house_votes" / "metadata.sqlite").exists()  # the store is the server

    masses = tfxp_here("run", "mammographic", *common)
    assert masses.returncode == 0, masses.stderr[-3000:]
    report = tfxp_here("report", "mammographic", "-o", "json", "--output-dir", tmp_path / "out", "--metadata", store)
    assert report.returncode == 0, report.stderr[-2000:]
    assert json.loads(report.stdout)["evaluation"]["has_baseline"] is False  # not house_votes' model

    second = tfxp_here("run", "house_votes", *common)  # its baseline: the served house_votes model
    assert second.returncode == 0, second.stderr[-3000:]
    report = tfxp_here("report", "house_votes", "-o", "json", "--output-dir", tmp_path / "out", "--metadata", store)
    assert json.loads(report.stdout)["evaluation"]["has_baseline"] is True
    lineage = tfxp_here("lineage", "house_votes", "-o", "json", "--output-dir", tmp_path / "out", "--metadata", store)
    assert lineage.returncode == 0, lineage.stderr[-2000:]
    assert json.loads(lineage.stdout)["data"]["records"] == {"train": 359, "eval": 76}
    assert latest_outcome(store, "house_votes").blessed and latest_outcome(store, "mammographic").blessed
