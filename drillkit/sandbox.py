"""What learner code imports to reach the database of the current check run.

    from drillkit.sandbox import engine, SessionLocal, session
    from drillkit.sandbox import async_engine, AsyncSessionLocal   # async drills

All are bound to the run's disposable schema (unqualified table names such as
`documents` resolve there). They only exist while `drill check N` runs your file.
The async pair is built on first use (PEP 562 module __getattr__), so sync drills never
import SQLAlchemy's asyncio extension nor pay for it.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from drillkit.run.env import SCHEMA_ENV, URL_ENV

if not os.environ.get(URL_ENV) or not os.environ.get(SCHEMA_ENV):
    raise ImportError(
        "drillkit.sandbox only exists while `drill check N` runs your file against its "
        "disposable database; run `drill check N` instead of `python FILE`"
    )


# psycopg's dialect looks hstore's type up in the catalogs at every first connect: a
# quarter of a new connection's server time, for an extension a run's role cannot install
# (only a server's admin can have put it there). SQLAlchemy's own HSTORE handling serves.
_NO_HSTORE_LOOKUP = {"use_native_hstore": False}


# A statement that waits on a lock gives up after this, with an error that says so: a
# transaction the file left open must not stall the checks until the run's timeout, which
# would read as "your code was still running". The learner may SET their own.
LOCK_TIMEOUT = "2s"


def _options(schema: str) -> dict[str, str]:
    return {"options": f"-c search_path={schema} -c lock_timeout={LOCK_TIMEOUT}"}


def make_engine(url: str, schema: str, **kwargs: object):  # -> Engine
    """An engine whose connections see the run schema first."""
    options = _options(schema)
    return create_engine(url, connect_args=options, **{**_NO_HSTORE_LOOKUP, **kwargs})


def make_async_engine(url: str, schema: str):  # -> AsyncEngine
    """The async twin of make_engine: psycopg's async driver, same role, same schema.

    NullPool: an asyncio connection belongs to the event loop that opened it, and learner
    code and checker may each run their own loop (asyncio.run); a pooled connection
    handed across loops would fail. A fresh connection per session costs little here.
    """
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    options = _options(schema)
    return create_async_engine(url, connect_args=options, poolclass=NullPool, **_NO_HSTORE_LOOKUP)


# Kept as they were at import: learner code may change the environment, and the async pair
# is built later (by a check, too).
_URL, _SCHEMA = os.environ[URL_ENV], os.environ[SCHEMA_ENV]
engine = make_engine(_URL, _SCHEMA)
SessionLocal: sessionmaker[Session] = sessionmaker(bind=engine)
session: Session = SessionLocal()

_ASYNC_NAMES = ("async_engine", "AsyncSessionLocal", "AsyncSession")
# Set by the checker before the learner's file runs (and sealed): called with the async pair
# (its three names and values) when it is built, so that its SQL is recorded like the sync
# engine's and the pair is sealed as the sync one was.
_on_async_engine: Any = None


def __getattr__(name: str) -> Any:
    if name not in _ASYNC_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    built = make_async_engine(_URL, _SCHEMA)
    # expire_on_commit=False: after a commit, reading an attribute must not need a hidden
    # query, which async code cannot run outside an await (SQLAlchemy's asyncio advice).
    pair = {
        "async_engine": built,
        "AsyncSessionLocal": async_sessionmaker(built, expire_on_commit=False),
        "AsyncSession": AsyncSession,
    }
    if _on_async_engine is not None:  # the checker records its SQL too (harness.py)
        _on_async_engine(pair)
    globals().update(pair)
    return globals()[name]


# The async names stay out of __all__: a star import must not build the async engine.
__all__ = ["Session", "SessionLocal", "engine", "session"]
