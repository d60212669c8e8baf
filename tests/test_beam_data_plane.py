"""The runner's data streams to Beam worker processes (infra.beam_data_plane): Beam's time-based
stream drops bytes written while its timer flushes; after apply() the runner's streams keep every byte."""
from __future__ import annotations

import threading
import time

from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.runners.worker import data_plane

from infra import beam_data_plane


def _written_and_delivered(stream_for, seconds: float) -> tuple[int, int]:
    """Bytes written to a stream from one thread for ``seconds``, and bytes its callbacks handed on."""
    delivered, lock = [0], threading.Lock()

    def hand_on(data: bytes) -> None:
        with lock:
            delivered[0] += len(data)

    stream, chunk, written = stream_for(hand_on), b"x" * 1000, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        stream.write(chunk)
        written += len(chunk)
    stream.close()
    return written, delivered[0]


def test_beams_time_based_stream_drops_bytes_written_while_it_flushes():
    """Why the module exists: the timer thread's flush clears what the writer added meanwhile."""
    lost = 0
    for _ in range(5):  # a race: nearly always within the first second at a 1 ms flush interval
        written, delivered = _written_and_delivered(
            lambda hand_on: data_plane.TimeBasedBufferingClosableOutputStream(hand_on, hand_on, time_flush_threshold_ms=1),
            1.0)
        lost = written - delivered
        if lost:
            break
    assert lost > 0


def test_the_runners_streams_keep_every_byte_after_apply():
    beam_data_plane.restore()  # applied for every test (conftest)
    assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 1000  # Beam's own
    beam_data_plane.apply()
    beam_data_plane.apply()  # idempotent
    try:
        assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 0
        servicer = data_plane.BeamFnDataServicer(worker_handlers.DATA_BUFFER_TIME_LIMIT_MS)  # as the runner makes it
        channel = servicer.get_conn_by_worker_id("worker")
        stream = channel.output_stream("bundle", "transform")
        assert not isinstance(stream, data_plane.TimeBasedBufferingClosableOutputStream)
        written, delivered = _written_and_delivered(
            lambda hand_on: data_plane.ClosableOutputStream.create(hand_on, hand_on,
                                                                   worker_handlers.DATA_BUFFER_TIME_LIMIT_MS), 1.0)
        assert written == delivered > 0
    finally:
        beam_data_plane.apply()
