"""Scheduled retraining on this machine: run the local pipeline on a cron expression.

croniter computes the fire times. A run that fails is reported and the schedule goes on;
a run still going at the next fire time delays the one after it (runs never overlap, and
missed fire times are skipped, not replayed).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable, Optional

from croniter import croniter

from tfxp_contract.errors import ExplainedError


class ScheduleError(ExplainedError, ValueError):
    """The cron expression is not valid."""


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
    """Calls ``run_once(n)`` at each fire time; returns the number of failed runs."""
    check_local_cron(cron)
    runs = failures = 0
    while max_runs is None or runs < max_runs:
        fire = next_fire_time(cron, clock())
        log(f"next run at {datetime.fromtimestamp(fire, timezone.utc):%Y-%m-%d %H:%M:%S} UTC")
        sleep(max(0.0, fire - clock()))
        runs += 1
        try:
            log(f"run {runs}: {run_once(runs)}")
        except Exception as err:  # one bad run must not end the schedule
            failures += 1
            log(f"run {runs} failed: {describe_error(err) or f'{type(err).__name__}: {err}'}")
    return failures
