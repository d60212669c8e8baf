"""Compiled pipelines executed here task by task, the strict way (``tfxp run-compiled``): every
artifact a file:// URI that Python's own file functions cannot open, outputs laid out as the
backend lays them out, raw data staged under the root as ``tfxp stage`` puts it on GCS.

- Vertex AI, the example cloud config as shipped: house_votes' Trainer runs as a Vertex AI
  custom job (a chief and two workers, local processes with Vertex AI's TF_CONFIG); blessed and
  pushed; the next run (new train_args) reuses the step cache up to the Trainer (ExampleGen's
  driver ran: same input fingerprint) and its Evaluator gets the served model as its baseline.
- Kubeflow Pipelines (YAML): a generative model runs blessed and pushed in KFP's layout.
  (A second run's baseline is the served model through the same ServedBaseline task and serving
  root as the Vertex AI run's; a generative candidate against a baseline: test_generative_e2e.)
- A broken compiled file fails naming the task."""
import gzip
import json
import shutil
import struct
from pathlib import Path

import pytest
import yaml

from infra.cloud_config import EXAMPLE
from pipelines.compiled_run import ArtifactStore
from pipelines.file_uris import to_path
from tests.helpers import tfxp_here, unlabelled_vae_dict, write_spec

pytestmark = pytest.mark.e2e


def _records(root: Path, pipeline: str, title: str) -> list:
    return [r for r in ArtifactStore(root / "compiled_metadata.json").records
            if r.pipeline == pipeline and r.schema_title == title]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """house_votes compiled by `tfxp compile` with the example cloud config as it ships:
    Dataflow for Beam, the Trainer a Vertex AI custom job of a chief and two workers."""
    folder = tmp_path_factory.mktemp("compiled")
    result = tfxp_here("compile", "house_votes", "--cloud-config", EXAMPLE, "--output-dir", folder)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "house-votes.json"


