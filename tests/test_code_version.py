"""An edit of the code a component runs changes that component's cache key, and only its: the
code is the closure of its entry module's imports within our packages, read from the source."""
import dataclasses
import shutil
import subprocess
import sys

import pytest

from pipelines.code_version import COMPONENT_ENTRY, code_versions, import_closure
from pipelines.pipeline import create_pipeline
from tests.helpers import REPO
from tfxp_contract.dataset_spec import Tuning, load_spec


def test_each_component_covers_the_modules_it_really_runs():
    example_gen = import_closure(COMPONENT_ENTRY["ExampleGen"])
    # what Beam's workers run, reached through the ExampleGens that hand it to them
    assert {"components.ingest.workers.csv_reading", "components.ingest.workers.tar_stream",
            "components.ingest.workers.shard_writing", "components.ingest.workers.input_files"} <= example_gen
    assert not {m for m in example_gen if m.startswith(("trainers", "transforms"))}
    trainer = import_closure(COMPONENT_ENTRY["Trainer"])
    # transforms.MODULES names the families' modules; the launcher starts trainers.worker by name
    assert {"transforms.tabular", "transforms.images", "transforms.text", "trainers.worker"} <= trainer
    assert "components.serving.serving_check" in import_closure(COMPONENT_ENTRY["Pusher"])
    assert code_versions() == code_versions() and set(code_versions()) == set(COMPONENT_ENTRY)


@pytest.mark.slow
def test_editing_a_reader_or_a_template_changes_only_the_component_that_runs_it(tmp_path):
    for package in ("components", "trainers", "transforms", "tfxp_contract", "tfxp_reports", "pipelines", "infra"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    code = "import json; from pipelines.code_version import code_versions; print(json.dumps(code_versions()))"

    def versions() -> dict:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
        return __import__("json").loads(done.stdout)
    before = versions()
    reader = tmp_path / "components" / "ingest" / "workers" / "csv_reading.py"
    reader.write_text(reader.read_text() + "\n# edited\n")
    after = versions()
    assert {k for k in before if before[k] != after[k]} == {"ExampleGen"}
    # A template is the report step's code too (declared in CODE_DATA beside the module that reads it).
    template = tmp_path / "tfxp_reports" / "templates" / "report_body.html"
    template.write_text(template.read_text() + "\n{# edited #}\n")
    edited = versions()
    assert {k for k in after if after[k] != edited[k]} == {"EvaluationReport"}


def _exec_properties(versions: dict, dataset="house_votes") -> dict:
    spec = load_spec(dataset) if isinstance(dataset, str) else dataset
    pipeline = create_pipeline(pipeline_name=spec.name, pipeline_root="/tmp/unused", spec=spec, data_root="/data",
                               serving_root="/tmp/unused-serving", code_versions=versions)
    return {c.id: c.exec_properties for c in pipeline.components}


def test_code_versions_reach_only_the_components_that_run_the_code():
    base = _exec_properties({"Transform": "t1", "Trainer": "m1"})
    new_model = _exec_properties({"Transform": "t1", "Trainer": "m2"})
    new_transform = _exec_properties({"Transform": "t2", "Trainer": "m1"})
    assert base["Trainer"] != new_model["Trainer"] and base["Transform"] == new_model["Transform"]
    assert base["Transform"] != new_transform["Transform"]
    for unaffected in ("CsvSpecExampleGen", "SchemaFromSpec", "Evaluator"):
        assert base[unaffected] == new_model[unaffected] == new_transform[unaffected], unaffected


def test_each_of_our_components_has_its_own_code_version():
    versions = dict.fromkeys(COMPONENT_ENTRY, "v1")
    ids = {"ExampleGen": "CsvSpecExampleGen", "Pusher": "AtomicPusher", "GenerativeEvaluator": "Evaluator"}
    for component in COMPONENT_ENTRY:
        dataset = "fashion_mnist_vae" if component == "GenerativeEvaluator" else "house_votes"
        if component == "Tuner":  # only a spec that tunes has one
            dataset = dataclasses.replace(load_spec("house_votes"), tuning=Tuning(search={"learning_rate": (0.01, 0.1)}))
        base = _exec_properties(versions, dataset)
        changed = _exec_properties({**versions, component: "v2"}, dataset)
        differing = {node for node in base if base[node] != changed[node]}
        assert differing == {ids.get(component, component)}, (component, differing)
