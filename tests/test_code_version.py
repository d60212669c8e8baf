"""An edit of the code a component runs changes that component's cache key, and only its."""
import shutil

import transforms
from pipelines.code_version import COMPONENT_CODE, code_versions, package_fingerprint
from pipelines.pipeline import create_pipeline
from tfxp_contract.dataset_spec import load_spec


def test_a_changed_function_body_changes_the_fingerprint(tmp_path):
    from pathlib import Path
    copy = tmp_path / "transforms"
    shutil.copytree(Path(transforms.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = package_fingerprint([copy])
    assert package_fingerprint([copy]) == before  # stable
    tabular = copy / "tabular.py"
    tabular.write_text(tabular.read_text().replace("OOV_BUCKETS = 1", "OOV_BUCKETS = 2"))
    assert package_fingerprint([copy]) != before
    assert code_versions() == code_versions() and set(code_versions()) == set(COMPONENT_CODE)


def _exec_properties(versions: dict, dataset: str = "house_votes") -> dict:
    spec = load_spec(dataset)
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
    versions = dict.fromkeys(COMPONENT_CODE, "v1")
    ids = {"ExampleGen": "CsvSpecExampleGen", "Pusher": "AtomicPusher", "GenerativeEvaluator": "Evaluator"}
    for component in COMPONENT_CODE:
        dataset = "fashion_mnist_vae" if component == "GenerativeEvaluator" else "house_votes"
        base = _exec_properties(versions, dataset)
        changed = _exec_properties({**versions, component: "v2"}, dataset)
        differing = {node for node in base if base[node] != changed[node]}
        assert differing == {ids.get(component, component)}, (component, differing)
