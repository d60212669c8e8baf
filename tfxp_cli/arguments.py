"""Arguments several commands share, declared once."""
from __future__ import annotations

import argparse
from typing import Optional

DATASET_HELP = "a built-in dataset's name (`tfxp datasets` lists them) or a spec .yaml file"


def add_dataset(p: argparse.ArgumentParser, default: Optional[str] = None, what: str = "") -> None:
    """The dataset positional; ``default`` makes it optional, ``what`` narrows the help."""
    help_text = DATASET_HELP + (f" ({what})" if what else "") + (f" (default: {default})" if default else "")
    if default:
        p.add_argument("dataset", nargs="?", default=default, help=help_text)
    else:
        p.add_argument("dataset", help=help_text)
