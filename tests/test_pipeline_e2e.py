"""Real local pipeline runs (LocalDagRunner, SQLite metadata, Beam DirectRunner) on the real data."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipelines.local_run import LocalRun
from tests.helpers import builtin_spec_dict, private_temp, tfxp_here, write_spec
from tests.pipeline_checks import (
    CACHED,
    COMPLETE,
    classify_raw_rows,
    executions_by_node,
    overall_metrics,
    run_pipeline,
    serving_versions,
    tree_snapshot,
)
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.fetch import sha256_of
from tfxp_reports.metadata_store import open_store
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

pytestmark = pytest.mark.e2e

COMPONENTS = ["CsvSpecExampleGen", "ServedBaseline", "StatisticsGen", "SchemaFromSpec",
              "ExampleValidator", "AnomalyGate", "Transform", "Trainer", "Evaluator", "AtomicPusher",
              "EvaluationReport"]
BEFORE_EVALUATION = ["CsvSpecExampleGen", "StatisticsGen", "SchemaFromSpec", "ExampleValidator",
                     "AnomalyGate", "Transform", "Trainer"]


@pytest.fixture(scope="module")
def votes_run(tmp_path_factory, data_dir):
    """One real house_votes run; the tests below build on its served model."""
    run = LocalRun(dataset="house_votes", data_dir=str(data_dir), output_dir=str(tmp_path_factory.mktemp("votes")))
    run_pipeline(run)
    return run


def test_every_component_runs_and_a_blessed_model_is_served(votes_run, data_dir):
    executions = executions_by_node(votes_run.metadata_path, "house_votes")
    assert sorted(executions) == sorted(COMPONENTS)
    for node in COMPONENTS:
        assert [e.last_known_state for e in executions[node]] == [COMPLETE], node

    outcome = latest_outcome(votes_run.metadata_path)
    assert outcome.blessed and outcome.pushed
    [version] = serving_versions(votes_run.serving_root)
    served = os.path.join(votes_run.serving_root, version)
    assert outcome.destination == served
    assert os.path.isfile(os.path.join(served, "saved_model.pb"))
    assert not [n for n in os.listdir(votes_run.serving_root) if n.startswith(".")]  # no staging left
    # The serving check passed, and left TF Serving warm-up requests in the version.
    assert outcome.serving_check.startswith("passed: 32 raw eval examples"), outcome.serving_check
    assert outcome.serving_check.endswith("(begun when the model was trained)"), outcome.serving_check
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    from components.serving.serving_check import WARMUP_FILE
    warmups = [prediction_log_pb2.PredictionLog.FromString(r.numpy())
               for r in tf.data.TFRecordDataset(os.path.join(served, WARMUP_FILE))]
    assert len(warmups) == 1 and warmups[0].predict_log.request.inputs["examples"].tensor_shape.dim[0].size == 32

    spec = load_spec("house_votes")
    accuracy, outputs = classify_raw_rows(served, spec, str(data_dir / "house_votes" / "house-votes-84.data"))
    assert accuracy > 0.9  # the majority class is 61%
    assert outputs["probabilities"].shape == (435, 2)
    np.testing.assert_allclose(outputs["probabilities"].numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert set(outputs["classes"].numpy()) <= {b"democrat", b"republican"}


def test_second_run_reuses_the_cache(votes_run):
    before = executions_by_node(votes_run.metadata_path, "house_votes")
    versions = serving_versions(votes_run.serving_root)
    run_pipeline(votes_run)
    after = executions_by_node(votes_run.metadata_path, "house_votes")
    for node in BEFORE_EVALUATION:
        assert len(after[node]) == len(before[node]) + 1, node
        assert after[node][-1].last_known_state == CACHED, node
    # As in TFX's own e2e tests: a blessed model now exists, so the Evaluator has a new
    # baseline input and runs again; the Pusher follows. The model itself is not re-pushed.
    for node in ["Evaluator", "AtomicPusher", "EvaluationReport"]:
        assert after[node][-1].last_known_state == COMPLETE, node
    assert latest_outcome(votes_run.metadata_path).blessed
    assert serving_versions(votes_run.serving_root) == versions


def test_a_worse_model_is_not_blessed_and_not_served(votes_run, data_dir):
    """Through the CLI as a CI job runs it: --fail-if-not-blessed exits 3, -o json prints the
    outcome; progress is one line per component (its end as ML Metadata recorded it) and one
    line for the Trainer's epochs."""
    served = tree_snapshot(votes_run.serving_root)
    result = tfxp_here("run", "house_votes", "--data-dir", data_dir, "--output-dir", votes_run.output_dir,
                  "--set", "learning_rate=0.0", "--set", "epochs=1", "--fail-if-not-blessed", "-o", "json")
    assert result.returncode == 3, result.stderr[-3000:]
    printed = json.loads(result.stdout)
    assert printed["outcome"]["blessed"] is False and printed["summary"]["blessed"] is False
    assert printed["report"].endswith("report.html") and os.path.isfile(printed["report"])
    assert "error: the model was not blessed (exit 3, --fail-if-not-blessed)" in result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert progress[:2] == ["[1/11] CsvSpecExampleGen ...", progress[1]]
    assert progress[1].startswith("[1/11] CsvSpecExampleGen done in ") and progress[1].endswith(" s (cached)")
    assert any(line.startswith("[8/11] Trainer done in ") and not line.endswith("(cached)") for line in progress)
    assert len(progress) == 22, progress
    assert [line.strip().split(":")[0] for line in result.stderr.splitlines() if "epoch 1/1" in line] == ["Trainer"]
    assert "Epoch 1/1" not in result.stderr  # Keras' own lines only with -v
    executions = executions_by_node(votes_run.metadata_path, "house_votes")
    assert executions["Trainer"][-1].last_known_state == COMPLETE  # really trained again
    outcome = latest_outcome(votes_run.metadata_path)
    assert outcome.blessed is False and outcome.pushed is False
    assert any(f.startswith("accuracy = ") and "below the bound 0.8500" in f for f in outcome.failures), outcome.failures
    assert any(f.startswith("accuracy changed by -") for f in outcome.failures), outcome.failures
    assert tree_snapshot(votes_run.serving_root) == served




