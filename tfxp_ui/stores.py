"""Where the UI finds runs: every ``<output-dir>/<dataset>/metadata.sqlite``, or one store
(a SQLite file or a MySQL URL) holding any number of datasets' pipelines."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from tfxp_contract.errors import ExplainedError
from tfxp_contract.run_folders import METADATA_FILE
from tfxp_reports.metadata_store import is_store_uri, store_exists
from tfxp_reports.run_history import pipeline_names


class NoRunsError(ExplainedError, LookupError):
    """Nothing for the UI to show where it was pointed."""


@dataclass(frozen=True)
class RunSource:
    output_dir: str = ""
    metadata: str = ""  # one store instead of an output folder's

    def stores(self) -> dict[str, str]:
        """Dataset (pipeline) name -> its ML Metadata, read each time (runs appear while the UI runs)."""
        if self.metadata:
            if not store_exists(self.metadata):
                raise NoRunsError(f"no ML Metadata at {self.metadata}")
            return dict.fromkeys(pipeline_names(self.metadata), self.metadata)
        found = {}
        for path in sorted(glob.glob(os.path.join(self.output_dir, "*", METADATA_FILE))):
            for name in pipeline_names(path):
                found[name] = path
        return found

    def describe(self) -> str:
        if is_store_uri(self.metadata):
            return self.metadata.split("@")[-1]
        return self.metadata or os.path.abspath(self.output_dir)
