"""Helpers the tests share: built-in specs as editable dicts, spec files in a temp folder."""
from __future__ import annotations

from pathlib import Path

import yaml

from tfxp_contract.dataset_spec import SPECS_DIR

REPO = Path(__file__).resolve().parents[1]


def builtin_spec_dict(name: str) -> dict:
    return yaml.safe_load((SPECS_DIR / f"{name}.yaml").read_text())


def unlabelled_vae_dict() -> dict:
    """fashion_mnist_vae as a user with images only would write it: no label column, no labels
    files, the published images files as the splits."""
    raw = builtin_spec_dict("fashion_mnist_vae")
    raw.pop("label")
    raw["name"] = "clothes_vae"
    raw["columns"] = [c for c in raw["columns"] if c["name"] != "label"]
    raw["files"] = [f for f in raw["files"] if "images" in f["name"]]
    raw["published_splits"] = {"train": "train-images-idx3-ubyte.gz", "eval": "t10k-images-idx3-ubyte.gz"}
    return raw


def write_spec(tmp_path: Path, raw: dict, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def free_port() -> int:
    """A port on 127.0.0.1 free right now, for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(port: int, process, timeout: float, what: str) -> None:
    """Returns once ``process`` accepts connections on ``port``; fails naming ``what``."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.2)
