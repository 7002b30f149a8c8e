# expect: fail
# check: closed after the request finishes
# message: not closed
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


def get_db() -> Generator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.commit()
