"""Async: the checker awaits docs_for_user on an AsyncSession, then reads owners without awaiting."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import MissingGreenlet, StatementError
from sqlalchemy.orm.exc import DetachedInstanceError

from drillkit.check import Checks, Context, Fail, plural, show_sql
from drillkit.check.models import given_relationship

from ..common import Call, one_line, selects, watch_session

checks = Checks()

GREENLET_HELP = (
    "the async engine can only wait for Postgres at an `await`; an attribute access such as "
    "doc.owner cannot be awaited, so a lazy load there has nowhere to wait and raises MissingGreenlet. "
    "Load the owners in the query itself"
)


def _greenlet(exc: BaseException) -> bool:
    """MissingGreenlet, also when SQLAlchemy wraps it in a StatementError."""
    return isinstance(exc, MissingGreenlet) or isinstance(getattr(exc, "orig", None), MissingGreenlet)


def _fn(ctx: Context) -> Callable[..., Any]:
    return ctx.require("docs_for_user", "`docs_for_user`", "async def docs_for_user(session, user_id): ...")


def _run(ctx: Context, scenario: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `scenario(session)` on a fresh event loop with a fresh AsyncSession."""
    factory = ctx.sandbox.AsyncSessionLocal

    async def main() -> Any:
        async with factory() as session:
            return await scenario(session)

    return asyncio.run(main())


async def _await_docs(ctx: Context, session: Any, user_id: int) -> tuple[list[Any], Call]:
    fn = _fn(ctx)
    try:
        with watch_session(ctx, session) as result:
            value = fn(session, user_id)
            if inspect.isawaitable(value):
                value = await value
    except (MissingGreenlet, StatementError) as exc:
        if not _greenlet(exc):
            raise
        raise Fail(
            "your coroutine triggered a lazy load: MissingGreenlet",
            expected="every query awaited, nothing loaded behind an attribute access",
            actual=one_line(exc),
            help=GREENLET_HELP,
        ) from None
    except AttributeError as exc:
        # `(session.scalars(stmt)).all()` without the await: a coroutine has no .all().
        if not inspect.iscoroutine(getattr(exc, "obj", None)):
            raise
        getattr(exc.obj, "close", lambda: None)()  # never awaited: no warning about it later
        raise Fail(
            f"your code read .{exc.name} of a coroutine: an `await` is missing",
            expected="each AsyncSession call awaited before its result is read",
            actual=one_line(exc),
            help="on an AsyncSession, scalars() and execute() return coroutines; await one (in "
            "parentheses, if you chain on it) to get the result",
        ) from None
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()
        raise Fail(
            "docs_for_user returned a coroutine instead of the documents: an `await` is missing",
            expected="a list of Document objects",
            actual=type(value).__name__,
            help="on an AsyncSession, scalars() and execute() return coroutines; await them to get "
            "the result",
        )
    kind = type(value).__name__
    if kind in ("ScalarResult", "Result", "ChunkedIteratorResult", "AsyncScalarResult", "AsyncResult"):
        raise Fail(
            f"docs_for_user returned a {kind}, a cursor nobody has read yet",
            expected="a list of Document objects",
            actual=kind,
            help="read it before returning: .all()",
        )
    document = ctx.namespace.get("Document")
    if not isinstance(value, list | tuple) or not all(document and isinstance(d, document) for d in value):
        raise Fail(
            "docs_for_user did not return a list of Document objects",
            expected="[<Document 9>, <Document 10>, ...]",
            actual=f"{kind}: {value!r}"[:200],
        )
    return list(value), result


def _want(ctx: Context, user_id: int) -> list[int]:
    return [
        r[0]
        for r in ctx.rows(
            "SELECT id FROM documents WHERE owner_id = :u ORDER BY created_at DESC, id DESC", u=user_id
        )
    ]


