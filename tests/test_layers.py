"""The package layering and the extension tables: checked here beside `lint-imports`, so a
broken contract or a table out of step fails the fast tests too."""
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import transforms
from components.ingest.formats import EXAMPLE_GENS
from tests.helpers import REPO, builtin_spec_dict
from tfxp_contract.dataset_spec import SpecError, spec_from_dict
from tfxp_contract.families import DATA_FAMILIES, FORMATS, MODEL_FAMILIES
from trainers.models import BUILDERS

OUR_PACKAGES = ["tfxp_contract", "tfxp_reports", "components", "transforms", "trainers", "infra", "pipelines",
                "tfxp_ui", "tfxp_cli"]


def test_extension_tables_name_the_same_formats_and_families():
    assert set(EXAMPLE_GENS) == set(FORMATS)
    assert set(BUILDERS) == set(MODEL_FAMILIES)
    assert set(transforms.MODULES) == set(DATA_FAMILIES)
    assert {family for families in FORMATS.values() for family in families} == set(DATA_FAMILIES)


def test_an_unknown_format_fails_when_the_spec_loads():
    raw = builtin_spec_dict("house_votes")
    raw["format"] = "xlsx"
    with pytest.raises(SpecError, match=r"test.yaml: format: format 'xlsx' has no ExampleGen; known: csv, parquet, idx, archive"):
        spec_from_dict(raw, where="test.yaml")


@pytest.mark.parametrize("dataset, family, message", [
    ("house_votes", "cnn", "model family 'cnn' takes image data, but house_votes is tabular data; families for it: dense"),
    ("mnist", "text_bag", "model family 'text_bag' takes text data, but mnist is image data"),
    ("imdb", "dense", "model family 'dense' takes tabular data, but imdb is text data"),
    ("house_votes", "xgboost", "unknown model family 'xgboost'"),
])
def test_a_model_family_for_other_data_fails_when_the_spec_loads(dataset, family, message):
    raw = builtin_spec_dict(dataset)
    raw["model"] = {"family": family}
    with pytest.raises(SpecError, match=None) as err:
        spec_from_dict(raw, where="test.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


BENCHMARKS = ("beam_workers", "datasets", "generative", "ingest", "large_table", "multi_worker", "overhead",
              "spec_init", "tabular_cv", "time_to_accuracy")


def test_spec_loading_the_cli_and_reports_import_no_tensorflow():
    """Loading every spec, building the command line's parser, importing the report
    modules, the runs UI and the benchmarks (for their --help) must not pull in TensorFlow
    (seconds of start-up for every command)."""
    code = ("import sys; import tfxp_contract.fetch, tfxp_contract.names, tfxp_cli.main, tfxp_reports.run_report, "
            "tfxp_reports.report_html, tfxp_reports.evaluation_summary, tfxp_ui.app; "
            f"import {', '.join('bench.' + name for name in BENCHMARKS)}; "
            "from tfxp_contract.dataset_spec import builtin_spec_names, load_spec; "
            "[load_spec(n) for n in builtin_spec_names()]; tfxp_cli.main.build_parser(); "
            "heavy = sorted(m for m in ('tensorflow', 'tfx', 'apache_beam', 'tensorflow_transform') if m in sys.modules); "
            "print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_no_other_installed_distribution_provides_our_package_names():
    """Our top-level import names are ours alone here: another installed package of the same
    name (PyPI has e.g. `pipelines`, `components`, `transforms`) would shadow or be shadowed."""
    providers = importlib.metadata.packages_distributions()
    for package in OUR_PACKAGES:
        assert set(providers.get(package, [])) == {"tfx-training-pipeline"}, (package, providers.get(package))


def _lint_imports(root) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).parent / "lint-imports"  # installed beside this Python (.venv)
    return subprocess.run([str(lint), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300)


def test_an_import_back_up_the_layers_fails_the_lint_step(tmp_path):
    """The contracts are not vacuous: the tree as it is passes; with one import from the
    contract up into the pipelines it fails, naming the import."""
    for package in [*OUR_PACKAGES, "bench"]:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "results"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    kept = _lint_imports(tmp_path)
    assert kept.returncode == 0, kept.stdout[-3000:]

    fetch = tmp_path / "tfxp_contract" / "fetch.py"
    fetch.write_text(fetch.read_text() + "\nfrom pipelines.local_runner import LocalRun  # up the layers\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout and "tfxp_contract.fetch -> pipelines.local_runner" in broken.stdout, \
        broken.stdout[-3000:]
