"""The speed benchmarks stay runnable: each one end to end at a tiny size (no timing asserted)."""
import json

import pytest

from bench import ingest, overhead


@pytest.mark.slow
def test_ingest_benchmark_runs_every_reader_three_ways_on_tiny_inputs(tmp_path, data_dir):
    ingest.main(["--data-dir", str(data_dir), "--csv-rows", "3000", "--idx-images", "2000", "--archive-files", "300",
                 "--results", str(tmp_path)])
    result = json.loads((tmp_path / "ingest.json").read_text())
    assert set(result["kinds"]) == {"csv", "idx", "archive"}
    for rows in result["kinds"].values():
        assert [r["workers"] for r in rows] == [0, 1, 2]
        assert len({r["records"] for r in rows}) == 1  # every way wrote every record
        assert all(r["records_per_s"] > 0 and r["peak_mib"] > 100 for r in rows)  # TF alone is > 100 MiB
    assert result["kinds"]["archive"][0]["records"] == 300 and result["kinds"]["idx"][0]["records"] == 12_000
    assert "| idx (2,000 + 10,000 images) | 12,000 | loop (1 process) |" in (tmp_path / "ingest.md").read_text()


@pytest.mark.e2e
def test_overhead_benchmark_times_our_pipeline_beside_tfx_template(tmp_path, data_dir):
    overhead.main(["--data-dir", str(data_dir), "--datasets", "mammographic", "--repeats", "1",
                   "--results", str(tmp_path)])
    [row] = json.loads((tmp_path / "overhead.json").read_text())["rows"]
    for name in ("ours", "template"):
        assert row[name]["wall_s"] > row[name]["trainer_s"] > 0
        assert {"StatisticsGen", "Transform", "Trainer", "Evaluator"} <= set(row[name]["components"])
    assert "AtomicPusher" in row["ours"]["components"] and "Pusher" in row["template"]["components"]
    assert row["ratio"] == round(row["ours"]["wall_s"] / row["template"]["wall_s"], 2)
    assert "| mammographic | TFX template |" in (tmp_path / "overhead.md").read_text()
