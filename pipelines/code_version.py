"""Fingerprints of the project's own code that components run, for their cache keys.

Transform and the Trainer receive their code as module paths (``preprocessing_fn``,
``run_fn``), and TFX's cache key covers exec-property strings only: an edited transform or
model builder would reuse the old outputs. The runners pass these fingerprints into the
components' custom_config, so an edit re-runs exactly the components whose code changed:
the Transform for ``transforms/`` (and the contract it reads), the Trainer for ``trainers/``
as well.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import tfxp_contract
import trainers
import transforms

# Component -> the packages whose source it runs.
COMPONENT_CODE = {
    "Transform": (transforms, tfxp_contract),
    "Trainer": (trainers, transforms, tfxp_contract),
}


def package_fingerprint(folders: list[Path]) -> str:
    """sha256 of every .py file under the folders (path and content), first 16 hex digits."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            digest.update(f"{path.relative_to(folder.parent)}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def code_versions() -> dict[str, str]:
    """Component id -> fingerprint of the code it runs, read from the installed packages."""
    return {component: package_fingerprint([Path(p.__file__).parent for p in packages])
            for component, packages in COMPONENT_CODE.items()}
