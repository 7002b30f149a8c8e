"""The checks' own connection to the run schema, for `Context.rows()` and `Context.execute()`.

Child-side checks share a process with the learner's code, so everything they ask the
database must not pass through anything that code could have hooked: no SQLAlchemy engine,
pool or event (a listener on SQLAlchemy's classes runs on every engine), and not psycopg's
global adapters (a loader registered there, say one that drops time zones, applies to every
new connection). What this module takes from psycopg is taken when it is made, before the
learner's file runs. Before each question the session is reset (settings, temporary
objects), since learner code that the checks call can reach this connection too.
"""

from __future__ import annotations

from typing import Any

from drillkit.check.database import pyformat, read_failures
from drillkit.check.framework import Fail

# How long a check's question waits on a lock before it says the learner's code holds one:
# long enough for a transaction that is ending, short of every run's timeout.
LOCK_WAIT = "1s"

# Triggers of the learner's on the drill's tables would change what a check writes.
_TRIGGERS = """
SELECT t.tgname::text || ' on ' || c.relname::text
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY 1
"""


class CheckConnection:
    """Made before learner code runs; connects on first use (and again, once, if learner
    code ended the session: it logs in as the same role)."""

    def __init__(self, url: str, schema: str, libpq: dict[str, str] | None = None) -> None:
        import psycopg
        from psycopg.adapt import AdaptersMap
        from psycopg.rows import namedtuple_row

        from drillkit.db.libpq_env import libpq_settings, set_libpq_settings

        self.url, self.schema = url, schema
        # libpq reads PGPORT, PGOPTIONS, PGDATESTYLE ... at each connect: learner code may
        # have set them since; they are put back as they were before it ran.
        self._libpq = libpq_settings() if libpq is None else libpq
        self._set_libpq = set_libpq_settings
        self._connect = psycopg.Connection.connect
        self._adapters = AdaptersMap(psycopg.adapters)  # a copy: later registrations stay out
        self._row_factory = namedtuple_row
        self._lost = psycopg.OperationalError
        self._conn: Any = None

    def run(self, sql: str, params: dict[str, Any], *, fetch: bool) -> list[Any]:
        query, args = (pyformat(sql), params) if params else (sql, None)
        for attempt in (1, 2):
            try:
                conn = self._session()
                if not fetch:
                    self._refuse_triggers(conn)
                with read_failures():
                    cursor = conn.execute(query, args)
                    return cursor.fetchall() if fetch else []
            except self._lost:
                if attempt == 2 or not (self._conn is None or self._conn.closed):
                    raise
        return []

    def ddl(self, statements: list[str]) -> None:
        """Run `statements` (DDL the checks built) in one transaction on this connection: no
        SQLAlchemy event of the learner's sees them go by. Errors are raised as they are: a
        lock is the caller's to explain."""
        conn = self._session()
        with conn.transaction():
            for statement in statements:
                # The extended protocol (binary=True): one statement per call, never a second
                # one smuggled in through the model's own SQL text (a CheckConstraint's, a
                # server_default's) that SQLAlchemy pastes into the CREATE TABLE.
                conn.execute(statement, binary=True)

    def view(self) -> Any:
        """The catalogs' answers about the run schema (a DatabaseView) on this connection."""
        from drillkit.check.database import DatabaseView

        return DatabaseView(_TupleRows(self._session()), self.schema)

    def _session(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._set_libpq(self._libpq)
            # pg_temp last: a temporary view of the learner's cannot stand in for a table.
            self._conn = self._connect(
                self.url,
                autocommit=True,
                options=f"-c search_path={self.schema},pg_temp -c lock_timeout={LOCK_WAIT}",
                context=self._adapters,
                row_factory=self._row_factory,
            )
        else:  # settings (search_path too: back to the one above) and temporary objects
            self._conn.execute("RESET ALL; DISCARD TEMP")
        return self._conn

    def _refuse_triggers(self, conn: Any) -> None:
        found = [row[0] for row in conn.execute(_TRIGGERS, (self.schema,)).fetchall()]
        if found:
            raise Fail(
                "your code left a trigger on the drill's tables",
                expected="the tables as the drill gave them: the check adds rows of its own",
                actual=", ".join(found)[:300],
                help="remove the trigger: the task does not ask for one",
            )


class _TupleRows:
    """A connection whose queries return plain tuples (DatabaseView's catalog queries name
    several columns alike, which named tuples refuse)."""

    def __init__(self, conn: Any) -> None:
        from psycopg.rows import tuple_row

        self._conn, self._rows = conn, tuple_row

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._conn.cursor(row_factory=self._rows).execute(*args, **kwargs)

    def transaction(self) -> Any:
        return self._conn.transaction()
