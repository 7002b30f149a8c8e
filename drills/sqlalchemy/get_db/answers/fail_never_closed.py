# expect: fail
# check: closed after the request finishes
# message: not closed after a normal request
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


def get_db() -> Generator[Session]:
    db = SessionLocal()
    yield db
