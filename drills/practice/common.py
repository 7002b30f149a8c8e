"""Helpers shared by the practice pack's checks: calling learner functions and watching them."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.orm import configure_mappers

from drillkit.check import Context, Fail, plural, watching, without_background
from drillkit.check.recorder import Statement
from drillkit.check.sql import writes


@dataclass
class Call:
    value: Any
    statements: list[Statement]
    used_session: bool  # some statement ran through the session that was passed in


def require_function(ctx: Context, name: str, params: Sequence[str]) -> Callable[..., Any]:
    """The learner's function, callable with the drill's arguments in the drill's order."""
    shown = f"{name}({', '.join(params)})"
    fn = ctx.require_function(name, shown)
    try:
        inspect.signature(fn).bind(*params)
    except TypeError:
        raise Fail(
            f"{name} cannot be called as {shown}",
            expected=f"{plural(len(params), 'parameter')}, in this order: {', '.join(params)}",
            actual=f"{name}{inspect.signature(fn)}",
            help="callers pass the arguments by position, so their order is part of the contract",
        ) from None
    return fn


@contextmanager
def watch_session(ctx: Context, session: Any) -> Iterator[Call]:
    """Record the SQL sent inside the block and whether it went through `session`.

    Queries announce themselves through do_orm_execute, the unit of work through a flush, and
    Core statements on the session's own connection (`session.connection().execute(...)`, in
    the caller's transaction) by the connection they were sent on.
    An AsyncSession wraps a Session: that inner one is what the events see.
    """
    sync_session = getattr(session, "sync_session", session)
    seen = Call(None, [], False)
    connections: set[int] = set()  # the DBAPI connections the session's transactions began on

    def on_use(*_: Any) -> None:
        seen.used_session = True

    def on_begin(_session: Any, _transaction: Any, connection: Any) -> None:
        dbapi = getattr(connection.connection, "dbapi_connection", None)
        if dbapi is not None:
            connections.add(id(dbapi))

    if sync_session.in_transaction():  # begun before the call (the caller's earlier work)
        on_begin(sync_session, None, sync_session.connection())
    hooks = {"do_orm_execute": on_use, "before_flush": on_use, "after_begin": on_begin}
    for hook, listener in hooks.items():
        event.listen(sync_session, hook, listener)
    try:
        with watching(ctx) as statements:
            seen.statements = statements
            yield seen
    finally:
        for hook, listener in hooks.items():
            event.remove(sync_session, hook, listener)
        seen.used_session = seen.used_session or any(s.connection in connections for s in seen.statements)


def call(ctx: Context, session: Any, fn: Callable[..., Any], *args: Any) -> Call:
    """Call fn(session, *args), recording the SQL it sent and whether it used `session`."""
    with watch_session(ctx, session) as seen:
        seen.value = fn(session, *args)
    return seen


def read_call(ctx: Context, session: Any, fn: Callable[..., Any], *args: Any) -> Call:
    """`call` for a function the drill asks only to read: one that writes fails (the checks
    take their expected answers from the tables, which it could rewrite to fit)."""
    seen = call(ctx, session, fn, *args)
    name = getattr(fn, "__name__", "your function")
    if ctx.recorder.was_closed(session):
        raise Fail(
            f"{name} closed the session it was given",
            expected="the caller's session still open when the function returns",
            actual="closed: whatever the caller had not committed is gone, and the objects "
            "returned are detached",
            help="the caller made the session and ends it (a web route, when the request ends); a "
            "function it hands the session to uses it and leaves the closing to the caller",
        )
    written = writes(seen.statements)
    if written:
        raise Fail(
            f"{name} changed the data it was asked to read",
            expected="a function that only reads: no INSERT, UPDATE, DELETE, ALTER, DROP or DO",
            actual=written[0].sql.strip().splitlines()[0][:200],
            help="a query function selects and returns; it does not write or commit",
        )
    return seen


def only_read_so_far(ctx: Context) -> None:
    """Nothing the learner's file ran so far wrote (call first thing, in a read-only drill: the
    expected answers come from the tables, which a file could otherwise rewrite to fit)."""
    # Not what the file rolled back: a try-out undone (as the checks advise) changed nothing.
    written = [s for s in writes(ctx.recorder.statements) if not ctx.recorder.undone(s)]
    if written:
        raise Fail(
            "your file changes the database, and this drill only reads",
            expected="no INSERT, UPDATE, DELETE, ALTER, DROP or DO from your file (an index is fine)",
            actual=written[0].sql.strip().splitlines()[0][:200],
            help="the task is a query: select and return, without changing any row",
        )


def seeded(ctx: Context, what: str, sql: str, count: int = 1, **params: Any) -> list[Any]:
    """The seeded rows a check builds on (`count` of them); fewer: the learner's file deleted
    or changed them, a failure that says so rather than a crash of the check."""
    rows = ctx.rows(sql, **params)
    if len(rows) < count:
        raise Fail(
            f"your file removed seeded data the checks build on: {what}",
            expected=f"{what}, as the drill's data seeds {'it' if count == 1 else 'them'}",
            actual=f"{len(rows)} of {count} found after your file ran",
            help="try your code out in a transaction you roll back, or leave the seeded rows as they are",
        )
    return rows


def selects(statements: Sequence[Statement], table: str | None = None) -> list[Statement]:
    found = [s for s in statements if s.verb in ("SELECT", "WITH")]
    if table is None:
        return found
    return [s for s in found if f"FROM {table}" in s.sql.replace("\n", " ") or f"JOIN {table}" in s.sql]


def one_line(exc: BaseException, limit: int = 400) -> str:
    """`Type: first line of the message`, without SQLAlchemy's background link; for an error
    that wraps an earlier one (PendingRollbackError: "Original exception was: ..."), the line
    that names that one, not an autoflush note above it."""
    lines = without_background(str(exc)).splitlines()
    original = next((line for line in lines if "Original exception was:" in line), None)
    shown = (
        original.split("Original exception was:", 1)[1].strip() if original else (lines[0] if lines else "")
    )
    return f"{type(exc).__name__}: {shown}"[:limit]


def unused_session(name: str, call: Call) -> Fail:
    return Fail(
        f"{name} ignored the session it was given",
        expected="every query runs through the `session` parameter",
        actual="the session passed in was never used"
        + (
            f"; {plural(len(call.statements), 'statement')} went through another one"
            if call.statements
            else ""
        ),
        help="the caller owns the session (one per request, its own transaction): use that one, "
        "not a global or a new one",
    )


def mapped(ctx: Context, name: str) -> type:
    """The learner's mapped class `name`, with every relationship resolved."""
    cls = ctx.require(name, f"a `{name}` model", f"define `class {name}(Base): ...` at module level")
    try:
        sa_inspect(cls)
    except NoInspectionAvailable:
        raise Fail(
            f"`{name}` is not a mapped SQLAlchemy model",
            expected=f"class {name}(Base) with a __tablename__",
            actual=repr(cls)[:200],
        ) from None
    try:
        configure_mappers()
    except Exception as exc:
        raise Fail(
            "SQLAlchemy cannot set up the relationships between your models",
            actual=one_line(exc, 800),
            help="check the class and table names in relationship(), secondary= and ForeignKey(), "
            "and that each back_populates names the attribute on the other class",
        ) from None
    return cls
