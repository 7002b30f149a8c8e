"""Signals as exceptions, so a run's `finally` blocks (drop the schema, kill the child) always run."""

from __future__ import annotations

import _thread
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from drillkit.errors import Interrupted

INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
REDELIVER_SECONDS = 0.01
REDELIVER_TRIES = 100
# Signals whose exception Python swallowed (see redeliver_swallowed): sent again until their
# handler raises, outside the hook.
_swallowed: list[int] = []
_in_hook = False
_held = 0  # how many signals_held blocks are running
_deferred: list[int] = []  # a signal that came meanwhile: raised when the last one ends


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
        # Later signals must not interrupt the cleanup the first one started; but one whose
        # exception never got out (swallowed in a callback) has started nothing.
        if not fired or signum in _swallowed:
            if _in_hook:  # raised there, it would be swallowed again: the next resend raises
                return
            with suppress(ValueError):
                _swallowed.remove(signum)
            fired = True
            if _held:
                _deferred.append(signum)
                return
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in INTERRUPTS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def redeliver_swallowed() -> Iterator[None]:
    """A signal whose handler raised while Python ran a weakref callback or a `__del__` (an
    import releasing its module lock, say) has its exception printed as "Exception ignored
    in ..." with a traceback, and the command carries on as if never interrupted. Here such
    an interrupt is not printed: the signal is sent again, and its handler raises once the
    callback has returned, where the exception unwinds like any other.

    Sent from another thread (sent from here, its handler would run before this hook
    returned, and an exception in the hook is swallowed too), to the main thread itself
    (only there does it cut short a blocking wait), every few milliseconds until the
    handler has raised: one that came too soon, while this hook still ran, raised nothing.
    The thread is started without waiting for it, which threading.Thread would do here."""
    previous = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        global _in_hook
        exc = unraisable.exc_value
        if not isinstance(exc, Interrupted | KeyboardInterrupt):
            previous(unraisable)
            return
        _in_hook = True
        try:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            _swallowed.append(signum)
            _thread.start_new_thread(_resend, (threading.main_thread().ident, signum))
        finally:
            _in_hook = False

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
        _swallowed.clear()  # no more resends: the command is over


def _resend(main: int, signum: int) -> None:
    for _ in range(REDELIVER_TRIES):
        time.sleep(REDELIVER_SECONDS)
        if signum not in _swallowed:
            return
        signal.pthread_kill(main, signum)


@contextmanager
def signals_held() -> Iterator[None]:
    """Inside signals_as_interrupts: SIGINT, SIGTERM and SIGHUP wait until the block is
    done, then interrupt as usual; for cleanup that an interrupt must not leave half done.

    The handler holds them back; they are not blocked (pthread_sigmask): threads started in
    the block, and every process they start, would inherit the mask, and never hear SIGTERM."""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _deferred:
            signum = _deferred[0]
            _deferred.clear()
            raise Interrupted(signum)
