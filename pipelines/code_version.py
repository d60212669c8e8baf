"""Fingerprints of the project's own code that components run, for their cache keys.

Transform and the Trainer receive their code as module paths (``preprocessing_fn``,
``run_fn``), and TFX's cache key covers exec-property strings only: an edited transform or
model builder would reuse the old outputs. The runners pass these fingerprints into the
components' custom_config (or a ``code_version`` parameter), so an edit re-runs exactly the
components whose code changed: the Transform for ``transforms/`` (and the contract it reads),
the Trainer for ``trainers/`` as well, and each of our own components for its modules.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

# Component -> the packages (all their modules) or single modules whose source it runs.
COMPONENT_CODE = {
    "ExampleGen": ("components.example_gens", "components.sharded_example_gen", "components.csv_example_gen",
                   "components.delimited_rows", "components.idx_example_gen", "components.idx_records",
                   "components.archive_example_gen", "components.archive_records", "components.file_example_gen",
                   "tfxp_contract"),
    "SchemaFromSpec": ("components.schema_from_spec", "tfxp_contract"),
    "AnomalyGate": ("components.anomaly_gate", "tfxp_reports"),
    "Transform": ("transforms", "tfxp_contract"),
    "Trainer": ("trainers", "transforms", "tfxp_contract"),
    "Pusher": ("components.atomic_pusher", "components.serving_check"),
    "EvaluationReport": ("components.evaluation_report", "tfxp_reports", "tfxp_contract"),
    "GenerativeEvaluator": ("components.generative_evaluator", "components.generative_metrics", "tfxp_contract"),
}


def package_fingerprint(folders: list[Path]) -> str:
    """sha256 of every .py file under the folders, or of the files given (path and content),
    first 16 hex digits."""
    digest = hashlib.sha256()
    for folder in folders:
        files = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder]
        for path in files:
            digest.update(f"{path.relative_to(folder.parent)}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _source(module: str) -> Path:
    """A package's folder or a module's file, found without importing it."""
    found = importlib.util.find_spec(module)
    if found.origin is None:  # a namespace package (no __init__.py): its folder
        return Path(list(found.submodule_search_locations)[0])
    path = Path(found.origin)
    return path.parent if path.name == "__init__.py" else path


def code_versions() -> dict[str, str]:
    """Component -> fingerprint of the code it runs, read from the installed packages."""
    return {component: package_fingerprint([_source(m) for m in modules])
            for component, modules in COMPONENT_CODE.items()}
