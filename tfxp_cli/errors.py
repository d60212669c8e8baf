"""Turning a failure deep inside TFX or Beam into the one line a user needs."""
from __future__ import annotations

import re
from typing import Optional

from tfxp_contract.errors import ExplainedError

# Beam's runners re-raise a worker's exception as a new one with the original text inside;
# these are the errors our Beam steps (ExampleGens, the anomaly gate) raise.
_WRAPPED = re.compile(r"(RawDataError|DataAnomalyError|ArchiveFormatError|IdxFormatError): (.+?)"
                      r"(?:\s\[while running|\n\n|$)", re.S)
_BEAM_STEP = re.compile(r"\s*\[while running '[^']*'\]$")


def explain(err: BaseException) -> Optional[str]:
    """The message of our own error inside ``err``'s chain or text; None if there is none."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, ExplainedError):
            return _BEAM_STEP.sub("", str(err))
        match = _WRAPPED.search(str(err))
        if match:
            return match.group(2).strip()
        err = err.__cause__ or err.__context__
    return None
