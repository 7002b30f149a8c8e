# expect: fail
# check: two requests at once
# message: closed another request's session
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
db = None  # one name for every request: the last one to start wins it


def get_db() -> Generator[Session]:
    global db
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
