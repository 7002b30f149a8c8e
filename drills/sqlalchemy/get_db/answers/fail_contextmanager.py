# expect: fail
# check: generator function
# message: @contextmanager
from collections.abc import Generator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from drillkit.sandbox import SessionLocal


@contextmanager
def get_db() -> Generator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
