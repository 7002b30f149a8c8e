"""Observe what learner code really did: SQL sent, flushes, legacy queries, closed sessions.

Installed on the sandbox engine and the Session class *before* the learner's file runs,
because learner code holds its own references to the sandbox objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when installed: drillkit's own process reads Statements without SQLAlchemy
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import ORMExecuteState, Session


@dataclass(frozen=True)
class Statement:
    sql: str  # with the parameters' values pasted in, for display
    in_flush: bool  # emitted by the unit of work (dirty tracking), not written by hand
    raw: str = ""  # as sent, placeholders and all: what to search for SQL keywords
    rows: int | None = None  # the rows Postgres sent back (or changed); None: not known
    # The values sent with it by name: one set, or one per row of an executemany
    params: tuple[dict[str, Any], ...] = ()
    autocommit: bool = False  # sent on a connection in autocommit mode: committed as it ran
    connection: int = 0  # which DBAPI connection sent it (its id): transactions end per connection

    @property
    def verb(self) -> str:
        return self.sql.lstrip().split(None, 1)[0].upper() if self.sql.strip() else ""


@dataclass
class OrmExecute:
    session: Session
    statement: Any
    is_update: bool
    is_delete: bool


@dataclass
class Recorder:
    statements: list[Statement] = field(default_factory=list)
    orm_executes: list[OrmExecute] = field(default_factory=list)
    legacy_query_calls: int = 0
    closed_sessions: list[Session] = field(default_factory=list)
    flushing: int = 0
    # (how many statements had been sent, "commit", "rollback" or "failed", the connection):
    # when each connection's transactions ended
    ends: list[list[Any]] = field(default_factory=list)
    file_ends: int | None = None  # how many of `ends` were the file's own (set when it ended)
    # Server-side cursors (stream_results, yield_per), by id: the index of their statement,
    # and the cursors themselves (kept, so that an id is never reused for another)
    streams: dict[int, int] = field(default_factory=dict)
    stream_cursors: list[Any] = field(default_factory=list)

    def mark(self) -> int:
        return len(self.statements)

    def since(self, mark: int) -> list[Statement]:
        return self.statements[mark:]

    def file_ended(self) -> None:
        """The learner's file has run: a transaction the checks end later was not its doing."""
        self.file_ends = len(self.ends)

    def committed(self, statement: Statement) -> bool:
        """The file committed the transaction `statement` was sent in (the first ending after
        it, on its connection, was a commit): a flushed write rolled back, then done again by
        hand, is not the answer."""
        return statement.autocommit or self._ending(statement) == "commit"

    def undone(self, statement: Statement) -> bool:
        """The file rolled back the transaction `statement` was sent in: a try-out that
        changed nothing in the end."""
        return not statement.autocommit and self._ending(statement) == "rollback"

    def _ending(self, statement: Statement) -> str | None:
        at = next((i for i, s in enumerate(self.statements) if s is statement), None)
        if at is None:
            return None
        ends = self.ends if self.file_ends is None else self.ends[: self.file_ends]
        ended = (kind for sent, kind, conn in ends if sent > at and conn == statement.connection)
        return next(ended, None)

    def was_closed(self, session: Session) -> bool:
        return any(s is session for s in self.closed_sessions)

    def install(self, engine: Engine) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        self.watch(engine)
        event.listen(Session, "do_orm_execute", self._on_orm_execute)
        self._wrap_session_methods()
        self._count_streamed_rows()

    def watch(self, engine: Engine) -> None:
        """Record the SQL and transaction endings of one more engine (the sandbox's async
        pair, through its sync_engine, once learner code asks for it)."""
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self._on_cursor)
        event.listen(engine, "after_cursor_execute", self._on_result)
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "rollback", self._on_rollback)
        event.listen(engine, "handle_error", self._on_error)
        # A connection back in the pool is rolled back without a Connection event.
        event.listen(engine.pool, "reset", self._on_reset)

    def _on_cursor(self, conn, cursor, statement, parameters, context, executemany) -> None:
        # The unit of work's own: a flush running, and an INSERT, UPDATE or DELETE construct
        # compiled with a mapper's statement cache, as the unit of work sends them (not
        # text(), driver SQL or a Core statement that a flush event of the learner's sends).
        options = getattr(context, "execution_options", None) or {}
        flushed = (
            self.flushing > 0
            and _is_dml(getattr(context, "compiled", None))
            and type(options.get("compiled_cache")).__name__ == "LRUCache"  # a mapper's, not {}
        )
        sets = [parameters] if isinstance(parameters, dict) else parameters if executemany else []
        params = tuple(dict(p) for p in sets if isinstance(p, dict))
        dbapi = _dbapi(conn)
        autocommit = getattr(dbapi, "autocommit", False) is True
        shown = _inline(statement, parameters)
        self.statements.append(
            Statement(shown, flushed, statement, params=params, autocommit=autocommit, connection=id(dbapi))
        )

    def _on_commit(self, conn) -> None:
        self.ends.append([len(self.statements), "commit", _connection_id(conn)])

    def _on_rollback(self, conn) -> None:
        self.ends.append([len(self.statements), "rollback", _connection_id(conn)])

    def _on_reset(self, dbapi_connection, connection_record, reset_state) -> None:
        self.ends.append([len(self.statements), "rollback", id(dbapi_connection)])

    def _on_error(self, context) -> None:
        # A COMMIT that failed (the event above fires before it is sent): nothing was committed.
        if context.statement is None and self.ends:
            last = self.ends[-1]
            if last[1] == "commit" and last[2] == _connection_id(context.connection):
                last[1] = "failed"

    def _on_result(self, conn, cursor, statement, parameters, context, executemany) -> None:
        # Read now: a cursor forgets its row count once closed. (What the rows were is the
        # learner's to use; how many Postgres sent says where the filtering happened.)
        last = self.statements[-1] if self.statements else None
        if last is None or last.raw is not statement or last.rows is not None:
            return
        streamed = _server_cursor(cursor)
        if streamed is not None:  # no rows sent yet: they are counted as they are fetched
            self.streams[id(streamed)] = len(self.statements) - 1
            self.stream_cursors.append(streamed)
            self.statements[-1] = replace(last, rows=0)
        elif cursor.rowcount >= 0:
            self.statements[-1] = replace(last, rows=cursor.rowcount)

    def _on_fetched(self, cursor: Any, rows: int) -> None:
        at = self.streams.get(id(cursor))
        if at is not None:
            statement = self.statements[at]
            self.statements[at] = replace(statement, rows=(statement.rows or 0) + rows)

    def _count_streamed_rows(self) -> None:
        """A server-side cursor (stream_results, yield_per) has no row count when its statement
        returns: Postgres sends the rows as they are fetched, each FETCH a batch. Every fetch
        of psycopg's, sync or async, goes through one generator: count there. (Sealed with
        psycopg's classes; on a psycopg without it, such a statement's rows stay unknown.)"""
        from psycopg._server_cursor_base import ServerCursorMixin

        fetch = getattr(ServerCursorMixin, "_fetch_gen", None)
        if fetch is None:
            return
        recorder = self

        def counted_fetch(cursor: Any, num: int | None) -> Any:
            rows = yield from fetch(cursor, num)
            recorder._on_fetched(cursor, len(rows))
            return rows

        ServerCursorMixin._fetch_gen = counted_fetch  # type: ignore[method-assign]

    def _on_orm_execute(self, state: ORMExecuteState) -> None:
        self.orm_executes.append(OrmExecute(state.session, state.statement, state.is_update, state.is_delete))

    def _wrap_session_methods(self) -> None:
        from sqlalchemy.orm import Session

        recorder = self
        flush, query, close = Session.flush, Session.query, Session.close
        reset = getattr(Session, "reset", None)  # SQLAlchemy 2.0.22 on: close(), and reusable

        def counted_flush(self: Session, objects: Any = None) -> None:
            recorder.flushing += 1
            try:
                flush(self, objects)
            finally:
                recorder.flushing -= 1

        def counted_query(self: Session, *entities: Any, **kwargs: Any) -> Any:
            recorder.legacy_query_calls += 1
            return query(self, *entities, **kwargs)

        def recorded_close(self: Session) -> None:
            recorder.closed_sessions.append(self)
            close(self)

        Session.flush = counted_flush  # type: ignore[method-assign]
        Session.query = counted_query  # type: ignore[method-assign]
        Session.close = recorded_close  # type: ignore[method-assign]
        if reset is not None:

            def recorded_reset(self: Session) -> None:
                recorder.closed_sessions.append(self)
                reset(self)

            Session.reset = recorded_reset  # type: ignore[method-assign]


def _dbapi(conn: Any) -> Any:
    """The DBAPI connection under a SQLAlchemy Connection (what a transaction belongs to)."""
    return getattr(getattr(conn, "connection", None), "dbapi_connection", None)


def _server_cursor(cursor: Any) -> Any:
    """psycopg's server-side cursor under a DBAPI cursor (the async adapter wraps it), or None."""
    from psycopg._server_cursor_base import ServerCursorMixin

    for candidate in (cursor, getattr(cursor, "_cursor", None)):
        if isinstance(candidate, ServerCursorMixin):
            return candidate
    return None


def _connection_id(conn: Any) -> int:
    return id(_dbapi(conn))


def _is_dml(compiled: Any) -> bool:
    from sqlalchemy.sql.dml import UpdateBase

    return compiled is not None and isinstance(getattr(compiled, "statement", None), UpdateBase)


def _inline(statement: str, parameters: Any) -> str:
    """SQL with parameter values shown, for display only."""
    if isinstance(parameters, dict) and parameters:
        shown = statement
        for key in sorted(parameters, key=len, reverse=True):
            shown = shown.replace(f"%({key})s", repr(parameters[key]))
        return shown
    return statement
