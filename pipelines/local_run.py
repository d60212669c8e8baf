"""What a local run is asked to do: the settings of one ``tfxp run``, with no TFX imported, so a
run's inputs can be checked in a second before the pipeline is built (pipelines.local_runner)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

from infra.dataflow import AUTO
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.run_folders import DEFAULT_OUTPUT_DIR, RunFolders

DEFAULT_DATASET = "house_votes"
DATASET_ENV = "TFXP_DATASET"


@dataclass
class LocalRun:
    dataset: str = DEFAULT_DATASET
    data_dir: Optional[str] = None  # a local mirror; None = download to the cache
    output_dir: str = DEFAULT_OUTPUT_DIR
    num_shards: Optional[int] = None  # None = the spec's
    hyperparameters: dict = field(default_factory=dict)
    distribution: dict = field(default_factory=dict)  # overrides of the spec's strategy settings
    beam_workers: int | str = AUTO  # 0 = in this process; N = N DirectRunner worker processes; auto: by input size
    max_examples: Optional[int] = None  # a slice of each published split
    enable_cache: bool = True
    spans: bool = False  # data_dir/<dataset>/span-N/ folders; each run reads the newest with _SUCCESS
    metadata: Optional[str] = None  # mysql://user@host:port/db; None = SQLite under the output folder

    @property
    def name(self) -> str:
        return _spec_name(self.dataset)

    @property
    def folders(self) -> RunFolders:
        return RunFolders(self.output_dir, self.name)

    @property
    def home(self) -> Path:
        return self.folders.home

    @property
    def pipeline_root(self) -> str:
        return self.folders.pipeline_root

    @property
    def metadata_path(self) -> str:
        """Where ML Metadata is: a SQLite file, or the mysql:// store given."""
        return self.metadata or self.folders.metadata_path

    @property
    def serving_root(self) -> str:
        return self.folders.serving_root


@lru_cache(maxsize=64)
def _spec_name(dataset: str) -> str:
    """A spec's name, parsed once per process (a run asks for it a dozen times)."""
    return load_spec(dataset).name
