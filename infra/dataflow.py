"""Beam pipeline arguments for cloud runs: Dataflow from the cloud config, or the DirectRunner
inside each step's container."""
from __future__ import annotations

from infra.cloud_config import CloudConfig


def beam_args(config: CloudConfig) -> list[str]:
    if config.beam_runner == "DirectRunner":
        # Every core of the step's machine; 0 = as many workers as cores.
        return ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=0"]
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
