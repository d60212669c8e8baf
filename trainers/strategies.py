"""tf.distribute strategies from a run's Distribution setting, and each process's role.

One place decides how training is spread, so the model builders and ``run_fn`` are the
same for every setting: build and compile inside ``strategy.scope()``, batch with
``global_batch_size``, and let only the chief write to the real output.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Mapping, Optional

import tensorflow as tf
import tf_keras as keras

from tfxp_contract.dataset_spec import Distribution
from tfxp_contract.errors import ExplainedError


class StrategyError(ExplainedError, RuntimeError):
    """The asked-for strategy cannot run here; the message says what is missing."""


@dataclass(frozen=True)
class Role:
    """This process's place in a cluster (a single process is its own chief)."""
    task_type: str = "chief"
    task_id: int = 0
    num_workers: int = 1
    cluster_has_chief: bool = False

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_id == 0
                                             and not self.cluster_has_chief)

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.task_id}"


def parse_tf_config(environ: Mapping[str, str]) -> Optional[dict]:
    text = environ.get("TF_CONFIG", "")
    if not text.strip():
        return None
    try:
        config = json.loads(text)
        _ = config["cluster"], config["task"]["type"]  # the shape a cluster description has
    except (json.JSONDecodeError, KeyError, TypeError):
        raise StrategyError(f"TF_CONFIG is not a cluster description: {text[:200]!r}") from None
    return config


def role_from_tf_config(config: Optional[dict]) -> Role:
    """Chief: the 'chief' task, or worker 0 when the cluster names no chief (TF's convention)."""
    if config is None:
        return Role()
    cluster, task = config["cluster"], config["task"]
    training_tasks = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
    return Role(task_type=task["type"], task_id=int(task.get("index", 0)), num_workers=training_tasks,
                cluster_has_chief=bool(cluster.get("chief")))


def make_strategy(dist: Distribution, environ: Mapping[str, str]) -> tf.distribute.Strategy:
    """The strategy for ``dist``; ``environ`` supplies TF_CONFIG (multi_worker, tpu)."""
    if dist.strategy == "none":
        return tf.distribute.get_strategy()  # the default: one device, no wrapping
    if dist.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()  # every local GPU, or the CPU
    if dist.strategy == "multi_worker":
        # Without TF_CONFIG this is a cluster of one; the launcher sets it for local workers.
        parse_tf_config(environ)
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=tf.distribute.experimental.CommunicationImplementation.AUTO))
    if dist.strategy == "tpu":
        return tpu_strategy(dist.tpu)
    raise StrategyError(f"unknown strategy {dist.strategy!r}")


def tpu_strategy(tpu: str) -> tf.distribute.TPUStrategy:
    """TPUStrategy via TPUClusterResolver: a TPU name, 'local' on a TPU VM, '' = environment."""
    where = f"tpu={tpu!r}" if tpu else "tpu from the environment: TPU_NAME or Cloud TPU metadata"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or None)
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except Exception as err:  # resolver, connection and initialisation raise many types
        raise StrategyError(f"strategy 'tpu' asked for, but no TPU is reachable ({where}): "
                            f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:160]}") from None


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy) -> int:
    return per_replica * strategy.num_replicas_in_sync


def static_shapes_needed(strategy: tf.distribute.Strategy) -> bool:
    """TPUs compile for fixed shapes: every batch, evaluation included, must be full."""
    return isinstance(strategy, tf.distribute.TPUStrategy)


# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic: AMX tiles, AVX-512 BF16.
NATIVE_BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# Another cpuinfo file to read instead of the host's (tests, and CI's run as an AVX512-BF16 CPU).
CPUINFO_ENV = "TFXP_CPUINFO"


def cpu_has_native_bfloat16(cpuinfo: Optional[str] = None) -> Optional[bool]:
    """Whether this CPU computes in bfloat16 natively; None where its flags cannot be read.
    ``cpuinfo``: the file to read (default ``$TFXP_CPUINFO``, else /proc/cpuinfo)."""
    path = cpuinfo or os.environ.get(CPUINFO_ENV) or "/proc/cpuinfo"
    try:
        with open(path) as f:  # local: /proc/cpuinfo or a file standing in for it
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None)
    except OSError:
        return None
    return None if flags is None else any(flag in flags for flag in NATIVE_BFLOAT16_CPU_FLAGS)


def uses_bfloat16(dist: Distribution, native: Optional[bool]) -> bool:
    """``mixed_precision``: true always; auto on a TPU or a CPU with native bfloat16 (``native``:
    ``cpu_has_native_bfloat16``; float32 where that is unknown); false never."""
    if dist.mixed_precision == "auto":
        return dist.strategy == "tpu" or native is True
    return bool(dist.mixed_precision)


def set_precision(dist: Distribution, cpuinfo: Optional[str] = None) -> str:
    """bfloat16 compute with float32 variables where ``uses_bfloat16``; the output layers stay
    float32. Asked for explicitly without a TPU or a CPU with native bfloat16, it still runs,
    emulated and slower: a warning says so. Returns the policy's name."""
    native = cpu_has_native_bfloat16(cpuinfo)
    bfloat16 = uses_bfloat16(dist, native)
    if dist.mixed_precision is True and dist.strategy != "tpu" and native is False:
        logging.warning("mixed precision (bfloat16) asked for, but this CPU has no native bfloat16 (%s): "
                        "training runs emulated and slower than in float32", " or ".join(NATIVE_BFLOAT16_CPU_FLAGS))
    elif dist.mixed_precision == "auto" and not bfloat16:
        logging.info("mixed precision auto: float32, this CPU has no native bfloat16 (%s)",
                     " or ".join(NATIVE_BFLOAT16_CPU_FLAGS))
    policy = "mixed_bfloat16" if bfloat16 else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
