"""The Pusher's serving check, begun as soon as the model exists (local runs).

The Pusher checks its candidate in a fresh process before a push
(``components.serving.serving_check``). In a local run that check can begin when the Trainer
finishes: it then loads and calls the model while the Evaluator works, and the Pusher, if the
model is blessed, takes the result instead of waiting for it. The Pusher takes it only if it
asks exactly that check (the same model folder, raw eval sample, classes and task, derived by
the same ``check_inputs``); otherwise it checks afresh. A check begun for a model that is not
blessed is ended unread at the end of the run.
"""
from __future__ import annotations

from typing import Optional

from tfx.orchestration.pipeline import Pipeline
from tfx.types import standard_component_specs
from tfx.utils import json_utils, path_utils

from components.serving.atomic_pusher import EXAMPLES_KEY, AtomicPusher, check_inputs
from components.serving.serving_check import begin_check


class EarlyServingCheck:
    """An ``ObservedLocalDagRunner`` outputs hook: begins the check when the node producing the
    Pusher's model has finished (the one producing its examples finished before it)."""

    def __init__(self, pusher: AtomicPusher):
        self.model = pusher.inputs[standard_component_specs.MODEL_KEY]
        self.examples = pusher.inputs[EXAMPLES_KEY]
        self.config = json_utils.loads(
            pusher.exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
        self.outputs: dict[str, dict] = {}

    def __call__(self, node_id: str, outputs: dict) -> None:
        self.outputs[node_id] = outputs
        if node_id != self.model.producer_component_id:
            return
        examples_uris = self.outputs.get(self.examples.producer_component_id, {}).get(self.examples.output_key)
        model_uris = outputs.get(self.model.output_key)
        if examples_uris and model_uris:
            sample, num_classes, task = check_inputs(self.config, examples_uris[0])
            begin_check(path_utils.serving_model_path(model_uris[0]), sample, num_classes, task)


def for_pipeline(pipeline: Pipeline) -> Optional[EarlyServingCheck]:
    """The hook, or None for a pipeline whose Pusher checks nothing."""
    pushers = [c for c in pipeline.components if isinstance(c, AtomicPusher) and EXAMPLES_KEY in c.inputs]
    return EarlyServingCheck(pushers[0]) if len(pushers) == 1 else None
