"""Helpers the tests share: built-in specs as editable dicts, spec files in a temp folder."""
from __future__ import annotations

from pathlib import Path

import yaml

from tfxp_contract.dataset_spec import SPECS_DIR

REPO = Path(__file__).resolve().parents[1]


def builtin_spec_dict(name: str) -> dict:
    return yaml.safe_load((SPECS_DIR / f"{name}.yaml").read_text())


def write_spec(tmp_path: Path, raw: dict, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path
