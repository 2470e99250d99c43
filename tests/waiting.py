"""The one way tests wait: poll the condition itself until it holds or a deadline passes.

A sleep stands in for a condition only on an idle machine: under a loaded CPU it is
too short (the test flakes) and on an idle one too long (the suite crawls).
`wait_until` returns as soon as the condition holds; its deadline is only a bound
for a condition that never will, so give it room for a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["POLL_SECONDS", "WaitTimeout", "wait_until"]

T = TypeVar("T")
POLL_SECONDS = 0.01


class WaitTimeout(AssertionError):
    """A condition a test waited for did not hold by its deadline."""


def wait_until(condition: Callable[[], T], timeout: float, message: str | Callable[[], str], *,
               interval: float = POLL_SECONDS) -> T:
    """Call `condition` until it returns something truthy, and return that.

    Past `timeout` seconds, fail with `message` (a string, or a callable for one that describes
    the state at that moment) and the condition's last value. Exceptions from `condition` propagate.
    """
    deadline = time.monotonic() + timeout
    while True:
        observed = condition()
        if observed:
            return observed
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise WaitTimeout(f"{text} (not so after {timeout:g} s; last observed: {observed!r})")
        time.sleep(interval)  # paces the polling only: the condition above is what the caller waits for
