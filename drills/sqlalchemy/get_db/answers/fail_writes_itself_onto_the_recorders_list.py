# expect: fail
# check: each call yields a fresh Session
# message: closed the session before the route
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal  # a sessionmaker bound to the drill database


# --- your answer below ---------------------------------------------------------------
from sqlalchemy.orm import Session

_rec = next(c.cell_contents for c in Session.close.__closure__ if type(c.cell_contents).__name__ == "Recorder")


def get_db():
    db = SessionLocal()
    _rec.closed_sessions.append(db)  # wrong: never closes it
    yield db
