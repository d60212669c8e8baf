"""One line per component on stderr while a local pipeline runs, instead of TFX's log flood."""
from __future__ import annotations

import logging
import re
import sys
import time

from absl import logging as absl_logging

_EVENT = re.compile(r"Component (\S+) is (running|finished)\.")
_HARMLESS = ("ArtifactQuery.property_predicate is not supported",)


MAX_MESSAGE = 400


def _drop_tracebacks(record: logging.LogRecord) -> bool:
    """Library errors keep a short message; the CLI reports the failure itself. (Beam's
    multi-process workers send whole tracebacks inside the message text.)"""
    record.exc_info, record.exc_text = None, None
    message = record.getMessage()
    if len(message) > MAX_MESSAGE:
        record.msg, record.args = message[:MAX_MESSAGE] + " ... (--verbose shows all)", None
    return not message.startswith(_HARMLESS)


class ComponentProgress(logging.Handler):
    """Context manager: prints ``[i/n] Component ...`` lines; ``verbose`` keeps TFX's INFO logs."""

    def __init__(self, total: int, verbose: bool = False, stream=None):
        super().__init__(level=logging.INFO)
        self.total, self.verbose, self.stream = total, verbose, stream or sys.stderr
        self.done = 0
        self.started = 0.0
        self.cached = False

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("A cached execution"):
            self.cached = True
            return
        match = _EVENT.search(message)
        if not match:
            return
        node, event = match.groups()
        if event == "running":
            self.started, self.cached = time.monotonic(), False
            print(f"[{self.done + 1}/{self.total}] {node} ...", file=self.stream, flush=True)
        else:
            self.done += 1
            note = " (cached)" if self.cached else ""
            print(f"[{self.done}/{self.total}] {node} done in {time.monotonic() - self.started:.1f} s{note}",
                  file=self.stream, flush=True)

    def __enter__(self):
        self._logger = logging.getLogger("absl")
        # Through absl's flag, not Logger.setLevel: code that raises the verbosity for a
        # moment restores the flag's value, so a plain setLevel would be lost mid-run.
        self._verbosity = absl_logging.get_verbosity()
        absl_logging.set_verbosity(absl_logging.INFO)
        # Whoever prints the logs (absl's handler, or a basicConfig one that Beam installs)
        # keeps printing warnings and errors; INFO reaches only this handler.
        self._quieted = [] if self.verbose else [
            (h, h.level) for h in [absl_logging.get_absl_handler(), *logging.getLogger().handlers]]
        for handler, _ in self._quieted:
            handler.setLevel(logging.WARNING)
            handler.addFilter(_drop_tracebacks)
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self._logger.removeHandler(self)
        for handler, level in self._quieted:
            handler.setLevel(level)
            handler.removeFilter(_drop_tracebacks)
        absl_logging.set_verbosity(self._verbosity)
        return False
