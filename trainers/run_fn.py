"""TFX Trainer entry point: train the spec's model under the run's strategy and export it.

With strategy ``multi_worker``, ``local_workers: N`` and no TF_CONFIG, this process launches
N local workers and waits for them; with TF_CONFIG set (Vertex AI, Kubernetes), every
replica runs this same function and trains as its part of the cluster.
"""
from __future__ import annotations

import os

from tfx.components.trainer.fn_args_utils import FnArgs

from trainers.local_cluster import run_local_workers
from trainers.training_job import TrainingJob, train_and_export


def run_fn(fn_args: FnArgs) -> None:
    job = TrainingJob.from_fn_args(fn_args)
    dist = job.resolved_distribution
    if dist.strategy == "multi_worker" and dist.local_workers > 0 and not os.environ.get("TF_CONFIG"):
        run_local_workers(job, dist.local_workers, os.path.join(job.model_run_dir, "workers"))
    else:
        train_and_export(job, os.environ)
