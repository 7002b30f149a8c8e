"""What learner code imports to reach the database of the current check run.

    from drillkit.sandbox import engine, SessionLocal, session

All three are bound to the run's disposable schema (unqualified table names such as
`documents` resolve there). They only exist while `drill check N` runs your file.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from drillkit.run.env import SCHEMA_ENV, URL_ENV

if not os.environ.get(URL_ENV) or not os.environ.get(SCHEMA_ENV):
    raise ImportError(
        "drillkit.sandbox only exists while `drill check N` runs your file against its "
        "disposable database; run `drill check N` instead of `python FILE`"
    )


def make_engine(url: str, schema: str, **kwargs: object):  # -> Engine
    """An engine whose connections see the run schema first."""
    return create_engine(url, connect_args={"options": f"-c search_path={schema}"}, **kwargs)


engine = make_engine(os.environ[URL_ENV], os.environ[SCHEMA_ENV])
SessionLocal: sessionmaker[Session] = sessionmaker(bind=engine)
session: Session = SessionLocal()

__all__ = ["Session", "SessionLocal", "engine", "session"]
