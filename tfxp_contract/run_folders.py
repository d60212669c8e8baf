"""Where a local run keeps things: ``<output dir>/<pipeline name>/`` holds the pipeline root,
the ML Metadata store and the served models. The local runner writes there; the command
line and the reports find runs there without building a pipeline."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OUTPUT_DIR_ENV = "TFXP_OUTPUT_DIR"  # the default output dir of every command, read when a command runs
DEFAULT_OUTPUT_DIR = "outputs"
METADATA_FILE = "metadata.sqlite"  # in each <output dir>/<pipeline name>/


@dataclass(frozen=True)
class RunFolders:
    output_dir: str
    pipeline_name: str

    @property
    def home(self) -> Path:
        return Path(self.output_dir).absolute() / self.pipeline_name

    @property
    def pipeline_root(self) -> str:
        return str(self.home / "pipeline_root")

    @property
    def metadata_path(self) -> str:
        return str(self.home / METADATA_FILE)

    @property
    def serving_root(self) -> str:
        return str(self.home / "serving")
