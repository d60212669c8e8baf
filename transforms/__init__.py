"""preprocessing_fn modules, one per data family; ``for_format`` picks a spec's."""
import importlib

MODULES = {"csv": "transforms.tabular", "idx": "transforms.images"}


def module_name(data_format: str) -> str:
    if data_format not in MODULES:
        raise ValueError(f"no transform for format {data_format!r}; known: {sorted(MODULES)}")
    return MODULES[data_format]


def for_format(data_format: str):
    """The transform module (preprocessing_fn, model_inputs) of a spec's format."""
    return importlib.import_module(module_name(data_format))
