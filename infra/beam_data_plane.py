"""Apache Beam 2.60's DirectRunner in worker processes can lose data on its way to a worker;
``apply()`` closes that path.

With ``--direct_running_mode=multi_processing`` the runner (this process) streams each bundle's
input to a worker process through ``data_plane.TimeBasedBufferingClosableOutputStream``
(``fn_api_runner.worker_handlers.DATA_BUFFER_TIME_LIMIT_MS``, 1,000 ms). That stream flushes its
buffer from a timer thread: ``flush()`` hands on ``get()`` and then ``_clear()``s the buffer, while
the runner's thread keeps writing to it without the lock, so whatever is written between the two
is dropped. Measured here: a 1,000,000-row CSV through our ExampleGen with 2 worker processes
lost 0.8-3.0% of its records in 4 of 14 runs (with Beam as shipped too), between the step that
deals records to shards and the step that writes them (every reader's and dealer's count was
whole; the ExampleGen's record count check stopped each of those runs); the stream alone, written
from one thread for 3 s, drops bytes at a flush interval of 1 ms or 1,000 ms
(``tests/test_beam_data_plane.py``).

A batch runner needs no time-based flushing (it exists for streaming latency): with the limit 0,
the runner's streams flush by size only, in the writing thread. ``apply()`` sets it before a
pipeline starts its workers (the local runner, the local execution of compiled tasks);
idempotent, never at import. Cloud workers (Dataflow) do not use this runner.
"""
from __future__ import annotations

_original: list[int] = []


def apply() -> None:
    """The runner's data streams to worker processes flush by size only (a second call does nothing)."""
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    if not _original:
        _original.append(worker_handlers.DATA_BUFFER_TIME_LIMIT_MS)
    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0


def restore() -> None:
    """Beam's own setting (for tests)."""
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    if _original:
        worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = _original.pop()
