# expect: fail
# check: the session is closed when the route raises
# message: committed what the failed route had written
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
def get_db() -> Generator[Session]:
    db = SessionLocal()  # one session per request
    try:
        yield db  # FastAPI runs the route here; a route's exception is raised at this line
    finally:
        db.commit()  # runs on error too: the failed route's writes are committed
        db.close()
