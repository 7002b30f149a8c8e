# expect: fail
# check: each call yields a fresh Session
# message: before the route could use it
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
def get_db() -> Generator[Session]:
    db = SessionLocal()  # one session per request
    try:
        pass
    finally:
        db.close()  # closed before the route ever runs
    yield db
