"""Beam pipeline arguments for cloud runs: Dataflow from the cloud config, or the DirectRunner
inside each step's container."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # the CLI reads this module's defaults without loading the cloud config's types
    from infra.cloud_config import CloudConfig

AUTO = "auto"
# Local runs' --beam-workers auto: 2 DirectRunner worker processes (at most one per core) once
# the raw input is this large; below it their start-up costs more than they save
# (bench/results/beam_workers.md).
AUTO_WORKERS_FROM_MIB = 26  # measured crossing: 25.6 MiB
AUTO_WORKERS = 2

# TFX hands remote Beam workers its own code: for every Beam component whose arguments name no
# dependency, it packs its source into a 49 MB sdist in a new temporary folder, never removed, and
# adds --extra_package (tfx/utils/dependency_utils.py; about 2 s a component). The DirectRunner's
# workers are this machine's Python and stage nothing, so its arguments name a container image,
# which it does not use, and TFX builds no package.
NO_STAGING = "--sdk_container_image=unused-by-the-direct-runner"

# Beam pickles every DoFn several times per pipeline (a check when a ParDo is built, the runner
# API proto, then once per bundle in the worker): 3,239 pickles, 1.5 s with Beam's default dill, in
# one mammographic run. With Beam's cloudpickle pickler the same run took 0.4-0.9 s less (two runs
# of each, alternating). The option travels with the pipeline, so DirectRunner worker processes
# unpickle with it too.
PICKLER = "--pickle_library=cloudpickle"


def direct_runner_args(processes: Optional[int]) -> list[str]:
    """The DirectRunner in this process (None), or in ``processes`` worker processes (0: one per core)."""
    if processes is None:
        return ["--runner=DirectRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1", NO_STAGING, PICKLER]
    return ["--runner=DirectRunner", "--direct_running_mode=multi_processing", f"--direct_num_workers={processes}",
            NO_STAGING, PICKLER]


def in_this_process(beam_pipeline_args: list[str]) -> bool:
    """Whether these arguments run every Beam worker inside the process that runs the pipeline."""
    return "--direct_running_mode=in_memory" in beam_pipeline_args


def beam_workers_for(requested: int | str, input_bytes: int, sliced: bool = False,
                     cores: Optional[int] = None) -> int:
    """The DirectRunner's worker processes for a local run (0: Beam in this process). ``auto``: 2
    (or one per core, if fewer) for a raw input of AUTO_WORKERS_FROM_MIB or more not read as a
    ``--max-examples`` slice; an explicit number is kept."""
    if requested != AUTO:
        return int(requested)
    cores = cores or os.cpu_count() or 1
    if sliced or cores < 2 or input_bytes < AUTO_WORKERS_FROM_MIB * 2**20:
        return 0
    return min(AUTO_WORKERS, cores)


def beam_args(config: CloudConfig) -> list[str]:
    if config.beam_runner == "DirectRunner":
        return direct_runner_args(0)  # every core of the step's machine
    dataflow = config.dataflow
    args = [
        "--runner=DataflowRunner",
        f"--project={config.project}",
        f"--region={config.region}",
        f"--temp_location={dataflow.temp_location or config.root + '/dataflow/tmp'}",
        f"--machine_type={dataflow.machine_type}",
        f"--max_num_workers={dataflow.max_workers}",
        f"--disk_size_gb={dataflow.disk_size_gb}",
        "--experiments=use_runner_v2",
        # Dataflow workers run our ExampleGen and Transform code: same image as the steps.
        f"--sdk_container_image={config.image}",
    ]
    if config.service_account:
        args.append(f"--service_account_email={config.service_account}")
    return args
