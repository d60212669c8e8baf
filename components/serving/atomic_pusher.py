"""Pusher that never leaves a half-written model version under the serving root.

TFX's filesystem Pusher copies straight into ``<root>/<unix time>``: a crash mid-copy leaves
a partial version that a model server may try to load, and two pushes in the same second
collide. On a local filesystem this one copies into a hidden ``.incoming-*`` directory beside
the target, completion marker (``assets.extra/push_complete``) included, and renames it into
place (atomic). On an object store (gs://) a rename is a copy object by object, so it copies
straight into the version directory and writes the marker last. Either way a version without
the marker is incomplete (still being copied, or copied in by hand), is not counted as served
(``predict``, ``generate``, the baseline, reports), and is removed by a later push once an hour
old. Versions strictly increase; a push
that finds its version taken moves to the next one. Staging left by a killed push is removed
by the next push once untouched for an hour.

With eval ``examples`` as input, the candidate must first pass ``components.serving.serving_check``
(loaded in a fresh process, called on raw eval examples); one that fails is not pushed and
the PushedModel says why. The same examples go into the version as TF Serving warm-up requests.

Each version records which Trainer model it holds (``assets.extra/``, which model servers
ignore), so blessing the model that is already served again does not add a copy of it.
"""
from __future__ import annotations

import os
import time
import uuid
from typing import Any, Dict, List, Optional

from absl import logging
from tfx import types
from tfx.components import Pusher
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.components.base import base_component, executor_spec
from tfx.dsl.io import fileio
from tfx.dsl.io.filesystem import NotFoundError
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter
from tfx.utils import io_utils, json_utils, proto_utils

from components.serving.serving_check import check_in_fresh_process, raw_sample, write_warmup_requests
from tfxp_contract.names import PUSH_COMPLETE_FILE, SERVED_SOURCE_FILE, SERVING_CHECK_PROPERTY


def atomic_renames(serving_root: str) -> bool:
    """Local paths rename a directory in one step; object stores (scheme://) copy it."""
    return "://" not in serving_root or serving_root.startswith("file://")


def _numbered(serving_root: str) -> list[int]:
    """Every version directory, complete or not."""
    if not fileio.exists(serving_root):
        return []
    return sorted(int(name.rstrip("/")) for name in fileio.listdir(serving_root) if name.rstrip("/").isdigit())


def is_complete(serving_root: str, version: int) -> bool:
    """A version is served once its push wrote the completion marker, last (on a local disk
    too: a folder copied in by hand, or still being copied, is not a served version)."""
    return fileio.exists(os.path.join(serving_root, str(version), PUSH_COMPLETE_FILE))


def served_versions(serving_root: str) -> list[int]:
    """The complete versions, oldest first."""
    return [v for v in _numbered(serving_root) if is_complete(serving_root, v)]


def _source_of(version_dir: str) -> str:
    path = os.path.join(version_dir, SERVED_SOURCE_FILE)
    return io_utils.read_string_file(path) if fileio.exists(path) else ""


STALE_STAGING_SECONDS = 3600  # a staging folder untouched this long belongs to a push that died


def version_clock() -> int:
    """Versions are Unix seconds (TF Serving loads the highest number), strictly increasing."""
    return int(time.time())


def remove_stale_staging(serving_root: str, now: float) -> list[str]:
    """Removes ``.incoming-*`` folders and (object stores) incomplete versions left by pushes
    that were killed mid-copy, once they are older than ``STALE_STAGING_SECONDS``."""
    removed = []
    for name in fileio.listdir(serving_root) if fileio.exists(serving_root) else []:
        path = os.path.join(serving_root, name.rstrip("/"))
        modified = _modified(path) if name.startswith(".incoming-") else None
        if modified is not None and now - modified > STALE_STAGING_SECONDS and _remove(path):
            removed.append(path)
    for version in _numbered(serving_root):
        # A version's number is the second its push began: older than an hour and still
        # without its marker, that push is dead.
        if now - version > STALE_STAGING_SECONDS and not is_complete(serving_root, version):
            path = os.path.join(serving_root, str(version))
            if _remove(path):
                removed.append(path)
    return removed


def _remove(path: str) -> bool:
    try:
        fileio.rmtree(path)
        return True
    except NotFoundError:  # another push removed or renamed it meanwhile
        return False


def _modified(path: str) -> Optional[float]:
    """None when the folder is gone (another push just renamed its own staging into place)."""
    try:
        return fileio.stat(path).mtime_nsec / 1e9
    except NotFoundError:
        return None


