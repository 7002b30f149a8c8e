# expect: fail
# check: route raises
# message: not closed when the route raised
from collections.abc import Generator

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


def get_db() -> Generator[Session]:
    db = SessionLocal()
    yield db
    db.close()
