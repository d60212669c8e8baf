"""preprocessing_fn modules, one per data family (``DatasetSpec.data_family``: tabular, image
or text); ``for_spec`` picks a spec's."""
import importlib

MODULES = {"image": "transforms.images", "text": "transforms.text", "tabular": "transforms.tabular"}


def module_name(spec) -> str:
    return MODULES[spec.data_family]


def for_spec(spec):
    """The transform module (preprocessing_fn, model_inputs) of a spec."""
    return importlib.import_module(module_name(spec))
