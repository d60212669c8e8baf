"""Arguments several commands share, declared once, and the conventions every command keeps:
options spelled out in full, ``-o/--output {table,json}`` where a command prints data,
``-q/-v`` everywhere, ``--output-dir`` defaulting to ``$TFXP_OUTPUT_DIR``."""
from __future__ import annotations

import argparse
import os
from typing import Iterator, Optional

from tfxp_contract.run_folders import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_ENV

DATASET_HELP = "a built-in dataset's name (`tfxp datasets` lists them) or a spec .yaml file"
# Exit codes (documented in `tfxp --help`): 1 an error, 2 a usage error (argparse), 3 a run whose
# model was not blessed under --fail-if-not-blessed, 130 interrupted.
NOT_BLESSED_EXIT = 3


class Parser(argparse.ArgumentParser):
    """Every tfxp parser and sub-parser. No prefix matching of long options: with it,
    ``--output json`` on a command without ``--output`` silently became ``--output-dir json``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def add_dataset(p: argparse.ArgumentParser, default: Optional[str] = None, what: str = "") -> None:
    """The dataset positional; ``default`` makes it optional, ``what`` narrows the help."""
    help_text = DATASET_HELP + (f" ({what})" if what else "") + (f" (default: {default})" if default else "")
    if default:
        p.add_argument("dataset", nargs="?", default=default, help=help_text)
    else:
        p.add_argument("dataset", help=help_text)


def add_output_format(p: argparse.ArgumentParser, json_only: bool = False) -> None:
    """``-o/--output {table,json}``: what a data-printing command writes on stdout (progress and
    notes go to stderr, so ``-o json | jq`` reads one JSON document). ``json_only``: a command
    whose data is JSON anyway accepts ``-o json`` too."""
    if json_only:
        p.add_argument("-o", "--output", choices=("json",), default="json", help="json (the only form)")
        return
    p.add_argument("-o", "--output", choices=("table", "json"), default="table",
                   help="table: for people (default); json: one JSON document on stdout")


def add_output_dir(p: argparse.ArgumentParser,
                   help_text: str = "as given to `tfxp run`") -> None:
    """``--output-dir``, defaulting to ``$TFXP_OUTPUT_DIR`` (read when the parser is built, in
    ``main``), else ``outputs``."""
    p.add_argument("--output-dir", default=os.environ.get(OUTPUT_DIR_ENV) or DEFAULT_OUTPUT_DIR, metavar="DIR",
                   help=f"{help_text} (default: ${OUTPUT_DIR_ENV}, else {DEFAULT_OUTPUT_DIR})")


def add_verbosity(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true",
                       help="print only the result and errors (no progress lines)")
    group.add_argument("-v", "--verbose", action="store_true",
                       help="also TFX's, TensorFlow's and Keras' own logs (one line per epoch)")


def leaf_parsers(parser: argparse.ArgumentParser, path: tuple = ()) -> Iterator[tuple[tuple, argparse.ArgumentParser]]:
    """(command words, parser) of every command that runs something: ``("metadata", "check")``."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield path, parser
        return
    for action in subparsers:
        for name, child in action.choices.items():
            yield from leaf_parsers(child, path + (name,))


def json_text(value) -> str:
    """``value`` as strict JSON: NaN and infinities (which ``json.dumps`` writes as the invalid
    ``NaN``/``Infinity``) become null; numpy numbers, paths and dates become numbers or text."""
    import json
    import math

    def clean(v):
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 1) == 0:  # a numpy scalar
            return clean(v.item())
        return v
    return json.dumps(clean(value), indent=1, default=str, allow_nan=False)
