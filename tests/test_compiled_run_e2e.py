"""The compiled Kubeflow v2 / Vertex AI pipeline, executed here task by task (each task's own
container command and an ExecutorInput as the KFP v2 launcher builds it): house_votes is
blessed and pushed; a second execution finds the first model through the compiled resolver
queries and compares with it, with a runtime parameter that reaches the Trainer; a broken
compiled file fails naming the task."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.cloud_config import EXAMPLE
from pipelines.compiled_run import ArtifactStore

pytestmark = pytest.mark.e2e


def _tfxp(*args):
    return subprocess.run([sys.executable, "-m", "tfxp_cli", *map(str, args)], capture_output=True, text=True,
                          timeout=1200)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """house_votes and mammographic compiled by `tfxp compile`, with Dataflow for Beam; the
    Trainer runs in its pipeline step (a config without `training:`, which needs Vertex AI)."""
    folder = tmp_path_factory.mktemp("compiled")
    config = {k: v for k, v in yaml.safe_load(EXAMPLE.read_text()).items() if k != "training"}
    (folder / "cloud.yaml").write_text(yaml.safe_dump(config))
    result = _tfxp("compile", "house_votes", "mammographic", "--cloud-config", folder / "cloud.yaml",
                   "--output-dir", folder)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "house-votes.json"


def test_the_compiled_pipeline_runs_task_by_task_and_a_second_run_finds_the_first_model(compiled, tmp_path,
                                                                                         data_dir):
    root = tmp_path / "root"
    first = _tfxp("run-compiled", compiled, "--root", root, "--param", f"data_root={data_dir / 'house_votes'}")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Beam steps compiled for Dataflow run with the DirectRunner here" in first.stderr
    assert "[12/12] EvaluationReport done" in first.stderr
    assert "model BLESSED; pushed as version" in first.stdout, first.stdout
    served = sorted((root / "serving" / "house_votes").iterdir())
    assert len(served) == 1 and (served[0] / "saved_model.pb").is_file()

    second = _tfxp("run-compiled", compiled, "--root", root, "--param", f"data_root={data_dir / 'house_votes'}",
                   "--param", 'train_args={"num_steps": 5}')
    assert second.returncode == 0, second.stderr[-3000:]
    store = ArtifactStore(root / "compiled_metadata.json")
    runs = sorted({r.run for r in store.records})
    assert len(runs) == 2
    [first_model] = [r for r in store.records if r.run == runs[0] and r.schema_title == "tfx.Model"]
    [second_blessing] = [r for r in store.records if r.run == runs[1] and r.schema_title == "tfx.ModelBlessing"]
    # The resolver handed the first run's blessed model to the second run's Evaluator as its baseline.
    baseline_ids = {r.metadata.get("baseline_model_id") for r in [second_blessing]}
    assert baseline_ids == {first_model.name}, second_blessing.metadata
    # train_args (a runtime parameter) reached the Trainer: 5 steps are one epoch of house_votes.
    [model_run] = [r for r in store.records if r.run == runs[1] and r.schema_title == "tfx.ModelRun"]
    summary = json.loads((Path(model_run.uri) / "training_summary.json").read_text())
    assert summary["epochs"] == 1 and summary["steps_per_epoch"] >= 5

    # Another dataset's pipeline on the same metadata store: its first run has no baseline,
    # although house_votes' blessed model is the newest blessing in the store.
    other = _tfxp("run-compiled", compiled.parent / "mammographic.json", "--root", root, "--param",
                  f"data_root={data_dir / 'mammographic'}")
    assert other.returncode == 0, other.stderr[-3000:]
    [blessing] = [r for r in ArtifactStore(root / "compiled_metadata.json").records
                  if r.pipeline == "mammographic" and r.schema_title == "tfx.ModelBlessing"]
    assert "baseline_model_id" not in blessing.metadata and blessing.metadata["blessed"] == 1, blessing.metadata


def test_a_broken_compiled_file_fails_naming_the_task(compiled, tmp_path, data_dir):
    job = json.loads(compiled.read_text())
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    args = executors["CsvSpecExampleGen_executor"]["container"]["args"]
    args[args.index("components.csv_example_gen.Executor")] = "components.no_such_module.Executor"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(job))
    result = _tfxp("run-compiled", broken, "--root", tmp_path / "root", "--param",
                   f"data_root={data_dir / 'house_votes'}")
    assert result.returncode == 1
    assert "error: task CsvSpecExampleGen: the driver" in result.stderr or \
        "error: task CsvSpecExampleGen: the executor (components.no_such_module.Executor)" in result.stderr, \
        result.stderr[-2000:]

    del job["runtimeConfig"]["parameters"]["data_root"]
    job["pipelineSpec"]["deploymentSpec"]["executors"]["CsvSpecExampleGen_executor"]["container"]["args"] = \
        [a if a != "components.no_such_module.Executor" else "components.csv_example_gen.Executor" for a in args]
    broken.write_text(json.dumps(job))
    result = _tfxp("run-compiled", broken, "--root", tmp_path / "root")
    assert result.returncode == 1
    assert "error: task CsvSpecExampleGen: runtime parameter 'data_root' has no value" in result.stderr, \
        result.stderr[-2000:]
    assert "Traceback" not in result.stderr
