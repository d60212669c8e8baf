"""TFX Trainer entry point: train the spec's model under the run's strategy and export it.

With strategy ``multi_worker``, ``local_workers: N`` and no TF_CONFIG, this process launches
N local workers and waits for them; with TF_CONFIG set (Vertex AI, Kubernetes), every
replica runs this same function and trains as its part of the cluster.
"""
from __future__ import annotations

import os
import tempfile

import tensorflow as tf
from tfx.components.trainer.fn_args_utils import FnArgs

from trainers.local_cluster import run_local_workers
from trainers.training_job import TrainingJob, train_and_export

WORKERS_FOLDER = "workers"  # in the ModelRun: the local workers' job, logs and pids


def run_fn(fn_args: FnArgs) -> None:
    job = TrainingJob.from_fn_args(fn_args)
    dist = job.resolved_distribution
    if dist.strategy == "multi_worker" and dist.local_workers > 0 and not os.environ.get("TF_CONFIG"):
        run_workers_here(job, dist.local_workers)
    else:
        train_and_export(job, os.environ)


def run_workers_here(job: TrainingJob, num_workers: int) -> None:
    """The launcher's files (job, logs, pids) live on local disk: beside the ModelRun when it
    is a local folder, where they can be followed while training runs; in a temporary folder
    when it is an object store (a Kubeflow Pipelines step), copied into it at the end."""
    target = os.path.join(job.model_run_dir, WORKERS_FOLDER)
    if "://" not in job.model_run_dir:
        run_local_workers(job, num_workers, target)
        return
    with tempfile.TemporaryDirectory(prefix="tfxp-workers-") as work:
        try:
            run_local_workers(job, num_workers, work)
        finally:
            tf.io.gfile.makedirs(target)
            for name in tf.io.gfile.listdir(work):
                if name.endswith((".log", ".json")):
                    tf.io.gfile.copy(os.path.join(work, name), os.path.join(target, name), overwrite=True)
