"""The speed benchmarks stay runnable: each one end to end at a tiny size (no timing asserted)."""
import json
import sys

import pytest

from bench import ingest, overhead, reference_scripts, time_to_accuracy


@pytest.mark.slow
def test_ingest_benchmark_runs_every_reader_three_ways_on_tiny_inputs(tmp_path, data_dir):
    """The naive loop and the 2-worker ExampleGen measured as the benchmark measures them (a
    process each); the loop with our encoders run here, on the same inputs. (The fourth way,
    1 Beam worker, is the 2-worker ExampleGen with another count.)"""
    ingest.main(["--data-dir", str(data_dir), "--csv-rows", "3000", "--idx-images", "2000", "--archive-files", "300",
                 "--ways", "naive", "2", "--results", str(tmp_path)])
    result = json.loads((tmp_path / "ingest.json").read_text())
    assert set(result["kinds"]) == {"csv", "idx", "archive"}
    for rows in result["kinds"].values():
        assert [r["way"] for r in rows] == ["naive", "2"]
        assert len({r["records"] for r in rows}) == 1  # every way wrote every record
        assert all(r["records_per_s"] > 0 and r["peak_mib"] > 100 for r in rows)  # TF alone is > 100 MiB
    assert result["kinds"]["archive"][0]["records"] == 300 and result["kinds"]["idx"][0]["records"] == 12_000
    assert "| idx (2,000 + 10,000 images) | 12,000 | naive loop (1 process) |" in (tmp_path / "ingest.md").read_text()
    inputs = {"csv": ingest.make_csv(str(data_dir), tmp_path / "csv", 3000),
              "idx": ingest.make_idx(str(data_dir), tmp_path / "idx", 2000),
              "archive": ingest.make_archive(str(data_dir), tmp_path / "archive", 300)}
    for kind, folder in inputs.items():
        written = ingest.loop(kind, folder, tmp_path / f"{kind}-ours", "ours")
        assert written == ingest.count_records(tmp_path / f"{kind}-ours") == result["kinds"][kind][0]["records"]


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


@pytest.mark.e2e
def test_time_to_accuracy_benchmark_runs_the_reference_and_the_pipeline_on_a_slice(tmp_path, data_dir):
    time_to_accuracy.main(["--data-dir", str(data_dir), "--tasks", "mnist", "--max-examples", "300", "--epochs", "1",
                           "--results", str(tmp_path)])
    [row] = json.loads((tmp_path / "time_to_accuracy.json").read_text())["rows"]
    reference, pipeline = row["reference"], row["pipeline"]
    assert row["task"] == "mnist" and reference["epochs"] == pipeline["epochs"] == 1
    assert 0.0 < reference["accuracy"] <= 1.0 and 0.0 < pipeline["accuracy"] <= 1.0
    assert pipeline["wall_s"] > pipeline["components"]["Trainer"] > 0 and reference["peak_mib"] > 100
    assert row["ratio"] == round(pipeline["wall_s"] / reference["wall_s"], 2)
    assert "| mnist | Keras mnist_convnet |" in (tmp_path / "time_to_accuracy.md").read_text()


@pytest.mark.slow
def test_imdb_reference_script_reads_the_published_archive_and_trains(data_dir, capsys):
    reference_scripts.main(["imdb", "--data-dir", str(data_dir), "--max-examples", "200", "--epochs", "1"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["train_examples"] == 160 and result["test_examples"] == 200  # the script's 80/20 split
    assert 0.0 < result["accuracy"] <= 1.0 and result["epochs"] == 1


@pytest.mark.slow
def test_spec_init_benchmark_drafts_a_generated_table_beside_pandas(tmp_path):
    from bench import spec_init

    spec_init.main(["--rows", "3000", "--results", str(tmp_path)])
    result = json.loads((tmp_path / "spec_init.json").read_text())
    assert result["rows"] == 3000 and result["spec_init"]["wall_s"] > 0 and result["pandas_read_csv"]["peak_mib"] > 0
    assert "3000 rows, 20 columns besides the label (14 numeric, 6 categorical, 0 ignore)" in result["summary"][0]


def test_a_measured_process_that_fails_says_how_it_ended(tmp_path):
    """Benchmarks run in temporary folders that go with their logs: the error carries the log's end."""
    script = "import sys; print('\\n'.join(f'line {i}' for i in range(100))); sys.exit(3)"
    with pytest.raises(RuntimeError, match=r"exited with 3; the end of .*\nline 70\n(.*\n)*line 99$") as failure:
        overhead.timed_process([sys.executable, "-c", script], tmp_path / "run.log")
    assert "line 69" not in str(failure.value)