def publish_model(model_path: str, serving_root: str, attempts: int = 5,
                  warmup: Optional[list[bytes]] = None, task: str = "classification") -> tuple[str, str]:
    """Copies a SavedModel to a new version directory atomically; returns (version, path).
    ``warmup``: serialized raw examples, written into it as TF Serving warm-up requests (for a
    ``task`` generative model: a request for as many samples).

    If the newest version already holds this model, returns that version instead. If another
    push takes the chosen version first, the next one is tried."""
    fileio.makedirs(serving_root)
    for path in remove_stale_staging(serving_root, time.time()):
        logging.warning("removed %s, left by a push that did not finish", path)
    versions = served_versions(serving_root)
    if versions and _source_of(os.path.join(serving_root, str(versions[-1]))) == model_path:
        return str(versions[-1]), os.path.join(serving_root, str(versions[-1]))
    version = max([version_clock()] + [v + 1 for v in _numbered(serving_root)])
    if not atomic_renames(serving_root):
        return _copy_with_marker(model_path, serving_root, version, attempts, warmup, task)
    staging = os.path.join(serving_root, f".incoming-{version}-{uuid.uuid4().hex[:8]}")
    try:
        io_utils.copy_dir(model_path, staging)
        io_utils.write_string_file(os.path.join(staging, SERVED_SOURCE_FILE), model_path)
        if warmup:
            write_warmup_requests(staging, warmup, task)
        io_utils.write_string_file(os.path.join(staging, PUSH_COMPLETE_FILE), "")  # complete before it is visible
        for _ in range(attempts):
            final = os.path.join(serving_root, str(version))
            if not fileio.exists(final):
                try:
                    fileio.rename(staging, final)
                    return str(version), final
                except Exception:  # another push renamed into this version first
                    if not fileio.exists(final):
                        raise
            version = max([version + 1] + [v + 1 for v in _numbered(serving_root)])
        raise RuntimeError(f"{serving_root}: no free version after {attempts} attempts (other pushes keep taking them)")
    finally:
        if fileio.exists(staging):
            fileio.rmtree(staging)


def _copy_with_marker(model_path: str, serving_root: str, version: int, attempts: int,
                      warmup: Optional[list[bytes]], task: str = "classification") -> tuple[str, str]:
    """Object stores: copy into the first free version directory, the completion marker last."""
    for _ in range(attempts):
        final = os.path.join(serving_root, str(version))
        if not fileio.exists(final):
            io_utils.copy_dir(model_path, final)
            io_utils.write_string_file(os.path.join(final, SERVED_SOURCE_FILE), model_path)
            if warmup:
                write_warmup_requests(final, warmup, task)
            io_utils.write_string_file(os.path.join(final, PUSH_COMPLETE_FILE), "")
            return str(version), final
        version = max([version + 1] + [v + 1 for v in _numbered(serving_root)])
    raise RuntimeError(f"{serving_root}: no free version after {attempts} attempts (other pushes keep taking them)")


def check_inputs(custom_config: dict, examples_uri: str) -> tuple[list[bytes], int, str]:
    """What the serving check is asked, from the pusher's ``custom_config`` and its ``examples``:
    (the raw eval sample, number of classes, task)."""
    sample = raw_sample(examples_uri, custom_config.get("eval_split", "eval"), custom_config["label"])
    return sample, int(custom_config["num_classes"]), custom_config.get("task", "classification")


class Executor(pusher_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        model_path = self.GetModelPath(input_dict)
        warmup, task = None, "classification"
        if input_dict.get(EXAMPLES_KEY):
            config = json_utils.loads(exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
            examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
            sample, num_classes, task = check_inputs(config, examples.uri)
            result = check_in_fresh_process(model_path, sample, num_classes, self._get_tmp_dir(), task=task)
            if not result.ok:
                reason = "; ".join(result.problems)
                logging.error("The serving check failed; the model is not pushed: %s", reason)
                model_push.set_string_custom_property(SERVING_CHECK_PROPERTY, f"failed: {reason}")
                self._MarkNotPushed(model_push)
                return
            asked = (f"{len(sample)} samples generated" if task == "generative" else
                     f"{len(sample)} raw eval examples answered")
            model_push.set_string_custom_property(
                SERVING_CHECK_PROPERTY, f"passed: {asked} in {result.batch_ms:.0f} ms by a fresh process"
                + (" (begun when the model was trained)" if result.begun_early else ""))
            warmup = sample
        version, serving_path = publish_model(model_path, destination.filesystem.base_directory, warmup=warmup,
                                              task=task)
        logging.info("Model version %s published to %s", version, serving_path)
        io_utils.copy_dir(model_path, model_push.uri)  # the artifact keeps its own copy, as TFX's does
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)


EXAMPLES_KEY = "examples"


class AtomicPusherSpec(standard_component_specs.PusherSpec):
    INPUTS = {**standard_component_specs.PusherSpec.INPUTS,
              EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples, optional=True)}


class AtomicPusher(Pusher):
    """TFX's Pusher, publishing atomically; with ``examples``, after a serving check."""

    SPEC_CLASS = AtomicPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 push_destination: pusher_pb2.PushDestination, custom_config: Optional[Dict[str, Any]] = None,
                 examples: Optional[types.BaseChannel] = None):
        """``examples``: the ExampleGen's output (its eval split) for the serving check; then
        ``custom_config`` needs ``label`` (the raw label column) and ``num_classes``."""
        spec = AtomicPusherSpec(model=model, model_blessing=model_blessing, push_destination=push_destination,
                                custom_config=json_utils.dumps(custom_config),
                                pushed_model=types.Channel(type=standard_artifacts.PushedModel), examples=examples)
        base_component.BaseComponent.__init__(self, spec=spec)
