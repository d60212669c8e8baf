"""Hyperparameters are typed per model family: names, types and bounds are checked when a spec
loads (``tfxp spec check``, ``run``) and for ``--set``; YAML aliases are refused. The contract's
fields are the builders' own arguments."""
import dataclasses
import inspect
import subprocess
import sys
import time

import pytest
import yaml

from tests.helpers import builtin_spec_dict, write_spec
from tfxp_contract.dataset_spec import SpecError, load_spec, spec_from_dict
from tfxp_contract.families import MODEL_FAMILIES
from tfxp_contract.hyperparameters import HYPERPARAMETERS


def test_every_family_has_typed_hyperparameters_named_as_its_builder_takes_them():
    from trainers.generative import build_gan, build_vae
    from trainers.models import BUILDERS

    builders = {**BUILDERS, "vae": build_vae, "gan": build_gan}
    assert set(HYPERPARAMETERS) == set(MODEL_FAMILIES) == set(builders)
    for family, model in HYPERPARAMETERS.items():
        taken = {p for p in inspect.signature(builders[family]).parameters if p not in ("layout", "num_classes")}
        assert {f.name for f in dataclasses.fields(model)} == taken | {"epochs", "batch_size", "validation_freq"}, family


@pytest.mark.parametrize("change, message", [
    ({"epochs": -1}, "model.hyperparameters: epochs: Input should be greater than or equal to 1, got -1"),
    ({"batch_size": 0}, "model.hyperparameters: batch_size: Input should be greater than or equal to 1, got 0"),
    ({"validation_freq": 0}, "validation_freq: Input should be greater than or equal to 1, got 0"),
    ({"hidden_unit": [8]}, "model.hyperparameters: unknown field(s) ['hidden_unit']; did you mean 'hidden_units'?"),
    ({"dropout": 1.5}, "model.hyperparameters: dropout: Input should be less than 1, got 1.5"),
    ({"lr_schedule": "linear"}, "lr_schedule: Input should be 'constant' or 'cosine', got 'linear'"),
    ({"hidden_units": [16, "wide"]}, "hidden_units[1]: Input should be a valid integer"),
])
def test_bad_hyperparameters_are_one_line_naming_the_field(change, message):
    raw = builtin_spec_dict("house_votes")
    raw["model"]["hyperparameters"].update(change)
    with pytest.raises(SpecError) as err:
        spec_from_dict(raw, "votes.yaml")
    assert message in str(err.value)


def test_run_overrides_are_checked_like_the_spec():
    from pipelines.pipeline import create_pipeline

    spec = load_spec("house_votes")
    with pytest.raises(SpecError, match="epochs: Input should be greater than or equal to 1, got 0"):
        create_pipeline(pipeline_name="v", pipeline_root="/tmp/unused", spec=spec, data_root="/d",
                        serving_root="/tmp/unused-serving", hyperparameters={"epochs": 0})


BOMB = """
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
"""


# Runs a command and prints its peak resident memory (KiB) as the last line of stderr.
MEASURED = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(done.returncode)")


@pytest.mark.slow
def test_spec_check_refuses_the_bad_specs_fast_and_small(tmp_path):
    """Each bad spec: exit 1, one line, under 2 s and 300 MB (the alias bomb included)."""
    bad = {}
    for name, change in [("negative_epochs", {"epochs": -1}), ("zero_batch", {"batch_size": 0}),
                         ("unknown_key", {"hiden_units": [8]})]:
        raw = builtin_spec_dict("house_votes")
        raw["model"]["hyperparameters"].update(change)
        bad[name] = write_spec(tmp_path, raw, f"{name}.yaml")
    bomb = yaml.safe_dump(builtin_spec_dict("house_votes"), sort_keys=False).replace(
        "  hyperparameters:\n", "  hyperparameters:\n    hidden_units: *h\n", 1)
    bad["alias_bomb"] = tmp_path / "alias_bomb.yaml"
    bad["alias_bomb"].write_text(BOMB.strip() + "\n" + bomb)
    for name, path in bad.items():
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-c", MEASURED, sys.executable, "-m", "tfxp_cli", "spec", "check",
                               str(path)], capture_output=True, text=True, timeout=60)
        seconds = time.monotonic() - start
        *lines, peak_kb = done.stderr.strip().splitlines()
        done.stderr, peak_mb = "\n".join(lines), int(peak_kb) / 1024
        assert done.returncode == 1 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr, name
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        print(f"{name}: {seconds:.2f} s, peak {peak_mb:.0f} MB: {done.stderr.strip()[:120]}")
        assert seconds < 2.0 and peak_mb < 300, (name, seconds, peak_mb)
