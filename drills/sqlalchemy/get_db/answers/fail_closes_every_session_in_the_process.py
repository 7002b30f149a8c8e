# expect: fail
# check: two requests at once
# message: closed another request's session
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
from sqlalchemy.orm import close_all_sessions


def get_db() -> Generator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        close_all_sessions()  # every session of the process, other requests' too
