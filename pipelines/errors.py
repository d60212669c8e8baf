"""Turning a failure deep inside TFX or Beam into the one line a user needs."""
from __future__ import annotations

import re
from typing import Optional

from components.anomaly_gate import DataAnomalyError
from components.delimited_rows import RawDataError
from pipelines.dataset_spec import SpecError
from pipelines.fetch import DataSourceError
from infra.cloud_config import CloudConfigError
from infra.gcs_staging import StagingError
from infra.local_schedule import ScheduleError
from pipelines.lineage import LineageError
from infra.submit import SubmitError
from trainers.local_cluster import WorkerFailed
from trainers.strategies import StrategyError

OUR_ERRORS = (RawDataError, DataAnomalyError, SpecError, DataSourceError, StrategyError, WorkerFailed,
              CloudConfigError, StagingError, SubmitError, ScheduleError,
              LineageError)
# Beam's runners re-raise a worker's exception as a new one with the original text inside.
_WRAPPED = re.compile(r"(RawDataError|DataAnomalyError): (.+?)(?:\s\[while running|\n\n|$)", re.S)
_BEAM_STEP = re.compile(r"\s*\[while running '[^']*'\]$")


def explain(err: BaseException) -> Optional[str]:
    """The message of our own error inside ``err``'s chain or text; None if there is none."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OUR_ERRORS):
            return _BEAM_STEP.sub("", str(err))
        match = _WRAPPED.search(str(err))
        if match:
            return match.group(2).strip()
        err = err.__cause__ or err.__context__
    return None