def _newest_report(run: LocalRun) -> tuple[dict, str]:
    folder = os.path.join(newest_artifact_uri(run.metadata_path, "ModelEvaluation"), "report")
    return json.loads(open(os.path.join(folder, "summary.json")).read()), os.path.join(folder, "report.html")


def test_not_blessed_report_names_metric_slice_value_and_threshold(votes_run):
    """Runs right after the worse model: its report and the CLI's table say why."""
    report, page = _newest_report(votes_run)
    assert not report["blessed"] and not report["pushed"]["pushed"]
    [accuracy] = [c for c in report["evaluation"]["checks"] if c["metric"] == "accuracy" and c["slice"] == "overall"]
    assert accuracy["passed"] is False and accuracy["lower_bound"] == 0.85 and accuracy["value"] < 0.85
    assert accuracy["baseline"] > 0.9 and accuracy["change"] < 0  # compared with the blessed model
    assert report["verdict"].startswith(f"NOT BLESSED: accuracy = {accuracy['value']:.4f}, below the bound 0.8500")
    result = tfxp_here("report", "house_votes", "--output-dir", votes_run.output_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    row = next(line for line in result.stdout.splitlines() if line.startswith("accuracy") and "overall" in line)
    assert f"{accuracy['value']:.4f}" in row and ">= 0.8500" in row and row.endswith("FAIL")
    assert "physician_fee_freeze=y" in result.stdout  # slices are reported too
    assert "Nothing was pushed by this run." in open(page).read()


SCREENSHOTS_ENV = "TFXP_UPDATE_SCREENSHOTS"  # set: the UI test writes the README's screenshots to docs/images
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "images"


def _start_ui(output_dir: str, log: Path) -> tuple[subprocess.Popen, str]:
    """`tfxp ui --port 0` and the URL it printed once its port was bound."""
    process = subprocess.Popen([sys.executable, "-m", "tfxp_cli.main", "ui", "--output-dir", output_dir, "--port", "0"],
                               stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())
        if found:
            return process, found.group(1)
        assert process.poll() is None, log.read_text()[-2000:]
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"tfxp ui printed no URL in 120 s: {log.read_text()[-2000:]}")


