"""One task of a compiled pipeline, run here as its container would run it.

``python -m pipelines.task_process MODULE ARGS...`` does what ``python -m MODULE ARGS...``
does in the task's container, after two changes that stand in for the cloud:
- artifact URIs are ``file://`` URIs that TFX's ``fileio`` and Beam open as they open gs://
  on the cloud (``pipelines.file_uris``), while Python's own file functions cannot;
- a Trainer or Tuner compiled as a Vertex AI custom job starts its worker pools as local
  processes instead of calling Vertex AI (``pipelines.local_custom_job``).
As in local runs, Beam's fixed costs per DoFn are trimmed (``infra.beam_fixed_cost``) and
its DirectRunner's data streams to worker processes flush by size only, so none drops data
(``infra.beam_data_plane``).
"""
from __future__ import annotations

import runpy
import sys

from infra import beam_data_plane, beam_fixed_cost
from pipelines import file_uris
from pipelines.compiled_run import starts_custom_job


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m pipelines.task_process MODULE [ARGS...]")
    module, args = argv[1], argv[2:]
    file_uris.register()
    beam_fixed_cost.apply()  # as local runs have it: Beam's per-DoFn costs, cut
    beam_data_plane.apply()  # and no data lost on its way to a Beam worker process
    if starts_custom_job(args):
        from pipelines import local_custom_job
        local_custom_job.install()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)
