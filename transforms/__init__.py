"""preprocessing_fn modules, one per data family; ``for_spec`` picks a spec's by its feature
columns: images, text, or tabular columns."""
import importlib

MODULES = {"image": "transforms.images", "text": "transforms.text", "tabular": "transforms.tabular"}


def family(spec) -> str:
    kinds = {c.type for c in spec.feature_columns}
    return "image" if "image" in kinds else "text" if "text" in kinds else "tabular"


def module_name(spec) -> str:
    return MODULES[family(spec)]


def for_spec(spec):
    """The transform module (preprocessing_fn, model_inputs) of a spec."""
    return importlib.import_module(module_name(spec))