def test_runs_ui_lists_the_runs_shows_one_and_compares_two(votes_run, tmp_path):
    """`tfxp ui` in a real browser (Playwright driving Debian's Chromium), after the blessed
    first run, the cached second and the worse third: the index lists house_votes, its page
    lists the three runs, the newest run's page shows its verdict and per-class metrics, and
    the comparison shows the first and the newest run's metrics side by side. The pages ask
    for nothing but the UI's own address."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (./dev test installs it: Debian's chromium package)")
    reports = [json.load(open(os.path.join(a.uri, "report", "summary.json"))) for a in sorted(
        open_store(votes_run.metadata_path).get_artifacts_by_type("ModelEvaluation"), key=lambda a: a.id)]
    first, newest = reports[0], reports[-1]
    assert len(reports) == 3 and first["blessed"] and not newest["blessed"]

    def overall(report: dict, metric: str) -> str:
        return next(f"{c['value']:.4f}" for c in report["evaluation"]["checks"]
                    if c["metric"] == metric and c["slice"] == "overall")

    process, url = _start_ui(votes_run.output_dir, tmp_path / "ui.log")
    requested, errors = [], []
    shots = SCREENSHOTS if os.environ.get(SCREENSHOTS_ENV) else tmp_path
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 640})
            page.on("request", lambda request: requested.append(request.url))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.goto(url)
            assert page.locator("#datasets tr").count() == 2  # header and house_votes
            page.screenshot(path=str(shots / "ui-index.png"))

            page.click("#datasets >> text=house_votes")
            rows = page.locator("#runs tr")
            assert rows.count() == 1 + 3
            assert rows.nth(1).locator("td").nth(4).inner_text() == "NOT BLESSED"  # newest first
            assert rows.nth(3).locator("td").nth(4).inner_text() == "BLESSED"
            assert page.locator("svg.trend").count() == 2  # accuracy and AUC across the runs
            page.screenshot(path=str(shots / "ui-runs.png"))

            rows.nth(1).locator("a").click()
            assert page.locator(".verdict").inner_text().startswith("NOT BLESSED: accuracy = ")
            per_class = page.locator("#per-class-metrics tr")
            assert per_class.count() == 3 and "democrat" in per_class.nth(1).inner_text()
            steps = [row.split("\t")[0] for row in page.locator("#lineage tr").all_inner_texts()[1:]]
            assert steps == ["Evaluator", "Trainer", "Transform", "ExampleGen", "baseline"], steps
            page.screenshot(path=str(shots / "ui-run.png"))

            page.go_back()
            runs = [r["run"] for r in reports]
            page.select_option("#compare-a", runs[0])
            page.select_option("#compare-b", runs[-1])
            page.click("#compare button")
            accuracy = page.locator("#metrics tr", has_text="accuracy").inner_text().split()
            assert accuracy[:3] == ["accuracy", overall(first, "accuracy"), overall(newest, "accuracy")], accuracy
            changed = page.locator("#hyperparameters tr.fail").all_inner_texts()
            assert [row.split()[0] for row in changed] == ["epochs", "learning_rate"], changed
            page.screenshot(path=str(shots / "ui-compare.png"))
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not errors, errors
    assert requested and all(r.startswith(url) for r in requested), requested  # nothing from the network


def test_lineage_of_the_served_model_matches_ml_metadata(votes_run):
    result = tfxp_here("lineage", "house_votes", "--output-dir", votes_run.output_dir, "-o", "json")
    assert result.returncode == 0, result.stderr[-2000:]
    lineage = json.loads(result.stdout)
    store = open_store(votes_run.metadata_path)
    served = max((a for a in store.get_artifacts_by_type("PushedModel")
                  if a.custom_properties["pushed"].int_value == 1), key=lambda a: a.id)
    assert lineage["pushed"]["artifact_id"] == served.id
    assert lineage["pushed"]["destination"] == os.path.join(votes_run.serving_root, serving_versions(votes_run.serving_root)[-1])
    [examples] = [a for a in store.get_artifacts_by_type("Examples") if "/CsvSpecExampleGen/" in a.uri]
    assert lineage["data"]["artifact_id"] == examples.id and lineage["data"]["records"] == {"train": 359, "eval": 76}
    # The pusher recorded its source in the served version itself: an independent witness.
    source = open(os.path.join(lineage["pushed"]["destination"], "assets.extra", "source_model.txt")).read()
    assert source == os.path.join(lineage["training"]["model_uri"], "Format-Serving")
    blessing = store.get_artifacts_by_id([lineage["evaluation"]["blessing_artifact_id"]])[0]
    assert blessing.custom_properties["blessed"].int_value == 1
    assert lineage["evaluation"]["verdict"].startswith("BLESSED")
    assert lineage["training"]["hyperparameters"] == {} and lineage["transform"]["uri"].startswith(votes_run.pipeline_root)

def test_two_local_workers_train_a_model_that_evaluates_like_one_worker(votes_run, tmp_path, monkeypatch):
    """A real 2-process MultiWorkerMirroredStrategy cluster on 127.0.0.1, in the Trainer.

    The Evaluator scores the 2-worker model (candidate) and the single-worker model it is
    compared with (baseline) on the same 76-row eval split. They differ in batch order and
    take half as many steps of a twice as large global batch, so they need not agree row
    for row; at ~95% accuracy the binomial standard error on 76 rows is 2.5 points, and we
    allow 4 points (3 rows)."""
    two = LocalRun(**{**votes_run.__dict__, "distribution": {"strategy": "multi_worker", "local_workers": 2}})
    temp = private_temp(tmp_path, monkeypatch)
    run_pipeline(two)
    executions = executions_by_node(votes_run.metadata_path, "house_votes")
    assert executions["Trainer"][-1].last_known_state == COMPLETE

    model_run = newest_artifact_uri(votes_run.metadata_path, "ModelRun")
    summary = json.loads(open(os.path.join(model_run, "training_summary.json")).read())
    assert (summary["strategy"], summary["workers"], summary["replicas"]) == ("multi_worker", 2, 2)
    assert summary["global_batch_size"] == 2 * 32
    for index in (0, 1):  # both processes trained as members of the cluster
        log = open(os.path.join(model_run, "workers", f"worker-{index}.log")).read()
        assert f"worker {index}: model dense" in log and "Epoch 10/10" in log

    # Exported once, by the chief, into the Trainer's output; the other worker's copy is gone.
    model = newest_artifact_uri(votes_run.metadata_path, "Model")
    assert os.listdir(os.path.join(model, "Format-Serving")).count("saved_model.pb") == 1
    assert not os.path.exists(os.path.join(model_run, "workers", "scratch"))
    assert not list(temp.glob("tfxp-*"))  # the workers' scratch folders, removed

    metrics = overall_metrics(newest_artifact_uri(votes_run.metadata_path, "ModelEvaluation"))
    candidate, baseline = metrics[("candidate", "accuracy")], metrics[("baseline", "accuracy")]
    assert candidate > 0.9
    assert abs(candidate - baseline) <= 0.04, (candidate, baseline)


def test_a_killed_worker_fails_the_run_naming_it_and_nothing_is_pushed(votes_run, data_dir):
    served = tree_snapshot(votes_run.serving_root)
    pattern = os.path.join(votes_run.pipeline_root, "Trainer", "model_run", "*", "workers", "worker-1.log")
    earlier = set(glob.glob(pattern))
    process = subprocess.Popen(
        [sys.executable, "-m", "tfxp_cli.main", "run", "house_votes", "--data-dir", str(data_dir),
         "--output-dir", votes_run.output_dir, "--workers", "2", "--set", "epochs=1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log = _wait_for(lambda: [p for p in set(glob.glob(pattern)) - earlier
                                 if "Epoch 2/" in open(p).read()], timeout=600)[0]
        pids = json.loads(open(os.path.join(os.path.dirname(log), "workers.json")).read())
        os.kill(pids["1"], signal.SIGKILL)
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 1, stderr[-2000:]
    assert f"worker 1 (pid {pids['1']}) was killed by SIGKILL" in stderr
    assert "Traceback" not in stderr
    assert not os.path.exists(os.path.join(os.path.dirname(log), "scratch"))  # the killed worker's copies too
    assert tree_snapshot(votes_run.serving_root) == served


def _wait_for(found, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"not seen within {timeout} s")

def _broken_copy(tmp_path, data_dir, edit):
    """A house_votes spec (same pipeline) over an edited copy of the data, with its checksum."""
    folder = tmp_path / "data" / "house_votes"
    folder.mkdir(parents=True)
    lines = (data_dir / "house_votes" / "house-votes-84.data").read_text().splitlines()
    path = folder / "house-votes-84.data"
    edited = edit(lines)
    path.write_text("\n".join(edited) + "\n" if edited else "")
    raw = builtin_spec_dict("house_votes")
    raw["files"][0]["sha256"] = sha256_of(path)
    return write_spec(tmp_path, raw), tmp_path / "data", path


def test_a_verbose_run_shows_the_libraries_logs(votes_run, data_dir):
    """-v: Keras' own epoch lines, TFX's logs. absl, which TFX's Beam executors hand the process's
    arguments, must not read our -v as its own --verbosity (it took the next word for a number)."""
    served = tree_snapshot(votes_run.serving_root)
    result = tfxp_here("run", "house_votes", "-v", "--data-dir", data_dir, "--output-dir", votes_run.output_dir,
                       "--set", "learning_rate=0.0", "--set", "epochs=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Epoch 2/2" in result.stdout  # Keras' own epoch lines
    assert "model NOT BLESSED" in result.stdout and tree_snapshot(votes_run.serving_root) == served


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines[:2] + ["democrat,y,n"] + lines[2:], "{path}:3: expected 17 columns, found 3"),
    (lambda lines: lines[:4] + [lines[4].replace("democrat", "whig")] + lines[5:],
     "{path}:5: label party='whig' is not one of ['democrat', 'republican']"),
    (lambda lines: [], "{path}: file has no data rows"),
], ids=["wrong-column-count", "unknown-label", "empty-file"])
def test_bad_rows_stop_the_run_naming_file_and_line(votes_run, tmp_path, data_dir, edit, message):
    served = tree_snapshot(votes_run.serving_root)
    spec_path, data_root, path = _broken_copy(tmp_path, data_dir, edit)
    result = tfxp_here("run", spec_path, "--data-dir", data_root, "--output-dir", votes_run.output_dir)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "error: " + message.format(path=path) in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_snapshot(votes_run.serving_root) == served


@pytest.mark.parametrize("damage, message", [
    (lambda path: path.unlink(), "{path}: file not found"),
    (lambda path: path.write_text(path.read_text().replace("n", "y", 1)), "{path}: checksum mismatch"),
], ids=["missing-file", "checksum-mismatch"])
def test_missing_or_damaged_files_stop_before_the_pipeline(votes_run, tmp_path, data_dir, damage, message):
    served = tree_snapshot(votes_run.serving_root)
    mirror = tmp_path / "mirror" / "house_votes"
    mirror.mkdir(parents=True)
    path = mirror / "house-votes-84.data"
    shutil.copy(data_dir / "house_votes" / "house-votes-84.data", path)
    damage(path)
    result = tfxp_here("run", "house_votes", "--data-dir", mirror.parent, "--output-dir", votes_run.output_dir)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "error: " + message.format(path=path) in result.stderr
    assert tree_snapshot(votes_run.serving_root) == served


def test_unknown_vote_is_an_anomaly_that_stops_before_training(votes_run, tmp_path, data_dir):
    served = tree_snapshot(votes_run.serving_root)
    trainings = len(executions_by_node(votes_run.metadata_path, "house_votes")["Trainer"])
    spec_path, data_root, _ = _broken_copy(tmp_path, data_dir, lambda lines: [lines[0].replace(",y,", ",yes,", 1)] + lines[1:])
    result = tfxp_here("run", spec_path, "--data-dir", data_root, "--output-dir", votes_run.output_dir, "-q")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "ExampleValidator found anomalies; stopping before training" in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.startswith("[")]  # -q: no progress lines
    assert "water_project_cost_sharing" in result.stderr  # the first 'y' vote of row 1
    executions = executions_by_node(votes_run.metadata_path, "house_votes")
    assert len(executions["Trainer"]) == trainings
    assert tree_snapshot(votes_run.serving_root) == served


def test_tfx_cli_creates_and_runs_the_pipeline(tmp_path, data_dir):
    """TFX's own CLI, local engine, with this repo's runner as the pipeline file."""
    import pipelines.local_runner
    tfx_cli = shutil.which("tfx", path=os.path.dirname(sys.executable))
    env = {**os.environ, "TFXP_DATASET": "house_votes", "TFXP_DATA_DIR": str(data_dir),
           "TFXP_OUTPUT_DIR": str(tmp_path / "out"), "LOCAL_HOME": str(tmp_path / "tfx_home")}
    create = subprocess.run([tfx_cli, "pipeline", "create", "--engine", "local",
                             "--pipeline_path", pipelines.local_runner.__file__],
                            env=env, capture_output=True, text=True, timeout=600)
    assert create.returncode == 0 and 'Pipeline "house_votes" created successfully' in create.stdout, create.stderr[-2000:]
    run = subprocess.run([tfx_cli, "run", "create", "--engine", "local", "--pipeline_name", "house_votes"],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(serving_versions(str(tmp_path / "out" / "house_votes" / "serving"))) == 1


def test_mnist_slice_end_to_end_serves_png_bytes(tmp_path, data_dir):
    """The image family through the same factory: IDX -> PNG examples -> decode/scale in
    Transform -> CNN; the served model takes PNG bytes. A slice, with a spec whose threshold
    suits 1,000 training images (the built-in spec's 0.98 is for the full data). New PNG files
    (an inference section) are scored in the same run; `tfxp predict` scores them again."""
    from components.ingest.idx_example_gen import to_example
    from components.ingest.workers.idx_records import read_pairs
    pairs = list(read_pairs(str(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz"),
                            str(data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"), limit=200))
    # PNG files in folders named by their digit (so `tfxp predict` scores them), some at twice
    # the size (the model's own transform resizes), and one file that is no image.
    from PIL import Image
    files = []
    for i, (_, pixels, label) in enumerate(pairs[:40]):
        image = Image.fromarray(pixels)
        path = tmp_path / "photos" / str(label) / f"digit-{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        (image.resize((56, 56)) if i % 2 else image).save(path)
        files.append(path)
    junk = tmp_path / "photos" / "junk" / "notes.png"
    junk.parent.mkdir()
    junk.write_text("not an image")

    raw = builtin_spec_dict("mnist")
    raw["metrics"] = [{"name": "accuracy", "lower_bound": 0.6}]
    raw["inference"] = {"folder": "photos", "pattern": "*/*.png"}
    run = LocalRun(dataset=str(write_spec(tmp_path, raw, "mnist.yaml")), data_dir=str(data_dir),
                   output_dir=str(tmp_path / "out"), max_examples=1000, num_shards=2,
                   hyperparameters={"epochs": 5, "batch_size": 32, "filters": [16, 32], "dense_units": 64})
    run_pipeline(run)
    outcome = latest_outcome(run.metadata_path)
    assert outcome.blessed and outcome.pushed, outcome.summary()
    [version] = serving_versions(run.serving_root)

    examples = []
    for _, pixels, _ in pairs:
        example = to_example(pixels, 0)
        del example.features.feature["label"]  # a client sends the image only
        examples.append(example.SerializeToString())
    import tensorflow as tf
    serve = tf.saved_model.load(os.path.join(run.serving_root, version)).signatures["serving_default"]
    outputs = serve(examples=tf.constant(examples))
    assert outputs["probabilities"].shape == (200, 10) and outputs["probabilities"].dtype == tf.float32
    accuracy = np.mean(outputs["class_ids"].numpy() == np.array([label for _, _, label in pairs]))
    assert accuracy > 0.6  # chance is 10%
    direct = serve(examples=_image_examples([f.read_bytes() for f in files]))["probabilities"].numpy()
    names = list(load_spec(str(tmp_path / "mnist.yaml")).label.names)
    import pandas as pd

    # The run's batch predictions: every image file once (the broken one skipped), as served.
    result = tfxp_here("predictions", tmp_path / "mnist.yaml", "--output-dir", run.output_dir,
                       "--out", tmp_path / "batch.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    batch = pd.read_csv(tmp_path / "batch.csv").set_index("input").loc[[str(f) for f in files]]
    assert len(batch) == len(files) and not batch.index.duplicated().any()
    assert np.allclose(batch[[f"p({n})" for n in names]].to_numpy(), direct, atol=1e-5)

    result = tfxp_here("predict", tmp_path / "mnist.yaml", *files, junk, "--model",
                       os.path.join(run.serving_root, version), "--out", tmp_path / "p.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"skipped {junk}: not a decodable image" in result.stderr
    assert "accuracy" in result.stdout and "40 labelled inputs" in result.stdout
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table["input"]) == [str(f) for f in files]
    assert np.allclose(table[[f"p({n})" for n in names]].to_numpy(), direct, atol=1e-5)


def _image_examples(contents: list):
    import tensorflow as tf
    return tf.constant([tf.train.Example(features=tf.train.Features(feature={
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[c]))})).SerializeToString() for c in contents])


def test_predict_on_table_rows_names_and_skips_a_malformed_row(votes_run, tmp_path, data_dir):
    from components.ingest.csv_example_gen import to_example
    from components.ingest.workers.delimited_rows import parse_fields
    spec = load_spec("house_votes")
    lines = (data_dir / "house_votes" / "house-votes-84.data").read_text().splitlines()[:20]
    published = tmp_path / "new_votes.csv"  # the publisher's layout, label included, one broken row
    published.write_text("\n".join(lines[:10] + ["democrat,y,n"] + lines[10:]) + "\n")
    names = [c.name for c in spec.feature_columns]
    headed = tmp_path / "headed.csv"  # a header naming the columns, in another order, no label
    headed.write_text(",".join(reversed(names)) + "\n" + "".join(
        ",".join(reversed(line.split(",")[1:])) + "\n" for line in lines[:5]))

    def predict(*extra):
        return tfxp_here("predict", "house_votes", published, headed, "--output-dir", votes_run.output_dir, *extra)

    strict = predict("--strict", "--out", str(tmp_path / "p.json"))
    assert strict.returncode == 1, strict.stderr[-3000:]
    assert f"skipped {published}:11: expected 17 columns, found 3" in strict.stderr
    assert "accuracy" in strict.stdout and "20 labelled inputs" in strict.stdout
    rows = json.loads((tmp_path / "p.json").read_text())
    assert len(rows) == 25 and rows[10]["input"] == f"{published}:12" and rows[20]["label"] is None

    import tensorflow as tf
    examples = []
    for line in lines + lines[:5]:
        row = parse_fields(spec, line.split(","), "test")
        row.pop(spec.label.column)
        examples.append(to_example(row).SerializeToString())
    direct = _serve_newest(votes_run)(examples=tf.constant(examples))["probabilities"].numpy()
    got = np.array([[r[f"p({n})"] for n in spec.label.names] for r in rows])
    assert np.allclose(got, direct, atol=1e-5)
    assert predict().returncode == 0  # without --strict a skipped row is reported, not an error


def _serve_newest(run):
    import tensorflow as tf
    version = serving_versions(run.serving_root)[-1]
    return tf.saved_model.load(os.path.join(run.serving_root, version)).signatures["serving_default"]
