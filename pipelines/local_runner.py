"""Runs a dataset's pipeline on this machine: LocalDagRunner, SQLite metadata, local files,
Beam's DirectRunner.

This file is also the pipeline file for TFX's own CLI. It reads its settings from the
environment when run (TFXP_DATASET, TFXP_DATA_DIR, TFXP_OUTPUT_DIR), so set them for both
commands:
  export TFXP_DATASET=house_votes TFXP_DATA_DIR=../shared/datasets
  tfx pipeline create --engine local --pipeline_path pipelines/local_runner.py
  tfx run create --engine local --pipeline_name house_votes
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil  # local: free space of the run's folder
from pathlib import Path
from typing import Optional

from tfx.orchestration.pipeline import Pipeline

from components.serving.atomic_pusher import served_versions
from components.serving.serving_check import started_ahead
from infra import beam_data_plane, beam_fixed_cost, long_lived_objects
from infra.dataflow import beam_workers_for, direct_runner_args, in_this_process
from pipelines import early_serving_check
from pipelines.code_version import code_versions
from pipelines.local_run import DATASET_ENV, DEFAULT_DATASET, LocalRun
from pipelines.observed_runner import NodeObserver, ObservedLocalDagRunner
from pipelines.pipeline import create_pipeline
from tfxp_contract.dataset_spec import load_spec
from tfxp_contract.errors import ExplainedError
from tfxp_contract.fetch import DATA_DIR_ENV, FetchedData, fetch_data, newest_span
from tfxp_contract.run_folders import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_ENV, RunFolders
from tfxp_reports.metadata_store import check_store, connection_config


def input_bytes(folder: Path, names: Optional[list] = None) -> int:
    """The size of the raw files a run reads: ``names`` in ``folder``, or every file under it."""
    paths = [folder / n for n in names] if names is not None else [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in paths if p.is_file())  # local: the fetched files


def build(run: LocalRun, data: Optional[FetchedData] = None) -> Pipeline:
    """``data``: the run's files, fetched already (default: fetch them now)."""
    spec = load_spec(run.dataset)
    if data is None and not run.spans:
        data = fetch_data(spec, run.data_dir)
    data_root, span = newest_span(spec, run.data_dir) if run.spans else (data.folder, None)
    run.home.mkdir(parents=True, exist_ok=True)
    check_store(run.metadata_path, run.dataset)  # a damaged store: one line and the fix, before any work
    served = served_versions(run.serving_root)
    workers = beam_workers_for(run.beam_workers, input_bytes(Path(data_root), None if run.spans else list(data.digests)),
                               sliced=bool(run.max_examples))
    return create_pipeline(
        pipeline_name=spec.name,
        pipeline_root=run.pipeline_root,
        spec=spec,
        data_root=str(data_root),
        serving_root=run.serving_root,
        metadata_connection_config=connection_config(run.metadata_path),
        beam_pipeline_args=direct_runner_args(workers or None),
        num_shards=run.num_shards,
        hyperparameters=run.hyperparameters,
        distribution=run.distribution,
        max_examples=run.max_examples,
        enable_cache=run.enable_cache,
        spans=run.spans,
        span=span,
        data_files=data.digests if data else None,
        classifier_serving_root=(RunFolders(run.output_dir, spec.evaluation_classifier).serving_root
                                 if spec.evaluation_classifier else ""),
        code_versions=code_versions(),
        served_now=str(served[-1]) if served else "")


class DiskFullError(ExplainedError, OSError):
    """The disk holding a run's outputs or metadata filled up; the message says where and what to do."""


DISK_FULL = ("No space left on device", "database or disk is full")  # as the OS and SQLite (in MLMD) say it


def _is_disk_full(err: Optional[BaseException]) -> bool:
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if (isinstance(err, OSError) and err.errno == errno.ENOSPC) or any(m in str(err) for m in DISK_FULL):
            return True
        err = err.__cause__ or err.__context__
    return False


def run_locally(pipeline: Pipeline, observer: Optional[NodeObserver] = None) -> None:
    """LocalDagRunner (told to ``observer`` component by component), with the Pusher's serving-check process started at the beginning, so
    its TensorFlow import overlaps the components before the push (components.serving.serving_check),
    and handed the check when the Trainer finishes, so the check overlaps the Evaluator
    (pipelines.early_serving_check); Beam's fixed costs per DoFn trimmed (infra.beam_fixed_cost) and its
    streams to worker processes flushed by size only (infra.beam_data_plane); what the process has
    imported is kept out of the cycle collector's full passes (infra.long_lived_objects).
    A full disk is a DiskFullError naming the folder (the pushes are atomic and ML Metadata
    records only finished components, so what was served and recorded stays usable)."""
    beam_fixed_cost.apply()  # Beam's per-DoFn inspection and pickling costs, cut (infra.beam_fixed_cost)
    beam_data_plane.apply()  # no data lost on its way to a Beam worker process (infra.beam_data_plane)
    long_lived_objects.freeze_once()
    # Beam's pickles in zlib rather than bz2 when no other process reads them (infra.beam_fixed_cost)
    pickles = beam_fixed_cost.zlib_pickles() if in_this_process(pipeline.beam_pipeline_args) else contextlib.nullcontext()
    try:
        with started_ahead(), pickles:
            ObservedLocalDagRunner(observer, on_outputs=early_serving_check.for_pipeline(pipeline)).run(pipeline)
    except Exception as err:
        if not _is_disk_full(err):
            raise
        root = pipeline.pipeline_info.pipeline_root
        free = shutil.disk_usage(root).free // 2**20 if os.path.isdir(root) else 0  # local: the run's own folder
        raise DiskFullError(f"no space left on the disk holding {root} ({free} MiB free now): free some space, then "
                            "run again; the components that finished are reused, and the served model and the "
                            "run history are unchanged") from None


def run_from_environment() -> LocalRun:
    return LocalRun(dataset=os.environ.get(DATASET_ENV, DEFAULT_DATASET),
                    data_dir=os.environ.get(DATA_DIR_ENV) or None,
                    output_dir=os.environ.get(OUTPUT_DIR_ENV) or DEFAULT_OUTPUT_DIR)


if __name__ == "__main__":
    run_locally(build(run_from_environment()))