def test_the_shipped_cloud_config_runs_with_its_custom_job_trainer_and_the_served_model_as_baseline(
        compiled, tmp_path, data_dir):
    root = tmp_path / "root"
    shutil.copytree(data_dir / "house_votes", root / "data" / "house_votes")  # as `tfxp stage` puts it on GCS
    first = tfxp_here("run-compiled", compiled, "--root", root)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Beam steps compiled for Dataflow run with the DirectRunner here" in first.stderr
    assert "a Vertex AI custom job: its worker pools run here as local processes" in first.stderr
    assert "[11/11] EvaluationReport done" in first.stderr
    assert "model BLESSED; pushed as version" in first.stdout, first.stdout
    [version] = [p.name for p in (root / "serving" / "house_votes").iterdir()]
    assert (root / "serving" / "house_votes" / version / "saved_model.pb").is_file()
    # Every output under Vertex AI's layout: <pipeline root>/<project number>/<job>/<task>_<id>/<key>.
    [model_run] = _records(root, "house-votes", "tfx.ModelRun")
    assert model_run.uri.startswith(f"file://{root}/pipelines/house_votes/000000000000/house-votes-")
    assert Path(to_path(model_run.uri)).parent.name.startswith("Trainer_")
    # The custom job: a chief and two workers trained together (the config's pools).
    summary = json.loads((Path(to_path(model_run.uri)) / "training_summary.json").read_text())
    assert (summary["strategy"], summary["workers"], summary["replicas"]) == ("multi_worker", 3, 3)
    # The report found the training history through TensorFlow's file functions.
    [evaluation] = _records(root, "house-votes", "tfx.ModelEvaluation")
    report = json.loads((Path(to_path(evaluation.uri)) / "report" / "summary.json").read_text())
    assert report["training"]["epochs"] == summary["epochs"]

    second = tfxp_here("run-compiled", compiled, "--root", root, "--param", 'train_args={"num_steps": 5}')
    assert second.returncode == 0, second.stderr[-3000:]
    for task in ("CsvSpecExampleGen", "StatisticsGen", "SchemaFromSpec", "Transform"):
        assert f"] {task} cached (the outputs of run house-votes-" in second.stderr, second.stderr
    for task in ("ServedBaseline", "Trainer", "Evaluator", "AtomicPusher"):
        assert f"] {task} done in" in second.stderr, second.stderr
    assert len(list((root / "local").glob("*/logs/CsvSpecExampleGen/driver.log"))) == 2  # before each cache check
    blessings = sorted(_records(root, "house-votes", "tfx.ModelBlessing"), key=lambda r: r.created)
    assert "served_version" not in blessings[0].metadata  # the first run had nothing to compare with
    assert blessings[1].metadata["served_version"] == version  # the second: the served model
    # train_args (a runtime parameter) reached the Trainer: at least 5 steps, in whole epochs.
    second_run = max(_records(root, "house-votes", "tfx.ModelRun"), key=lambda r: r.created)
    trained = json.loads((Path(to_path(second_run.uri)) / "training_summary.json").read_text())
    assert trained["epochs"] == -(-5 // trained["steps_per_epoch"]) < summary["epochs"], trained


def _idx_slice(source: Path, target: Path, count: int) -> None:
    """The first ``count`` records of a gzipped IDX file, as a gzipped IDX file."""
    with gzip.open(source, "rb") as f:
        magic, total = struct.unpack(">II", f.read(8))
        dims = struct.unpack(f">{(magic & 0xFF) - 1}I", f.read(4 * ((magic & 0xFF) - 1)))
        size = 1
        for d in dims:
            size *= d
        body = f.read(size * count)
    with gzip.open(target, "wb") as f:
        f.write(struct.pack(">II", magic, count) + struct.pack(f">{len(dims)}I", *dims) + body)


def test_a_generative_model_compiled_for_kubeflow_pipelines_is_blessed_and_pushed(tmp_path, data_dir):
    raw = {**unlabelled_vae_dict(), "generative_samples": 200, "num_shards": 2}
    raw["model"]["hyperparameters"].update(epochs=2, batch_size=64)
    raw["metrics"] = [{"name": "negative_elbo", "upper_bound": 700}]
    raw.pop("evaluation_classifier", None)
    spec = write_spec(tmp_path, raw, "clothes_vae.yaml")
    config = {k: v for k, v in yaml.safe_load(EXAMPLE.read_text()).items() if k != "training"}
    (tmp_path / "cloud.yaml").write_text(yaml.safe_dump(config))
    result = tfxp_here("compile", spec, "--cloud-config", tmp_path / "cloud.yaml", "--output-dir", tmp_path,
                   "--target", "kfp")
    assert result.returncode == 0, result.stderr[-2000:]
    root = tmp_path / "root"
    staged = root / "data" / "clothes_vae"
    staged.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        _idx_slice(data_dir / "fashion_mnist" / name, staged / name, 600)

    run = tfxp_here("run-compiled", tmp_path / "clothes-vae.yaml", "--root", root)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "model BLESSED; pushed as version" in run.stdout, run.stdout
    [pushed] = _records(root, "clothes-vae", "tfx.PushedModel")
    [blessing] = _records(root, "clothes-vae", "tfx.ModelBlessing")
    assert blessing.metadata["blessed"] == 1 and "served_version" not in blessing.metadata
    assert (root / "serving" / "clothes_vae" / str(pushed.metadata["pushed_version"]) / "saved_model.pb").is_file()
    # Kubeflow Pipelines' layout: <pipeline root>/<run>/<task>/<salt>/<key>.
    [model] = [r for r in _records(root, "clothes-vae", "tfx.Model") if r.task == "Trainer"]
    assert Path(to_path(model.uri)).parent.parent.name == "Trainer"
    assert not list((root / "local").glob("*/logs/*/driver.log"))  # KFP skips ExampleGen's driver


def test_a_broken_compiled_file_fails_naming_the_task(compiled, tmp_path, data_dir):
    job = json.loads(compiled.read_text())
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    args = executors["CsvSpecExampleGen_executor"]["container"]["args"]
    args[args.index("components.ingest.csv_example_gen.Executor")] = "components.no_such_module.Executor"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(job))
    result = tfxp_here("run-compiled", broken, "--root", tmp_path / "root", "--param",
                   f"data_root={data_dir / 'house_votes'}")
    assert result.returncode == 1
    assert "error: task CsvSpecExampleGen: the executor (components.no_such_module.Executor)" in result.stderr, \
        result.stderr[-2000:]

    del job["runtimeConfig"]["parameterValues"]["data_root"]
    job["pipelineSpec"]["deploymentSpec"]["executors"]["CsvSpecExampleGen_executor"]["container"]["args"] = \
        [a if a != "components.no_such_module.Executor" else "components.ingest.csv_example_gen.Executor" for a in args]
    broken.write_text(json.dumps(job))
    result = tfxp_here("run-compiled", broken, "--root", tmp_path / "root")
    assert result.returncode == 1
    assert "error: task CsvSpecExampleGen: runtime parameter 'data_root' has no value" in result.stderr, \
        result.stderr[-2000:]
    assert "Traceback" not in result.stderr
