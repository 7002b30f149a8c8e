from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
def get_db() -> Generator[Session]:
    db = SessionLocal()  # one session per request
    try:
        yield db  # FastAPI runs the route here; a route's exception is raised at this line
    finally:
        db.close()  # runs on success and on error: the connection goes back to the pool
