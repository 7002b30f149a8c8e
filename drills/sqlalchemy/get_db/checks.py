"""Drill 5 · get_db: a FastAPI dependency that always closes its session.

The checker drives the generator the way FastAPI does: next() to get the session,
next() again after a normal request, gen.throw(exc) when the route raised.
"""

from __future__ import annotations

import inspect
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from drillkit.check import Checks, Context, Fail

from ..common import SESSION_FORMS, add_style_check

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

checks = Checks()


def SELECT_1() -> object:
    from sqlalchemy import text  # here, not at import: drillkit's own process loads this file too

    return text("SELECT 1")


HALF_DONE = "half-done by a route that then raised"


class RouteError(Exception):
    """What the checker throws in, as FastAPI does when a route raises."""


def _start(ctx: Context) -> tuple[Any, Session]:
    gen = ctx.namespace["get_db"]()
    try:
        db = next(gen)
    except StopIteration:
        raise Fail(
            "get_db() finished without yielding anything",
            expected="the generator yields a session",
            actual="the generator stopped at once",
        ) from None
    if ctx.recorder.was_closed(db):
        with suppress(Exception):
            gen.close()
        raise Fail(
            "get_db closed the session before the route could use it",
            expected="the session open while the route runs, closed after it",
            actual="already closed when get_db yielded it",
            help="the route runs at the yield: what comes before it is setup, what comes after it "
            "(or in a finally around it) is cleanup",
        )
    return gen, db


def _require_closed(ctx: Context, db: Session, when: str) -> None:
    from sqlalchemy.orm import Session

    # Its transaction gone too (read through the Session class, not the object): a session
    # put on the recorder's list by hand is still in the transaction its query began.
    if not ctx.recorder.was_closed(db) or Session.in_transaction(db):
        raise Fail(
            f"the session was not closed {when}",
            expected="the session is closed (its connection goes back to the pool)",
            actual="the session is still open: under load the pool runs dry",
            help="cleanup that must run whatever the route does belongs in a finally: block "
            "(or a with block)",
        )


@checks.add("get_db is a generator function")
def is_generator(ctx: Context) -> None:
    get_db = ctx.require_function("get_db", "get_db()")
    if inspect.isasyncgenfunction(get_db):
        raise Fail(
            "get_db is an async generator, but the Session it hands out is synchronous",
            expected="a plain (sync) generator function: FastAPI runs sync dependencies in a thread pool",
            actual="async def get_db()",
            help="drop `async`: an async def with a blocking Session stalls the event loop; "
            "async code needs AsyncSession and async_sessionmaker instead",
        )
    if not inspect.isgeneratorfunction(get_db):
        wrapped = getattr(get_db, "__wrapped__", None)
        raise Fail(
            "get_db does not yield",
            expected="a generator function, so FastAPI can run cleanup after the route",
            actual="a @contextmanager; FastAPI wants the bare generator"
            if wrapped is not None and inspect.isgeneratorfunction(wrapped)
            else "a plain function that returns",
            help="a function that returns the session can never close it afterwards; one that yields can",
        )


@checks.add("each call yields a fresh Session from SessionLocal", requires=[is_generator])
def yields_session(ctx: Context) -> None:
    gen, db = _start(ctx)
    other_gen, other = _start(ctx)
    try:
        from sqlalchemy.orm import Session

        if not isinstance(db, Session):
            raise Fail(
                "get_db yields something that is not a Session",
                expected="a Session from SessionLocal()",
                actual=f"{type(db).__name__}: {db!r}"[:200],
            )
        if db is ctx.sandbox.session or db is other:
            raise Fail(
                "get_db hands out the same Session every time",
                expected="a new Session per request",
                actual="one shared Session (requests would see each other's changes)",
                help="make a new session inside get_db, on every call, from the session factory",
            )
        if db.get_bind() is not ctx.engine:
            raise Fail(
                "the session is not bound to the drill's engine",
                expected="a session from the sandbox's session factory",
                actual=f"bound to {db.get_bind()!r}"[:200],
                help="the sandbox's SessionLocal makes sessions bound to the drill's database",
            )
        db.execute(SELECT_1())
    finally:
        # Our cleanup must not hide the finding above behind the learner's own errors.
        with suppress(Exception):
            gen.close()
        with suppress(Exception):
            other_gen.close()


@checks.add("the session is closed after the request finishes", requires=[yields_session])
def closed_after_success(ctx: Context) -> None:
    gen, db = _start(ctx)
    db.execute(SELECT_1())
    try:
        next(gen)
    except StopIteration:
        pass
    else:
        with suppress(Exception):
            gen.close()
        raise Fail("get_db yields more than once", expected="exactly one yield", actual="a second yield")
    _require_closed(ctx, db, "after a normal request")


@checks.add(
    "the session is closed when the route raises, and the error still propagates", requires=[yields_session]
)
def closed_after_error(ctx: Context) -> None:
    from sqlalchemy import text

    gen, db = _start(ctx)
    # The route wrote, then raised: none of its work may count.
    db.execute(text("UPDATE documents SET title = :t WHERE id = 1"), {"t": HALF_DONE})
    try:
        gen.throw(RouteError("the route failed"))
    except RouteError:
        pass
    except StopIteration:
        raise Fail(
            "get_db swallowed the route's exception",
            expected="the exception propagates (FastAPI turns it into a 500 and logs it)",
            actual="the generator ended quietly",
            help="don't catch it, or re-raise with `raise` after cleaning up",
        ) from None
    else:
        raise Fail("get_db yielded again after the route raised", expected="no second yield")
    _require_closed(ctx, db, "when the route raised")
    if ctx.rows("SELECT 1 FROM documents WHERE title = :t", t=HALF_DONE):
        raise Fail(
            "get_db committed what the failed route had written",
            expected="the route raised, so none of its work counts: rolled back",
            actual=f"document 1 is now titled {HALF_DONE!r}, committed",
            help="a commit that runs whatever the route did runs when it failed too; what must "
            "always run is the closing",
        )


@checks.add(
    "two requests at once: finishing one leaves the other's session alone", requires=[closed_after_success]
)
def requests_apart(ctx: Context) -> None:
    first_gen, first = _start(ctx)
    second_gen, second = _start(ctx)
    first.execute(SELECT_1())
    second.execute(SELECT_1())
    with suppress(StopIteration):
        next(first_gen)  # the first request ends; the second is still being served
    try:
        if ctx.recorder.was_closed(second):
            raise Fail(
                "finishing one request closed another request's session",
                expected="each request's cleanup closes its own session only",
                actual="the session of a request still running was closed",
                help="keep the session in a local variable of the generator, not in a shared name, and "
                "close that one: a web server runs many requests at once",
            )
        second.execute(SELECT_1())  # still usable
    finally:
        with suppress(Exception):
            second_gen.close()
    _require_closed(ctx, first, "after its request, with another one still running")


add_style_check(checks, SESSION_FORMS)
