"""The Evaluator's baseline on every orchestrator: the model served now.

TFX's usual baseline is a Resolver node (LatestBlessedModelStrategy) asking ML Metadata for
the newest blessed model. Kubeflow Pipelines' backend has no resolver executor at all, and on
Vertex AI the query runs against the region's metadata store that every pipeline of the
project shares. This baseline needs no metadata: ``ServedBaseline`` copies the newest complete
version under the serving root (what ``AtomicPusher`` pushed last: the last blessed model, or
the one an operator rolled back to) into its output Model artifact, where TFX's Evaluator
looks for a model (``Format-Serving/``), and records the version. With nothing served yet the
artifact holds no model, and ``Evaluator`` (TFX's, with an executor that drops such a
baseline) evaluates without one: the change thresholds are skipped on the first run.

Its output depends on the serving root, not on its inputs, so it must not be taken from a
cache: compiled pipelines turn caching off for its task; a local run passes ``served_now``
(the newest version when the run starts), which changes its cache key when a push happened.
"""

import os

from absl import logging
from tfx.components import Evaluator as TfxEvaluator
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.component.experimental.annotations import OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_component_specs
from tfx.types.standard_artifacts import Model
from tfx.utils import io_utils, path_utils

from components.serving.atomic_pusher import served_versions

SERVED_VERSION = "served_version"  # on the baseline Model: the version it copies ("" = none served)
BASELINE_TASK = "ServedBaseline"


def served_version(model) -> str:
    return model.get_string_custom_property(SERVED_VERSION) if model.has_custom_property(SERVED_VERSION) else ""


@component
def ServedBaseline(baseline_model: OutputArtifact[Model], serving_root: Parameter[str],
                   served_now: Parameter[str] = "", code_version: Parameter[str] = "") -> None:
    """The newest complete version under ``serving_root`` as a Model artifact (empty when
    none is served). ``served_now``, ``code_version``: cache key only."""
    versions = served_versions(serving_root)
    if not versions:
        logging.info("ServedBaseline: nothing served under %s yet; no baseline", serving_root)
        baseline_model.set_string_custom_property(SERVED_VERSION, "")
        return
    version = str(versions[-1])
    source = os.path.join(serving_root, version)
    io_utils.copy_dir(source, path_utils.serving_model_dir(baseline_model.uri))
    baseline_model.set_string_custom_property(SERVED_VERSION, version)
    baseline_model.set_string_custom_property("served_path", source)
    logging.info("ServedBaseline: version %s from %s", version, source)


class _Executor(evaluator_executor.Executor):
    """TFX's Evaluator executor; a baseline that holds no model counts as none."""

    def Do(self, input_dict, output_dict, exec_properties):
        key = standard_component_specs.BASELINE_MODEL_KEY
        baselines = input_dict.get(key) or []
        if baselines and not all(served_version(m) for m in baselines):
            input_dict = {k: v for k, v in input_dict.items() if k != key}
        super().Do(input_dict, output_dict, exec_properties)
        if input_dict.get(key):
            [blessing] = output_dict[standard_component_specs.BLESSING_KEY]
            blessing.set_string_custom_property(SERVED_VERSION, served_version(input_dict[key][0]))


class Evaluator(TfxEvaluator):
    """TFX's Evaluator (the same spec, so the Vertex AI entry point treats its blessing as
    it treats TFX's), whose baseline is ``ServedBaseline``'s output."""
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(_Executor)
