"""Scheduled retraining on this machine: run the local pipeline on a cron expression.

croniter computes the fire times. A run that fails is reported and the schedule goes on;
a run still going at the next fire time delays the one after it (runs never overlap, and
missed fire times are skipped, not replayed). Each fire time runs at most once, even if the
clock is set back. ``run_in_child`` runs each run in its own process group with a timeout:
a hung run is stopped (with every process it started) and counted as failed.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from croniter import croniter

from tfxp_cli.errors import explain
from tfxp_contract.errors import ExplainedError


class ScheduleError(ExplainedError, ValueError):
    """The cron expression is not valid."""


class RunFailed(ExplainedError, RuntimeError):
    """A scheduled run failed, was killed or ran past its timeout; the message says which."""


def check_local_cron(cron: str) -> str:
    """Five fields (minute hour day month weekday), or six with seconds last."""
    if len(cron.split()) not in (5, 6) or not croniter.is_valid(cron):
        raise ScheduleError(f"cron {cron!r} is not a cron expression such as '0 3 * * *' "
                            "(five fields; a sixth, seconds, is allowed for quick trials)")
    return cron


def next_fire_time(cron: str, after: float) -> float:
    return croniter(cron, after).get_next(float)


def run_on_schedule(cron: str, run_once: Callable[[int], str], max_runs: Optional[int] = None,
                    log: Callable[[str], None] = print, clock: Callable[[], float] = time.time,
                    sleep: Callable[[float], None] = time.sleep,
                    describe_error: Callable[[BaseException], Optional[str]] = lambda err: None) -> int:
    """Calls ``run_once(n)`` at each fire time; returns the number of failed runs. A run that
    raises (``SystemExit`` included) counts as failed and the schedule goes on; Ctrl-C
    (``KeyboardInterrupt``) ends the schedule."""
    check_local_cron(cron)
    runs = failures = 0
    last_fire = float("-inf")
    while max_runs is None or runs < max_runs:
        # After the last fire time even if the clock went back since: no fire time runs twice.
        fire = next_fire_time(cron, max(clock(), last_fire))
        log(f"next run at {datetime.fromtimestamp(fire, timezone.utc):%Y-%m-%d %H:%M:%S} UTC")
        sleep(max(0.0, fire - clock()))
        last_fire = fire
        runs += 1
        try:
            log(f"run {runs}: {run_once(runs)}")
        except KeyboardInterrupt:
            log(f"schedule stopped during run {runs}")
            raise
        except (Exception, SystemExit) as err:  # one bad run must not end the schedule
            failures += 1
            log(f"run {runs} failed: {describe_error(err) or f'{type(err).__name__}: {err}'}")
    return failures


def _child(target: Callable[..., str], args: tuple, results: Any) -> None:
    os.setpgrp()  # its own group: stopping the run stops every process it started
    try:
        results.send(("done", target(*args)))
    except BaseException as err:  # every ending is reported to the scheduler
        results.send(("failed", explain(err) or f"{type(err).__name__}: {err}"))


def _stop_group(process: multiprocessing.Process, grace_seconds: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.join(wait)
        if process.exitcode is not None:
            try:  # the run's own children may outlive it by a moment
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return


def run_in_child(target: Callable[..., str], args: tuple = (), timeout_seconds: Optional[float] = None,
                 grace_seconds: float = 10.0) -> str:
    """``target(*args)`` in a fresh process (spawned: nothing of this one's state carries over);
    its result, or RunFailed saying how it ended. Past ``timeout_seconds`` the run's whole process
    group gets SIGTERM, then SIGKILL after ``grace_seconds``."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(target, args, send), daemon=False)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout_seconds):
            _stop_group(process, grace_seconds)
            raise RunFailed(f"stopped after {timeout_seconds:.0f} s (the run timeout); its processes were ended")
        try:
            status, message = receive.recv()
        except EOFError:
            status, message = "failed", None
        process.join()
        if status == "done":
            return message
        if message is None:
            code = process.exitcode
            message = (f"the run's process was killed by {signal.Signals(-code).name}" if code and code < 0
                       else f"the run's process exited with status {code} without a result")
        raise RunFailed(message)
    except BaseException:
        if process.exitcode is None:  # Ctrl-C or an error here: the run does not outlive the schedule
            _stop_group(process, grace_seconds)
        raise
