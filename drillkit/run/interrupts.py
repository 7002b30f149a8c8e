"""Signals as exceptions, so a run's `finally` blocks (drop the schema, kill the child) always run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from drillkit.errors import Interrupted


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into an exception so `finally` blocks drop the schema.

    Only the main thread can install handlers, and only it receives signals. A check run on a
    worker thread (mutants are checked in a pool) leaves them to the main thread, which stops
    handing out work and waits for the running checks to end and drop their schemas.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def handler(signum: int, frame: object) -> None:
        nonlocal fired
        if not fired:  # later signals must not interrupt the cleanup the first one started
            fired = True
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
