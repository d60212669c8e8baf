"""Fingerprints of the project's own code each component runs, for their cache keys.

Transform and the Trainer receive their code as module paths (``preprocessing_fn``,
``run_fn``), and TFX's cache key covers exec-property strings only: an edited transform,
reader or model builder would reuse the old outputs. The runners pass these fingerprints into
the components' custom_config (or a ``code_version`` parameter), so an edit re-runs exactly
the components whose code changed.

A component's fingerprint covers every module of ours that its entry module imports, directly
or through others, found by reading their source (``import`` statements anywhere in a
module, a function's own included), never by importing them. A string naming one of our
modules counts as an import too: that is how a table of modules imported by name
(``transforms.MODULES``) or a module started as a process (``python -m trainers.worker``)
is followed. Files a module declares in ``CODE_DATA`` (the report's templates) count as its code.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

OUR_PACKAGES = ("components", "trainers", "transforms", "tfxp_contract", "tfxp_reports", "pipelines", "infra")
# Component -> the module its run starts from.
COMPONENT_ENTRY = {
    "ExampleGen": "components.ingest.formats",
    "SchemaFromSpec": "components.validation.schema_from_spec",
    "AnomalyGate": "components.validation.anomaly_gate",
    "Transform": "transforms",
    "Trainer": "trainers.run_fn",
    "Tuner": "trainers.tuning",
    "ServedBaseline": "components.evaluation.served_baseline",
    "Pusher": "components.serving.atomic_pusher",
    "EvaluationReport": "components.evaluation.evaluation_report",
    "GenerativeEvaluator": "components.evaluation.generative_evaluator",
}
_MODULE_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")


@lru_cache(maxsize=None)
def _package_folder(package: str) -> Path:
    """Where one of our top-level packages is installed (found without importing it)."""
    return Path(list(importlib.util.find_spec(package).submodule_search_locations)[0])


def source_file(module: str) -> Optional[Path]:
    """The file of one of our modules (a package's ``__init__.py``), or None if it is not ours."""
    top, *rest = module.split(".")
    if top not in OUR_PACKAGES:
        return None
    base = _package_folder(top).joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _ours(name: str) -> Optional[str]:
    """The longest prefix of a dotted name that is one of our modules (``pkg.mod.func`` -> ``pkg.mod``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if source_file(".".join(parts[:end])):
            return ".".join(parts[:end])
    return None


_READ_BY_CONTENT: dict = {}  # (file, what was read, sha256 of its text) -> what was read


def _read_once_per_content(path: Path, what: str, read):
    """``read(text)`` of a source file, computed once per file content (a run asks about each
    module once per component, and parsing is what costs)."""
    text = path.read_text()
    key = (str(path), what, hashlib.sha256(text.encode()).digest())
    if key not in _READ_BY_CONTENT:
        _READ_BY_CONTENT[key] = read(text)
    return _READ_BY_CONTENT[key]


def _named_modules(text: str, path: Path, package: str) -> frozenset[str]:
    """The dotted names a source imports or spells out, absolute (``package``: where its
    relative imports start)."""
    names = set()
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_NAME.match(node.value):
            names.add(node.value)
    return frozenset(names)


def direct_imports(module: str) -> set[str]:
    """Our modules that ``module`` names: its imports, and strings naming a module of ours."""
    path = source_file(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = _read_once_per_content(path, f"imports from {package}",
                                   lambda text: _named_modules(text, path, package))
    found = {m for m in map(_ours, names) if m}
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py too.
    return {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 2)
            if source_file(".".join(m.split(".")[:i]))} - {module}


def import_closure(module: str) -> set[str]:
    """``module`` and every module of ours it imports, directly or not."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(direct_imports(current) - seen)
    return seen


DATA_FILES_NAME = "CODE_DATA"  # a module's tuple of files or folders beside it that it runs (templates)


def data_files(module: str) -> list[Path]:
    """The files a module declares it runs besides code: ``CODE_DATA = ("templates",)`` names
    files or folders beside it."""
    path = source_file(module)
    found = []
    for name in _read_once_per_content(path, DATA_FILES_NAME, lambda text: _declared_data(text, path)):
        named = path.parent / name
        found += sorted(f for f in named.rglob("*") if f.is_file()) if named.is_dir() else [named]
    return found


def _declared_data(text: str, path: Path) -> tuple[str, ...]:
    """A module's ``CODE_DATA`` names."""
    return tuple(name for node in ast.parse(text, str(path)).body
                 if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == DATA_FILES_NAME for t in node.targets)
                 for name in ast.literal_eval(node.value))


def fingerprint(modules: set[str]) -> str:
    """sha256 of the modules' names and sources, and the data files they name, first 16 hex digits."""
    digest = hashlib.sha256()
    for module in sorted(modules):
        digest.update(f"{module}\n".encode())
        digest.update(source_file(module).read_bytes())
        for data in data_files(module):
            digest.update(f"{data.name}\n".encode())
            digest.update(data.read_bytes())
    return digest.hexdigest()[:16]


def code_versions() -> dict[str, str]:
    """Component -> fingerprint of the code it runs, read from the installed packages."""
    return {component: fingerprint(import_closure(entry)) for component, entry in COMPONENT_ENTRY.items()}