@checks.add("docs_for_user is a coroutine function (async def)")
def coroutine_function(ctx: Context) -> None:
    fn = _fn(ctx)
    if not inspect.iscoroutinefunction(fn):
        raise Fail(
            "docs_for_user is a plain function, not a coroutine function",
            expected="async def docs_for_user(session, user_id)",
            actual=f"def docs_for_user{inspect.signature(fn)}" if callable(fn) else repr(fn)[:200],
            help="the caller awaits it with an AsyncSession; only an async def can await that "
            "session's queries",
        )
    try:
        inspect.signature(fn).bind("session", 1)
    except TypeError:
        raise Fail(
            "docs_for_user cannot be called as docs_for_user(session, user_id)",
            actual=f"docs_for_user{inspect.signature(fn)}",
        ) from None


@checks.add(
    "awaited, it returns each user's documents, newest first (users 1, 2 and 3)",
    requires=[coroutine_function],
)
def returns_documents(ctx: Context) -> None:
    for user_id in (1, 2, 3):

        async def scenario(session: Any, user_id: int = user_id) -> list[int]:
            docs, _ = await _await_docs(ctx, session, user_id)
            return [d.id for d in docs]

        got, want = _run(ctx, scenario), _want(ctx, user_id)
        if got != want:
            raise Fail(
                f"docs_for_user(session, {user_id}) returned the wrong documents or order",
                expected=", ".join(map(str, want)) or "no documents",
                actual=", ".join(map(str, got)) or "no documents",
                help="that user's documents only; newest created_at first, equal times highest id first",
            )


@checks.add("each document's owner can be read without awaiting", requires=[returns_documents])
def owner_loaded(ctx: Context) -> None:
    given_relationship(ctx, "Document", "owner", "the caller reads each document's owner through it")

    async def scenario(session: Any) -> list[str]:
        docs, call = await _await_docs(ctx, session, 1)
        # Loaded with the documents, in a statement or two: not one query per document (a
        # refresh of each owner is the N+1 problem in async).
        sent = len(selects(call.statements))
        if len(docs) > 2 and sent >= len(docs):
            raise Fail(
                f"your coroutine sent {plural(sent, 'SELECT')} for {len(docs)} "
                "documents: one per document (the N+1 problem)",
                expected="the owners loaded together with the documents: a fixed number of statements",
                actual=f"{plural(sent, 'SELECT')} for {plural(len(docs), 'document')}",
                help="tell the query to bring the owners along (a loader option) instead of fetching "
                "each one afterwards",
                sql=show_sql(call.statements, limit=3),
            )
        try:
            return [d.owner.email for d in docs]  # plain code, as a template would do it
        except (MissingGreenlet, StatementError) as exc:
            if not _greenlet(exc):
                raise
            raise Fail(
                "reading doc.owner after your coroutine returned raised MissingGreenlet",
                expected="owners already loaded by your query",
                actual=one_line(exc),
                help=GREENLET_HELP,
            ) from None
        except DetachedInstanceError as exc:
            raise Fail("doc.owner could not be loaded", actual=one_line(exc), help=GREENLET_HELP) from None

    emails = _run(ctx, scenario)
    if set(emails) != {"ada@example.com"}:
        raise Fail(
            "the owners are not user 1",
            expected="ada@example.com",
            actual=", ".join(sorted(map(str, set(emails)))),
        )


@checks.add("it awaits its queries through the AsyncSession it is given", requires=[returns_documents])
def uses_async_session(ctx: Context) -> None:
    async def scenario(session: Any) -> Call:
        _, result = await _await_docs(ctx, session, 1)
        return result

    result = _run(ctx, scenario)
    if not result.used_session:
        raise Fail(
            "docs_for_user did not use the AsyncSession it was given",
            expected="await session.scalars(...) / await session.execute(...) on the `session` argument",
            actual="the queries went through a synchronous Session"
            if result.statements
            else "the session passed in was never used",
            help="a synchronous Session inside async def blocks the event loop for every query: "
            "while it waits, no other request is served",
        )
