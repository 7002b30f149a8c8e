# expect: pass
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
def get_db() -> Generator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.reset()  # SQLAlchemy 2.0.22+: ends the transaction, releases the connection, session reusable
