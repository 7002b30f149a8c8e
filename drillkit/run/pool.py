"""Ready run spaces, made ahead of time: a check takes one instead of waiting for its DDL.

The check server keeps a few seeded run spaces (schema + throwaway role + fixture, as
`space.create_space` makes them) for each fixture it was recently asked for. A check takes
one, uses it once, and gives it back to be dropped; one background thread drops the used
ones first (nothing of a run outlives it for long) and then refills. A space is never
used twice, so no run sees another's rows, role or leftovers. Spaces are keyed by the
fixture *and* its files' modification times: a pack author's edit is never served stale.

Every ready space is named like any run (`drill_run_<time>_<pid>_...`) with the server's
pid: the orphan sweep of other processes leaves them alone while the server lives, and
drops them if it was killed. `close()` drops them all.

Admin connections are lent again: the one a used space was dropped through (reset with
DISCARD ALL) makes the next ready space. A new connection is a new Postgres backend, about
4 ms of the server's CPU, which every check paid for its space before.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from drillkit.db.server import Database
from drillkit.errors import DrillkitError
from drillkit.pack.model import Fixture
from drillkit.run.space import (
    RunSpace,
    connect,
    create_space,
    orphan_age,
    release_space,
    space_alive,
    sweep_orphans,
)

if TYPE_CHECKING:
    import psycopg

READY_PER_FIXTURE = 2  # two learners (or a learner and `drill watch`) on one drill at once
IDLE_CONNECTIONS = 2  # admin connections kept open between a drop and the next fill
FIXTURES_KEPT = 8  # the most recently used fixtures; older ones are let go
SWEEP_SECONDS = 60.0  # how often the filler also drops what killed runs left behind

Key = tuple[Fixture, tuple[int, ...]]


def fixture_key(fixture: Fixture) -> Key:
    """The fixture and when its files last changed (0: missing, which create_space reports)."""

    def mtime(path: Path | None) -> int:
        if path is None:
            return -1
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return 0

    return fixture, (mtime(fixture.sql), mtime(fixture.python))


class SpacePool:
    """Thread-safe: any number of checks may take spaces at once."""

    def __init__(
        self,
        db: Database,
        *,
        per_fixture: int = READY_PER_FIXTURE,
        # create(db, fixture, conn=...) and release(db, space, keep=...), as space.py's
        create: Callable[..., RunSpace] = create_space,
        release: Callable[..., bool] = release_space,
        alive: Callable[[RunSpace], bool] = space_alive,
        sweeps: bool = True,
    ) -> None:
        self.db = db
        self.per_fixture = per_fixture
        self._create, self._release, self._alive = create, release, alive
        self._sweeps = sweeps
        self._ready: OrderedDict[Key, deque[RunSpace]] = OrderedDict()  # most recent last
        self._used: deque[RunSpace] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._dropping = 0  # used spaces being dropped right now
        self._filling = 0  # ready spaces being made right now (in the database, not yet listed)
        self._idle: list[psycopg.Connection] = []  # admin connections to lend (create's `conn`)
        self.taken_ready = 0  # checks served a space made ahead of time (tests look)
        self._thread = threading.Thread(target=self._work, name="drillkit-space-pool", daemon=True)
        self._thread.start()

    @contextmanager
    def take(self, db: Database, fixture: Fixture) -> Iterator[RunSpace]:
        """A fresh run space for one check (the pool's `runner.SpaceFactory`)."""
        space = self._pop(fixture_key(fixture))
        if space is not None and not self._alive(space):  # lost to a Postgres restart
            self._give_back(space)  # dropped with the used ones, as far as anything is left
            space = None
        if space is None:  # none ready (the first check of this fixture): made right now
            space = self._make(fixture)
        try:
            if self._sweeps:
                # Every check drops what killed runs left behind, as without a pool; on the
                # space's own admin connection, which saves a server process per check.
                self._sweep(space.conn)
            yield space
        finally:
            self._give_back(space)

    def ready(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._ready.values())

    def names(self) -> list[str]:
        """The schemas of the ready spaces (every other run schema belongs to a running check)."""
        with self._cond:
            return sorted(space.schema for queue in self._ready.values() for space in queue)

    def drain(self, timeout: float = 30.0, *, refilled: bool = False) -> list[str]:
        """Wait until every used space has been dropped (after a cancelled check), and with
        `refilled` until every fixture is topped up too (tests and benchmarks count leftovers).
        The ready spaces' schemas, read at that moment: a space being made is in the database
        before it is in the pool."""
        deadline = time.monotonic() + timeout
        with self._cond:  # a Condition over an RLock: names() may take it again
            while self._busy(refilled) and time.monotonic() < deadline:
                self._cond.wait(0.05)
            return self.names()

    def _busy(self, refilled: bool) -> bool:
        if self._used or self._dropping:
            return True
        return refilled and (self._filling > 0 or (not self._closed and self._wanted() is not None))

    def close(self, timeout: float = 30.0) -> None:
        """Stop refilling, and drop every ready and used space (before the server exits)."""
        with self._cond:
            self._closed = True
            for queue in self._ready.values():
                self._used.extend(queue)
            self._ready.clear()
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _make(self, fixture: Fixture) -> RunSpace:
        """A new space, on an idle admin connection if there is one. A lent connection may
        have died since (a Postgres restart): then once more, on a new one."""
        with self._cond:
            conn = self._idle.pop() if self._idle else None
        if conn is not None:
            try:
                return self._create(self.db, fixture, conn=conn)
            except DrillkitError:
                if not getattr(conn, "broken", False):
                    raise  # the fixture, or a refused CREATE: a new connection would not help
        return self._create(self.db, fixture, conn=None)

    def _pop(self, key: Key) -> RunSpace | None:
        with self._cond:
            if self._closed:
                return None
            queue = self._ready.get(key)
            if queue is None:
                self._ready[key] = queue = deque()
                for _old, spaces in self._evict():
                    self._used.extend(spaces)
            self._ready.move_to_end(key)
            self._cond.notify_all()  # the filler tops this fixture up
            if queue:
                self.taken_ready += 1
                return queue.popleft()
            return None

    def _evict(self) -> list[tuple[Key, deque[RunSpace]]]:
        gone = []
        while len(self._ready) > FIXTURES_KEPT:
            gone.append(self._ready.popitem(last=False))
        return gone

    def _give_back(self, space: RunSpace) -> None:
        with self._cond:
            self._used.append(space)
            self._cond.notify_all()
        if self._closed:
            self._drain()

    def _work(self) -> None:
        """Drop used spaces, then fill, then sweep now and then; until closed and drained."""
        next_sweep = 0.0
        while True:
            with self._cond:
                while not self._used and not self._closed and self._wanted() is None:
                    self._cond.wait(timeout=max(next_sweep - time.monotonic(), 0.1))
                    if time.monotonic() >= next_sweep:
                        break
                closed = self._closed
                wanted = None if closed else self._wanted()
                self._filling += wanted is not None
            self._drain()
            if closed:
                return  # (wanted is None when closed: nothing is counted as filling)
            if time.monotonic() >= next_sweep and self._sweeps:
                self._sweep()
                next_sweep = time.monotonic() + SWEEP_SECONDS
            if wanted is not None:
                try:
                    self._fill(wanted)
                finally:
                    with self._cond:
                        self._filling -= 1
                        self._cond.notify_all()

    def _wanted(self) -> Key | None:
        """The most recently used fixture that is short of ready spaces."""
        for key in reversed(self._ready):
            if len(self._ready[key]) < self.per_fixture:
                return key
        return None

    def _fill(self, key: Key) -> None:
        try:
            space = self._make(key[0])
        except (DrillkitError, OSError):
            time.sleep(1.0)  # the database is down or the fixture is broken: a check will say so
            with self._cond, suppress(KeyError):
                if not self._ready[key]:
                    del self._ready[key]  # asked for again by the next check, which reports why
            return
        with self._cond:
            queue = self._ready.get(key)
            if queue is None or self._closed:
                self._used.append(space)  # evicted or closing meanwhile
            else:
                queue.append(space)

    def _drain(self) -> None:
        while True:
            with self._cond:
                if not self._used:
                    return
                space = self._used.popleft()
                self._dropping += 1
            reusable = lent = False
            try:
                reusable = self._release(self.db, space, keep=not self._closed)
            finally:
                with self._cond:
                    lent = reusable and len(self._idle) < IDLE_CONNECTIONS and not self._closed
                    if lent:
                        self._idle.append(space.conn)
                    self._dropping -= 1
                    self._cond.notify_all()
            if reusable and not lent:  # more idle connections than needed, or closing meanwhile
                space.conn.close()

    def _sweep(self, conn: psycopg.Connection | None = None) -> None:
        try:
            with nullcontext(conn) if conn is not None else connect(self.db) as on:
                sweep_orphans(on, orphan_age(self.db))
        except Exception as exc:  # the next check retries; the server's log says why
            print(f"sweep failed: {type(exc).__name__}: {exc}", file=sys.stderr)
