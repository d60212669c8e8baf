"""One line per component on stderr while a local pipeline runs, instead of TFX's log flood."""
from __future__ import annotations

import logging
import sys

from absl import logging as absl_logging

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


class ComponentProgress:
    """Context manager and node observer (``pipelines.observed_runner``): one ``[i/n] Component``
    line when a component starts and one when it ends, its end as ML Metadata recorded it
    (cached or not). ``verbosity``: quiet (no lines), normal, verbose (TFX's INFO logs too)."""

    def __init__(self, verbosity: str = "normal", stream=None):
        self.verbosity, self.stream = verbosity, stream or sys.stderr
        self.index, self.total = 0, 0

    def _line(self, text: str) -> None:
        if self.verbosity != "quiet":
            print(text, file=self.stream, flush=True)

    def started(self, node_id: str, index: int, total: int) -> None:
        self.index, self.total = index, total
        self._line(f"[{index}/{total}] {node_id} ...")

    def finished(self, node_id: str, state: str, seconds: float) -> None:
        note = {"CACHED": " (cached)", "FAILED": " FAILED", "SKIPPED": " (skipped)"}.get(state, "")
        verb = "stopped after" if state == "FAILED" else "done in"
        self._line(f"[{self.index}/{self.total}] {node_id} {verb} {seconds:.1f} s{note}")

    def __enter__(self):
        # Through absl's flag, not Logger.setLevel: code that raises the verbosity for a
        # moment restores the flag's value, so a plain setLevel would be lost mid-run.
        self._verbosity = absl_logging.get_verbosity()
        if self.verbosity == "verbose":
            absl_logging.set_verbosity(absl_logging.INFO)
        # Whoever prints the logs (absl's handler, or a basicConfig one that Beam installs)
        # keeps printing warnings and errors; INFO is shown only with --verbose.
        self._quieted = [] if self.verbosity == "verbose" else [
            (h, h.level) for h in [absl_logging.get_absl_handler(), *logging.getLogger().handlers]]
        for handler, _ in self._quieted:
            handler.setLevel(logging.WARNING)
            handler.addFilter(_drop_tracebacks)
        return self

    def __exit__(self, *exc):
        for handler, level in self._quieted:
            handler.setLevel(level)
            handler.removeFilter(_drop_tracebacks)
        absl_logging.set_verbosity(self._verbosity)
        return False
